"""Training data: the bundled annotations plus researchers' reviewed quotes.

Two kinds of file live in the annotations folder (CSV, or XLSX as exported by
the workflow):

- plain annotation files: one row per segment, columns ``text`` and ``codes``
  (IDs joined by ``;``; empty = no code), optional ``language``,
  ``transcript_id``, ``annotator``;
- reviewed ``coded_quotes`` files: one row per (segment, code) with a
  ``review`` column: ``y`` keeps the code, ``n`` removes it, code IDs replace
  it. A segment counts as reviewed when at least one of its rows is; its other,
  unreviewed rows are then taken as they are. Unreviewed segments are skipped
  (the model never trains on its own guesses).

Files are applied in name order, plain files before review files; a later file
overrides an earlier label of the same text, so a review overrides the bundled
label of the same segment.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casecoder.errors import InputError
from casecoder.tables import read_table

ANNOTATION_SUFFIXES = (".csv", ".xlsx")
_SPLIT = re.compile(r"[;；,，\s]+")


def text_key(text: str) -> str:
    """The identity of a segment's text for overrides: whitespace-insensitive."""
    return " ".join(text.split())


@dataclass
class TrainingSet:
    """Texts with their code sets, in a stable order, and where they came from."""

    texts: list[str] = field(default_factory=list)
    labels: list[frozenset[str]] = field(default_factory=list)
    reviewed: dict[str, frozenset[str]] = field(default_factory=dict)  # text_key -> codes
    files: list[str] = field(default_factory=list)
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self, code_ids: Sequence[str]) -> dict[str, int]:
        return {c: sum(c in label for label in self.labels) for c in code_ids}


def find_annotation_files(folder: str | Path) -> list[Path]:
    """Annotation files in a folder (not recursive), plain files first, then reviews.

    Order within each kind is by name, so results do not depend on the file system.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "annotations folder not found")
    files = sorted(
        p for p in folder.iterdir()
        if p.suffix.lower() in ANNOTATION_SUFFIXES and not p.name.startswith((".", "~$"))
    )
    reviews = [p for p in files if _is_review_file(p)]
    return [p for p in files if p not in reviews] + reviews


def _is_review_file(path: Path) -> bool:
    return "review" in _columns(path)


def _columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".xlsx":
        return list(_read_any(path).columns)
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    return [c.strip().strip('"') for c in header.split(",")]


def _read_any(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xlsx":
        from casecoder.export import read_quotes_xlsx

        try:
            return read_quotes_xlsx(path)
        except InputError:
            raise
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise InputError(path, f"not a readable .xlsx file ({type(exc).__name__})") from None
    return read_table(path)


def parse_codes(value: str, known: set[str], path: Path, row: int) -> set[str]:
    """Code IDs from a cell ('A;B', also tolerating ',' and spaces); unknown IDs are errors."""
    codes = {c for c in _SPLIT.split(value.strip()) if c}
    unknown = sorted(codes - known)
    if unknown:
        raise InputError(path, f"unknown code {unknown[0]!r} (not in the codebook)", line=row)
    return codes


def load_training_set(folder: str | Path, code_ids: Iterable[str]) -> TrainingSet:
    """Read every annotation file of a folder into one training set.

    Row numbers in errors count the header as line 1, as a spreadsheet shows them.
    """
    known = set(code_ids)
    labels: dict[str, set[str]] = {}
    texts: dict[str, str] = {}
    reviewed: dict[str, set[str]] = {}
    files = find_annotation_files(folder)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        if _is_review_file(path):
            _apply_review(path, known, labels, texts, reviewed)
        else:
            _apply_plain(path, known, labels, texts)
    keys = list(texts)
    return TrainingSet(
        texts=[texts[k] for k in keys],
        labels=[frozenset(labels[k]) for k in keys],
        reviewed={k: frozenset(v) for k, v in reviewed.items()},
        files=[p.name for p in files],
        sha256=digest.hexdigest(),
    )


def _apply_plain(path: Path, known: set[str], labels: dict, texts: dict) -> None:
    frame = _read_any(path)
    missing = [c for c in ("text", "codes") if c not in frame.columns]
    if missing:
        raise InputError(
            path,
            f"missing column {', '.join(missing)} (an annotation file needs 'text' and 'codes'; "
            f"found: {', '.join(frame.columns) or 'none'})",
        )
    for row, (text, codes) in enumerate(zip(frame["text"], frame["codes"], strict=True), start=2):
        if not text.strip():
            raise InputError(path, "empty text", line=row)
        key = text_key(text)
        texts[key] = text
        labels[key] = parse_codes(codes, known, path, row)


def _apply_review(path: Path, known: set[str], labels: dict, texts: dict, reviewed: dict) -> None:
    frame = _read_any(path)
    missing = [c for c in ("text", "code", "review") if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing column {', '.join(missing)} (a reviewed coded_quotes file)")
    # Review-queue rows also say whether the code is on the segment now (``assigned``)
    # and which codes are (``codes``): a blank review keeps that state.
    assigned = frame["assigned"] if "assigned" in frame.columns else [""] * len(frame)
    current = frame["codes"] if "codes" in frame.columns else [""] * len(frame)
    edits: dict[str, list[tuple[str, str, int]]] = {}
    start: dict[str, set[str]] = {}
    for row, (text, code, review, is_on, now) in enumerate(
        zip(frame["text"], frame["code"], frame["review"], assigned, current, strict=True),
        start=2,
    ):
        if not text.strip():
            raise InputError(path, "empty text", line=row)
        code = code.strip()
        if code and code not in known:
            raise InputError(path, f"unknown code {code!r} (not in the codebook)", line=row)
        review = review.strip()
        if not review and is_on.strip() == "0":
            review = "-"  # not reviewed, and not on the segment: leave it off
        edits.setdefault(text_key(text), []).append((code, review, row))
        texts.setdefault(text_key(text), text)
        if now.strip():
            start.setdefault(text_key(text), set()).update(parse_codes(now, known, path, row))
    for key, rows in edits.items():
        if not any(review not in ("", "-") for _, review, _ in rows):
            if key not in labels:
                del texts[key]
            continue
        label = set(labels[key]) if key in labels else set(start.get(key, set()))
        for code, review, row in rows:
            verdict = review.lower()
            if verdict == "-":
                continue
            if verdict in ("", "y", "yes", "✓"):
                if code:
                    label.add(code)
            elif verdict in ("n", "no", "x"):
                label.discard(code)
            else:
                replacement = parse_codes(review, known, path, row)
                label.discard(code)
                label |= replacement
        labels[key] = label
        reviewed[key] = label
