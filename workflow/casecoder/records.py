"""The data model shared by every stage: transcripts, turns and segments.

Offsets (``start``/``end``) are character offsets into ``Transcript.text``, the
decoded text of the file with line endings normalised to ``\\n``. For a
``.docx`` file that text is its paragraphs joined by ``\\n``; for a ``.vtt``
file it is the cue payloads (one line per cue line) joined by ``\\n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Columns of ``segments.csv``, in order (SPEC.md, Outputs).
SEGMENT_COLUMNS = [
    "transcript_id",
    "case",
    "respondent_role",
    "speaker",
    "is_interviewer",
    "turn",
    "segment",
    "start",
    "end",
    "language",
    "text",
    "codes",
]


@dataclass
class Turn:
    """One speaker turn: a label (or none) and the text that follows it.

    ``start``/``end`` delimit the turn's text after its label, timestamp and the
    separator, so ``transcript.text[start:end]`` is what the speaker said
    (continuation lines included, surrounding blank space excluded).
    """

    number: int  # 1-based within the transcript
    speaker: str
    is_interviewer: bool
    start: int
    end: int
    timestamp: str | None = None
    meta: dict[str, str] = field(default_factory=dict)  # e.g. page/tape lines seen in the turn


@dataclass
class Transcript:
    """One interview file, decoded, with its metadata and turns."""

    id: str
    path: str  # as given (relative to the transcripts folder where possible)
    text: str
    meta: dict[str, str]  # case, respondent_role, language, date, translation_of, ...
    turns: list[Turn] = field(default_factory=list)

    @property
    def translation_of(self) -> str | None:
        return self.meta.get("translation_of") or None

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.start : turn.end]


@dataclass
class Segment:
    """A sentence-like stretch of one turn: the unit that is coded and quoted."""

    transcript_id: str
    case: str
    respondent_role: str
    speaker: str
    is_interviewer: bool
    turn: int
    segment: int  # 1-based within the turn
    start: int
    end: int
    language: str  # zh | en
    text: str
    translation: str = ""  # the translated turn's text, when a translation file exists
    codes: list[str] = field(default_factory=list)
