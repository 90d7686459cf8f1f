"""REFI-QDA export: valid against the standard's schemas, exact positions, private, stable.

The corpora are written here and coded with the package's own stage functions
(rules only, no Snakemake); one slow test checks the files of the real workflow.
The project is read back with plain zipfile + lxml, as a QDA tool would read it.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from lxml import etree

from casecoder import cli, steps
from casecoder.annotations import text_key
from casecoder.codebook import load_codebook
from casecoder.errors import InputError
from casecoder.pipeline import code_batch
from casecoder.qda import codebook_document, export_qda
from casecoder.tables import read_table
from casecoder.transcripts import find_transcripts
from conftest import CODEBOOK, ROOT, tiny_codebook_dict

SCHEMAS = ROOT / "tests" / "data" / "refi-qda"
QDC = "{urn:QDA-XML:codebook:1.0}"
QDE = "{urn:QDA-XML:project:1.0}"

# Each transcript has coded quotes after text whose length would differ if positions
# were counted in bytes, UTF-16 units or with CRLF line ends.
TRANSCRIPTS = {
    "zh.txt": (
        "---\nid: ZH-01\ncase: 桃源县\nrespondent_role: official\nlanguage: zh\n"
        "date: 2018-07-15\n---\n"
        "问：县里是怎么支持这个项目的？\n"
        "答：县里拿出了专项资金，给留守儿童办夏令营。\n"
        "有一年没钱，我们就自己想办法。\n"
    ),
    "en.md": (
        "---\nid: EN-01\ncase: County J\nrespondent_role: principal_volunteer\n---\n"
        "Interviewer: How is it funded?\n"
        "Respondent: The county set up a special fund. Every kid in the village can join.\n"
        "Some years there was no money at all, and we asked the university for a budget.\n"
    ),
    "emoji.txt": (
        "---\nid: EMOJI-01\ncase: County J\n---\n"
        "问：😀 大家好！🎉🎉\n"
        "答：👍 县里的专项资金🎉到位了，留守儿童😀很开心。\n"
        "答：We had no money 💸 for the kids 🧒 last year, 😢 but now the budget is there.\n"
    ),
    "vtt.vtt": (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>How did it start?\n\n"
        "00:00:05.000 --> 00:00:09.000\n<v Founder>We had no money 🙁 at first.\n\n"
        "00:00:09.500 --> 00:00:12.000\n<v Founder>Then a special fund came for the kids.\n"
    ),
    "zh-en.md": (
        "---\nid: ZH-01-en\ntranslation_of: ZH-01\n---\n"
        "Q: How does the county support the project?\n"
        "A: The county set up a special fund for a summer camp for left-behind children.\n"
        "One year there was no money, so we found our own way.\n"
    ),
}
CRLF = (
    "---\r\nid: CRLF-01\r\ncase: 桃源县\r\nrespondent_role: social_worker\r\n---\r\n"
    "访谈者：您好。\r\n受访者：我们机构在这里做了三年。\r\n"
    "第一年没钱，第二年县里给了专项资金。\r\n"
    "访谈者：服务对象呢？\r\n受访者：主要是留守儿童，also some kids from the town.\r\n"
)
EXPECTED_IDS = ["ZH-01", "EN-01", "EMOJI-01", "CRLF-01", "vtt"]

PSEUDONYMS = (
    "pseudonyms:\n  - pseudonym: 官员甲\n    names: [王建国, 王局长, Wang Jianguo]\n"
    "  - pseudonym: 青山镇\n    names: [桃源镇, Taoyuan]\n"
)
SECRETS = ["王建国", "王局长", "Wang Jianguo", "桃源镇", "Taoyuan", "13812345678",
           "340102198001011234", "wang.jg@example.com", "0551-62345678"]
PRIVATE = {
    "w.txt": (
        "---\nid: W-01\ncase: 桃源镇\nrespondent_role: official\n---\n"
        "问：王局长，您好。\n王局长：我是王建国，在桃源镇管留守儿童的专项资金。"
        "有事打13812345678，或者座机0551-62345678。\n"
        "问：邮箱呢？\n王局长：wang.jg@example.com，身份证号340102198001011234就不说了，没钱。\n"
    ),
    "e.txt": (
        "---\nid: W-02\ncase: 桃源镇\n---\nInterviewer: Who funds it?\n"
        "Respondent: Wang Jianguo set up a special fund for the kids in Taoyuan. "
        "Call Wang Jianguo on +86 138 1234 5678 if there is no money.\n"
    ),
}


# --------------------------------------------------------------------------- helpers


def run_casecoder(corpus: Path, out: Path, codebook: Path) -> Path:
    """Code the corpus with the rules, aggregate, export with the command line; the results."""
    batch = out / "work" / "batch-0000.json"
    code_batch(find_transcripts(corpus), transcripts=corpus, codebook=codebook, out=batch)
    steps.aggregate(batches=[batch], transcripts=corpus, codebook=codebook, results=out)
    status = cli.main(["export-qda", "--transcripts", str(corpus), "--codebook", str(codebook),
                       "--segments", str(out / "segments.csv"),
                       "--quotes", str(out / "coded_quotes.csv"),
                       "--qdc", str(out / "codebook.qdc"), "--qdpx", str(out / "project.qdpx")])
    assert status == 0
    return out


def read_project(path: Path) -> tuple[etree._Element, dict[str, str]]:
    """project.qde and the plain text of every source, by its internal:// path."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        qde = etree.fromstring(archive.read("project.qde"))
        texts = {f"internal://{n.removeprefix('Sources/')}": archive.read(n).decode("utf-8")
                 for n in names if n.startswith("Sources/")}
    assert set(names) == {"project.qde", *(f"Sources/{p[11:]}" for p in texts)}
    return qde, texts


def codings(path: Path) -> list[dict]:
    """Every coding of the project: source name, code name, user name, positions, text."""
    qde, texts = read_project(path)
    codes = {c.get("guid"): c.get("name") for c in qde.iter(f"{QDE}Code")}
    users = {u.get("guid"): u.get("name") for u in qde.iter(f"{QDE}User")}
    found = []
    for source in qde.iter(f"{QDE}TextSource"):
        text = texts[source.get("plainTextPath")]
        for selection in source.iter(f"{QDE}PlainTextSelection"):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            for coding in selection.iter(f"{QDE}Coding"):
                found.append({
                    "source": source.get("name"), "start": start, "end": end,
                    "code": codes[coding.find(f"{QDE}CodeRef").get("targetGUID")],
                    "user": users[coding.get("creatingUser")], "text": text[start:end],
                    "source_text": text,
                })
    return found


def quote_rows(results: Path) -> list[tuple[str, str, str]]:
    quotes = read_table(results / "coded_quotes.csv")
    return sorted(zip(quotes["transcript_id"], quotes["code"], quotes["text"], strict=True))


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / f"{name}.xsd")))


def all_text_in(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8") for n in archive.namelist())


@pytest.fixture(scope="module")
def tiny_codebook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("codebook") / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_codebook_dict(), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "transcripts"
    folder.mkdir()
    for name, text in TRANSCRIPTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "crlf.txt").write_bytes(CRLF.encode("utf-8"))
    (folder / "manifest.csv").write_text("file,case,respondent_role\nvtt.vtt,County V,"
                                         "company_founder\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def results(corpus, tiny_codebook, tmp_path_factory) -> Path:
    return run_casecoder(corpus, tmp_path_factory.mktemp("results"), tiny_codebook)


@pytest.fixture(scope="module")
def private_results(tiny_codebook, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("private") / "transcripts"
    folder.mkdir()
    (folder / "pseudonyms.yaml").write_text(PSEUDONYMS, encoding="utf-8")
    for name, text in PRIVATE.items():
        (folder / name).write_text(text, encoding="utf-8")
    return run_casecoder(folder, folder.parent / "results", tiny_codebook)


# --------------------------------------------------------------------------- codebook


def test_bundled_codebook_is_a_valid_qdc_with_every_code():
    book = load_codebook(CODEBOOK)
    document = etree.fromstring(codebook_document(book))
    schema("Codebook").assertValid(document)
    parents = document.findall(f"{QDC}Codes/{QDC}Code")
    assert [p.get("name") for p in parents] == book.categories
    assert {p.get("isCodable") for p in parents} == {"false"}
    exported = {c.get("name"): c for p in parents for c in p.findall(f"{QDC}Code")}
    assert list(exported) == book.ids
    for code in book.codes:
        element = exported[code.id]
        assert element.get("isCodable") == "true"
        assert element.getparent().get("name") == code.category
        description = " ".join(element.findtext(f"{QDC}Description").split())
        for text in [code.label.en, code.label.zh, code.definition.en, code.definition.zh,
                     *code.inclusion, *code.exclusion, *code.examples.en, *code.examples.zh]:
            assert " ".join(text.split()) in description, (code.id, text)
    guids = [e.get("guid") for e in document.iter(f"{QDC}Code")]
    assert len(set(guids)) == len(guids)


def test_codebook_file_matches_the_project_codebook(results):
    qdc = etree.parse(str(results / "codebook.qdc")).getroot()
    qde, _ = read_project(results / "project.qdpx")
    schema("Codebook").assertValid(qdc)
    in_qdc = [(c.get("guid"), c.get("name")) for c in qdc.iter(f"{QDC}Code")]
    in_qde = [(c.get("guid"), c.get("name")) for c in qde.iter(f"{QDE}Code")]
    assert in_qdc == in_qde
    assert {"FUNDED", "BROKE", "KIDS"} <= {name for _, name in in_qdc}


# --------------------------------------------------------------------------- project


def test_project_is_valid_against_the_schema(results):
    qde, texts = read_project(results / "project.qdpx")
    schema("Project").assertValid(qde)
    sources = qde.findall(f"{QDE}Sources/{QDE}TextSource")
    assert sorted(s.get("name") for s in sources) == sorted([*EXPECTED_IDS, "ZH-01-en"])
    assert all(s.get("plainTextPath") in texts for s in sources)
    guids = [e.get("guid") for e in qde.iter() if e.get("guid")]
    assert len(set(guids)) == len(guids)


def test_cases_and_variables_come_from_the_metadata(results):
    qde, _ = read_project(results / "project.qdpx")
    names = {s.get("guid"): s.get("name") for s in qde.iter(f"{QDE}TextSource")}
    cases = {c.get("name"): sorted(names[r.get("targetGUID")] for r in c.iter(f"{QDE}SourceRef"))
             for c in qde.iter(f"{QDE}Case")}
    assert cases == {"桃源县": ["CRLF-01", "ZH-01"], "County J": ["EMOJI-01", "EN-01"],
                     "County V": ["vtt"]}
    variables = {v.get("guid"): (v.get("name"), v.get("typeOfVariable"))
                 for v in qde.iter(f"{QDE}Variable")}
    assert ("date", "Date") in variables.values()
    values = {}
    for source in qde.iter(f"{QDE}TextSource"):
        for value in source.findall(f"{QDE}VariableValue"):
            name, _ = variables[value.find(f"{QDE}VariableRef").get("targetGUID")]
            values[(source.get("name"), name)] = value[1].text
    assert values[("ZH-01", "respondent_role")] == "official"
    assert values[("ZH-01", "date")] == "2018-07-15"
    assert values[("ZH-01", "language")] == "zh"
    assert values[("EN-01", "case")] == "County J"
    assert values[("ZH-01-en", "translation_of")] == "ZH-01"


def test_every_quote_is_a_coding(results):
    found = sorted((c["source"], c["code"], c["text"]) for c in codings(results / "project.qdpx"))
    assert found == quote_rows(results)
    assert len(found) >= 10
    # One selection per coded segment, with one coding per code.
    qde, _ = read_project(results / "project.qdpx")
    spans = [(s.getparent().get("name"), s.get("startPosition"))
             for s in qde.iter(f"{QDE}PlainTextSelection")]
    quotes = read_table(results / "coded_quotes.csv")
    segments = quotes.drop_duplicates(["transcript_id", "turn", "segment"])
    assert len(spans) == len(set(spans)) == len(segments) < len(quotes)


@pytest.mark.parametrize("transcript_id", EXPECTED_IDS)
def test_positions_give_back_the_quotes(results, transcript_id):
    expected = [r for r in quote_rows(results) if r[0] == transcript_id]
    found = [c for c in codings(results / "project.qdpx") if c["source"] == transcript_id]
    assert expected, f"{transcript_id} has no coded quotes: the test corpus needs some"
    assert sorted((c["source"], c["code"], c["text"]) for c in found) == expected
    last = max(found, key=lambda c: c["start"])
    text = last["source_text"]
    assert "\r" not in text
    if transcript_id == "EMOJI-01":
        assert any(ord(ch) > 0xFFFF for ch in text[: last["start"]])
        assert any(ord(ch) > 0xFFFF for c in found for ch in c["text"])
    if transcript_id == "CRLF-01":
        assert text.count("\n") >= 5  # positions after several line ends
        assert text == CRLF.replace("\r\n", "\n")


def test_sources_are_the_decoded_transcripts(results, corpus):
    qde, texts = read_project(results / "project.qdpx")
    by_name = {s.get("name"): texts[s.get("plainTextPath")] for s in qde.iter(f"{QDE}TextSource")}
    assert by_name["ZH-01"] == TRANSCRIPTS["zh.txt"]
    assert by_name["EMOJI-01"] == TRANSCRIPTS["emoji.txt"]
    segments = read_table(results / "segments.csv")
    for tid, start, end, text in zip(segments["transcript_id"], segments["start"],
                                     segments["end"], segments["text"], strict=True):
        assert by_name[tid][int(start):int(end)] == text


def test_coders_are_users(results, corpus, tiny_codebook, tmp_path):
    assert {c["user"] for c in codings(results / "project.qdpx")} == {"casecoder rules"}
    quotes = read_table(results / "coded_quotes.csv")
    chosen = quotes["text"].iloc[0]
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(json.dumps({text_key(chosen): ["FUNDED"]}), encoding="utf-8")
    export_qda(transcripts=corpus, codebook=tiny_codebook, segments=results / "segments.csv",
               quotes=results / "coded_quotes.csv", qdc=tmp_path / "c.qdc",
               qdpx=tmp_path / "p.qdpx", reviewed=reviewed)
    users = {(c["text"], c["user"]) for c in codings(tmp_path / "p.qdpx")}
    assert {user for text, user in users if text == chosen} == {"reviewer"}
    assert {user for text, user in users if text != chosen} == {"casecoder rules"}


def test_reruns_give_the_same_bytes(results, corpus, tiny_codebook, tmp_path):
    export_qda(transcripts=corpus, codebook=tiny_codebook, segments=results / "segments.csv",
               quotes=results / "coded_quotes.csv", qdc=tmp_path / "codebook.qdc",
               qdpx=tmp_path / "project.qdpx")
    for name in ("codebook.qdc", "project.qdpx"):
        assert (tmp_path / name).read_bytes() == (results / name).read_bytes(), name
    with zipfile.ZipFile(results / "project.qdpx") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}


def test_results_older_than_a_transcript_are_an_error(results, corpus, tiny_codebook, tmp_path):
    changed = tmp_path / "transcripts"
    shutil.copytree(corpus, changed)
    text = TRANSCRIPTS["zh.txt"].replace("问：县里", "问：请问县里")
    (changed / "zh.txt").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="rerun the workflow"):
        export_qda(transcripts=changed, codebook=tiny_codebook,
                   segments=results / "segments.csv", quotes=results / "coded_quotes.csv",
                   qdc=tmp_path / "c.qdc", qdpx=tmp_path / "p.qdpx")
    assert not (tmp_path / "p.qdpx").exists()


def test_missing_results_are_one_line(corpus, tiny_codebook, tmp_path, capsys):
    status = cli.main(["export-qda", "--transcripts", str(corpus), "--codebook",
                       str(tiny_codebook), "--segments", str(tmp_path / "segments.csv"),
                       "--quotes", str(tmp_path / "coded_quotes.csv"),
                       "--qdc", str(tmp_path / "c.qdc"), "--qdpx", str(tmp_path / "p.qdpx")])
    assert status == 1
    assert "segments.csv: file not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- privacy


def test_pseudonymised_sources_leave_no_trace(private_results):
    path = private_results / "project.qdpx"
    for text in (all_text_in(path), (private_results / "codebook.qdc").read_text("utf-8")):
        for secret in SECRETS:
            assert secret not in text, secret
    qde, texts = read_project(path)
    schema("Project").assertValid(qde)
    joined = "\n".join(texts.values())
    assert "官员甲" in joined and "青山镇" in joined and "[PHONE]" in joined
    assert {c.get("name") for c in qde.iter(f"{QDE}Case")} == {"青山镇"}


def test_pseudonymised_positions_give_back_the_quotes(private_results):
    found = codings(private_results / "project.qdpx")
    assert sorted((c["source"], c["code"], c["text"]) for c in found) == quote_rows(
        private_results)
    # The names and masks change lengths, so positions moved: W-02's second sentence
    # starts earlier in the pseudonymised text than in the transcript.
    segments = read_table(private_results / "segments.csv")
    original_starts = {(t, x): int(s) for t, x, s in zip(segments["transcript_id"],
                                                         segments["text"], segments["start"],
                                                         strict=True)}
    moved = [c for c in found if c["start"] != original_starts[(c["source"], c["text"])]]
    assert moved


# --------------------------------------------------------------------------- workflow


@pytest.mark.slow
def test_workflow_writes_valid_exact_files(bundled_run):
    qdc = etree.parse(str(bundled_run / "codebook.qdc"))
    schema("Codebook").assertValid(qdc)
    qde, _ = read_project(bundled_run / "project.qdpx")
    schema("Project").assertValid(qde)
    found = codings(bundled_run / "project.qdpx")
    assert sorted((c["source"], c["code"], c["text"]) for c in found) == quote_rows(bundled_run)
    quotes = read_table(bundled_run / "coded_quotes.csv")
    version = quotes.loc[quotes["source"] != "rule", "model_version"].iloc[0]
    expected = {"rule": "casecoder rules", "model": f"casecoder model {version}",
                "rule+model": f"casecoder rules+model {version}"}
    assert {c["user"] for c in found} >= {expected[s] for s in set(quotes["source"])}
