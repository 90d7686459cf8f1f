"""Sentence segmentation: golden rules, Chinese conventions, tiling, long turns, real texts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casecoder.records import Transcript, Turn
from casecoder.segment import Segmenter, detect_language, get_segmenter
from casecoder.transcripts import read_transcript

DATA = Path(__file__).parent / "data"
REAL = DATA / "real_world"


@pytest.fixture(scope="module")
def raw() -> Segmenter:
    """A segmenter that never merges short fragments (min sizes 0)."""
    return Segmenter(min_zh_chars=0, min_en_words=0)


@pytest.fixture(scope="module")
def default() -> Segmenter:
    return get_segmenter()


def texts(segmenter: Segmenter, text: str) -> list[str]:
    return [text[start:end] for start, end, _ in segmenter.split(text)]


def assert_tiles(text: str, spans: list[tuple[int, int, str]], max_chars: int) -> None:
    """Spans are in order, trimmed, non-empty, at most max_chars, and cover every
    non-blank character exactly once."""
    covered = []
    previous_end = 0
    for start, end, language in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        assert end - start <= max_chars
        assert language in ("zh", "en")
        assert not text[previous_end:start].strip()
        covered.append(piece)
        previous_end = end
    assert not text[previous_end:].strip()
    assert "".join("".join(covered).split()) == "".join(text.split())


# --------------------------------------------------------------------------- golden rules


def golden_cases() -> list:
    cases = []
    for language in ("english", "chinese"):
        entries = json.loads((DATA / "pysbd_golden_rules" / f"{language}.json").read_text("utf-8"))
        for number, entry in enumerate(entries, start=1):
            marks = [pytest.mark.xfail(strict=True, reason="pySBD itself fails this case")] if (
                entry.get("xfail_in_pysbd")) else []
            cases.append(pytest.param(entry["text"], entry["expected"], marks=marks,
                                      id=f"{language}-{number}"))
    return cases


@pytest.mark.parametrize(("text", "expected"), golden_cases())
def test_pysbd_golden_rule(raw, text, expected):
    assert texts(raw, text) == expected


# --------------------------------------------------------------------------- Chinese cases

ZH_CASES = json.loads((DATA / "zh_sentence_cases.json").read_text("utf-8"))


@pytest.mark.parametrize("case", ZH_CASES, ids=[case["note"] for case in ZH_CASES])
def test_chinese_sentence_case(raw, default, case):
    segmenter = default if case.get("merge") else raw
    spans = segmenter.split(case["text"])
    assert [case["text"][start:end] for start, end, _ in spans] == case["expected"]
    if "languages" in case:
        assert [language for *_, language in spans] == case["languages"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Yes. We had no money from the county. OK.", ["Yes. We had no money from the county. OK."]),
    ("Roger.", ["Roger."]),
    ("We had no money\nfor the kids at all.", ["We had no money\nfor the kids at all."]),
    ("We had no money.\nThe county said no.", ["We had no money.", "The county said no."]),
    ("We found two points:\n- money for the staff\n- time for the kids",
     ["We found two points:", "- money for the staff", "- time for the kids"]),
    ("Two points:\n- money for the staff", ["Two points:\n- money for the staff"]),
    ("We had no money.\n\n嗯。\n\n县里不管这个事情。", ["We had no money.\n\n嗯。", "县里不管这个事情。"]),
    ("## 总则\n\n第一条 为了做好农村五保供养工作，制定本条例。",
     ["## 总则\n\n第一条 为了做好农村五保供养工作，制定本条例。"]),
    ("## 第一章 总则\n\n第一条 为了做好农村五保供养工作，制定本条例。",
     ["## 第一章 总则", "第一条 为了做好农村五保供养工作，制定本条例。"]),
])
def test_english_newlines_and_merging(default, text, expected):
    assert texts(default, text) == expected


@pytest.mark.parametrize(("text", "language"), [
    ("我们的 budget 很紧", "zh"), ("Dr. Wang 说", "en"), ("The county gave 专项资金 to us", "en"),
    ("縣政府", "zh"), ("3, 2, 1, 0", "en"), ("", "en"), ("好", "zh"),
])
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_get_segmenter_is_one_per_process():
    assert get_segmenter() is get_segmenter()


# --------------------------------------------------------------------------- invariants

ALPHABET = list("我们县留守儿童政府钱好的是了吗說縣") + list("abcdefgh XYZ") + [
    "。", "！", "？", "，", "、", "；", "…", "“", "”", "「", "」", "《", "》", "（", "）",
    ".", "!", "?", ",", ";", ":", "：", "'", '"', "1", "5", "%", "-", "#", "*",
    " ", " ", "\n", "\n\n", "\t", "\u3000", " the county ", " Dr. ", "U.S.", "1.5万", "……",
    "？！", "<!--", "-->", "[x]", "http://a.b/c",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(ALPHABET), max_size=120),
       sizes=st.sampled_from([(0, 0, 400), (5, 3, 400), (5, 3, 12)]))
def test_spans_tile_the_text(pieces, sizes):
    segmenter = _segmenters(sizes)
    text = "".join(pieces)
    assert_tiles(text, segmenter.split(text), sizes[2])


_CACHE: dict[tuple[int, int, int], Segmenter] = {}


def _segmenters(sizes: tuple[int, int, int]) -> Segmenter:
    if sizes not in _CACHE:
        _CACHE[sizes] = Segmenter(*sizes)
    return _CACHE[sizes]


@settings(max_examples=50, deadline=None)
@given(turn_texts=st.lists(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join),
                           min_size=1, max_size=5))
def test_segments_of_a_transcript_point_into_its_text(turn_texts):
    text, turns = "", []
    for number, said in enumerate(turn_texts, start=1):
        label = "问：" if number % 2 else "Official: "
        start = len(text) + len(label)
        text += label + said + "\n"
        stripped = said.strip()
        if stripped:
            offset = start + said.index(stripped)
            turns.append(Turn(len(turns) + 1, label.strip(" ：:"), number % 2 == 1, offset,
                              offset + len(stripped)))
    transcript = Transcript("T", "t.txt", text, {"case": "C", "respondent_role": "official"},
                            turns)
    segments = get_segmenter().segment(transcript)
    for segment in segments:
        assert text[segment.start : segment.end] == segment.text
        turn = turns[segment.turn - 1]
        assert turn.start <= segment.start < segment.end <= turn.end
        assert segment.is_interviewer == turn.is_interviewer
    for turn in turns:
        own = [s for s in segments if s.turn == turn.number]
        assert [s.segment for s in own] == list(range(1, len(own) + 1))
        spans = [(s.start - turn.start, s.end - turn.start, s.language) for s in own]
        assert_tiles(text[turn.start : turn.end], spans, 400)


def test_segment_fills_metadata_and_numbers_segments(default, tmp_path):
    path = tmp_path / "C-01.txt"
    path.write_text("---\ncase: County C\nrespondent_role: official\n---\n"
                    "问：县里支持吗？\n答：支持。每年都拨专项资金给敬老院。The county also sends staff.\n",
                    encoding="utf-8")
    transcript = read_transcript(path, tmp_path)
    segments = default.segment(transcript)
    assert [(s.speaker, s.is_interviewer, s.turn, s.segment, s.language, s.text)
            for s in segments] == [
        ("问", True, 1, 1, "zh", "县里支持吗？"),
        ("答", False, 2, 1, "zh", "支持。每年都拨专项资金给敬老院。"),
        ("答", False, 2, 2, "en", "The county also sends staff."),
    ]
    assert {(s.transcript_id, s.case, s.respondent_role) for s in segments} == {
        ("C-01", "County C", "official")}
    assert all(transcript.text[s.start : s.end] == s.text for s in segments)


# --------------------------------------------------------------------------- long turns


@pytest.mark.parametrize("unit", ["我们县里的留守儿童很多但是政府没有钱所以我们找企业合作",
                                  "我们 县里 留守儿童 没有钱 ",
                                  "we had no money and the county did not help us ",
                                  "x"])
def test_long_unpunctuated_turn_is_cut_fast(default, unit):
    text = (unit * (20_000 // len(unit) + 1))[:20_000]
    started = time.perf_counter()
    spans = default.split(text)
    assert time.perf_counter() - started < 2
    assert_tiles(text, spans, default.max_chars)
    assert len(spans) >= 20_000 // default.max_chars


def test_long_segment_cut_at_last_pause(default):
    clause = "我们县里的留守儿童很多，"
    text = clause * 60
    pieces = texts(default, text)
    assert all(piece.endswith("，") for piece in pieces[:-1])
    assert all(len(piece) <= default.max_chars for piece in pieces)


# --------------------------------------------------------------------------- real texts


def test_real_nasa_transcript_segments(default):
    path = REAL / "spacelog_ma6_TEC_en.txt"
    transcript = read_transcript(path, REAL, {path.name: {"case": "MA-6"}})
    started = time.perf_counter()
    segments = default.segment(transcript)
    assert time.perf_counter() - started < 10
    for turn in transcript.turns:
        own = [(s.start - turn.start, s.end - turn.start, s.language)
               for s in segments if s.turn == turn.number]
        assert_tiles(transcript.turn_text(turn), own, default.max_chars)
    assert all(s.language == "en" for s in segments)
    assert not any("_page" in s.text or "_tape" in s.text for s in segments)
    assert {s.speaker for s in segments} >= {"CC", "P"}


@pytest.mark.parametrize(("name", "n_articles"), [("zh_农村五保供养工作条例_2006.md", 25),
                                                ("zh_未成年人保护法_2024.md", 130)])
def test_real_chinese_law_segments(default, name, n_articles):
    path = REAL / name
    transcript = read_transcript(path, REAL, {name: {"case": "law"}})
    started = time.perf_counter()
    segments = default.segment(transcript)
    assert time.perf_counter() - started < 10
    (turn,) = transcript.turns
    spans = [(s.start - turn.start, s.end - turn.start, s.language) for s in segments]
    assert_tiles(transcript.turn_text(turn), spans, default.max_chars)
    assert {s.speaker for s in segments} == {"unknown"}
    assert sum(s.language == "zh" for s in segments) >= 0.95 * len(segments)
    articles = [s.text for s in segments if s.text.startswith("第") and "条 " in s.text[:8]]
    assert len(articles) >= n_articles  # every article starts a segment
