"""Reading interview transcripts: find the files, decode them, read metadata, split speaker turns.

A transcript is a ``.txt``/``.md`` file (any of the encodings Chinese and Western
Windows tools write), a ``.docx`` file or a ``.vtt`` subtitle file. Metadata comes
from YAML front matter and from an optional ``manifest.csv`` in the transcripts
folder (the manifest wins). The text is split into speaker turns; offsets of the
turns point into ``Transcript.text``, which is the whole decoded file (front
matter included) with line endings normalised to ``\\n``.

Turn rules (SPEC.md, Transcripts):

- ``Label: text`` / ``标签：文字`` starts a turn, optionally after a timestamp
  (``[00:12:03] 王科长：...``); lines without a label continue the turn.
- ``说话人1 00:01:02`` (speaker and time alone on a line) starts a turn whose
  text follows on the next lines; a timestamp alone on a line belongs to the
  next turn.
- ``_page : 148``-style lines are metadata (``turn.meta["page"] = "148"``),
  never speakers or text. A metadata line (or a lone timestamp) *inside* a turn
  ends the turn's text there; the text after it becomes a new turn of the same
  speaker that carries the metadata, so every turn's text is contiguous and
  free of metadata.
- Text before the first label is one turn of speaker ``unknown``; a label with
  no text after it makes no turn.

Whether ``Something:`` is a speaker label is decided by a heuristic (see
``_label_shape`` and ``_speaker_like``): known labels always count; otherwise a
label must be short, free of sentence punctuation and of the endings that mark
reported speech (``他当时说：``), and look like a name or role or recur in the file.
"""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from casecoder.errors import InputError
from casecoder.records import Transcript, Turn
from casecoder.segment import CJK, script_counts

TRANSCRIPT_SUFFIXES = (".txt", ".md", ".docx", ".vtt")
DEFAULT_INTERVIEWER_LABELS = (
    "Interviewer", "Q", "I", "问", "访谈者", "采访者", "记者", "访问者", "主持人",
)
FRONT_MATTER_FIELDS = (
    "id", "case", "respondent_role", "language", "date", "translation_of", "interviewer",
)

#: Labels that are always speakers (respondents), whatever their shape.
KNOWN_RESPONDENT_LABELS = ("A", "答", "受访者", "被访者", "被访人", "Answer", "Respondent",
                           "Interviewee", "R")
#: Files in a transcripts folder that are never transcripts.
NOT_TRANSCRIPTS = ("manifest.csv", "pseudonyms.yaml")

UNKNOWN_SPEAKER = "unknown"


# --------------------------------------------------------------------------- files


def find_transcripts(folder: Path) -> list[Path]:
    """Transcript files under folder (recursive), sorted by relative POSIX path.

    Skips hidden files and folders, README*, manifest.csv, pseudonyms.yaml, Word's
    ``~$`` lock files and any other suffix, so a folder can hold notes beside the
    interviews. InputError(folder, ...) if the folder does not exist or holds no
    transcript.
    """
    folder = Path(folder)
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "no such folder"
        raise InputError(folder, problem)
    found = [path for path in folder.rglob("*") if _is_transcript(path, folder)]
    if not found:
        raise InputError(folder, "no transcript files in this folder (expected "
                         + ", ".join(TRANSCRIPT_SUFFIXES) + ")")
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _is_transcript(path: Path, folder: Path) -> bool:
    relative = path.relative_to(folder)
    if any(part.startswith(".") for part in relative.parts):
        return False
    name = path.name
    if name.lower().startswith("readme") or name in NOT_TRANSCRIPTS or name.startswith("~$"):
        return False
    return path.suffix.lower() in TRANSCRIPT_SUFFIXES and path.is_file()


def read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    """manifest.csv (column ``file`` plus metadata fields) keyed by the file's POSIX path
    relative to folder; {} when there is no manifest.

    The manifest is decoded like a transcript, because Excel on Chinese Windows saves
    CSV as GB18030. Empty cells set nothing. InputError on a missing ``file`` column,
    an unknown column, a row naming a file that does not exist, or a file listed twice.
    """
    path = Path(folder) / "manifest.csv"
    if not path.is_file():
        return {}
    reader = csv.reader(io.StringIO(decode(path.read_bytes(), path)))
    header = [name.strip() for name in next(reader, [])]
    if "file" not in header:
        raise InputError(path, "no 'file' column (the first row must name the columns)", line=1)
    for name in header:
        if name != "file" and name not in FRONT_MATTER_FIELDS:
            raise InputError(path, f"unknown column {name!r} (known: file, "
                             + ", ".join(FRONT_MATTER_FIELDS) + ")", line=1)
    rows: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        name = _clean_relative(values.pop("file", ""))
        if not name:
            if any(values.values()):
                raise InputError(path, "row without a file name", line=line)
            continue
        if not (Path(folder) / name).is_file():
            raise InputError(path, f"no such transcript file: {name}", line=line)
        if name in rows:
            raise InputError(path, f"{name} is listed twice (first on line {first_line[name]})",
                             line=line)
        rows[name] = {key: value for key, value in values.items() if value}
        first_line[name] = line
    return rows


def _clean_relative(name: str) -> str:
    name = name.strip().replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


# --------------------------------------------------------------------------- decoding

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
#: Legacy encodings tried after UTF-8, in order of preference on a tie.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp1252")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\x80-\x9f]")
_CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uffef\u2018-\u201d\u2026\u00b7]")


def decode(data: bytes, source: str | Path) -> str:
    """Decode a transcript's bytes to text with ``\\n`` line endings.

    A byte-order mark decides first (UTF-8, UTF-16 LE/BE, UTF-32), then strict UTF-8,
    then the legacy encodings Chinese and Western Windows tools write (GB18030, which
    covers GBK and GB2312; Big5; Windows-1252) as found by charset-normalizer and
    ranked by how much of the text reads as Chinese words or Western punctuation.
    UTF-16 without a BOM is recognised from where its zero bytes fall. Raises
    InputError naming the file for an empty file or one that no encoding decodes
    cleanly (binary data, control characters).
    """
    if not data:
        raise InputError(source, "empty file")
    text = _decode_bytes(data, source)
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InputError(source, "cannot be decoded as text: it holds control characters "
                         "(binary data?); save it as UTF-8 text", line=line)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_bytes(data: bytes, source: str | Path) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise InputError(source, f"cannot be decoded: it starts with a {codec} "
                                 f"byte-order mark but is not valid {codec} text") from None
    if b"\x00" in data:
        return _decode_utf16_without_bom(data, source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = _legacy_candidates(data)
    if not candidates:
        raise InputError(source, "cannot be decoded as UTF-8, UTF-16, GB18030, Big5 or "
                         "Windows-1252 text (save it as UTF-8)")
    best = max(candidates, key=lambda item: (_plausibility(item[2]), -item[0], -item[1]))
    return best[2]


def _decode_utf16_without_bom(data: bytes, source: str | Path) -> str:
    """UTF-16 text without a BOM has its zero bytes (of ASCII characters) on one side."""
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    codec = "utf-16-le" if odd > even else "utf-16-be"
    if len(data) % 2 == 0 and max(even, odd) > 4 * min(even, odd):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            text = ""
        if text and not _CONTROL.search(text):
            return text
    raise InputError(source, "cannot be decoded as text: it holds zero bytes (binary data?); "
                     "save it as UTF-8 text")


def _legacy_candidates(data: bytes) -> list[tuple[float, int, str]]:
    """(mess, preference, text) for each legacy encoding that decodes data strictly.

    charset-normalizer measures the mess (its ``chaos``) of every candidate; its own
    cut-off is not used because it rejects the right codec for short Chinese files.
    """
    from charset_normalizer import from_bytes

    preference = {name: rank for rank, name in enumerate(LEGACY_ENCODINGS)}
    candidates = []
    for match in from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS), threshold=1.0):
        if match.encoding not in preference:
            continue
        try:
            candidates.append((match.chaos, preference[match.encoding],
                               data.decode(match.encoding)))
        except UnicodeDecodeError:
            continue
    return candidates


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that read as real text in this decoding.

    Chinese characters count fully when they form jieba dictionary words (after
    converting Traditional to Simplified) and half when they are common single
    characters; text decoded with the wrong Chinese codec is a scatter of rare
    characters that form no words. CJK punctuation counts, and for Windows-1252 so do
    accented letters inside words.
    """
    from casecoder.chinese import cut, to_simplified

    text = text[:20_000]  # a sample is enough and keeps big files fast
    others = [ch for ch in text if ord(ch) > 127]
    if not others:
        return 1.0
    good = sum(1 for ch in others if _CJK_PUNCT.match(ch)) + _accented_in_words(text)
    simplified = to_simplified("".join(ch if CJK.match(ch) else " " for ch in text))
    frequency = _word_frequencies()
    for word in cut(simplified):
        if not CJK.match(word):
            continue
        if len(word) > 1:
            good += len(word) if frequency.get(word) else 0
        elif frequency.get(word, 0) >= COMMON_CHARACTER_FREQUENCY:
            good += 0.5
    return good / len(others)


#: jieba dictionary frequency above which a single character counts as common.
COMMON_CHARACTER_FREQUENCY = 500


def _accented_in_words(text: str) -> int:
    return len(re.findall(r"(?<=[A-Za-z])[\u00c0-\u00ff](?=[A-Za-z\s.,;:!?]|$)", text))


def _word_frequencies() -> dict[str, int]:
    from casecoder.chinese import jieba_tokenizer

    return jieba_tokenizer().FREQ


# --------------------------------------------------------------------------- front matter


def parse_front_matter(text: str, source: str | Path) -> tuple[dict[str, str], int]:
    """(fields, body_start) of text's YAML front matter; ({}, 0) when it has none.

    Values are read as strings (``id: 01`` stays ``"01"``, dates stay as written);
    ``interviewer`` may be a list of labels, stored joined by ``;``.
    """
    first, _, _ = text.partition("\n")
    if first.rstrip() != "---":
        return {}, 0
    offset = len(first) + 1
    lines = text[offset:].split("\n")
    for line in lines:
        if line.rstrip() in ("---", "..."):
            block = text[len(first) + 1 : offset]
            body_start = min(len(text), offset + len(line) + 1)
            return _front_matter_fields(block, source), body_start
        offset += len(line) + 1
    raise InputError(source, "front matter opened by '---' on line 1 is never closed "
                     "(add a closing '---' line)", line=1)


def _front_matter_fields(block: str, source: str | Path) -> dict[str, str]:
    try:
        data = yaml.load(block, Loader=yaml.BaseLoader)  # strings only: keeps "01" and dates
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(source, f"front matter is not valid YAML: {problem}", line=line) from None
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        raise InputError(source, "front matter must be 'field: value' lines", line=2)
    fields: dict[str, str] = {}
    for key, value in data.items():
        line = _line_of_key(block, str(key))
        if key not in FRONT_MATTER_FIELDS:
            raise InputError(source, f"unknown front-matter field {key!r} (known: "
                             + ", ".join(FRONT_MATTER_FIELDS) + ")", line=line)
        fields[key] = _field_value(key, value, source, line)
    return {key: value for key, value in fields.items() if value}


def _field_value(key: str, value: object, source: str | Path, line: int | None) -> str:
    if key == "interviewer" and isinstance(value, list) and all(
            isinstance(item, str) for item in value):
        return ";".join(item.strip() for item in value if item.strip())
    if isinstance(value, str):
        return "" if value.strip() in ("", "~", "null") else value.strip()
    raise InputError(source, f"front-matter field {key!r} must be a single value", line=line)


def _line_of_key(block: str, key: str) -> int | None:
    for number, line in enumerate(block.split("\n"), start=2):
        if re.match(rf"\s*['\"]?{re.escape(key)}['\"]?\s*:", line):
            return number
    return None


# --------------------------------------------------------------------------- reading


def read_transcript(
    path: Path,
    folder: Path,
    manifest: Mapping[str, Mapping[str, str]] | None = None,
    interviewer_labels: Sequence[str] = (),
) -> Transcript:
    """Read one transcript file into a Transcript with metadata and speaker turns.

    ``.txt``/``.md`` are decoded (see ``decode``); ``.docx`` paragraphs (and table rows)
    are joined by ``\\n``; ``.vtt`` cues become turns directly (see ``read_vtt``).
    Front matter is parsed but stays in ``Transcript.text`` so offsets point into the
    file's text. Metadata: front matter, overridden by the manifest row; ``id``
    defaults to the file stem, ``respondent_role`` to ``other``, ``language`` is
    detected (zh/en/mixed) when absent. InputError (naming the file and, where it
    helps, the line) for an empty file, broken front matter, an unknown field, no
    ``case`` (translations excepted) or no turns.
    """
    path = Path(path)
    relative = _relative_name(path, folder)
    row = (manifest or {}).get(relative, {})
    labels = [*interviewer_labels, *_split_labels(row.get("interviewer", ""))]
    if path.suffix.lower() == ".vtt":
        text, turns = _read_vtt_turns(path, labels)
        front: dict[str, str] = {}
    else:
        text = _read_docx(path) if path.suffix.lower() == ".docx" else _read_text(path)
        if not text.strip():
            raise InputError(path, "no text in the file")
        front, body_start = parse_front_matter(text, path)
        labels += _split_labels(front.get("interviewer", ""))
        turns = split_turns(text, labels, body_start)
    meta = _metadata(path, relative, front, row)
    if not turns:
        raise InputError(path, "no turns: the file holds no text after its front matter")
    if not meta["language"]:
        meta["language"] = detect_transcript_language(" ".join(text[t.start:t.end] for t in turns))
    return Transcript(id=meta["id"], path=relative, text=text, meta=meta, turns=turns)


def _relative_name(path: Path, folder: Path) -> str:
    """The manifest key of path: as given, else absolute, else with links resolved."""
    folder = Path(folder)
    for inner, outer in ((path, folder), (path.absolute(), folder.absolute()),
                         (path.resolve(), folder.resolve())):
        try:
            return inner.relative_to(outer).as_posix()
        except ValueError:
            continue
    return path.name


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    return decode(data, path)


def _read_docx(path: Path) -> str:
    """Paragraphs and table rows of a .docx, in document order, one per line."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise InputError(path, f"not a readable .docx file ({type(exc).__name__})") from None
    lines = []
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(element, document).text)
        elif tag == "tbl":
            for row in Table(element, document).rows:
                cells = [cell.text.strip() for cell in row.cells]
                lines.append(" ".join(dict.fromkeys(cell for cell in cells if cell)))
    text = "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text)  # stray control characters from Word: harmless


def _split_labels(value: str) -> list[str]:
    return [label.strip() for label in value.split(";") if label.strip()]


def _metadata(path: Path, relative: str, front: Mapping[str, str],
              row: Mapping[str, str]) -> dict[str, str]:
    meta = dict.fromkeys(FRONT_MATTER_FIELDS, "")
    meta.update(id=path.stem, respondent_role="other")
    meta.update({key: value for key, value in front.items() if value})
    meta.update({key: value for key, value in row.items() if value})
    if not meta["case"] and not meta["translation_of"]:
        raise InputError(path, "no case: add 'case: ...' to the front matter or a "
                         "manifest.csv row with a 'case' column")
    return meta


def detect_transcript_language(text: str) -> str:
    """zh, en or mixed from the share of Chinese and English words in the turns' text.

    A Chinese character counts half a word, so a few English terms in a Chinese
    interview (budget, NGO, Dr. Wang) leave it ``zh``.
    """
    cjk, latin_words = script_counts(text)
    chinese = cjk / 2
    if chinese + latin_words == 0:
        return "en"
    share = chinese / (chinese + latin_words)
    return "zh" if share >= 0.8 else "en" if share <= 0.2 else "mixed"


# --------------------------------------------------------------------------- WebVTT

_VOICE = re.compile(r"^\s*<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")


def _read_vtt_turns(path: Path, interviewer_labels: Sequence[str]) -> tuple[str, list[Turn]]:
    """Text and turns of a WebVTT file: one text line per cue line, speaker markup removed.

    A cue line's speaker comes from a ``<v Name>`` voice tag or a ``Name:`` prefix; a
    line without one continues the current speaker. Consecutive lines of one speaker
    form one turn, whose timestamp is the start time of its first cue.
    """
    import webvtt

    raw = _read_text(path)
    try:
        captions = webvtt.from_string(raw).captions
    except Exception as exc:  # webvtt-py raises MalformedFileError and friends
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not a valid WebVTT file ({reason})") from None
    labels = _label_set(interviewer_labels)
    lines = [(caption.start, *_vtt_line(raw_line)) for caption in captions
             for raw_line in caption.lines]
    counts = Counter(_label_shape(parsed.label) for *_, parsed in lines if parsed)
    pieces: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for timestamp, speaker, spoken, parsed in lines:
        if speaker is None and parsed is not None and _accept_label(parsed, counts, False):
            speaker, spoken = parsed.label, spoken[parsed.text_start :].strip()
        if spoken:
            _add_vtt_line(turns, speaker, offset, offset + len(spoken), timestamp, labels)
        pieces.append(spoken)
        offset += len(spoken) + 1
    return "\n".join(pieces), turns


def _vtt_line(raw_line: str) -> tuple[str | None, str, _LabelLine | None]:
    """(voice-tag speaker or None, text without markup, a ``Name:`` prefix) of a cue line."""
    voice = _VOICE.match(raw_line)
    spoken = html.unescape(_TAG.sub("", raw_line)).replace("\xa0", " ").strip()
    if voice:
        return voice.group(1).strip(), spoken, None
    parsed = _parse_label_line(spoken)
    return None, spoken, parsed if parsed is not None and not parsed.alone else None


def _add_vtt_line(turns: list[Turn], speaker: str | None, start: int, end: int,
                  timestamp: str, labels: frozenset[str]) -> None:
    last = turns[-1] if turns else None
    if last is not None and (speaker is None or speaker == last.speaker):
        last.end = end
        return
    name = speaker or UNKNOWN_SPEAKER
    turns.append(Turn(number=len(turns) + 1, speaker=name,
                      is_interviewer=speaker is not None and _is_interviewer(name, labels),
                      start=start, end=end, timestamp=timestamp))


# --------------------------------------------------------------------------- speaker labels

_TS = r"[\[(（【]?-?\d{1,3}(?::\d{2}){1,3}(?:[.,]\d{1,3})?[\])）】]?"
_TIMESTAMP_LINE = re.compile(rf"\s*(?P<ts>{_TS})\s*$")
_LABEL_LINE = re.compile(
    rf"(?P<indent>\s*)(?:(?P<ts>{_TS})\s*)?(?:\*\*|__)?(?P<label>[^:：\n]{{1,40}}?)\s*"
    rf"(?:(?P<ts2>{_TS})\s*)?(?:\*\*|__)?(?P<colon>[:：])(?:\*\*|__)?"
)
_SPEAKER_TIME_LINE = re.compile(rf"(?P<indent>\s*)(?P<label>[^\s:：\d][^:：\n]{{0,30}}?)\s+"
                                rf"(?P<ts>{_TS})\s*$")
_META_LINE = re.compile(r"\s*_(?P<key>[A-Za-z][\w-]*)\s*:\s*(?P<value>.*?)\s*$")

_SENTENCE_PUNCT = set("。！？!?；;，,、“”\"「」『』《》…~")
_TITLES = {"dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "rev", "gen", "col", "capt"}
_EN_STOPWORDS = {
    "is", "are", "was", "were", "am", "be", "been", "being", "said", "says", "say", "asked",
    "asks", "told", "tell", "tells", "think", "thinks", "thought", "mean", "means", "meant",
    "here's", "there's", "that's", "it's", "what's", "because", "if", "when", "which", "who",
    "at", "in", "on", "to", "for", "with", "by", "from", "as", "but", "or", "than", "that",
    "this", "these", "those", "we", "you", "he", "she", "they", "it", "our", "my", "your",
    "his", "their", "its", "not", "no", "do", "does", "did", "have", "has", "had", "will",
    "would", "can", "could", "should", "must", "like",
}
_EN_NOT_SPEAKERS = {
    "note", "notes", "nb", "ps", "example", "examples", "e.g", "eg", "i.e", "ie", "update",
    "summary", "warning", "tip", "source", "sources", "reference", "references", "keywords",
    "translation", "transcript", "date", "time", "location", "place", "venue", "subject",
    "topic", "title", "duration", "attendees", "participants", "chapter", "section", "step",
    "result", "results", "conclusion", "problem", "however", "meanwhile", "first", "second",
    "third", "finally", "also", "so", "well", "yes", "ok", "okay", "now", "then", "remember",
    "http", "https", "www", "ftp", "mailto", "file", "re", "fw", "fwd", "the", "a", "an",
    "one", "another", "and", "there", "here", "today", "yesterday", "tomorrow",
}
_ZH_NOT_SPEAKERS = {
    "时间", "地点", "日期", "主题", "备注", "注", "注释", "说明", "附件", "标题", "访谈时间",
    "访谈地点", "访谈日期", "访谈对象", "访谈主题", "记录人", "整理人", "录音", "时长", "编号",
    "案例", "关键词", "来源", "例如", "比如", "例", "原因", "结果", "问题", "目的", "内容",
    "背景", "总结", "结论", "摘要", "第一", "第二", "第三", "首先", "其次", "最后", "另外",
}
_ZH_SPEECH_ENDINGS = (
    "说", "道", "表示", "指出", "认为", "强调", "称", "讲", "写", "提到", "提出", "如下",
    "以下", "下列", "包括", "是", "为", "有", "即", "要求", "规定", "介绍", "回忆", "解释",
    "补充", "发现", "来说", "而言", "总之", "例如", "比如", "就是", "如", "了", "着", "过",
    "问", "答", "告诉", "回答", "宣布", "通知", "写到", "看来", "看", "想", "觉得",
)
_ZH_PARTICLES = set("了吗呢吧啊呀嘛哦哈")
_ZH_NOT_NAME_STARTS = set("我你您他她它这那每有很些各该")
_ZH_ROLE_SUFFIXES = (
    "干部", "主任", "书记", "老师", "教师", "社工", "志愿者", "负责人", "创始人", "创办人",
    "发起人", "工作人员", "代表", "主席", "经理", "总监", "秘书", "委员", "干事", "理事",
    "家长", "老人", "学生", "儿童", "孩子", "爷爷", "奶奶", "阿姨", "叔叔", "医生", "护士",
    "先生", "女士", "小姐", "大爷", "大妈", "大姐", "大哥", "师傅", "老板", "教授", "专家",
    "领导", "同志", "父亲", "母亲", "妈妈", "爸爸", "外婆", "外公", "姥姥", "姥爷", "村民",
    "居民", "员", "者", "人", "长", "师", "官", "工", "生", "总",
)
_ZH_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿"
    "关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华"
    "喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗"
    "瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_ZH_DOUBLE_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容")
_ZH_ID_SUFFIX = re.compile(r"[\s\dA-Za-z甲乙丙丁戊一二三四五六七八九十]+$")
_ZH_CODE_LABEL = re.compile(r"(说话人|发言人|讲话人|参与者|访谈对象|受访人|被访人|讲者)")
_BRACKETED = re.compile(r"\s*[（(][^（）()]{1,20}[）)]\s*$")
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*\.?|\d+[A-Za-z]?")


@dataclass
class _LabelLine:
    """A line that has the shape of ``[timestamp] Label: text`` or ``Label timestamp``."""

    label: str
    text_start: int  # offset within the line where the spoken text may begin
    timestamp: str | None
    indented: bool
    alone: bool = False  # speaker and time alone on the line (text follows on next lines)


def _parse_label_line(line: str) -> _LabelLine | None:
    match = _LABEL_LINE.match(line)
    if match:
        end = match.end()
        time_or_address = match["colon"] == ":" and end < len(line) and (
            line[end].isdigit() or line[end] == "/")  # 10:30, http://: not a label
        label = _strip_label_markup(match["label"])
        if label and not time_or_address:
            return _LabelLine(label, end, match["ts"] or match["ts2"], bool(match["indent"]))
    match = _SPEAKER_TIME_LINE.match(line)
    if match:
        label = _strip_label_markup(match["label"])
        if label:
            return _LabelLine(label, len(line), match["ts"], bool(match["indent"]), alone=True)
    return None


def _strip_label_markup(label: str) -> str:
    label = label.strip().strip("*_").strip().lstrip("-•·>").strip()  # "- Q:", "> 答："
    if len(label) > 2 and label[0] in "[【" and label[-1] in "]】":
        label = label[1:-1].strip()
    return label


def _label_shape(label: str) -> str | None:
    """The label normalised for comparison, or None when it cannot be a speaker label.

    Rejects what ordinary sentences put before a colon: sentence punctuation, more
    than 4 English words or 10 Chinese characters, function words (``The point is:``),
    reported speech (``他当时说：``), list openers (``下列权利：``) and field names of
    document headers (``Date:``, ``时间：``). Traditional Chinese is checked as Simplified.
    """
    label = _simplified(label)
    core = _BRACKETED.sub("", label).strip() or label
    if len(core) > 30 or not core or core.isdigit():
        return None
    if any(ch in _SENTENCE_PUNCT or ch in "[]{}<>|=/\\" for ch in core):
        return None
    if not _periods_ok(core):
        return None
    cjk = len(CJK.findall(core))
    if cjk:
        if cjk > 10 or core in _ZH_NOT_SPEAKERS or _ZH_PARTICLES & set(core):
            return None
        if any(token in core for token in ("下列", "以下", "如下")):
            return None
        if core.endswith(_ZH_SPEECH_ENDINGS) and _norm(core) not in _KNOWN:
            return None
    words = _EN_WORD.findall(core)
    if len(words) > 4:
        return None
    lowered = [word.lower().rstrip(".") for word in words]
    if any(word in _EN_STOPWORDS for word in lowered):
        return None
    if lowered and lowered[0] in _EN_NOT_SPEAKERS and len(core) > 1 and not cjk:
        return None
    return _norm(label)


def _periods_ok(core: str) -> bool:
    """Periods only after a title (Dr.) or an initial (J.), as in names."""
    for match in re.finditer(r"\.", core):
        before = re.search(r"([A-Za-z]+)$", core[: match.start()])
        if not before:
            return False
        word = before.group(1)
        if word.lower() not in _TITLES and not (len(word) == 1 and word.isupper()):
            return False
    return True


def _speaker_like(label: str) -> bool:
    """Whether a label that occurs once still looks like a speaker: a name, a role, a code."""
    label = _simplified(label)
    core = _BRACKETED.sub("", label).strip() or label
    if CJK.search(core):
        return _zh_speaker_like(core)
    return _en_speaker_like(core)


def _zh_speaker_like(core: str) -> bool:
    bare = _ZH_ID_SUFFIX.sub("", core) or core  # 受访者A, 村民甲, 说话人 2
    if bare[0] in _ZH_NOT_NAME_STARTS:
        return False  # 有些人, 我们村的人, 这位老师: a phrase, not a label
    if _ZH_CODE_LABEL.search(bare) or bare.endswith(_ZH_ROLE_SUFFIXES):
        return True
    return _zh_name(bare) or _zh_name(core)


def _zh_name(bare: str) -> bool:
    """王刚, 欧阳明, 老王, 小李: a surname with one or two characters."""
    if bare[0] in _ZH_NOT_NAME_STARTS:
        return False
    if bare.startswith(_ZH_DOUBLE_SURNAMES) and 3 <= len(bare) <= 4:
        return True
    if 2 <= len(bare) <= 3 and bare[0] in _ZH_SURNAMES:
        return True
    return len(bare) == 2 and bare[0] in "老小阿" and bare[1] in _ZH_SURNAMES


_ROLE_NOUNS = {
    "official", "volunteer", "officer", "director", "head", "secretary", "chief", "manager",
    "founder", "worker", "teacher", "principal", "leader", "mayor", "chair", "chairman",
    "representative", "resident", "villager", "parent", "grandparent", "grandmother",
    "grandfather", "student", "child", "interviewer", "interviewee", "respondent",
    "participant", "speaker", "moderator", "researcher", "translator", "interpreter", "staff",
    "member", "president", "coordinator", "doctor", "nurse", "cadre", "deputy", "caregiver",
}


def _en_speaker_like(core: str) -> bool:
    words = core.split()
    if not words:
        return False
    if re.fullmatch(r"[A-Z]{1,4}\d{0,3}|[A-Z]\d*[-_]?\d+", core):
        return True  # CC, P, R1, A-2
    bare = [w for w in words if not re.fullmatch(r"\d+|[A-Z]", w)] or words
    if bare[0].lower().rstrip(".") in _TITLES and len(words) >= 2:
        return True  # Dr. Li
    if bare[-1].lower() in _ROLE_NOUNS and bare[0][0].isupper():
        return True  # Principal volunteer, County official 2
    return len(bare) <= 3 and all(w[0].isupper() for w in bare)  # Wang Wei, Mary


def _norm(label: str) -> str:
    """Compare labels ignoring case, width (Ｑ = Q), script (問 = 问) and surrounding space."""
    label = _simplified(unicodedata.normalize("NFKC", label))
    return re.sub(r"\s+", " ", label).strip().casefold()


@lru_cache(maxsize=4096)
def _simplified(label: str) -> str:
    """Traditional Chinese labels (問, 訪談者, 王科長) checked as Simplified."""
    if not CJK.search(label):
        return label
    from casecoder.chinese import to_simplified

    return to_simplified(label)


#: Labels that are speakers whatever their shape (normalised).
_KNOWN = frozenset(_norm(label) for label in (*DEFAULT_INTERVIEWER_LABELS,
                                              *KNOWN_RESPONDENT_LABELS))


def _label_set(extra: Sequence[str]) -> frozenset[str]:
    return frozenset(_norm(label) for label in (*DEFAULT_INTERVIEWER_LABELS, *extra) if label)


def _is_interviewer(label: str, labels: frozenset[str]) -> bool:
    """Interviewer, interviewer 2, Q1, 访谈者（女）: the label with its number or note removed."""
    norm = _norm(label)
    variants = {norm, _norm(_BRACKETED.sub("", norm)), re.sub(r"[\s\d]+$", "", norm)}
    return bool(variants & labels)


# --------------------------------------------------------------------------- turns


@dataclass
class _Line:
    start: int
    end: int  # without the newline
    kind: str  # blank, meta, timestamp, label, text
    parsed: _LabelLine | None = None
    key: str = ""
    value: str = ""


@dataclass
class _OpenTurn:
    speaker: str
    is_interviewer: bool
    timestamp: str | None
    meta: dict[str, str] = field(default_factory=dict)
    start: int | None = None
    end: int | None = None


def split_turns(text: str, interviewer_labels: Sequence[str] = (),
                body_start: int = 0) -> list[Turn]:
    """Speaker turns of text from body_start on (see the module docstring for the rules).

    Each turn's ``start``/``end`` delimit exactly what the speaker said: after the label,
    timestamp and separator, continuation lines included, surrounding blank space
    excluded. ``is_interviewer`` is set for the default interviewer labels and those
    given (case- and width-insensitive).
    """
    lines = _classify_lines(text, body_start)
    labels = _label_set(interviewer_labels)
    builder = _TurnBuilder(text, labels)
    for line in lines:
        builder.add(line)
    return builder.finish()


def _classify_lines(text: str, body_start: int) -> list[_Line]:
    """Kind of every line from body_start on; label lines decided with file-wide counts."""
    lines: list[_Line] = []
    offset = body_start
    for raw in text[body_start:].split("\n"):
        lines.append(_classify_line(raw, offset))
        offset += len(raw) + 1
    counts = Counter(_label_shape(line.parsed.label) for line in lines if line.parsed)
    open_turn = False
    for line in lines:
        if line.parsed is not None and not _accept_label(line.parsed, counts, open_turn):
            line.kind, line.parsed = "text", None
        if line.kind in ("label", "text"):
            open_turn = True
    return lines


def _classify_line(raw: str, offset: int) -> _Line:
    end = offset + len(raw)
    if not raw.strip():
        return _Line(offset, end, "blank")
    meta = _META_LINE.match(raw)
    if meta:
        return _Line(offset, end, "meta", key=meta["key"], value=meta["value"])
    stamp = _TIMESTAMP_LINE.match(raw)
    if stamp:
        return _Line(offset, end, "timestamp", value=stamp["ts"])
    parsed = _parse_label_line(raw)
    return _Line(offset, end, "label" if parsed else "text", parsed=parsed)


def _accept_label(parsed: _LabelLine, counts: Counter, inside_turn: bool) -> bool:
    """Known labels always; others when shaped like a label and speaker-like or recurring.

    An indented line inside a turn is most likely a wrapped continuation line, so it
    needs a known or recurring label.
    """
    shape = _label_shape(parsed.label)
    if _norm(parsed.label) in _KNOWN:
        return True
    if shape is None:
        return False
    recurring = counts[shape] >= 2
    if parsed.indented and inside_turn:
        return recurring
    return recurring or _speaker_like(parsed.label)


class _TurnBuilder:
    """Collects turns line by line; metadata and lone timestamps wait for the next turn."""

    def __init__(self, text: str, labels: frozenset[str]):
        self.text = text
        self.labels = labels
        self.turns: list[Turn] = []
        self.current: _OpenTurn | None = None
        self.pending_meta: dict[str, str] = {}
        self.pending_time: str | None = None

    def add(self, line: _Line) -> None:
        if line.kind == "meta":
            key = line.key
            value = line.value
            old = self.pending_meta.get(key)
            self.pending_meta[key] = f"{old}; {value}" if old and value else (value or old or "")
        elif line.kind == "timestamp":
            self.pending_time = line.value
        elif line.kind == "label":
            self._start_labelled(line)
        elif line.kind == "text":
            self._continue(line)

    def _start_labelled(self, line: _Line) -> None:
        parsed = line.parsed
        assert parsed is not None
        self._close()
        self.current = _OpenTurn(parsed.label, _is_interviewer(parsed.label, self.labels),
                                 parsed.timestamp or self.pending_time, self._take_meta())
        self.pending_time = None
        if not parsed.alone:
            self._extend(line.start + parsed.text_start, line.end)

    def _continue(self, line: _Line) -> None:
        breaks = self.pending_time is not None or bool(self.pending_meta)
        current = self.current
        if current is None or (breaks and current.start is not None):
            speaker = current.speaker if current else UNKNOWN_SPEAKER
            interviewer = current.is_interviewer if current else False
            timestamp = self.pending_time or (current.timestamp if current else None)
            self._close()
            self.current = _OpenTurn(speaker, interviewer, timestamp, self._take_meta())
        elif breaks:
            current.meta.update(self._take_meta())
            current.timestamp = current.timestamp or self.pending_time
        self.pending_time = None
        self._extend(line.start, line.end)

    def _extend(self, start: int, end: int) -> None:
        current = self.current
        assert current is not None
        piece = self.text[start:end]
        stripped = piece.strip()
        if not stripped:
            return
        first = start + (len(piece) - len(piece.lstrip()))
        if current.start is None:
            current.start = first
        current.end = first + len(stripped)

    def _take_meta(self) -> dict[str, str]:
        meta, self.pending_meta = self.pending_meta, {}
        return meta

    def _close(self) -> None:
        current, self.current = self.current, None
        if current is None:
            return
        if current.start is None or current.end is None:
            self.pending_meta = {**current.meta, **self.pending_meta}  # no text: pass meta on
            return
        self.turns.append(Turn(number=len(self.turns) + 1, speaker=current.speaker,
                               is_interviewer=current.is_interviewer, start=current.start,
                               end=current.end, timestamp=current.timestamp,
                               meta=current.meta))

    def finish(self) -> list[Turn]:
        self._close()
        if self.pending_meta and self.turns:
            for key, value in self.pending_meta.items():
                self.turns[-1].meta.setdefault(key, value)
        return self.turns
