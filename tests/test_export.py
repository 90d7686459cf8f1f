"""The review spreadsheet: layout, the review drop-down, exact round trip, stable bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from casecoder.aggregate import QUOTE_COLUMNS
from casecoder.errors import InputError
from casecoder.export import OPTIONS_SHEET, QUOTES_SHEET, read_quotes_xlsx, write_quotes_xlsx

FEW_CODES = ["PW_RESOURCES_COMMITTED", "TGT_CHILDREN"]
MANY_CODES = [f"PW_SOME_RATHER_LONG_CODE_NAME_{i:02d}" for i in range(25)]
TRICKY = "他说：“我们有专项资金”，每年10万, 不多\n第二行还有，逗号"


def quote(**values: object) -> dict:
    row: dict[str, object] = {
        "transcript_id": "C-01", "case": "County C", "respondent_role": "official",
        "speaker": "王主任", "turn": 7, "segment": 1, "start": 120, "end": 160, "language": "zh",
        "text": "县里安排了专项资金。", "translation": "", "code": "PW_RESOURCES_COMMITTED",
        "source": "rule", "confidence": 1.0, "rule": "PW_RESOURCES_COMMITTED/special-fund",
        "codebook_version": "political_will 1 (abc)", "model_version": "", "review": "",
    }
    row.update(values)
    return row


@pytest.fixture
def quotes() -> pd.DataFrame:
    rows = [
        quote(),
        quote(turn=8, text="=SUM(A1)", language="en", source="model", confidence=0.8125,
              rule="", model_version="0123456789ab"),
        quote(turn=9, text=TRICKY, translation="He said: \"we have a special fund\", 100k a year",
              code="TGT_CHILDREN", source="rule+model", confidence=0.93),
        quote(turn=10, text="+86 and -1 and @home", speaker="Li, Wei"),
    ]
    return pd.DataFrame(rows, columns=QUOTE_COLUMNS)


@pytest.fixture
def written(tmp_path: Path, quotes: pd.DataFrame) -> Path:
    path = tmp_path / "coded_quotes.xlsx"
    write_quotes_xlsx(quotes, FEW_CODES, path)
    return path


def _column(sheet, name: str) -> str:
    header = [c.value for c in sheet[1]]
    return sheet.cell(row=1, column=header.index(name) + 1).column_letter


def test_header_frozen_filtered_and_bold(written: Path):
    sheet = load_workbook(written)[QUOTES_SHEET]
    assert [c.value for c in sheet[1]] == QUOTE_COLUMNS
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{_column(sheet, 'review')}5"
    assert all(c.font.bold for c in sheet[1])


def test_quote_columns_wide_and_wrapped(written: Path):
    sheet = load_workbook(written)[QUOTES_SHEET]
    for name in ("text", "translation"):
        letter = _column(sheet, name)
        assert sheet.column_dimensions[letter].width >= 50
        assert all(cell.alignment.wrap_text for cell in sheet[letter][1:])
    widths = [d.width for d in sheet.column_dimensions.values()]
    assert max(widths) <= 60 and min(widths) >= 6
    assert sheet.column_dimensions[_column(sheet, "rule")].width <= 30  # capped


def test_review_dropdown_inline(written: Path):
    sheet = load_workbook(written)[QUOTES_SHEET]
    (validation,) = sheet.data_validations.dataValidation
    letter = _column(sheet, "review")
    assert validation.type == "list"
    assert validation.formula1 == '"y,n,PW_RESOURCES_COMMITTED,TGT_CHILDREN"'
    assert str(validation.sqref) == f"{letter}2:{letter}1048576"
    assert validation.showErrorMessage and validation.error and validation.errorTitle


def test_review_dropdown_long_list_on_hidden_sheet(tmp_path: Path, quotes: pd.DataFrame):
    path = tmp_path / "many.xlsx"
    write_quotes_xlsx(quotes, MANY_CODES, path)
    workbook = load_workbook(path)
    (validation,) = workbook[QUOTES_SHEET].data_validations.dataValidation
    assert validation.formula1 == f"{OPTIONS_SHEET}!$A$1:$A${len(MANY_CODES) + 2}"
    options = workbook[OPTIONS_SHEET]
    assert options.sheet_state == "hidden"
    assert [r[0].value for r in options.iter_rows()] == ["y", "n", *MANY_CODES]
    letter = _column(workbook[QUOTES_SHEET], "review")
    assert str(validation.sqref) == f"{letter}2:{letter}1048576"
    # The quotes are still what a reader finds first.
    assert read_quotes_xlsx(path)["text"].tolist() == quotes["text"].tolist()


def test_round_trip_is_exact(written: Path, quotes: pd.DataFrame):
    back = read_quotes_xlsx(written)
    assert list(back.columns) == QUOTE_COLUMNS
    assert back["text"].tolist() == quotes["text"].tolist()
    assert back.loc[1, "text"] == "=SUM(A1)"
    assert back.loc[2, "text"] == TRICKY
    assert back.loc[2, "translation"] == quotes.loc[2, "translation"]
    assert back.loc[3, "speaker"] == "Li, Wei"
    assert back.loc[1, "confidence"] == "0.8125"
    assert back["turn"].tolist() == ["7", "8", "9", "10"]
    assert back.loc[0, "translation"] == "" and back.loc[0, "review"] == ""
    assert all(isinstance(v, str) for v in back.to_numpy().ravel())
    # Exactly what the CSV reader gives for coded_quotes.csv: 1.0 stays "1.0", 7 is "7".
    pd.testing.assert_frame_equal(back, quotes.astype(str))


def test_text_is_never_a_formula_and_numbers_stay_numbers(written: Path):
    sheet = load_workbook(written)[QUOTES_SHEET]
    text, turn, confidence = (_column(sheet, n) for n in ("text", "turn", "confidence"))
    assert sheet[f"{text}3"].value == "=SUM(A1)"
    assert sheet[f"{text}3"].data_type == "s"
    assert sheet[f"{turn}2"].data_type == "n" and sheet[f"{turn}2"].value == 7
    assert sheet[f"{confidence}3"].value == pytest.approx(0.8125)


def test_same_input_same_bytes(tmp_path: Path, quotes: pd.DataFrame):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_quotes_xlsx(quotes, MANY_CODES, first)
    write_quotes_xlsx(quotes, MANY_CODES, second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in archive.read("docProps/core.xml")


def test_empty_quotes(tmp_path: Path):
    path = tmp_path / "empty.xlsx"
    write_quotes_xlsx(pd.DataFrame(columns=QUOTE_COLUMNS), FEW_CODES, path)
    back = read_quotes_xlsx(path)
    assert list(back.columns) == QUOTE_COLUMNS and back.empty


def test_control_characters_xml_cannot_hold_are_dropped(tmp_path: Path):
    path = tmp_path / "ctrl.xlsx"
    frame = pd.DataFrame([quote(text="page\x0cbreak\ttab\r\nline")], columns=QUOTE_COLUMNS)
    write_quotes_xlsx(frame, FEW_CODES, path)
    assert read_quotes_xlsx(path).loc[0, "text"] == "pagebreak\ttab\r\nline"


def test_reads_a_resaved_workbook_with_another_sheet_name(tmp_path: Path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["text", "codes", None])
    sheet.append(["没有专项资金", "PW_RESOURCES_WITHHELD", None])
    sheet.append([None, None, None])
    sheet.append([3.0, True, None])
    path = tmp_path / "resaved.xlsx"
    workbook.save(path)
    back = read_quotes_xlsx(path)
    assert list(back.columns) == ["text", "codes"]
    assert back.to_numpy().tolist() == [["没有专项资金", "PW_RESOURCES_WITHHELD"], ["3", "TRUE"]]


@pytest.mark.parametrize("make", ["missing", "no_header"])
def test_unreadable_input_is_a_clear_error(tmp_path: Path, make: str):
    path = tmp_path / "review.xlsx"
    if make == "no_header":
        Workbook().save(path)
    with pytest.raises(InputError, match="review.xlsx"):
        read_quotes_xlsx(path)


def test_review_queue_sheet_is_written_and_read_back(tmp_path: Path, quotes: pd.DataFrame):
    from casecoder.aggregate import QUEUE_COLUMNS
    from casecoder.export import QUEUE_SHEET

    row = {c: "" for c in QUEUE_COLUMNS} | {
        "priority": 1, "transcript_id": "C-01", "turn": 9, "segment": 1, "start": 0, "end": 4,
        "text": "孩子们", "code": "TGT_CHILDREN", "assigned": 0, "codes": "",
        "probability": 0.45, "threshold": 0.5, "reason": "near threshold", "review": "y"}
    queue = pd.DataFrame([row], columns=QUEUE_COLUMNS)
    path = tmp_path / "coded_quotes.xlsx"
    write_quotes_xlsx(quotes, FEW_CODES, path, queue=queue)
    book = load_workbook(path)
    assert book.sheetnames[0] == QUOTES_SHEET and QUEUE_SHEET in book.sheetnames
    assert book[QUEUE_SHEET].data_validations.dataValidation  # the review drop-down too
    back = read_quotes_xlsx(path)
    assert len(back) == len(quotes) + 1
    last = back.iloc[-1]
    assert (last["code"], last["assigned"], last["probability"], last["review"]) == (
        "TGT_CHILDREN", "0", "0.45", "y")
    assert back.iloc[0]["assigned"] == ""  # quote rows: no queue columns
