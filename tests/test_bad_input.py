"""Every user mistake stops the real workflow with one clear line naming the file.

Each case runs `snakemake` on a small folder the test writes. Mistakes that can
be seen before any job runs (config, codebook, annotations, an empty folder)
stop the run at once; mistakes inside a transcript stop its batch job, whose
one-line error Snakemake prints (show-failed-logs in profiles/default), and
leave earlier results untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, snakemake

pytestmark = pytest.mark.slow

GOOD = "---\nid: {id}\ncase: County A\n---\n问：您好。\n答：县里拿出了专项资金，给留守儿童办夏令营。\n"


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.txt").write_text(GOOD.format(id="A-01"), encoding="utf-8")
    return folder


def _run(tmp_path: Path, *config: str, classifier: bool = False):
    args = ["--cores", "2", "--config", f"results={tmp_path / 'results'}",
            f"classifier={str(classifier).lower()}", *config]
    return snakemake(*args, check=False)


def _error_lines(proc) -> list[str]:
    text = proc.stdout + proc.stderr
    return [line.strip() for line in text.splitlines() if "casecoder: error:" in line]


def _assert_one_line(proc, *fragments: str) -> str:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = _error_lines(proc)
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = lines[0]
    for fragment in fragments:
        assert fragment in line, line
    return line


# Mistakes seen before any job runs -------------------------------------------------

def test_missing_codebook(tmp_path):
    proc = _run(tmp_path, "codebook=codebooks/nope.yaml")
    _assert_one_line(proc, "config key 'codebook': no such file: codebooks/nope.yaml")
    assert "Traceback" not in proc.stderr


def test_malformed_codebook_names_code_and_field(tmp_path):
    raw = yaml.safe_load((ROOT / "codebooks/political_will.yaml").read_text(encoding="utf-8"))
    raw["codes"][3]["id"] = raw["codes"][2]["id"]
    bad = tmp_path / "dup.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    proc = _run(tmp_path, f"codebook={bad}")
    _assert_one_line(proc, "dup.yaml", f"code {raw['codes'][2]['id']}", "duplicate code id")
    assert not (tmp_path / "results").exists()


def test_codebook_that_is_not_yaml(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("codes: [unclosed\n  - id: : :\n", encoding="utf-8")
    _assert_one_line(_run(tmp_path, f"codebook={bad}"), "broken.yaml", "not a readable YAML file")


def test_empty_transcripts_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    _assert_one_line(_run(tmp_path, f"transcripts={empty}"), str(empty))


def test_annotation_with_wrong_columns(tmp_path):
    annotations = tmp_path / "ann"
    annotations.mkdir()
    (annotations / "mine.csv").write_text("sentence,label\n你好,\n", encoding="utf-8")
    proc = _run(tmp_path, f"annotations={annotations}", classifier=True)
    _assert_one_line(proc, "mine.csv", "missing column text, codes")


def test_annotation_with_unknown_code(tmp_path):
    annotations = tmp_path / "ann"
    annotations.mkdir()
    (annotations / "mine.csv").write_text("text,codes\n你好,\n县里没钱,PW_NO_SUCH_CODE\n",
                                          encoding="utf-8")
    proc = _run(tmp_path, f"annotations={annotations}", classifier=True)
    _assert_one_line(proc, "mine.csv, line 3", "unknown code 'PW_NO_SUCH_CODE'")


def test_annotation_with_empty_text(tmp_path):
    annotations = tmp_path / "ann"
    annotations.mkdir()
    (annotations / "mine.csv").write_text("text,codes\n你好,\n,TGT_CHILDREN\n", encoding="utf-8")
    proc = _run(tmp_path, f"annotations={annotations}", classifier=True)
    _assert_one_line(proc, "mine.csv, line 3", "empty text")


def test_config_file_that_is_not_yaml(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("transcripts: [unclosed\n  foo: : bar\n", encoding="utf-8")
    proc = snakemake("-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "Config file is not valid JSON or YAML" in proc.stdout + proc.stderr


def test_unknown_config_key(tmp_path):
    _assert_one_line(_run(tmp_path, "transcript=foo"), "config key 'transcript': unknown key")


# Mistakes inside transcripts: the batch job fails, earlier results stay ------------

BAD_TRANSCRIPTS = [
    ("empty.txt", b"", "empty.txt", "empty"),
    ("picture.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "picture.txt",
     "decode"),
    ("front.txt", "---\nid: [unclosed\ncase: County A\n---\n答：你好。\n".encode(), "front.txt",
     "front matter"),
    ("field.txt", "---\nid: F\ncase: County A\ncolour: red\n---\n答：你好。\n".encode(),
     "field.txt", "colour"),
    ("nocase.txt", "---\nid: N\n---\n答：你好。\n".encode(), "nocase.txt", "case"),
]


@pytest.mark.parametrize("name, content, where, problem", BAD_TRANSCRIPTS,
                         ids=[b[0] for b in BAD_TRANSCRIPTS])
def test_bad_transcript(tmp_path, name, content, where, problem):
    corpus = _corpus(tmp_path / "t")
    (corpus / name).write_bytes(content)
    line = _assert_one_line(_run(tmp_path, f"transcripts={corpus}"), where)
    assert problem in line.lower(), line
    assert not (tmp_path / "results" / "segments.csv").exists()


def test_translation_of_nowhere_keeps_earlier_results(tmp_path):
    corpus = _corpus(tmp_path / "t")
    assert _run(tmp_path, f"transcripts={corpus}").returncode == 0
    summary = (tmp_path / "results" / "case_summary.csv").read_bytes()
    (corpus / "a-en.txt").write_text(
        "---\nid: A-01-en\ncase: County A\ntranslation_of: A-99\n---\nQ: Hello.\nA: Money.\n",
        encoding="utf-8")
    proc = _run(tmp_path, f"transcripts={corpus}")
    _assert_one_line(proc, "a-en.txt", "translation_of", "A-99")
    assert (tmp_path / "results" / "case_summary.csv").read_bytes() == summary


def test_translation_with_other_turn_count(tmp_path):
    corpus = _corpus(tmp_path / "t")
    (corpus / "a-en.txt").write_text(
        "---\nid: A-01-en\ncase: County A\ntranslation_of: A-01\n---\nQ: Hello.\n", encoding="utf-8")
    _assert_one_line(_run(tmp_path, f"transcripts={corpus}"), "a-en.txt", "a.txt", "turn")


def test_duplicate_transcript_ids(tmp_path):
    corpus = _corpus(tmp_path / "t")
    sub = corpus / "sub"
    sub.mkdir()
    shutil.copy(corpus / "a.txt", sub / "again.txt")
    _assert_one_line(_run(tmp_path, f"transcripts={corpus}"), "again.txt", "a.txt", "A-01")
