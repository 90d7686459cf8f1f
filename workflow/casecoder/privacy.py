"""Pseudonymisation: informants' names replaced, contact numbers masked.

A ``pseudonyms.yaml`` in the transcripts folder switches it on::

    pseudonyms:
      - pseudonym: 官员甲
        names: [王建国, 王局长, 老王, Wang Jianguo]
      - pseudonym: 青山镇
        names: [桃源镇, Taoyuan]

Every listed name (longest first, so 王局长 wins over 王) is replaced by its
pseudonym in every text the workflow writes (segments, quotes, speakers,
translations, report, spreadsheet); English names match case-insensitively on
word boundaries. Phone numbers, Chinese resident ID numbers and e-mail
addresses are masked. Offsets (``start``/``end``) still point into the
original transcript. The one place the results hold a transcript's whole text,
the sources of ``project.qdpx`` (see :mod:`casecoder.qda`), is pseudonymised
piece by piece with :meth:`Pseudonymiser.in_pieces`, which also says where the
offsets moved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casecoder.errors import InputError

PSEUDONYMS_FILE = "pseudonyms.yaml"

_MASKS = [
    # Chinese resident ID: 17 digits + digit or X, not part of a longer number.
    (re.compile(r"(?<!\d)\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)"),
     "[ID]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[EMAIL]"),
    # Mainland mobile numbers, optionally +86 and spaced/dashed as people write them.
    (re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"), "[PHONE]"),
    # Landlines: area code with 0, then 7-8 digits; or international formats.
    (re.compile(r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3})[\s-]?\d{7,8}(?!\d)"), "[PHONE]"),
    (re.compile(r"(?<![\w])\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,4}){2,4}(?!\d)"), "[PHONE]"),
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pseudonym: str = Field(min_length=1)
    names: list[str] = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pseudonyms: list[_Entry] = Field(default_factory=list)


@dataclass
class Pseudonymiser:
    """Replaces listed names and masks contact numbers; identity when disabled."""

    names: dict[str, str]
    enabled: bool = True

    def __post_init__(self) -> None:
        self._regex = None
        if self.names:
            ordered = sorted(self.names, key=len, reverse=True)
            parts = []
            for name in ordered:
                body = re.escape(name)
                if re.fullmatch(r"[\x00-\x7f]+", name):
                    body = rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"
                parts.append(body)
            self._regex = re.compile("|".join(parts), re.IGNORECASE)
            self._lookup = {n.lower(): p for n, p in self.names.items()}

    def __call__(self, text: str) -> str:
        if not self.enabled or not text:
            return text
        if self._regex is not None:
            text = self._regex.sub(lambda m: self._lookup[m.group(0).lower()], text)
        for regex, mask in _MASKS:
            text = regex.sub(mask, text)
        return text

    def in_pieces(self, text: str, cuts: Iterable[int]) -> tuple[str, dict[int, int]]:
        """The text pseudonymised piece by piece between the cut offsets, and where each
        cut lies in the new text.

        Names and masks change lengths, so offsets into the original text do not point
        into the pseudonymised one. Cutting at every segment boundary makes the piece
        between two cuts exactly ``self(text[a:b])``, the text the segment tables hold,
        and ``new[where[a]:where[b]]`` that piece. A name split by a cut stays as it
        is, as it does in the segment tables.
        """
        points = sorted({0, len(text), *(c for c in cuts if 0 <= c <= len(text))})
        pieces: list[str] = []
        where = {0: 0}
        length = 0
        for start, end in zip(points, points[1:], strict=False):
            piece = self(text[start:end])
            pieces.append(piece)
            length += len(piece)
            where[end] = length
        return "".join(pieces), where


def load_pseudonymiser(transcripts: str | Path, mode: str | bool = "auto") -> Pseudonymiser:
    """The pseudonymiser for a transcripts folder.

    ``mode``: ``auto`` (on when pseudonyms.yaml exists), ``True`` (on; masks
    contacts even without a names file) or ``False`` (off).
    """
    path = Path(transcripts) / PSEUDONYMS_FILE
    exists = path.is_file()
    enabled = exists if mode == "auto" else bool(mode)
    if not enabled:
        return Pseudonymiser({}, enabled=False)
    names: dict[str, str] = {}
    if exists:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
            parsed = _File.model_validate(raw)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError(path, f"not a readable YAML file ({type(exc).__name__})") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(path, f"field {where}: {err['msg']}") from None
        for entry in parsed.pseudonyms:
            for name in entry.names:
                if name.strip():
                    names[name.strip()] = entry.pseudonym
    return Pseudonymiser(names, enabled=True)
