"""Privacy and robustness through the real workflow (issue: reliability).

- pseudonyms.yaml: names and contact numbers appear in no output file;
- a 5 MB transcript, a 20,000-character turn without punctuation, 2,000 tiny
  files and a Traditional Chinese transcript all go through, each job under
  the memory bound (read from Snakemake's benchmark files).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from casecoder.tables import read_table
from conftest import snakemake

pytestmark = pytest.mark.slow

SECRETS = ["王建国", "王局长", "Wang Jianguo", "桃源镇", "Taoyuan", "13812345678",
           "340102198001011234", "wang.jg@example.com", "0551-62345678"]


def _all_output_text(folder: Path) -> str:
    chunks = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix in (".xlsx", ".qdpx"):  # zip containers: read every entry
            with zipfile.ZipFile(path) as archive:
                chunks += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
        else:
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


def test_pseudonyms_leave_no_trace(tmp_path, small_annotations):
    corpus = tmp_path / "t"
    corpus.mkdir()
    (corpus / "pseudonyms.yaml").write_text(
        "pseudonyms:\n  - pseudonym: 官员甲\n    names: [王建国, 王局长, Wang Jianguo]\n"
        "  - pseudonym: 青山镇\n    names: [桃源镇, Taoyuan]\n", encoding="utf-8")
    (corpus / "w.txt").write_text(
        "---\nid: W-01\ncase: 桃源镇\nrespondent_role: official\n---\n"
        "问：王局长，您好。\n王局长：我是王建国，在桃源镇管留守儿童的专项资金。"
        "有事打13812345678，或者座机0551-62345678。\n"
        "问：邮箱呢？\n王局长：wang.jg@example.com，身份证号340102198001011234就不说了。\n",
        encoding="utf-8")
    (corpus / "e.txt").write_text(
        "---\nid: W-02\ncase: 桃源镇\n---\nInterviewer: Who funds it?\n"
        "Respondent: Wang Jianguo set up a special fund for the left-behind children in Taoyuan.\n",
        encoding="utf-8")
    out = tmp_path / "results"
    snakemake("--cores", "2", "--config", f"transcripts={corpus}", f"results={out}",
              f"annotations={small_annotations}")
    text = _all_output_text(out)
    for secret in SECRETS:
        assert secret not in text, secret
    assert "官员甲" in text and "青山镇" in text and "[PHONE]" in text
    quotes = read_table(out / "coded_quotes.csv")
    assert set(quotes["case"]) == {"青山镇"}
    assert "TGT_CHILDREN" in set(quotes["code"])


def test_big_long_many_and_traditional(tmp_path):
    corpus = tmp_path / "t"
    tiny = corpus / "tiny"
    tiny.mkdir(parents=True)
    turn = "县里拿出了专项资金给留守儿童办夏令营，孩子们很喜欢，家长也满意。"
    big = "".join(f"问：第{i}个问题？\n答：{turn * 4}\n" for i in range(12_100))
    (corpus / "big.txt").write_text("---\nid: BIG\ncase: County A\n---\n" + big, encoding="utf-8")
    assert (corpus / "big.txt").stat().st_size > 5_000_000
    asr = ("我们这个项目呢就是说县里面也没有什么钱然后志愿者就自己想办法去村里面给孩子们上课"
           "老人们那边也去看过几次") * 400
    (corpus / "asr.txt").write_text(f"---\nid: ASR\ncase: County B\n---\n答：{asr[:20_000]}\n",
                                    encoding="utf-8")
    for i in range(2000):
        (tiny / f"t{i:04d}.txt").write_text(
            f"---\nid: TINY-{i}\ncase: County C\n---\n答：敬老院的老人们{i}岁了。\n", encoding="utf-8")
    (corpus / "trad.txt").write_text(
        "---\nid: TRAD\ncase: County D\n---\n問：經費呢？\n答：縣裡沒有專項資金，留守兒童的活動都靠志願者。\n",
        encoding="utf-8")
    (corpus / "simp.txt").write_text(
        "---\nid: SIMP\ncase: County D\n---\n问：经费呢？\n答：县里没有专项资金，留守儿童的活动都靠志愿者。\n",
        encoding="utf-8")
    out = tmp_path / "results"
    snakemake("--cores", "2", "--config", f"transcripts={corpus}", f"results={out}",
              "classifier=false", "batches=8", timeout=1500)
    segments = read_table(out / "segments.csv")
    assert segments["transcript_id"].nunique() == 2004
    lengths = segments["text"].str.len()
    assert lengths.max() <= 400
    asr_segments = segments[segments["transcript_id"] == "ASR"]
    assert "".join(asr_segments["text"]) == asr[:20_000]
    trad = segments[(segments["transcript_id"] == "TRAD") & (segments["is_interviewer"] == "0")]
    simp = segments[(segments["transcript_id"] == "SIMP") & (segments["is_interviewer"] == "0")]
    assert list(trad["codes"]) == list(simp["codes"]) and trad["codes"].iloc[0]
    assert "縣裡沒有專項資金" in trad["text"].iloc[0]  # quotes keep the original characters
    peaks = [pd.read_csv(p, sep="\t")["max_rss"].max() for p in (out / "benchmarks").rglob("*.tsv")]
    print(f"\npeak job memory: {max(peaks):.0f} MB over {len(peaks)} jobs")
    assert max(peaks) < 1500
