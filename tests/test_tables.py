"""Spreadsheet-safe CSVs: formula cells neutralised, BOM, exact round trip."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from casecoder.errors import InputError
from casecoder.tables import escape_cell, read_table, unescape_cell, write_table


@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("=SUM(A1:A3)", "'=SUM(A1:A3)"),
        ("+86 138", "'+86 138"),
        ("-1 point", "'-1 point"),
        ("@user", "'@user"),
        ("\tindented", "'\tindented"),
        ("\rcarriage", "'\rcarriage"),
        ("'=already quoted", "''=already quoted"),
        ("县里拨了30万", "县里拨了30万"),
        ("'plain quote", "'plain quote"),
        ("", ""),
    ],
)
def test_escape(raw, escaped):
    assert escape_cell(raw) == escaped
    assert unescape_cell(escaped) == raw


@given(st.text())
def test_escape_round_trip(text):
    assert unescape_cell(escape_cell(text)) == text


def test_csv_is_utf8_bom_and_safe(tmp_path):
    frame = pd.DataFrame({"text": ["=SUM(A1)", "他说：“没钱，真没钱。”", "-"], "n": [1, -2, 3]})
    path = tmp_path / "t.csv"
    write_table(frame, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    assert b"'=SUM(A1)" in raw and b"\n=SUM" not in raw
    assert b",-2" in raw  # numbers are not text and stay numbers
    back = read_table(path)
    assert list(back["text"]) == list(frame["text"])


def test_read_table_names_missing_columns(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.csv: missing columns text, codes"):
        read_table(path, required=("text", "codes"))


def test_read_table_rejects_non_utf8(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("text,codes\n没有钱,\n".encode("gb18030"))
    with pytest.raises(InputError, match="gbk.csv: not a UTF-8 CSV"):
        read_table(path)
