"""The rule tagger: word boundaries, inflections, negation, requires/unless."""

from __future__ import annotations

import pytest

from casecoder.codebook import load_codebook
from casecoder.rules import RuleTagger, english_term


@pytest.fixture
def tagger(tiny_codebook_file):
    return RuleTagger(load_codebook(tiny_codebook_file))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("县里拿出了专项资金。", {"FUNDED": ["FUNDED/fund-zh"]}),
        ("县里没有专项资金。", {"BROKE": ["FUNDED/fund-zh(negated)"]}),
        ("我们从来没拿到过专项资金，只能自己想办法。", {"BROKE": ["FUNDED/fund-zh(negated)"]}),
        ("县里不断增加专项资金。", {"FUNDED": ["FUNDED/fund-zh"]}),
        ("未来我们会有专项资金。", {"FUNDED": ["FUNDED/fund-zh"]}),
        ("这笔融资金额很大。", {}),  # 资金 across the words 融资|金额: word match does not fire
        ("我们就是没钱。", {"BROKE": ["BROKE/broke-zh"]}),
        ("留守儿童很多。", {"KIDS": ["KIDS/kids-zh"]}),
        ("這個縣沒有專項資金。", {"BROKE": ["FUNDED/fund-zh(negated)"]}),  # Traditional
        ("The county set up a special fund in 2017.", {"FUNDED": ["FUNDED/fund-en"]}),
        ("They set up two special funds.", {"FUNDED": ["FUNDED/fund-en"]}),
        ("Budgeting was done by the bureau.", {"FUNDED": ["FUNDED/fund-en"]}),
        ("There was no special fund at all.", {"BROKE": ["FUNDED/fund-en(negated)"]}),
        ("We didn't get any budget, honestly.", {"BROKE": ["FUNDED/fund-en(negated)"]}),
        ("No, but later they found a budget.", {"FUNDED": ["FUNDED/fund-en"]}),
        ("We had no money.", {"BROKE": ["BROKE/broke-en"]}),
        ("The kids loved it.", {"KIDS": ["KIDS/kids-en"]}),
        ("The kids fed the goat.", {}),  # unless
        ("Kidney problems are common.", {}),  # word boundary
        ("我们的 budget 很紧，留守的孩子多。", {"FUNDED": ["FUNDED/fund-en"], "KIDS": ["KIDS/kids-zh"]}),
    ],
)
def test_rule_hits(tagger, text, expected):
    assert tagger.codes(text) == expected


@pytest.mark.parametrize(
    "term, matches, misses",
    [
        ("fund", ["fund", "Funds", "funded", "funding"], ["fundamental", "refund"]),
        ("purchase of service", ["purchasing of services", "Purchase of service"], ["purchase"]),
        ("facility", ["facilities", "facility"], ["facilitate"]),
        ("plan", ["planned", "planning", "plans"], ["planet"]),
        ("box-ticking", ["box ticking", "box-ticking"], ["box"]),
    ],
)
def test_english_inflections(term, matches, misses):
    import re

    rx = re.compile(english_term(term), re.IGNORECASE)
    for text in matches:
        assert rx.search(text), (term, text)
    for text in misses:
        assert not rx.search(text), (term, text)


def test_rules_compile_once(tiny_codebook_file):
    from casecoder.rules import cached_tagger

    assert cached_tagger(str(tiny_codebook_file)) is cached_tagger(str(tiny_codebook_file))


def test_hit_matrix_is_the_codes_as_classifier_features(tagger):
    texts = ["县里拿出了专项资金。", "县里没有专项资金。", "天气不错。", "The kids loved it."]
    matrix = tagger.hit_matrix(texts, ["KIDS", "FUNDED", "BROKE"])
    assert matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]]
    assert tagger.hit_matrix(texts).shape == (4, len(tagger.codebook.ids))
