"""End-to-end: the real Snakemake workflow on the bundled data and on small corpora.

These tests run `snakemake` as a user would. The bundled run is shared by the
session (fixture ``bundled_run`` in conftest.py).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from casecoder.agreement import turn_scores
from casecoder.tables import read_table, write_table
from conftest import ROOT, snakemake

pytestmark = pytest.mark.slow

GOLD = ROOT / "tests" / "data" / "bundled_gold.csv"
STUDY = {
    "County C": "formal-collaborative",
    "County Y": "formal-instrumental",
    "County J": "informal-collaborative",
    "County S": "informal-instrumental",
}


def test_dry_run_lists_the_jobs(tmp_path):
    proc = snakemake("-n", "--config", f"results={tmp_path / 'r'}")
    for rule in ("code_batch", "train_model", "aggregate_cases", "render_report"):
        assert rule in proc.stdout
    assert not (tmp_path / "r").exists()


def test_lint_is_clean():
    proc = snakemake("--lint")
    assert "Congratulations" in proc.stdout + proc.stderr


def test_wrong_config_value_stops_before_any_job(tmp_path):
    proc = snakemake("--cores", "1", "--config", "transcripts=/no/such/dir",
                     f"results={tmp_path / 'r'}", check=False)
    assert proc.returncode != 0
    # Snakemake's own notes (profile, config) may come first; the error is one line.
    lines = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
    assert lines == ["casecoder: error: config: config key 'transcripts': no such folder: /no/such/dir"]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_case_summary_reproduces_the_study(bundled_run):
    summary = read_table(bundled_run / "case_summary.csv").set_index("case")
    print(summary[["political_will_index", "typology"]].to_string())
    assert summary["typology"].to_dict() == STUDY
    index = summary["political_will_index"].astype(float)
    assert index["County C"] > index["County Y"]
    assert index["County J"] > index["County Y"]
    assert index["County S"] == index.min()
    assert (index["County S"] < index.drop("County S")).all()


def test_codes_agree_with_the_gold_coding(bundled_run):
    segments = read_table(bundled_run / "segments.csv")
    gold = read_table(GOLD)
    macro, per_code = turn_scores(segments, gold)
    print(f"\nbundled transcripts: macro-F1 per respondent turn = {macro:.3f}")
    for code, f1 in per_code.items():
        print(f"  {code:28s} {f1:.2f}")
    assert macro >= 0.7


def test_matrix_counts_equal_coded_quotes(bundled_run):
    quotes = read_table(bundled_run / "coded_quotes.csv")
    matrix = read_table(bundled_run / "case_code_matrix.csv").set_index("case").astype(int)
    recount = quotes.groupby(["case", "code"]).size()
    for case in matrix.index:
        for code in matrix.columns:
            assert matrix.loc[case, code] == recount.get((case, code), 0), (case, code)
    assert int(matrix.to_numpy().sum()) == len(quotes) > 0


def test_outputs_follow_the_spec(bundled_run):
    for name in ("segments.csv", "coded_quotes.csv", "case_code_matrix.csv", "case_summary.csv"):
        assert (bundled_run / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    quotes = read_table(bundled_run / "coded_quotes.csv")
    assert set(quotes["source"]) <= {"rule", "model", "rule+model"}
    sources = set(quotes["source"])
    # the model adds codes no rule found; rule hits, which are also the model's features,
    # usually carry the model's agreement too (rule+model), so rule-only quotes may be none
    assert "model" in sources and sources & {"rule", "rule+model"}
    assert (quotes.loc[quotes["source"] == "rule", "confidence"].astype(float) == 1.0).all()
    assert (quotes["review"] == "").all()
    assert (quotes["translation"] != "").any(), "the translated interview's quotes carry it"
    segments = read_table(bundled_run / "segments.csv")
    coded_interviewer = segments[(segments["is_interviewer"] == "1") & (segments["codes"] != "")]
    assert coded_interviewer.empty
    metrics = json.loads((bundled_run / "model" / "metrics.json").read_text(encoding="utf-8"))
    print(f"\ncross-validated macro-F1 = {metrics['macro']['f1']}")
    # issue 5: nested cross-validation on the bundled annotations (docs/model.md)
    assert metrics["macro"]["f1"] >= 0.75
    assert metrics["n_examples"] >= 7000 and not metrics["untrained"]
    info = json.loads((bundled_run / "run_info.json").read_text(encoding="utf-8"))
    assert info["codebook"]["sha256"] and info["model"]["model_sha256"] and info["inputs"]


def test_segments_point_into_the_transcripts(bundled_run):
    """Provenance: every quote can be traced back to its transcript offsets."""
    from casecoder.transcripts import find_transcripts, read_manifest, read_transcript

    folder = ROOT / "transcripts"
    manifest = read_manifest(folder)
    texts = {}
    for path in find_transcripts(folder):
        t = read_transcript(path, folder, manifest)
        texts[t.id] = t.text
    segments = read_table(bundled_run / "segments.csv")
    for tid, start, end, text in zip(segments["transcript_id"], segments["start"],
                                     segments["end"], segments["text"], strict=True):
        assert texts[tid][int(start):int(end)] == text


def test_report_renders_in_chromium(bundled_run):
    browser = pytest.importorskip("browser")
    if browser.find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    screenshot = ROOT / "results" / "report-screenshot.png"
    screenshot.parent.mkdir(exist_ok=True)
    seen = browser.render(bundled_run / "report.html", screenshot)
    assert seen["requests"] == []
    assert seen["heatmap_elements"] > 0
    assert len(seen["case_sections"]) == 4
    assert screenshot.stat().st_size > 10_000


def _codes_on(quotes: pd.DataFrame, row: pd.Series) -> set[str]:
    same = quotes[(quotes["transcript_id"] == row["transcript_id"])
                  & (quotes["turn"] == row["turn"]) & (quotes["segment"] == row["segment"])]
    return set(same["code"])


def test_review_n_removes_a_model_code(bundled_run, tmp_path):
    """The retraining loop: a model code reviewed as wrong is gone after the rerun, and a
    code the review queue offered and the researcher accepted is there."""
    quotes = read_table(bundled_run / "coded_quotes.csv")
    model_rows = quotes[quotes["source"] == "model"]
    assert not model_rows.empty
    target = model_rows.iloc[0]
    quotes["review"] = ""
    quotes.loc[model_rows.index[0], "review"] = "n"
    queue = read_table(bundled_run / "review_queue.csv")
    offered = queue[(queue["assigned"] == "0") & (queue["transcript_id"] != target["transcript_id"])]
    accepted = offered.iloc[0]
    queue.loc[offered.index[0], "review"] = "y"
    annotations = tmp_path / "annotations"
    shutil.copytree(ROOT / "annotations", annotations)
    write_table(quotes, annotations / "coded_quotes_reviewed.csv")
    write_table(queue, annotations / "review_queue_reviewed.csv")
    out = tmp_path / "results"
    snakemake("--cores", "2", "--config", f"annotations={annotations}", f"results={out}")
    after = read_table(out / "coded_quotes.csv")
    assert target["code"] not in _codes_on(after, target)
    assert accepted["code"] in _codes_on(after, accepted)
    assert _codes_on(after, accepted) == set(filter(None, accepted["codes"].split(";"))) | {
        accepted["code"]}  # the codes it had stay
    metrics = json.loads((out / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["training_data"]["n_reviewed"] == 2


def test_review_queue_puts_the_closest_calls_first(bundled_run):
    queue = read_table(bundled_run / "review_queue.csv")
    assert len(queue) > 20
    assert list(queue["priority"].astype(int)) == list(range(1, len(queue) + 1))
    distance = (queue["probability"].astype(float) - queue["threshold"].astype(float)).abs()
    distance = distance.round(4)  # as the columns show them
    near = queue["reason"].str.startswith("near threshold")
    first_other = int(near.idxmin()) if not near.all() else len(queue)
    assert near.iloc[:first_other].all() and not near.iloc[first_other:].any()
    assert distance[near].is_monotonic_increasing
    assert (distance[near] <= 0.15 + 1e-9).all()
    assert distance[~near].is_monotonic_decreasing
    assert set(queue.loc[~near, "reason"]) <= {"rule, not model", "model, not rule"}


def test_reruns_give_the_same_bytes(bundled_run, tmp_path):
    out = tmp_path / "again"
    snakemake("--cores", "2", "--config", f"results={out}")
    for name in ("segments.csv", "coded_quotes.csv", "coded_quotes.xlsx", "review_queue.csv", "case_code_matrix.csv",
                 "case_summary.csv", "report.html", "model/metrics.json", "model/model.skops",
                 "model/model.json", "codebook.qdc", "project.qdpx"):
        assert (out / name).read_bytes() == (bundled_run / name).read_bytes(), name


def test_rules_only_run_says_rule(tmp_path):
    out = tmp_path / "rules-only"
    snakemake("--cores", "2", "--config", "classifier=false", f"results={out}")
    quotes = read_table(out / "coded_quotes.csv")
    assert len(quotes) > 50
    assert set(quotes["source"]) == {"rule"}
    assert not (out / "model").exists()


def write_small_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "A 县 访谈 01.txt").write_text(
        "---\nid: A-01\ncase: County A\nrespondent_role: official\n---\n"
        "问：您好，请介绍一下项目。\n答：县里拿出了专项资金，给留守儿童办夏令营。我们跟公司签了合同。\n"
        "问：效果怎么样？\n答：家长反映很好，孩子们都很喜欢。\n", encoding="utf-8")
    (folder / "b.txt").write_bytes(
        "---\nid: B-01\ncase: County B\n---\n访谈者：敬老院怎么样？\n受访者：五保老人住在那里，"
        "没有医生，护理员也没有培训。\n".encode("gb18030"))
    (folder / "c.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>How did it start?\n\n"
        "00:00:05.000 --> 00:00:09.000\n<v Founder>We recruited volunteers from the university.\n\n"
        "00:00:09.500 --> 00:00:12.000\n<v Founder>The kids loved it.\n", encoding="utf-8")
    with open(folder / "manifest.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["file", "case", "respondent_role"],
                                      ["b.txt", "County B", "township_official"],
                                      ["c.vtt", "County C", "principal_volunteer"]])


def test_chinese_file_name_with_spaces_and_profiles(tmp_path):
    corpus = tmp_path / "访谈 稿"
    write_small_corpus(corpus)
    out = tmp_path / "结果 out"
    snakemake("--workflow-profile", "profiles/default", "--config", f"transcripts={corpus}",
              f"results={out}", "classifier=false")
    segments = read_table(out / "segments.csv")
    assert {"A-01", "B-01", "c"} == set(segments["transcript_id"])
    assert "TGT_CHILDREN" in set(read_table(out / "coded_quotes.csv")["code"])
    proc = snakemake("-n", "--workflow-profile", "profiles/slurm", "--config",
                     f"transcripts={corpus}", f"results={tmp_path / 'slurm'}")
    assert "code_batch" in proc.stdout


def _dry_run_jobs(output: str) -> dict[str, int]:
    """The job counts table of a dry run ('job  count' lines)."""
    jobs = {}
    for line in output.splitlines():
        m = re.match(r"^\s*([a-z_]+)\s+(\d+)\s*$", line)
        if m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


def test_incremental_reruns(tmp_path, small_annotations):
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from make_corpus import write_corpus

    corpus = tmp_path / "corpus"
    write_corpus(12, corpus, seed=7, size=1500)
    out = tmp_path / "out"
    config = ["--config", f"transcripts={corpus}", f"results={out}", "batches=6",
              f"annotations={small_annotations}"]
    snakemake("--cores", "2", *config)
    proc = snakemake("-n", *config)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    (corpus / "site0" / "new one.txt").write_text(
        "---\nid: NEW-1\ncase: County A\n---\n问：您好。\n答：县里拨了专项资金。\n", encoding="utf-8")
    jobs = _dry_run_jobs(snakemake("-n", *config).stdout)
    assert jobs == {"code_batch": 1, "check_corpus": 1, "aggregate_cases": 1,
                    "render_report": 1, "export_qda": 1, "all": 1}, jobs


def test_real_world_texts_go_through_the_whole_workflow(tmp_path, small_annotations):
    """Files nobody here wrote (tests/data/real_world, see its README): a NASA
    air-to-ground transcript and two Chinese laws, coded end to end."""
    folder = tmp_path / "real"
    shutil.copytree(ROOT / "tests" / "data" / "real_world", folder,
                    ignore=shutil.ignore_patterns("README.md"))
    (folder / "manifest.csv").write_text(  # the metadata a researcher would add
        "file,id,case,respondent_role,language\n"
        "spacelog_ma6_TEC_en.txt,spacelog-ma6,Mercury-Atlas 6,other,en\n"
        "zh_农村五保供养工作条例_2006.md,law-五保-2006,State Council,other,zh\n"
        "zh_未成年人保护法_2024.md,law-未成年人-2024,NPC,other,zh\n", encoding="utf-8")
    out = tmp_path / "results"
    snakemake("--cores", "2", "--config", f"transcripts={folder}", f"results={out}", "batches=2",
              f"annotations={small_annotations}")
    segments = read_table(out / "segments.csv")
    assert segments["transcript_id"].nunique() == 3
    assert segments["text"].str.len().max() < 1500  # no segment of absurd length
    nasa = segments[segments["transcript_id"].str.startswith("spacelog")]
    speakers = set(nasa["speaker"])
    assert {"CC", "P"} <= speakers
    assert not any(s.startswith(("_", "[")) for s in speakers)  # meta lines are not speakers
    assert not nasa["text"].str.contains("_page|_tape").any()
    quotes = read_table(out / "coded_quotes.csv")
    elderly = quotes[quotes["transcript_id"].str.contains("五保") & quotes["text"].str.contains("五保")]
    assert "TGT_ELDERLY" in set(elderly["code"])
    children = quotes[quotes["transcript_id"].str.contains("未成年人") & quotes["text"].str.contains("留守")]
    assert "TGT_CHILDREN" in set(children["code"])
    text = folder.joinpath("zh_农村五保供养工作条例_2006.md").read_text(encoding="utf-8")
    law = segments[segments["transcript_id"].str.contains("五保")]
    law = law.assign(start=law["start"].astype(int)).sort_values("start")
    covered = "".join(law["text"])  # every non-blank character, once, in order
    assert "".join(covered.split()) == "".join(text[law["start"].min():].split())
