"""The review spreadsheet: coded quotes as an .xlsx a researcher can sort, filter and mark.

``coded_quotes.xlsx`` holds the same rows and columns as ``coded_quotes.csv``,
laid out for reading: a frozen header, an autofilter, wide wrapped quote
columns, and a drop-down on the ``review`` column offering ``y`` (the code is
right), ``n`` (it is wrong) or a replacement code ID. The filled-in file goes
back into the annotations folder, so :func:`read_quotes_xlsx` must give back
exactly what was written:

- every text cell is stored as a string, never as a formula, so a quote that
  starts with ``=`` is shown as typed and read back unchanged (Excel does not
  evaluate string cells);
- numbers (turn, offsets, confidence) stay numbers, so sorting works;
- the bytes are the same for the same input (fixed document and zip
  timestamps), so a rerun does not look like a change.

XML 1.0 cannot hold most ASCII control characters; the few that can occur in
a transcript (form feeds from Word, stray NULs) are dropped from the cell.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from casecoder.errors import InputError

QUOTES_SHEET = "coded_quotes"
QUEUE_SHEET = "review_queue"
OPTIONS_SHEET = "review_options"
QUOTE_COLUMNS = ("text", "translation")
# Read back as floats ("1.0", as in the CSV), though Excel stores 1.0 as 1.
FLOAT_COLUMNS = ("confidence", "probability", "threshold")
REVIEW_COLUMN = "review"

_FIXED_TIME = datetime(2000, 1, 1)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_EXCEL_MAX_ROW = 1_048_576
_INLINE_LIST_LIMIT = 255  # Excel rejects a longer inline list (items and commas)
_QUOTE_WIDTH = 60
_MAX_WIDTH = 30
_MIN_WIDTH = 6
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")
_HEADER_STYLE, _QUOTE_STYLE = "Review header", "Review quote"


def write_quotes_xlsx(quotes: pd.DataFrame, code_ids: Sequence[str], path: Path,
                      queue: pd.DataFrame | None = None) -> None:
    """Write the coded quotes (and the review queue, on a second sheet) as a review
    workbook (see the module docstring)."""
    # Write-only mode streams rows to disk: several times faster than building the sheet
    # in memory, which matters for a corpus of a thousand interviews (200,000 quotes).
    workbook = Workbook(write_only=True)
    _register_styles(workbook)
    sheets = [(QUOTES_SHEET, quotes)] + ([(QUEUE_SHEET, queue)] if queue is not None else [])
    for title, frame in sheets:
        sheet = workbook.create_sheet(title)
        columns = [str(c) for c in frame.columns]
        _lay_out(sheet, columns, frame)  # widths and panes go before the rows in the file
        _write_rows(sheet, columns, _cell_columns(sheet, frame))
        if REVIEW_COLUMN in columns:
            _add_review_dropdown(workbook, sheet, columns.index(REVIEW_COLUMN) + 1, code_ids)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_deterministic_bytes(workbook))


def read_quotes_xlsx(path: Path) -> pd.DataFrame:
    """Read a review workbook back: all cells as text ("" for empty), header as columns.

    Reads the ``coded_quotes`` sheet (or the first sheet, for a workbook a
    researcher re-saved under another name), followed by the ``review_queue``
    sheet when there is one (columns one sheet lacks are empty for its rows).
    Fully empty rows are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        first = QUOTES_SHEET if QUOTES_SHEET in workbook.sheetnames else workbook.sheetnames[0]
        names = [first] + [QUEUE_SHEET] * (QUEUE_SHEET in workbook.sheetnames
                                             and first != QUEUE_SHEET)
        frames = [_read_sheet(path, workbook[name]) for name in names]
    finally:
        workbook.close()
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True).fillna("").astype(str)


def _read_sheet(path: Path, sheet: Worksheet) -> pd.DataFrame:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None or not any(_as_text(v) for v in header):
        raise InputError(path, f"sheet {sheet.title!r} has no header row")
    columns = _header(header)
    records = []
    for row in rows:
        cells = [_as_text(v, name in FLOAT_COLUMNS) for v, name in zip(row, columns, strict=False)]
        cells += [""] * (len(columns) - len(cells))
        if any(cells):
            records.append(cells)
    return pd.DataFrame(records, columns=columns, dtype=str)  # as read_table gives


def _header(values: Sequence[object]) -> list[str]:
    """Column names from the header row, dropping empty trailing cells."""
    names = [_as_text(v).strip() for v in values]
    while names and not names[-1]:
        names.pop()
    return names


def _as_text(value: object, is_float: bool = False) -> str:
    """A cell value as the text the CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if is_float and isinstance(value, int | float):
        return str(float(value))
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # Excel stores every number as a double; a re-saved 7 comes back as 7.0.
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _write_rows(sheet: Worksheet, columns: list[str], cells: list[list[object]]) -> None:
    """The header, then the rows of the prepared columns (see :func:`_cell_columns`)."""
    sheet.append([_styled(sheet, name, _HEADER_STYLE) for name in columns])
    for row in zip(*cells, strict=True):
        sheet.append(row)


def _cell_columns(sheet: Worksheet, frame: pd.DataFrame) -> list[list[object]]:
    """Every column as the values to write, prepared a column at a time (fast).

    Plain values are written as they are; a cell gets its own object only where
    it needs a style (the quote columns: wrapped, aligned top) or must not become
    a formula (text starting with ``=``, which openpyxl would store as one).
    """
    prepared = []
    for name in frame.columns:
        values = [_cell_value(v) for v in frame[name].tolist()]
        if name in QUOTE_COLUMNS:
            values = [_styled(sheet, v, _QUOTE_STYLE) for v in values]
        else:
            values = [_styled(sheet, v, None) if isinstance(v, str) and v.startswith("=") else v
                      for v in values]
        prepared.append(values)
    return prepared


def _styled(sheet: Worksheet, value: object, style: str | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if style is not None:
        cell.style = style
    return cell


def _cell_value(value: object) -> object:
    """Numbers stay numbers; text loses the control characters XML cannot hold."""
    if isinstance(value, str):
        return _ILLEGAL_XML.sub("", value) if _ILLEGAL_XML.search(value) else value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _cell_value(value.item())
    return _ILLEGAL_XML.sub("", str(value))


def _lay_out(sheet: Worksheet, columns: list[str], quotes: pd.DataFrame) -> None:
    """Frozen header, autofilter, widths that fit the content."""
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{max(len(quotes) + 1, 2)}"
    for index, name in enumerate(columns, start=1):
        is_quote = name in QUOTE_COLUMNS
        width = _column_width(name, quotes[name], is_quote)
        sheet.column_dimensions[get_column_letter(index)].width = width


def _register_styles(workbook: Workbook) -> None:
    top = Alignment(vertical="top")
    for name, font, fill, alignment in (
        (_HEADER_STYLE, Font(bold=True), _HEADER_FILL, top),
        (_QUOTE_STYLE, Font(), PatternFill(), Alignment(vertical="top", wrap_text=True)),
    ):
        workbook.add_named_style(NamedStyle(name=name, font=font, fill=fill, alignment=alignment))


def _column_width(name: str, values: pd.Series, is_quote: bool) -> float:
    """Width in characters: the longest cell (CJK counts double) plus a margin, capped."""
    if is_quote:
        return _QUOTE_WIDTH
    distinct = pd.unique(values.astype(str))  # most columns repeat a few values
    longest = max([_display_width(name) + 2, *(_display_width(v) for v in distinct)])
    return float(min(max(longest + 2, _MIN_WIDTH), _MAX_WIDTH))


def _display_width(text: str) -> int:
    line = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _add_review_dropdown(
    workbook: Workbook, sheet: Worksheet, column: int, code_ids: Sequence[str]
) -> None:
    """A list drop-down on the whole review column: y, n or a code ID.

    The alert is a warning, not a stop: a reviewer may name several
    replacement codes ("PART_FORMAL;TGT_CHILDREN"), which no list can offer.
    """
    options = ["y", "n", *code_ids]
    listed = ",".join(options)
    fits = len(listed) <= _INLINE_LIST_LIMIT
    formula = f'"{listed}"' if fits else _options_range(workbook, options)
    validation = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showDropDown=False,  # openpyxl's name is inverted: False shows the arrow
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle="Review: y, n or code IDs",
        error=(
            "Type y (the code is right), n (it is wrong) or the code ID(s) that should "
            "replace it, separated by ';'. Choose Yes to keep a list of several codes."
        ),
        showInputMessage=True,
        promptTitle="Review",
        prompt="y = right, n = wrong, or the correct code ID(s)",
    )
    letter = get_column_letter(column)
    validation.add(f"{letter}2:{letter}{_EXCEL_MAX_ROW}")
    sheet.data_validations.append(validation)


def _options_range(workbook: Workbook, options: Sequence[str]) -> str:
    """Put the options on a hidden sheet (once) and return an absolute reference to them."""
    if OPTIONS_SHEET not in workbook.sheetnames:
        sheet = workbook.create_sheet(OPTIONS_SHEET)
        sheet.sheet_state = "hidden"
        for option in options:
            sheet.append([_styled(sheet, option, None)])
    return f"{OPTIONS_SHEET}!$A$1:$A${len(options)}"


def _deterministic_bytes(workbook: Workbook) -> bytes:
    """Serialise with fixed timestamps (openpyxl's save_workbook stamps 'now' everywhere)."""
    workbook.properties.creator = "casecoder"
    workbook.properties.created = _FIXED_TIME
    workbook.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


def fixed_time_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip archive of (name, data) entries in the given order, all stamped with one
    fixed time: the same entries give the same bytes (used for project.qdpx too)."""
    buffer = io.BytesIO()
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


class _FixedTimeZip(zipfile.ZipFile):
    """A zip archive whose entries all carry one timestamp and one mode.

    openpyxl adds parts by name (stamped with the current time) and worksheets
    from temporary files (stamped with the file's mtime); both go through here.
    """

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = _entry(str(zinfo_or_arcname))
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = _entry(str(arcname or filename))
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info
