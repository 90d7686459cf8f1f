"""Combining rule hits, model probabilities and reviews."""

from __future__ import annotations

import numpy as np
import pytest

from casecoder.annotations import text_key
from casecoder.codebook import load_codebook
from casecoder.coding import assign_codes, gather_evidence
from casecoder.rules import RuleTagger


class FixedModel:
    """A stand-in model with given probabilities (the real one is tested in test_classifier)."""

    def __init__(self, probs):
        self.codes_ = ["FUNDED", "KIDS"]
        self.thresholds_ = {"FUNDED": 0.5, "KIDS": 0.4}
        self.probs = probs

    def predict_proba(self, texts, rule_hits=None):
        return np.array([self.probs[t] for t in texts])


TEXTS = ["县里拿出了专项资金。", "The children loved the camp.", "你好。"]
PROBS = {TEXTS[0]: [0.9, 0.1], TEXTS[1]: [0.2, 0.7], TEXTS[2]: [0.1, 0.1]}


@pytest.fixture
def tagger(tiny_codebook_file):
    return RuleTagger(load_codebook(tiny_codebook_file))


def _summary(result):
    return [[(a.code, a.source, a.confidence) for a in row] for row in result]


def test_union_sources_and_confidence(tagger):
    result = assign_codes(TEXTS, tagger, FixedModel(PROBS))
    assert _summary(result) == [
        [("FUNDED", "rule+model", 0.9)],
        [("KIDS", "model", 0.7)],
        [],
    ]
    assert result[0][0].rule == "FUNDED/fund-zh"
    assert result[1][0].rule == ""


def test_rules_only(tagger):
    result = assign_codes(TEXTS, tagger, None)
    assert _summary(result) == [[("FUNDED", "rule", 1.0)], [], []]


@pytest.mark.parametrize(
    "combine, expected",
    [
        ("intersection", [[("FUNDED", "rule+model", 0.9)], [], []]),
        ("rules", [[("FUNDED", "rule", 1.0)], [], []]),
        ("model", [[("FUNDED", "rule+model", 0.9)], [("KIDS", "model", 0.7)], []]),
    ],
)
def test_combine_modes(tagger, combine, expected):
    assert _summary(assign_codes(TEXTS, tagger, FixedModel(PROBS), combine=combine)) == expected


def test_review_wins_over_rules_and_model(tagger):
    reviewed = {text_key(TEXTS[0]): frozenset(), text_key(TEXTS[2]): frozenset({"BROKE"})}
    result = assign_codes(TEXTS, tagger, FixedModel(PROBS), reviewed=reviewed)
    assert _summary(result) == [[], [("KIDS", "model", 0.7)], [("BROKE", "model", 1.0)]]


# ---------------------------------------------------------------- the review queue


def test_review_candidates_near_threshold_then_disagreements(tagger):
    from casecoder.coding import gather_evidence, review_candidates

    # thresholds: FUNDED 0.5, KIDS 0.4; REVIEW_MARGIN 0.15
    texts = ["县里拿出了专项资金。", "The camp was fun.", "我们说一说留守儿童。", "你好。"]
    probs = {
        texts[0]: [0.05, 0.30],  # FUNDED: rule fires, model 0.45 below; KIDS 0.10 below
        texts[1]: [0.45, 0.99],  # FUNDED 0.05 below; KIDS: model 0.59 above, no rule
        texts[2]: [0.10, 0.42],  # KIDS: rule fires, model 0.02 above (they agree, but near)
        texts[3]: [0.10, 0.10],  # nothing to look at
    }
    model = FixedModel(probs)
    evidence = gather_evidence(texts, tagger, model)
    assigned = assign_codes(texts, tagger, model, evidence=evidence)
    queue = review_candidates(texts, evidence, model, assigned)
    ordered = sorted((c.rank, i, c.code, c.reason, c.assigned)
                     for i, row in enumerate(queue) for c in row)
    assert [entry[1:] for entry in ordered] == [
        (2, "KIDS", "near threshold", True),  # closest to its threshold first
        (1, "FUNDED", "near threshold", False),
        (0, "KIDS", "near threshold", False),
        (1, "KIDS", "model, not rule", True),  # then the strongest disagreement
        (0, "FUNDED", "rule, not model", True),
    ]
    assert queue[3] == []


def test_reviewed_segments_and_rules_only_runs_have_no_queue(tagger):
    from casecoder.coding import gather_evidence, review_candidates

    texts = ["县里拿出了专项资金。"]
    model = FixedModel({texts[0]: [0.5, 0.4]})
    evidence = gather_evidence(texts, tagger, model)
    coded = assign_codes(texts, tagger, model, evidence=evidence)
    assert review_candidates(texts, evidence, model, coded) != [[]]
    reviewed = {text_key(texts[0]): frozenset({"FUNDED"})}
    assert review_candidates(texts, evidence, model, coded, reviewed) == [[]]
    plain = gather_evidence(texts, tagger, None)
    assert review_candidates(texts, plain, None, assign_codes(texts, tagger, None)) == [[]]


# ---------------------------------------------------------------- segments read in their turn


def test_a_code_the_turn_supports_goes_to_its_best_segment(tagger):
    """No sentence alone reaches FUNDED's threshold (0.5), the turn does: the code is
    quoted once, on the turn's most probable sentence, with the turn's probability."""
    texts = ["我们开了个会。", "后来大家都出了力。", "别的就不说了。"]
    probs = {texts[0]: [0.30, 0.1], texts[1]: [0.45, 0.1], texts[2]: [0.05, 0.1],
             "".join(texts): [0.80, 0.1]}
    model = FixedModel(probs)
    evidence = gather_evidence(texts, tagger, model, turns=[1, 1, 1])
    result = assign_codes(texts, tagger, model, evidence=evidence)
    assert _summary(result) == [[], [("FUNDED", "model", 0.8)], []]


def test_a_sentence_does_not_carry_a_code_its_turn_rejects(tagger):
    texts = ["我们开了个会。", "后来大家都出了力。"]
    probs = {texts[0]: [0.90, 0.1], texts[1]: [0.70, 0.1], "".join(texts): [0.20, 0.1]}
    model = FixedModel(probs)
    alone = assign_codes(texts, tagger, model)
    assert _summary(alone) == [[("FUNDED", "model", 0.9)], [("FUNDED", "model", 0.7)]]
    in_turn = assign_codes(texts, tagger, model,
                           evidence=gather_evidence(texts, tagger, model, turns=[1, 1]))
    assert _summary(in_turn) == [[], []]
    # Separate turns: each sentence is its own turn and keeps its code.
    apart = assign_codes(texts, tagger, model,
                         evidence=gather_evidence(texts, tagger, model, turns=[1, 2]))
    assert _summary(apart) == _summary(alone)


def test_a_plain_sentence_keeps_its_code_in_a_mixed_turn(tagger):
    """The turn leans against FUNDED (another sentence says otherwise), but the
    sentence that states it plainly keeps it: sqrt(0.9 * 0.36) = 0.57 >= 0.5."""
    texts = ["后来大家都出了力。", "别的就不说了。"]
    probs = {texts[0]: [0.90, 0.1], texts[1]: [0.05, 0.1], "".join(texts): [0.36, 0.1]}
    model = FixedModel(probs)
    result = assign_codes(texts, tagger, model,
                          evidence=gather_evidence(texts, tagger, model, turns=[1, 1]))
    assert _summary(result) == [[("FUNDED", "model", 0.5692)], []]


def test_join_segments_rebuilds_the_turn():
    from casecoder.coding import join_segments

    assert join_segments(["我们开了会。", "He came.", "Then we left.", "好的。"]) == (
        "我们开了会。He came. Then we left.好的。")
