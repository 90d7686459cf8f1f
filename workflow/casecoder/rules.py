"""The rule tagger: the codebook's keyword and regex rules, applied exactly.

Usage::

    tagger = RuleTagger(load_codebook("codebooks/political_will.yaml"))
    tagger.tag("县里没有专项资金。")   # -> [RuleHit(code='CTX_FISCAL_CONSTRAINT', ...)]

Rules are compiled once per tagger (one tagger per process: :func:`cached_tagger`).
A segment is matched on its Simplified form (Traditional text is converted
first). Chinese rules apply when the segment contains Chinese characters,
English rules when it contains Latin words, so mixed segments see both.
See docs/codebook-format.md for the rule semantics.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from casecoder.chinese import CJK, cut, to_simplified
from casecoder.codebook import Codebook, Rule, cached_codebook

DEFAULT_NEGATORS = {
    "zh": ["没有", "没", "无", "未", "不", "并未", "从未", "从来没有", "从没", "缺乏", "缺少",
           "毫无", "无法", "没法", "不能", "拿不出", "别说", "并没有", "不再", "未能"],
    "en": ["no", "not", "never", "without", "n't", "lack of", "lacked", "lacking", "none",
           "nor", "hardly any", "little or no", "zero", "nothing"],
}
#: Words that start with a negating character but do not negate (不断 = constantly).
NOT_NEGATIONS = {"不断", "不仅", "不少", "不错", "不过", "不但", "不管", "不论", "无论", "不久",
                 "无数", "未来", "不停", "不光", "没准", "不同", "不小", "无私", "不懈"}
_NEGATING_CHARS = ("没", "不", "未", "无")
#: How far back (in tokens/words of the same clause) a negator reaches.
NEGATION_WINDOW = 6
_CLAUSE_END = re.compile(r"[，,。；;！？!?:：\n]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_EN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")


@dataclass(frozen=True, order=True)
class RuleHit:
    """One rule firing on one segment.

    ``code`` is the code assigned (for a negated hit: one of the rule's
    ``negated`` codes); ``rule`` names the rule as ``CODE/name`` with
    ``(negated)`` appended for negated hits; ``start``/``end`` locate the match
    in the segment text.
    """

    code: str
    rule: str
    start: int
    end: int
    negated: bool = False


def inflected(word: str) -> str:
    """Regex for an English word with its common inflections (fund -> funding)."""
    w = word.lower()
    if not w.isalpha() or len(w) < 3:
        return re.escape(w) + r"(?:s|es)?"
    if w.endswith("y") and w[-2] not in "aeiou":
        stem = re.escape(w[:-1])
        return stem + r"(?:y|ies|ied|ying)"
    if w.endswith("e"):
        stem = re.escape(w[:-1])
        return stem + r"(?:e|es|ed|ing|er|ers)"
    last = re.escape(w[-1])
    return re.escape(w) + rf"(?:{last}?(?:ed|ing|er|ers)|s|es)?"


def english_body(term: str) -> str:
    """Regex for an English keyword or phrase without its boundaries: inflections,
    flexible spaces and hyphens."""
    words = re.split(r"[\s-]+", term.strip())
    return r"[\s-]+".join(inflected(w) if re.fullmatch(r"[A-Za-z]+", w) else re.escape(w)
                          for w in words)


def english_term(term: str) -> str:
    """Regex for an English keyword or phrase: word boundaries, inflections, flexible spaces."""
    return rf"(?<![A-Za-z0-9]){english_body(term)}(?![A-Za-z0-9])"


class _Matcher:
    """Finds one term list in a prepared segment (language-aware)."""

    def __init__(self, terms: list[str], language: str, match: str):
        self.language, self.match = language, match
        self.terms = [to_simplified(t) for t in terms] if language == "zh" else terms
        self.regex = None
        if language == "en" and terms:
            # One boundary check around the alternation, not one per term: the same
            # matches, several times faster than a lookbehind in every branch.
            body = "|".join(english_body(t) for t in terms)
            self.regex = re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])",
                                    re.IGNORECASE)

    def find(self, seg: _Prepared) -> list[tuple[int, int]]:
        if self.regex is not None:
            return [m.span() for m in self.regex.finditer(seg.text)]
        spans = []
        for term in self.terms:
            start = seg.text.find(term)
            while start != -1:
                end = start + len(term)
                if self.match == "chars" or seg.on_boundaries(start, end):
                    spans.append((start, end))
                start = seg.text.find(term, start + 1)
        return spans


class _Prepared:
    """A segment ready for matching: simplified text and (lazily) its jieba boundaries."""

    def __init__(self, text: str):
        self.text = to_simplified(text)
        self.has_zh = bool(CJK.search(self.text))
        self.has_en = bool(_LATIN_WORD.search(self.text))
        self._bounds: list[int] | None = None
        self._tokens: list[tuple[int, int]] | None = None

    @property
    def tokens(self) -> list[tuple[int, int]]:
        if self._tokens is None:
            spans, pos = [], 0
            for token in cut(self.text):
                spans.append((pos, pos + len(token)))
                pos += len(token)
            self._tokens = spans
            self._bounds = sorted({p for span in spans for p in span})
        return self._tokens

    def on_boundaries(self, start: int, end: int) -> bool:
        self.tokens  # noqa: B018 - computes the boundaries
        bounds = self._bounds or []
        return _contains(bounds, start) and _contains(bounds, end)


def _contains(sorted_list: list[int], value: int) -> bool:
    i = bisect.bisect_left(sorted_list, value)
    return i < len(sorted_list) and sorted_list[i] == value


class _CompiledRule:
    def __init__(self, code: str, rule: Rule, negators: list[str]):
        self.code, self.rule = code, rule
        self.label = f"{code}/{rule.name}"
        lang = rule.language
        self.keywords = _Matcher(rule.keywords, lang, rule.match)
        flags = re.IGNORECASE
        self.patterns = [re.compile(to_simplified(p) if lang == "zh" else p, flags)
                         for p in rule.patterns]
        self.requires = _Matcher(rule.requires, lang, rule.match) if rule.requires else None
        self.unless = _Matcher(rule.unless, lang, rule.match) if rule.unless else None
        self.negators = negators

    def applies_to(self, seg: _Prepared) -> bool:
        return seg.has_zh if self.rule.language == "zh" else seg.has_en

    def hits(self, seg: _Prepared) -> list[RuleHit]:
        spans = self.keywords.find(seg)
        for pattern in self.patterns:
            spans.extend(m.span() for m in pattern.finditer(seg.text) if m.end() > m.start())
        if not spans:
            return []
        if self.requires is not None and not self.requires.find(seg):
            return []
        if self.unless is not None and self.unless.find(seg):
            return []
        spans.sort()
        plain = [s for s in spans if not (self.rule.negatable and self._negated(seg, s[0]))]
        if plain:
            start, end = plain[0]
            return [RuleHit(self.code, self.label, start, end)]
        start, end = spans[0]
        return [RuleHit(code, f"{self.label}(negated)", start, end, negated=True)
                for code in self.rule.negated]

    def _negated(self, seg: _Prepared, start: int) -> bool:
        clause_start = 0
        for m in _CLAUSE_END.finditer(seg.text, 0, start):
            clause_start = m.end()
        window = seg.text[clause_start:start]
        if not window.strip():
            return False
        if self.rule.language == "zh":
            words = [seg.text[a:b] for a, b in seg.tokens if a >= clause_start and b <= start]
            words = [w for w in words if w.strip()][-NEGATION_WINDOW:]
            return any(_negates(w, self.negators) for w in words)
        words = [w.lower() for w in _EN_WORD.findall(window)][-NEGATION_WINDOW:]
        tail = " ".join(words)
        for neg in self.negators:
            if neg in ("n't", "n’t"):
                if any(w.endswith(("n't", "n’t")) for w in words):
                    return True
            elif re.search(rf"(?<![a-z]){re.escape(neg)}(?![a-z])", tail):
                return True
        return False


def _negates(token: str, negators: list[str]) -> bool:
    """A jieba token negates when it is a negator or glues one onto a verb (没拿到, 不给)."""
    if token in negators:
        return True
    return token.startswith(_NEGATING_CHARS) and token not in NOT_NEGATIONS and len(token) <= 3


class RuleTagger:
    """All rules of a codebook, compiled once."""

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        negators = dict(DEFAULT_NEGATORS)
        if codebook.negators is not None:
            for lang in ("zh", "en"):
                extra = getattr(codebook.negators, lang)
                if extra:
                    negators[lang] = [to_simplified(n) if lang == "zh" else n.lower()
                                      for n in extra]
        self.rules = [
            _CompiledRule(code.id, rule, negators[rule.language])
            for code in codebook.codes
            for rule in code.rules
        ]

    def tag(self, text: str) -> list[RuleHit]:
        """Every hit of every rule on one segment, in codebook order."""
        seg = _Prepared(text)
        hits: list[RuleHit] = []
        for rule in self.rules:
            if rule.applies_to(seg):
                hits.extend(rule.hits(seg))
        return hits

    def hit_matrix(self, texts: Sequence[str], codes: Sequence[str] | None = None) -> np.ndarray:
        """0/1 matrix: row per text, column per code (default: all, codebook order),
        1 where the rules assign the code (the classifier's rule features)."""
        codes = list(self.codebook.ids if codes is None else codes)
        return hits_to_matrix([self.codes(text) for text in texts], codes)

    def codes(self, text: str) -> dict[str, list[str]]:
        """Codes the rules assign to a segment, each with the rules that fired.

        A code counts as assigned when any non-negated rule fires for it, or a
        negated rule redirects to it. Codes are in codebook order.
        """
        found: dict[str, list[str]] = {}
        for hit in self.tag(text):
            found.setdefault(hit.code, [])
            if hit.rule not in found[hit.code]:
                found[hit.code].append(hit.rule)
        order = {cid: i for i, cid in enumerate(self.codebook.ids)}
        return dict(sorted(found.items(), key=lambda kv: order[kv[0]]))


def hits_to_matrix(found: Sequence[Collection[str]], codes: Sequence[str]) -> np.ndarray:
    """0/1 matrix from the codes found per text (e.g. :meth:`RuleTagger.codes`), one
    column per code in ``codes``; codes outside ``codes`` are ignored."""
    column = {c: j for j, c in enumerate(codes)}
    matrix = np.zeros((len(found), len(column)), dtype=np.int8)
    for i, codes_found in enumerate(found):
        for code in codes_found:
            if code in column:
                matrix[i, column[code]] = 1
    return matrix


@lru_cache(maxsize=4)
def cached_tagger(codebook_path: str) -> RuleTagger:
    """One tagger per codebook file per process (rules load once, not per segment)."""
    return RuleTagger(cached_codebook(codebook_path))
