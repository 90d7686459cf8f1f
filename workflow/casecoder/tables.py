"""Reading and writing the CSV tables researchers open in Excel or LibreOffice.

Every CSV the workflow writes is UTF-8 with a BOM (so Excel shows Chinese),
quoted as RFC 4180 says, and safe in a spreadsheet: a text cell that starts
with ``= + - @``, a tab or a carriage return is prefixed with ``'`` as OWASP
recommends ("CSV injection"). :func:`read_table` undoes exactly that prefix, so
a quote survives the review-and-retrain round trip unchanged. Cells that
already start with quote marks before such a character get one more, which
keeps the mapping reversible.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from casecoder.errors import InputError

_NEEDS_ESCAPE = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def escape_cell(value: str) -> str:
    """Neutralise a text cell a spreadsheet would otherwise run as a formula."""
    return "'" + value if _NEEDS_ESCAPE.match(value) else value


def unescape_cell(value: str) -> str:
    """Undo :func:`escape_cell` (and only that)."""
    return value[1:] if _ESCAPED.match(value) else value


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a table as a spreadsheet-safe, UTF-8-with-BOM, RFC 4180 CSV."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].map(
                lambda v: escape_cell(v) if isinstance(v, str) else v
            )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def read_table(path: str | Path, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV written by :func:`write_table` (or by a spreadsheet) as text.

    All cells are strings (empty cells are ``""``), the BOM is dropped and the
    formula-escaping prefix is undone. ``required`` columns that are missing
    raise :class:`InputError` naming the file.
    """
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", na_filter=False
        )
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 CSV file (save it as 'CSV UTF-8')") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"not a readable CSV file ({str(exc).strip().splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            path,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(frame.columns) or 'none'})",
        )
    for column in frame.columns:
        frame[column] = frame[column].map(unescape_cell)
    return frame
