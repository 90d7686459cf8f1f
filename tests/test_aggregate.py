"""Case-level tables: matrix counts, political-will index, typology, translations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from casecoder import aggregate as agg
from casecoder.codebook import load_codebook
from casecoder.errors import InputError

DIRECTIONS = {"PW_PRIORITY_HIGH": 1, "PW_PRIORITY_LOW": -1, "TGT_CHILDREN": 0}


@pytest.mark.parametrize(
    "segments, expected",
    [
        ([{"PW_PRIORITY_HIGH"}, {"PW_PRIORITY_HIGH"}, {"PW_PRIORITY_LOW"}], (2 - 1) / 3),
        ([{"PW_PRIORITY_HIGH", "PW_PRIORITY_LOW"}], 0.0),  # counts on both sides
        ([{"TGT_CHILDREN"}, set()], math.nan),
        ([{"PW_PRIORITY_LOW"}, {"TGT_CHILDREN"}], -1.0),
    ],
)
def test_political_will_index(segments, expected):
    value = agg.political_will_index(segments, DIRECTIONS)
    assert (math.isnan(value) and math.isnan(expected)) or value == pytest.approx(expected, abs=1e-4)


def _batches():
    transcripts = [
        {"id": "A-1", "file": "a1.txt", "sha256": "x", "case": "A", "respondent_role": "official",
         "language": "zh", "date": "", "translation_of": "", "n_turns": 2},
        {"id": "A-1-en", "file": "a1en.txt", "sha256": "y", "case": "A",
         "respondent_role": "official", "language": "en", "date": "", "translation_of": "A-1",
         "n_turns": 2},
        {"id": "B-1", "file": "b1.txt", "sha256": "z", "case": "B", "respondent_role": "other",
         "language": "en", "date": "", "translation_of": "", "n_turns": 2},
    ]

    def seg(tid, case, turn, n, inter, codes, role="official"):
        return {"transcript_id": tid, "case": case, "respondent_role": role, "speaker": "s",
                "is_interviewer": inter, "turn": turn, "segment": n, "start": 0, "end": 1,
                "language": "zh", "text": f"{tid}-{turn}-{n}", "codes": codes}

    segments = [
        seg("A-1", "A", 1, 1, 1, ""),
        seg("A-1", "A", 2, 1, 0, "PART_FORMAL;PART_COLLABORATIVE"),
        seg("A-1", "A", 2, 2, 0, "PART_FORMAL;PW_PRIORITY_HIGH"),
        seg("B-1", "B", 1, 1, 1, ""),
        seg("B-1", "B", 2, 1, 0, "PART_INFORMAL;PART_INSTRUMENTAL;PW_PRIORITY_LOW", "other"),
        seg("B-1", "B", 2, 2, 0, "", "other"),
    ]
    quotes = []
    for s in segments:
        for code in filter(None, s["codes"].split(";")):
            quotes.append({"transcript_id": s["transcript_id"], "turn": s["turn"],
                           "segment": s["segment"], "code": code, "source": "rule",
                           "confidence": 1.0, "rule": f"{code}/r"})
    translations = [{"transcript_id": "A-1-en", "file": "a1en.txt", "translation_of": "A-1",
                     "turns": ["Q?", "We signed a contract."]}]
    return {"transcripts": transcripts, "segments": segments, "quotes": quotes,
            "translations": translations}


def test_tables_from_batches():
    book = load_codebook("codebooks/political_will.yaml")
    batches = _batches()
    translations = agg.attach_translations(batches)
    segments = agg.segments_table(batches)
    quotes = agg.quotes_table(batches, segments, translations, book, "abc")
    assert list(quotes.columns) == agg.QUOTE_COLUMNS
    assert set(quotes.loc[quotes["transcript_id"] == "A-1", "translation"]) == {"We signed a contract."}
    summary = agg.case_summary(segments, batches["transcripts"], book)
    assert summary.to_dict("records")[0] | {} == {
        "case": "A", "n_transcripts": 1, "n_segments": 2, "n_coded": 2,
        "political_will_index": 1.0, "formality": "formal", "mode": "collaborative",
        "typology": "formal-collaborative", "coded_official": 2, "coded_other": 0,
    }
    assert summary.loc[1, "typology"] == "informal-instrumental"
    assert summary.loc[1, "political_will_index"] == -1.0
    matrix = agg.case_code_matrix(quotes, list(summary["case"]), book)
    assert list(matrix.columns) == ["case", *book.ids]
    assert matrix.set_index("case").loc["A", "PART_FORMAL"] == 2


def test_translation_errors_name_both_files():
    batches = _batches()
    batches["translations"][0]["turns"].append("extra")
    with pytest.raises(InputError, match=r"a1en\.txt: 3 turns, but the original a1\.txt has 2"):
        agg.attach_translations(batches)
    batches = _batches()
    batches["translations"][0]["translation_of"] = "NOPE"
    with pytest.raises(InputError, match=r"a1en\.txt: translation_of: no transcript has the id 'NOPE'"):
        agg.attach_translations(batches)


def test_duplicate_ids_name_both_files():
    transcripts = _batches()["transcripts"]
    transcripts[2]["id"] = "A-1"
    with pytest.raises(InputError, match=r"b1\.txt: transcript id 'A-1' is also used by a1\.txt"):
        agg.check_transcripts(transcripts)


def test_matrix_counts_match_quotes():
    book = load_codebook("codebooks/political_will.yaml")
    batches = _batches()
    segments = agg.segments_table(batches)
    quotes = agg.quotes_table(batches, segments, {}, book)
    matrix = agg.case_code_matrix(quotes, ["A", "B"], book).set_index("case")
    recount = quotes.groupby(["case", "code"]).size()
    for (case, code), n in recount.items():
        assert matrix.loc[case, code] == n
    assert int(matrix.to_numpy().sum()) == len(quotes)
    assert isinstance(matrix, pd.DataFrame)


def test_queue_table_orders_pairs_for_review():
    batches = _batches()
    segments = agg.segments_table(batches)
    first = segments.iloc[0]
    key = {"transcript_id": first["transcript_id"], "turn": int(first["turn"]),
           "segment": int(first["segment"])}
    batches["queue"] = [
        key | {"code": "PART_FORMAL", "assigned": 1, "probability": 0.1, "threshold": 0.5,
               "reason": "rule, not model", "rule": "PART_FORMAL/r", "rank": [1, -0.4]},
        key | {"code": "TGT_CHILDREN", "assigned": 0, "probability": 0.4, "threshold": 0.5,
               "reason": "near threshold", "rule": "", "rank": [0, 0.1]},
        key | {"code": "PW_PRIORITY_HIGH", "assigned": 1, "probability": 0.52, "threshold": 0.5,
               "reason": "near threshold", "rule": "", "rank": [0, 0.02]},
        key | {"code": "OUT_SUSTAINED", "assigned": 1, "probability": 0.95, "threshold": 0.3,
               "reason": "model, not rule", "rule": "", "rank": [1, -0.65]},
    ]
    queue = agg.queue_table(batches, segments, {}, "abc")
    assert list(queue.columns) == agg.QUEUE_COLUMNS
    assert list(queue["code"]) == ["PW_PRIORITY_HIGH", "TGT_CHILDREN", "OUT_SUSTAINED",
                                   "PART_FORMAL"]
    assert list(queue["priority"]) == [1, 2, 3, 4]
    assert set(queue["text"]) == {first["text"]} and set(queue["review"]) == {""}
    assert set(queue["codes"]) == {first["codes"]}
    assert list(agg.queue_table(batches, segments, {}, "abc", limit=2)["code"]) == [
        "PW_PRIORITY_HIGH", "TGT_CHILDREN"]
