"""Combining the rule tagger, the trained model and researchers' reviews.

For each respondent segment, a code is assigned according to ``combine``:

- ``union`` (default): a rule hit or a model probability at or above the
  code's threshold;
- ``intersection``: both (for codes the model was trained on; rules alone
  for the others);
- ``rules``: rule hits only; ``model``: the model only (rules for codes the
  model could not be trained on).

``source`` says which fired (``rule``, ``model``, ``rule+model``).
``confidence`` is the model's probability for the code; a rule-only hit has
confidence 1.0. A segment whose exact text a researcher reviewed takes the
reviewed codes: codes reviewed away are dropped even if a rule fires, and
codes added in review are assigned with confidence 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from casecoder.annotations import text_key
from casecoder.rules import RuleTagger

Combine = Literal["union", "intersection", "rules", "model"]


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


def assign_codes(
    texts: Sequence[str],
    tagger: RuleTagger,
    model: Model | None = None,
    *,
    combine: Combine = "union",
    reviewed: Mapping[str, frozenset[str]] | None = None,
) -> list[list[Assignment]]:
    """Codes for each text, in codebook order."""
    order = tagger.codebook.ids
    rule_codes_of = [tagger.codes(text) for text in texts]
    probs = None
    if model is not None and len(texts):
        rule_hits = None
        if getattr(model, "rule_codes_", None):
            column = {c: j for j, c in enumerate(model.rule_codes_)}
            rule_hits = np.zeros((len(texts), len(column)), dtype=np.int8)
            for i, found in enumerate(rule_codes_of):
                for code in found:
                    if code in column:
                        rule_hits[i, column[code]] = 1
        probs = model.predict_proba(list(texts), rule_hits=rule_hits)
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


def _keep(by_rule: bool, by_model: bool, trained: bool, combine: str) -> bool:
    if combine == "union" or not trained:
        return by_rule or (by_model and combine != "rules")
    if combine == "intersection":
        return by_rule and by_model
    if combine == "rules":
        return by_rule
    return by_model  # "model"
