"""Annotation files and reviewed quotes: the training set and its overrides."""

from __future__ import annotations

import pandas as pd
import pytest

from casecoder.annotations import load_training_set, text_key
from casecoder.errors import InputError
from casecoder.tables import write_table

CODES = ["FUNDED", "BROKE", "KIDS"]


def _plain(folder, name, rows):
    write_table(pd.DataFrame(rows, columns=["text", "codes"]), folder / name)


def test_plain_files(tmp_path):
    _plain(tmp_path, "a.csv", [("县里拨了专项资金", "FUNDED"), ("你好", ""),
                               ("没钱，孩子们也没人管", "BROKE;KIDS")])
    data = load_training_set(tmp_path, CODES)
    assert data.texts == ["县里拨了专项资金", "你好", "没钱，孩子们也没人管"]
    assert data.labels == [{"FUNDED"}, set(), {"BROKE", "KIDS"}]
    assert data.counts(CODES) == {"FUNDED": 1, "BROKE": 1, "KIDS": 1}
    assert len(data.sha256) == 64


def test_review_overrides_bundled_label(tmp_path):
    _plain(tmp_path, "bundled.csv", [("县里拨了专项资金给孩子们", "FUNDED;KIDS")])
    review = pd.DataFrame(
        [
            {"transcript_id": "X", "text": "县里拨了专项资金给孩子们", "code": "FUNDED", "review": "n"},
            {"transcript_id": "X", "text": "县里拨了专项资金给孩子们", "code": "KIDS", "review": ""},
            {"transcript_id": "X", "text": "We had no money.", "code": "FUNDED", "review": "BROKE"},
            {"transcript_id": "X", "text": "Untouched row.", "code": "KIDS", "review": ""},
            {"transcript_id": "X", "text": "=SUM(A1) was the joke", "code": "KIDS", "review": "y"},
        ]
    )
    write_table(review, tmp_path / "coded_quotes_reviewed.csv")
    data = load_training_set(tmp_path, CODES)
    labels = dict(zip(data.texts, data.labels, strict=True))
    assert labels["县里拨了专项资金给孩子们"] == {"KIDS"}
    assert labels["We had no money."] == {"BROKE"}
    assert labels["=SUM(A1) was the joke"] == {"KIDS"}
    assert "Untouched row." not in labels  # never reviewed: not trained on
    assert data.reviewed[text_key("We had no money.")] == {"BROKE"}


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("text ok", "NOPE")], r"bad\.csv, line 2: unknown code 'NOPE'"),
        ([("fine", ""), ("   ", "FUNDED")], r"bad\.csv, line 3: empty text"),
    ],
)
def test_bad_rows_name_file_and_row(tmp_path, rows, message):
    _plain(tmp_path, "bad.csv", rows)
    with pytest.raises(InputError, match=message):
        load_training_set(tmp_path, CODES)


def test_wrong_columns(tmp_path):
    (tmp_path / "x.csv").write_text("sentence,label\nhello,\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.csv: missing column text, codes"):
        load_training_set(tmp_path, CODES)


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="annotations folder not found"):
        load_training_set(tmp_path / "nope", CODES)


def test_review_queue_rows_change_only_what_the_researcher_marked(tmp_path):
    """A queue row says whether its code is on the segment now; blank keeps that state."""
    queue = pd.DataFrame(
        [  # the segment carries KIDS now; the model almost gave FUNDED and BROKE
            {"text": "村里给孩子们腾了间屋子", "code": "FUNDED", "assigned": "0", "codes": "KIDS",
             "review": "y"},
            {"text": "村里给孩子们腾了间屋子", "code": "BROKE", "assigned": "0", "codes": "KIDS",
             "review": ""},
            {"text": "Only looked at, never marked.", "code": "KIDS", "assigned": "1",
             "codes": "KIDS", "review": ""},
            {"text": "A model code the researcher removed.", "code": "BROKE", "assigned": "1",
             "codes": "BROKE;KIDS", "review": "n"},
        ]
    )
    write_table(queue, tmp_path / "review_queue.csv")
    data = load_training_set(tmp_path, CODES)
    labels = dict(zip(data.texts, data.labels, strict=True))
    assert labels == {"村里给孩子们腾了间屋子": {"FUNDED", "KIDS"},
                      "A model code the researcher removed.": {"KIDS"}}
