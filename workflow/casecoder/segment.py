"""Splitting speaker turns into sentence-like segments, the unit that is coded and quoted.

How a turn is split:

1. Hard boundaries: a blank line, a line break after sentence-final punctuation,
   a line break before a list item or heading (``- ``, ``1.``, ``（一）``, ``第三条``,
   ``#``) and after a heading. Other line breaks are soft (hard-wrapped lines).
2. Script stretches: a whole English sentence between Chinese sentences is an
   English stretch; a few Latin words inside Chinese (``我们的 budget 很紧``) stay in
   the Chinese stretch.
3. Sentences: Chinese through spaCy ``blank("zh")`` with jieba, a sentencizer that
   ends sentences at 。！？；…, and the registered ``casecoder_zh_quotes`` component
   (quotes and brackets, 《书名》, ASCII full stops); English through pySBD.
4. Over-long segments (more than ``max_chars``) are cut at the last pause (，、,;
   whitespace) before the limit, else at a jieba token boundary.
5. Very short fragments (``嗯。``, ``Yes.``) join the previous segment of the turn,
   else the next, so that quotes stand on their own.

Every step moves cut positions only, and segments are the stretches between cuts
with surrounding whitespace trimmed, so the segments of a turn tile its non-blank
characters exactly, in order.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from casecoder.records import Segment, Transcript

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)*")
#: Characters that belong to Chinese script runs: ideographs, kana, CJK and full-width punctuation.
_CJK_SCRIPT = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f"
    r"\uff00-\uffef\U00020000-\U0003134f]"
)

ZH_SENTENCE_PUNCT = ["。", "！", "？", "；", "…", "……", "．", "｡", "!", "?", "？！", "！？", "?!", "!?"]
OPENERS = set("「“『（(《〈【[‘")
CLOSERS = set("」”』）)》〉】]’")
_FINAL = "。！？!?.…；;"
_PAUSES = set("，、,;；：:") | {" ", "\t", "\n", "\u3000"}
_LINE_END_FINAL = re.compile(r"[。！？!?.…；;][」”』）)\"'’]*\s*$")
_LIST_OR_HEADING = re.compile(
    r"\s*(?:#{1,6}\s|[-*•⁃·▪●○◆]\s*|\d{1,3}[.)、](?!\d)|[(（]\d{1,3}[)）]|[a-zA-Z][.)]\s"
    r"|[(（][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、"
    r"|第[一二三四五六七八九十百千零〇\d]+[章节条款编部分])"
)
_HEADING = re.compile(r"\s*(?:#{1,6}\s|第[一二三四五六七八九十百千零〇\d]+[章节编部分](?:\s|$))")
ENGLISH_STRETCH_MIN_WORDS = 3
#: Stretches longer than this are fed to the pipelines in pieces (bounded memory).
PIPELINE_WINDOW = 50_000


def script_counts(text: str) -> tuple[int, int]:
    """(Chinese characters, Latin-script words) in text."""
    return len(CJK.findall(text)), len(LATIN_WORD.findall(text))


def detect_language(text: str) -> str:
    """"zh" if CJK ideographs dominate the letters, else "en".

    Two Chinese characters weigh as much as one English word, so ``我们的 budget 很紧``
    is zh and ``The county gave 专项资金 to us`` is en. Text without letters is en.
    """
    cjk, words = script_counts(text)
    return "zh" if cjk and cjk >= 2 * words else "en"


@dataclass
class _Span:
    start: int
    end: int
    language: str
    chunk: int  # index of the paragraph-like chunk the span started in


class Segmenter:
    """Sentence segmenter for Chinese, English and mixed turns.

    Loads ``spacy.blank("zh")`` with the jieba segmenter and ``spacy.blank("en")`` once,
    quietly (no jieba log lines, jieba's cache in a writable temporary folder). Make
    one per process with ``get_segmenter()``.
    """

    def __init__(self, min_zh_chars: int = 5, min_en_words: int = 3, max_chars: int = 400):
        import pysbd
        import spacy

        from casecoder.chinese import jieba_tokenizer

        self.min_zh_chars = min_zh_chars
        self.min_en_words = min_en_words
        self.max_chars = max_chars
        self._jieba = jieba_tokenizer()  # before spaCy: quiet, writable cache
        _register_components()
        self._zh = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self._zh.add_pipe("sentencizer", config={"punct_chars": ZH_SENTENCE_PUNCT})
        self._zh.add_pipe("casecoder_zh_quotes")
        self._en = spacy.blank("en")
        self._sbd = pysbd.Segmenter(language="en", clean=False)

    # ------------------------------------------------------------------ public

    def split(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, language) spans relative to text that tile its non-blank characters.

        Each span is trimmed of surrounding whitespace; every non-blank character lies
        in exactly one span, in order.
        """
        spans: list[_Span] = []
        for number, (start, end) in enumerate(_chunks(text)):
            for s_start, s_end, language in self._stretches(text, start, end):
                spans.extend(self._sentences(text, s_start, s_end, language, number))
        spans = [piece for span in spans for piece in self._cut_long(text, span)]
        spans = self._merge_fragments(text, spans)
        return [(span.start, span.end, span.language) for span in spans]

    def segment(self, transcript: Transcript) -> list[Segment]:
        """Segments of every turn, numbered from 1 within each turn, offsets into
        ``transcript.text``; interviewer turns included (``is_interviewer`` set)."""
        meta = transcript.meta
        segments = []
        for turn in transcript.turns:
            text = transcript.text[turn.start : turn.end]
            for number, (start, end, language) in enumerate(self.split(text), start=1):
                segments.append(Segment(
                    transcript_id=transcript.id,
                    case=meta.get("case", ""),
                    respondent_role=meta.get("respondent_role", "") or "other",
                    speaker=turn.speaker,
                    is_interviewer=turn.is_interviewer,
                    turn=turn.number,
                    segment=number,
                    start=turn.start + start,
                    end=turn.start + end,
                    language=language,
                    text=text[start:end],
                ))
        return segments

    # ------------------------------------------------------------------ stretches

    def _stretches(self, text: str, start: int, end: int) -> Iterator[tuple[int, int, str]]:
        """(start, end, pipeline language) of the script stretches of one chunk."""
        chunk = text[start:end]
        if not _CJK_SCRIPT.search(chunk):
            yield from _windows(text, start, end, "en")
            return
        if detect_language(chunk) == "zh":
            main, other, runs = "zh", "en", _english_sentences_in(text, start, end)
        else:  # English with Chinese terms (The county gave 专项资金 ...)
            main, other, runs = "en", "zh", _chinese_sentences_in(text, start, end)
        cursor = start
        for run_start, run_end in runs:
            if run_start > cursor:
                yield from _windows(text, cursor, run_start, main)
            yield from _windows(text, run_start, run_end, other)
            cursor = run_end
        if cursor < end:
            yield from _windows(text, cursor, end, main)

    # ------------------------------------------------------------------ sentences

    def _sentences(self, text: str, start: int, end: int, language: str,
                   chunk: int) -> list[_Span]:
        cuts = self._zh_cuts(text, start, end) if language == "zh" else self._en_cuts(
            text, start, end)
        inside = _protected(text, start, end)
        bounds = [start, *sorted(c for c in set(cuts) if start < c < end and c not in inside), end]
        spans = []
        for left, right in zip(bounds, bounds[1:], strict=False):
            trimmed = _trim(text, left, right)
            if trimmed:
                piece = text[trimmed[0] : trimmed[1]]
                spans.append(_Span(*trimmed, _language_of(piece, language), chunk))
        return spans

    def _zh_cuts(self, text: str, start: int, end: int) -> list[int]:
        doc = self._zh(text[start:end])
        # token flags rather than doc.sents, which re-checks the whole doc on every call
        return [start + token.idx for token in doc if token.is_sent_start]

    def _en_cuts(self, text: str, start: int, end: int) -> list[int]:
        """Sentence starts found by pySBD, located in the text in order.

        pySBD sees the stretch with line breaks as spaces (same length, so offsets hold);
        a sentence it returns that cannot be found is skipped, which can only merge.
        """
        piece = text[start:end].replace("\n", " ")
        cuts = []
        position = 0
        for sentence in self._sbd.segment(piece):
            stripped = sentence.strip()
            if not stripped:
                continue
            found = piece.find(stripped, position)
            if found < 0:
                continue
            cuts.append(start + found)
            position = found + len(stripped)
        return cuts

    # ------------------------------------------------------------------ long segments

    def _cut_long(self, text: str, span: _Span) -> Iterator[_Span]:
        """Pieces of at most max_chars: cut at the last pause before the limit, else at a
        jieba token boundary, else hard. Looks at one window at a time (fast, bounded)."""
        start, end = span.start, span.end
        while end - start > self.max_chars:
            cut = self._cut_point(text, start)
            trimmed = _trim(text, start, cut)
            if trimmed:
                piece = text[trimmed[0] : trimmed[1]]
                yield _Span(*trimmed, _language_of(piece, span.language), span.chunk)
            start = _skip_space(text, cut, end)
        if start < end:
            piece = text[start:end]
            yield _Span(start, end, _language_of(piece, span.language), span.chunk)

    def _cut_point(self, text: str, start: int) -> int:
        limit = start + self.max_chars
        window = text[start:limit]
        floor = self.max_chars // 4
        for index in range(len(window) - 1, floor - 1, -1):
            if window[index] in _PAUSES:
                return start + index + 1
        position = start
        best = limit
        for token in self._jieba.cut(text[start : limit + 1], HMM=False):
            position += len(token)
            if position > limit:
                break
            best = position
        return best if best > start + floor else limit

    # ------------------------------------------------------------------ fragments

    def _merge_fragments(self, text: str, spans: list[_Span]) -> list[_Span]:
        """Join very short segments to the previous one of the turn, else to the next.

        A short paragraph that looks like a heading joins the next paragraph instead.
        Merging never makes a segment longer than max_chars.
        """
        merged: list[_Span] = []
        carry: _Span | None = None
        for span in spans:
            if carry is not None:
                span = self._join(text, carry, span) or _flush(merged, carry, span)
                carry = None
            if not self._is_fragment(text, span):
                merged.append(span)
                continue
            previous = merged[-1] if merged else None
            joined = None
            if previous is not None and (previous.chunk == span.chunk
                                         or not _heading_like(text, span)):
                joined = self._join(text, previous, span)
            if joined is not None:
                merged[-1] = joined
            else:
                carry = span
        if carry is not None:
            joined = self._join(text, merged[-1], carry) if merged else None
            if joined is not None:
                merged[-1] = joined
            else:
                merged.append(carry)
        return merged

    def _is_fragment(self, text: str, span: _Span) -> bool:
        piece = text[span.start : span.end]
        if span.language == "zh":
            return len(CJK.findall(piece)) < self.min_zh_chars
        return self._word_count(piece) < self.min_en_words

    def _word_count(self, piece: str) -> int:
        return sum(1 for token in self._en.tokenizer(piece)
                   if not (token.is_punct or token.is_space))

    def _join(self, text: str, left: _Span, right: _Span) -> _Span | None:
        if right.end - left.start > self.max_chars:
            return None
        language = _language_of(text[left.start : right.end], left.language)
        return _Span(left.start, right.end, language, left.chunk)


def _flush(merged: list[_Span], carry: _Span, span: _Span) -> _Span:
    merged.append(carry)
    return span


_PROTECTED = re.compile(r"<!--.*?-->|<[^<>\n]{1,80}>|\[[^\[\]\n]{1,80}\]|https?://\S+", re.S)


def _protected(text: str, start: int, end: int) -> set[int]:
    """Positions inside markup that no sentence boundary may cut: HTML comments and tags,
    [bracketed notes] and web addresses."""
    return {position for match in _PROTECTED.finditer(text, start, end)
            for position in range(match.start() + 1, match.end())}


def _language_of(piece: str, fallback: str) -> str:
    cjk, words = script_counts(piece)
    return detect_language(piece) if cjk or words else fallback


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _skip_space(text: str, position: int, end: int) -> int:
    while position < end and text[position].isspace():
        position += 1
    return position


# ---------------------------------------------------------------------- chunks and stretches


def _chunks(text: str) -> Iterator[tuple[int, int]]:
    """Paragraph-like pieces of text, split at hard line boundaries (see module docs)."""
    start = 0
    offset = 0
    lines = text.split("\n")
    for index, line in enumerate(lines[:-1]):
        line_end = offset + len(line)
        following = lines[index + 1]
        if _hard_break(line, following):
            if text[start:line_end].strip():
                yield start, line_end
            start = line_end + 1
        offset = line_end + 1
    if text[start:].strip():
        yield start, len(text)


def _hard_break(line: str, following: str) -> bool:
    if not line.strip() or not following.strip():
        return True
    if _LINE_END_FINAL.search(line) or _HEADING.match(line):
        return True
    return bool(_LIST_OR_HEADING.match(following))


def _english_sentences_in(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Latin runs of a Chinese chunk that are whole English sentences.

    A run qualifies when it has at least three words, begins the chunk or follows a
    sentence end, and ends the chunk or ends in sentence-final punctuation. Other
    runs (``我们的 budget 很紧``, ``Dr. Wang 说``) stay inside the Chinese text.
    """
    position = start
    while position < end:
        run_start, run_end = _next_latin_run(text, position, end)
        if run_start >= end:
            return
        trimmed = _trim(text, run_start, run_end)
        position = run_end
        if trimmed is None:
            continue
        s, e = trimmed
        while e > s and text[e - 1] in OPENERS:  # an opening quote belongs to what follows
            e -= 1
        if e > s and _is_english_sentence(text, s, e, start, end):
            yield s, e


def _next_latin_run(text: str, position: int, end: int) -> tuple[int, int]:
    while position < end and _CJK_SCRIPT.match(text[position]):
        position += 1
    run_start = position
    while position < end and not _CJK_SCRIPT.match(text[position]):
        position += 1
    return run_start, position


def _is_english_sentence(text: str, s: int, e: int, chunk_start: int, chunk_end: int) -> bool:
    if len(LATIN_WORD.findall(text[s:e])) < ENGLISH_STRETCH_MIN_WORDS:
        return False
    before = text[chunk_start:s].rstrip().rstrip("".join(CLOSERS))
    after = text[e:chunk_end].strip()
    starts_sentence = not before or before[-1] in _FINAL
    ends_sentence = not after or text[s:e].rstrip("".join(CLOSERS) + "\"'")[-1:] in set(_FINAL)
    return starts_sentence and ends_sentence


_CHINESE_RUN = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
    r"(?:[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
    r"\d\s“”‘’]*[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\uff00-\uffef”’])?"
)
_ZH_FINAL = "。！？；…!?"


def _chinese_sentences_in(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Chinese runs of an English chunk that are whole Chinese sentences: they begin the
    chunk or follow a sentence end, and end in Chinese sentence-final punctuation or end
    the chunk. Chinese terms inside English sentences stay in the English text."""
    for match in _CHINESE_RUN.finditer(text, start, end):
        s, e = match.span()
        if len(CJK.findall(match.group())) < 2:
            continue
        before = text[start:s].rstrip().rstrip("".join(CLOSERS) + "\"'")
        starts_sentence = not before or before[-1] in _FINAL
        core = match.group().rstrip("".join(CLOSERS))
        ends_sentence = core[-1:] in set(_ZH_FINAL) or not text[e:end].strip()
        if starts_sentence and ends_sentence:
            yield s, e


def _windows(text: str, start: int, end: int, language: str) -> Iterator[tuple[int, int, str]]:
    """Split a very long stretch into pieces of at most PIPELINE_WINDOW characters,
    cutting after the last sentence end or pause (else hard), so memory stays bounded."""
    while end - start > PIPELINE_WINDOW:
        limit = start + PIPELINE_WINDOW
        window = text[start:limit]
        cut = max(window.rfind(ch) for ch in "。！？.!?\n")
        if cut < PIPELINE_WINDOW // 2:
            cut = max(window.rfind(ch) for ch in _PAUSES)
        cut = start + cut + 1 if cut >= PIPELINE_WINDOW // 2 else limit
        yield start, cut, language
        start = cut
    yield start, end, language


def _heading_like(text: str, span: _Span) -> bool:
    """A short piece that opens its paragraph and does not end a sentence: a heading."""
    piece = text[span.start : span.end]
    line_start = text.rfind("\n", 0, span.start) + 1
    opens_line = not text[line_start : span.start].strip()
    return opens_line and (bool(_LIST_OR_HEADING.match(piece)) or piece[-1] not in _FINAL)


# ---------------------------------------------------------------------- spaCy component


def zh_quotes(doc):
    """Fix the stock sentencizer's boundaries for Chinese punctuation conventions.

    - an opening quote or bracket (「“『（) after a sentence end starts the next sentence;
    - a closing quote or bracket (」”』）) stays with the sentence it closes;
    - nothing splits inside 《书名》 (《摔跤吧！爸爸》);
    - an ASCII full stop after a Chinese character and before space or Chinese ends a
      sentence, while 1.5万, 3.5%, 2018.07 and Dr. Wang do not split.
    """
    tokens = list(doc)
    before = [bool(token.is_sent_start) for token in tokens]
    starts = list(before)
    _ascii_full_stops(doc, tokens, starts)
    _pull_openers(tokens, starts)
    _push_closers(tokens, starts)
    _keep_titles_whole(doc.text, tokens, starts)
    if starts != before:  # one array write: token.is_sent_start = ... costs O(len(doc)) each
        import numpy
        from spacy.attrs import SENT_START

        values = numpy.array([1 if start or not index else -1
                              for index, start in enumerate(starts)], dtype="int64")
        doc.from_array([SENT_START], values.astype("uint64").reshape(-1, 1))
    return doc


_LOWER_WORD_BEFORE = re.compile(r"(?<![A-Za-z.])([a-z]{2,})$")
_NOT_SENTENCE_ENDS = {"etc", "vs", "eg", "ie", "al", "approx", "no"}


def _ascii_full_stops(doc, tokens, starts: list[bool]) -> None:
    """A full stop ends a sentence after a Chinese character (我们没钱. 县里...), or after a
    plain lower-case English word when Chinese follows (thanks for meeting us. 我们...);
    not in 1.5万, 2018.07, Dr. Wang, U.S. 读的."""
    text = doc.text
    for index, token in enumerate(tokens[:-1]):
        if token.text != ".":
            continue
        before = text[token.idx - 1] if token.idx else ""
        after = text[token.idx + 1] if token.idx + 1 < len(text) else ""
        if CJK.match(before) and (after.isspace() or CJK.match(after) or after in OPENERS):
            starts[index + 1] = True
            continue
        word = _LOWER_WORD_BEFORE.search(text[max(0, token.idx - 30) : token.idx])
        following = text[token.idx + 1 : token.idx + 4].lstrip()
        if word and word.group(1) not in _NOT_SENTENCE_ENDS and CJK.match(following[:1]):
            starts[index + 1] = True


def _pull_openers(tokens, starts: list[bool]) -> None:
    for index in range(1, len(tokens)):
        if not starts[index]:
            continue
        first = index
        while first > 0 and _all_in(tokens[first - 1].text, OPENERS):
            first -= 1
        if first != index:
            starts[index] = False
            starts[first] = first > 0


def _push_closers(tokens, starts: list[bool]) -> None:
    for index in range(1, len(tokens)):
        if starts[index] and _all_in(tokens[index].text, CLOSERS):
            starts[index] = False
            if index + 1 < len(tokens):
                starts[index + 1] = True


_TITLE = re.compile(r"《[^《》\n]{1,60}》|〈[^〈〉\n]{1,60}〉")


def _keep_titles_whole(text: str, tokens, starts: list[bool]) -> None:
    """No sentence starts inside a closed 《...》 or right after it (an unclosed 《 changes
    nothing): the only boundary there comes from punctuation inside the title."""
    token_starts = [token.idx for token in tokens]
    for match in _TITLE.finditer(text):
        first = bisect.bisect_right(token_starts, match.start())
        last = bisect.bisect_right(token_starts, match.end())  # 》的: no start right after
        for index in range(first, last):
            starts[index] = False


def _all_in(chars: str, allowed: set[str]) -> bool:
    return bool(chars) and all(ch in allowed for ch in chars)


@cache
def _register_components() -> None:
    from spacy.language import Language

    if "casecoder_zh_quotes" not in Language.factories:
        Language.component("casecoder_zh_quotes", func=zh_quotes)


@cache
def get_segmenter() -> Segmenter:
    """The process-wide Segmenter (loading spaCy and jieba takes about a second)."""
    return Segmenter()
