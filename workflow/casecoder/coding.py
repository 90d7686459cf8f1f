"""Combining the rule tagger, the trained model and researchers' reviews.

For each respondent segment, a code is assigned according to ``combine``:

- ``union`` (default): a rule hit or a model probability at or above the
  code's threshold;
- ``intersection``: both (for codes the model was trained on; rules alone
  for the others);
- ``rules``: rule hits only; ``model``: the model only (rules for codes the
  model could not be trained on).

The model reads each segment in its turn: a segment's probability for a code
is the geometric mean of its own and its turn's, so a sentence needs support
from its turn as a whole (a clause that leans one way in a turn that says the
opposite is pulled down) and a sentence that states a code plainly keeps it in
a mixed turn. The turn's most probable segment for a code gets at least the
turn's probability, so a code the turn supports as a whole, though no single
sentence states it, is quoted where it is best evidenced. Segments outside any
turn grouping are read alone.

``source`` says which fired (``rule``, ``model``, ``rule+model``).
``confidence`` is that probability for the code; a rule-only hit has
confidence 1.0. A segment whose exact text a researcher reviewed takes the
reviewed codes: codes reviewed away are dropped even if a rule fires, and
codes added in review are assigned with confidence 1.0.

:func:`review_candidates` picks the (segment, code) pairs where a human look
pays most, for ``review_queue.csv``: model probabilities within
:data:`REVIEW_MARGIN` of the code's threshold, then pairs where the rules and
the model disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from casecoder.annotations import text_key
from casecoder.rules import RuleTagger, hits_to_matrix

Combine = Literal["union", "intersection", "rules", "model"]

#: A model probability this close to its code's threshold puts the pair in the review queue.
REVIEW_MARGIN = 0.15


class Model(Protocol):
    codes_: list[str]
    thresholds_: dict[str, float]

    def predict_proba(self, texts: Sequence[str], rule_hits: np.ndarray | None = None
                      ) -> np.ndarray: ...


@dataclass(frozen=True)
class Assignment:
    """One code on one segment, with where it came from."""

    code: str
    source: str  # rule | model | rule+model
    confidence: float
    rule: str  # the rules that fired, joined by ' | '; empty for the model alone


@dataclass(frozen=True)
class Evidence:
    """What the rules and the model say about each text, computed once per batch."""

    rule_codes: list[dict[str, list[str]]]  # per text: code -> rules that fired
    probs: np.ndarray | None  # per text and trained code (model.codes_ order), or None


def gather_evidence(texts: Sequence[str], tagger: RuleTagger, model: Model | None,
                    turns: Sequence[object] | None = None) -> Evidence:
    """Rule hits for every text, and the model's probabilities (rule hits as its features).

    ``turns`` (one key per text; texts of a turn share a key and come in order)
    lets the model read each segment in its turn (see the module docstring).
    """
    rule_codes_of = [tagger.codes(text) for text in texts]
    probs = None
    if model is not None and len(texts):
        probs = _model_probs(model, list(texts), rule_codes_of)
        if turns is not None:
            probs = _in_turn_context(model, tagger, list(texts), list(turns), probs)
    return Evidence(rule_codes_of, probs)


def _model_probs(model: Model, texts: list[str], rule_codes_of: list[dict]) -> np.ndarray:
    rule_codes = getattr(model, "rule_codes_", None)
    rule_hits = hits_to_matrix(rule_codes_of, rule_codes) if rule_codes else None
    return model.predict_proba(texts, rule_hits=rule_hits)


def join_segments(texts: Sequence[str]) -> str:
    """A turn's text from its segments: Chinese joined directly, Latin script with a space."""
    out = ""
    for text in texts:
        if out and out[-1].isascii() and not out[-1].isspace() and text[:1].isascii():
            out += " "
        out += text
    return out


def _in_turn_context(model: Model, tagger: RuleTagger, texts: list[str], turns: list,
                     probs: np.ndarray) -> np.ndarray:
    groups: dict[object, list[int]] = {}
    for i, key in enumerate(turns):
        groups.setdefault(key, []).append(i)
    multi = [rows for rows in groups.values() if len(rows) > 1]
    if not multi:
        return probs
    turn_texts = [join_segments([texts[i] for i in rows]) for rows in multi]
    turn_probs = _model_probs(model, turn_texts, [tagger.codes(t) for t in turn_texts])
    result = probs.copy()
    for rows, turn_p in zip(multi, turn_probs, strict=True):
        block = np.sqrt(probs[rows] * turn_p)
        best = probs[rows].argmax(axis=0)  # per code: the turn's most probable segment
        codes = np.arange(block.shape[1])
        block[best, codes] = np.maximum(block[best, codes], turn_p)
        result[rows] = block
    return result


def assign_codes(
    texts: Sequence[str],
    tagger: RuleTagger,
    model: Model | None = None,
    *,
    combine: Combine = "union",
    reviewed: Mapping[str, frozenset[str]] | None = None,
    evidence: Evidence | None = None,
) -> list[list[Assignment]]:
    """Codes for each text, in codebook order (``evidence`` from :func:`gather_evidence`)."""
    order = tagger.codebook.ids
    evidence = evidence or gather_evidence(texts, tagger, model)
    rule_codes_of, probs = evidence.rule_codes, evidence.probs
    trained = list(model.codes_) if model is not None else []
    reviewed = reviewed or {}
    result = []
    for i, text in enumerate(texts):
        rule_codes = rule_codes_of[i]
        model_probs = {c: float(probs[i, j]) for j, c in enumerate(trained)} if probs is not None else {}
        label = reviewed.get(text_key(text))
        assignments = []
        for code in order:
            by_rule = code in rule_codes
            p = model_probs.get(code)
            by_model = p is not None and p >= model.thresholds_[code]  # type: ignore[union-attr]
            by_model = by_model and combine != "rules"
            if label is not None:
                by_rule = by_rule and code in label
                by_model = code in label and not by_rule
                if by_model:
                    p = 1.0
            if not _keep(by_rule, by_model, code in model_probs, combine):
                continue
            source = "rule+model" if by_rule and by_model else "rule" if by_rule else "model"
            confidence = 1.0 if source == "rule" else round(float(p), 4)
            rules = " | ".join(rule_codes.get(code, [])) if by_rule else ""
            assignments.append(Assignment(code, source, confidence, rules))
        result.append(assignments)
    return result


@dataclass(frozen=True)
class Candidate:
    """A (segment, code) pair worth a researcher's look, with why."""

    code: str
    probability: float
    threshold: float
    assigned: bool
    reason: str  # "near threshold", "rule, not model", "model, not rule" (joined by "; ")
    rule: str
    rank: tuple  # sort key: near-threshold pairs first (closest first), then disagreements


def review_candidates(
    texts: Sequence[str],
    evidence: Evidence,
    model: Model | None,
    assignments: Sequence[Sequence[Assignment]],
    reviewed: Mapping[str, frozenset[str]] | None = None,
) -> list[list[Candidate]]:
    """Per text, the pairs where a human look pays most (texts already reviewed: none).

    Near threshold: the model's probability lies within :data:`REVIEW_MARGIN`
    of the code's threshold (rank by distance, closest first). Disagreement: a
    rule fires and the model is below its threshold, or the model is above it
    and no rule fires (rank by distance, strongest disagreement first).
    """
    reviewed = reviewed or {}
    result: list[list[Candidate]] = [[] for _ in texts]
    if model is None or evidence.probs is None:
        return result
    for i, text in enumerate(texts):
        if text_key(text) in reviewed:
            continue
        assigned = {a.code for a in assignments[i]}
        rule_codes = evidence.rule_codes[i]
        for j, code in enumerate(model.codes_):
            # rounded as review_queue.csv shows them, so the order is the one a reader sees
            p, t = round(float(evidence.probs[i, j]), 4), round(float(model.thresholds_[code]), 4)
            by_rule, by_model = code in rule_codes, p >= t
            reasons = []
            if abs(p - t) <= REVIEW_MARGIN:
                reasons.append("near threshold")
            if by_rule != by_model:
                reasons.append("rule, not model" if by_rule else "model, not rule")
            if not reasons:
                continue
            near = reasons[0] == "near threshold"
            distance = round(abs(p - t), 4)
            rank = (0, distance) if near else (1, -distance)
            result[i].append(Candidate(code, p, t, code in assigned,
                                       "; ".join(reasons), " | ".join(rule_codes.get(code, [])),
                                       rank))
    return result


def _keep(by_rule: bool, by_model: bool, trained: bool, combine: str) -> bool:
    if combine == "union" or not trained:
        return by_rule or (by_model and combine != "rules")
    if combine == "intersection":
        return by_rule and by_model
    if combine == "rules":
        return by_rule
    return by_model  # "model"
