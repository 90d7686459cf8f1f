"""The bundled codebooks: they validate, match the code contract, and bad variants fail clearly.

The political-will table below is copied from CODEBOOK.md (the contract that annotation
files, models and evaluation sets rely on); a change to an ID, category or direction in
the YAML must be a deliberate change to both.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from casecoder.chinese import to_simplified
from casecoder.codebook import load_codebook
from casecoder.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
POLITICAL_WILL = ROOT / "codebooks" / "political_will.yaml"
YOUTH_EMPLOYMENT = ROOT / "codebooks" / "youth_employment.yaml"
BUNDLED = [POLITICAL_WILL, YOUTH_EMPLOYMENT]

#: id -> (category, direction), from CODEBOOK.md.
CONTRACT = {
    "PW_PRIORITY_HIGH": ("political_will", 1),
    "PW_PRIORITY_LOW": ("political_will", -1),
    "PW_RESOURCES_COMMITTED": ("political_will", 1),
    "PW_RESOURCES_WITHHELD": ("political_will", -1),
    "PW_ENGAGEMENT_ACTIVE": ("political_will", 1),
    "PW_ENGAGEMENT_PASSIVE": ("political_will", -1),
    "LEAD_DEVELOPMENT": ("leadership", 1),
    "LEAD_TASK": ("leadership", -1),
    "PART_FORMAL": ("partnership", 0),
    "PART_INFORMAL": ("partnership", 0),
    "PART_COLLABORATIVE": ("partnership", 1),
    "PART_INSTRUMENTAL": ("partnership", -1),
    "CTX_POLICY_MANDATE": ("context", 0),
    "CTX_FISCAL_CONSTRAINT": ("context", 0),
    "CTX_HIGHER_LEVEL_SUPPORT": ("context", 0),
    "PROV_CAPACITY_STRONG": ("provider", 0),
    "PROV_CAPACITY_WEAK": ("provider", 0),
    "PROV_VOLUNTEERS": ("provider", 0),
    "PROV_SEEKS_SUPPORT": ("provider", 0),
    "OUT_QUALITY_GOOD": ("outcome", 0),
    "OUT_QUALITY_POOR": ("outcome", 0),
    "OUT_SUSTAINED": ("outcome", 0),
    "OUT_DISCONTINUED": ("outcome", 0),
    "TGT_CHILDREN": ("target", 0),
    "TGT_ELDERLY": ("target", 0),
}


# ---------------------------------------------------------------- the bundled files


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_codebook_validates(path):
    codebook = load_codebook(path)
    assert codebook.name == path.stem
    assert len(codebook.sha256) == 64


def test_political_will_matches_the_contract():
    codebook = load_codebook(POLITICAL_WILL)
    assert codebook.ids == list(CONTRACT)
    found = {code.id: (code.category, code.direction) for code in codebook.codes}
    assert found == CONTRACT
    assert set(codebook.categories) == {category for category, _ in CONTRACT.values()}


def test_youth_employment_is_small_and_separate():
    codebook = load_codebook(YOUTH_EMPLOYMENT)
    assert 5 <= len(codebook.codes) <= 7
    assert 2 <= len(codebook.categories) <= 3
    assert not set(codebook.ids) & set(CONTRACT)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_code_has_examples_and_rules_in_both_languages(path):
    for code in load_codebook(path).codes:
        assert len(code.examples.en) >= 2, code.id
        assert len(code.examples.zh) >= 2, code.id
        assert len(set(code.examples.en + code.examples.zh)) == (
            len(code.examples.en) + len(code.examples.zh)
        ), f"{code.id}: repeated example"
        assert {rule.language for rule in code.rules} == {"en", "zh"}, code.id
        assert code.inclusion and code.exclusion, code.id


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_chinese_terms_are_simplified(path):
    """Segments are converted to Simplified before matching, so a Traditional term never fires."""
    for code in load_codebook(path).codes:
        for rule in code.rules:
            if rule.language != "zh":
                continue
            for term in rule.keywords + rule.requires + rule.unless + rule.patterns:
                assert to_simplified(term) == term, f"{code.id}/{rule.name}: {term}"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_examples_are_not_shared_between_codes(path):
    seen: dict[str, str] = {}
    for code in load_codebook(path).codes:
        for example in code.examples.en + code.examples.zh:
            assert example not in seen, f"{code.id} repeats an example of {seen.get(example)}"
            seen[example] = code.id


# ---------------------------------------------------------------- rules on typical talk


@pytest.fixture(scope="module")
def tagger():
    from casecoder.rules import RuleTagger

    return RuleTagger(load_codebook(POLITICAL_WILL))


@pytest.mark.parametrize(
    "text, present, absent",
    [
        ("县里没有专项资金，只能想别的办法。", ["CTX_FISCAL_CONSTRAINT"], ["PW_RESOURCES_COMMITTED"]),
        ("We had no special fund for the children.", ["CTX_FISCAL_CONSTRAINT"],
         ["PW_RESOURCES_COMMITTED"]),
        ("县里今年拨了三十万专项资金给留守儿童。", ["PW_RESOURCES_COMMITTED", "TGT_CHILDREN"], []),
        ("省里给了二十万试点资金，县里负责协调。", ["CTX_HIGHER_LEVEL_SUPPORT"],
         ["PW_RESOURCES_COMMITTED"]),
        ("说实话镇里一分钱都没给，报告交上去就石沉大海了。", ["PW_RESOURCES_WITHHELD"], []),
        ("政府购买服务的合同是去年签的，走的公开招标。", ["PART_FORMAL"], ["PART_INFORMAL"]),
        ("我们跟村委会没签合同，就是口头说好的。", ["PART_INFORMAL"], ["PART_FORMAL"]),
        ("They never came, not once.", ["PW_ENGAGEMENT_PASSIVE"], ["PW_ENGAGEMENT_ACTIVE"]),
        ("It was a photo op for the township.", ["PART_INSTRUMENTAL"], []),
        ("Honestly it's just ticking boxes.", ["LEAD_TASK"], []),
        ("There is no deadline, we can take our time.", [], ["LEAD_TASK"]),
        ("他们来了就是拍照留痕，做样子给上面看。", ["PW_ENGAGEMENT_PASSIVE", "LEAD_TASK"], []),
        ("上面要求年底前必须完成，我们就按文件精神办。", ["CTX_POLICY_MANDATE", "LEAD_TASK"], []),
        ("脱贫攻坚那几年，我们主要精力都在扶贫上，顾不上。", ["PW_PRIORITY_LOW"], []),
        ("县长不重视这个事。", ["PW_PRIORITY_LOW"], ["PW_PRIORITY_HIGH"]),
        ("县长非常重视这个事，亲自抓。", ["PW_PRIORITY_HIGH"], ["PW_PRIORITY_LOW"]),
        ("我们不是简单的买卖关系，方案是双方一起商量出来的。", ["PART_COLLABORATIVE"], []),
        ("這些留守兒童的父母都在廣東打工。", ["TGT_CHILDREN"], []),
        ("娃娃们放学后就来写作业。", ["TGT_CHILDREN"], []),
        ("村里没钱给幸福院请做饭的人。", ["TGT_ELDERLY", "CTX_FISCAL_CONSTRAINT"], []),
        ("老人们说现在吃得好，比在家里强多了。", ["TGT_ELDERLY", "OUT_QUALITY_GOOD"], []),
        ("The volunteer group is not registered anywhere.", ["PART_INFORMAL", "PROV_VOLUNTEERS"],
         ["PART_FORMAL"]),
        ("这是我的名片，上面有办公室电话。", [], ["OUT_SUSTAINED"]),
    ],
)
def test_rules_on_typical_talk(tagger, text, present, absent):
    codes = tagger.codes(text)
    for code in present:
        assert code in codes, (text, codes)
    for code in absent:
        assert code not in codes, (text, codes)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("人社局今年办了三期电工培训班，学完考证。", {"TRAINING_OFFERED"}),
        ("那个岗位要求本地户口，我是外县的，报名都报不上。", {"BARRIER_HUKOU"}),
        ("我没找到工作，还在家待着。", {"OUTCOME_NO_JOB"}),
        ("Three weeks after the job fair I got a job at the logistics park.",
         {"EMPLOYER_LINKAGE", "OUTCOME_JOB_FOUND"}),
        ("县里开了个会，讨论就业的事。", set()),
    ],
)
def test_youth_employment_rules(text, expected):
    from casecoder.rules import RuleTagger

    tagger = RuleTagger(load_codebook(YOUTH_EMPLOYMENT))
    assert set(tagger.codes(text)) == expected



# ---------------------------------------------------------------- malformed variants


def _code(raw: dict, index: int = 2) -> dict:
    return raw["codes"][index]


def _rule(raw: dict, name: str = "special-fund") -> dict:
    return next(rule for rule in _code(raw)["rules"] if rule["name"] == name)


Mutation = Callable[[dict], None]

#: name -> (mutation of the parsed political-will YAML, text the message must contain).
MALFORMED: dict[str, tuple[Mutation, list[str]]] = {
    "duplicate id": (
        lambda raw: _code(raw, 3).update(id="PW_RESOURCES_COMMITTED"),
        ["code PW_RESOURCES_COMMITTED", "field id", "duplicate"],
    ),
    "unknown category": (
        lambda raw: _code(raw).update(category="politics"),
        ["code PW_RESOURCES_COMMITTED", "field category", "'politics'"],
    ),
    "unknown field in a code": (
        lambda raw: _code(raw).update(colour="red"),
        ["code PW_RESOURCES_COMMITTED", "field colour", "unknown field"],
    ),
    "unknown field in a rule": (
        lambda raw: _rule(raw).update(keyword=["专项资金"]),
        ["code PW_RESOURCES_COMMITTED", "rules.special-fund.keyword", "unknown field"],
    ),
    "bad regex": (
        lambda raw: _rule(raw, "allocate-amount").update(patterns=["(拨|拿出"]),
        ["code PW_RESOURCES_COMMITTED", "rules.allocate-amount.patterns", "regular expression"],
    ),
    "direction 2": (
        lambda raw: _code(raw).update(direction=2),
        ["code PW_RESOURCES_COMMITTED", "field direction", "-1, 0 or 1"],
    ),
    "missing definition": (
        lambda raw: _code(raw).pop("definition"),
        ["code PW_RESOURCES_COMMITTED", "field definition", "missing"],
    ),
    "missing zh definition": (
        lambda raw: _code(raw)["definition"].pop("zh"),
        ["code PW_RESOURCES_COMMITTED", "field definition.zh", "missing"],
    ),
    "unknown code in negated": (
        lambda raw: _rule(raw).update(negated=["CTX_NO_SUCH_CODE"]),
        ["code PW_RESOURCES_COMMITTED", "rules.special-fund.negated", "'CTX_NO_SUCH_CODE'"],
    ),
    "one example only": (
        lambda raw: _code(raw)["examples"].update(zh=["只有一个例子。"]),
        ["code PW_RESOURCES_COMMITTED", "field examples.zh", "at least 2"],
    ),
    "rule without keywords or patterns": (
        lambda raw: _rule(raw).pop("keywords"),
        ["code PW_RESOURCES_COMMITTED", "rules.special-fund", "keywords or patterns"],
    ),
    "unknown rule language": (
        lambda raw: _rule(raw).update(language="fr"),
        ["code PW_RESOURCES_COMMITTED", "rules.special-fund.language", "'zh' or 'en'"],
    ),
}


@pytest.fixture(scope="module")
def bundled_raw() -> dict:
    return yaml.safe_load(POLITICAL_WILL.read_text(encoding="utf-8"))


def _write_variant(raw: dict, mutate: Mutation, tmp_path: Path) -> Path:
    variant = copy.deepcopy(raw)
    mutate(variant)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(variant, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_variant_names_code_and_field(name, bundled_raw, tmp_path):
    mutate, expected = MALFORMED[name]
    path = _write_variant(bundled_raw, mutate, tmp_path)
    with pytest.raises(InputError) as caught:
        load_codebook(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    for part in expected:
        assert part in message, (part, message)


def test_duplicate_rule_name_names_the_rules_field(bundled_raw, tmp_path):
    path = _write_variant(bundled_raw, lambda raw: _rule(raw, "allocate-amount").update(
        name="special-fund"), tmp_path)
    with pytest.raises(InputError, match=r"code PW_RESOURCES_COMMITTED, field rules.*'special-fund'"):
        load_codebook(path)


def test_non_yaml_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ncodes: [PW_PRIORITY_HIGH,\n  - id: : x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"not a readable YAML file") as caught:
        load_codebook(path)
    assert str(caught.value).startswith(f"{path}, line ")


def test_non_yaml_file_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ncodes: [PW_PRIORITY_HIGH,\n  - id: : x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line \d+") as caught:
        load_codebook(path)
    assert caught.value.line is not None


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- PW_PRIORITY_HIGH\n- PW_PRIORITY_LOW\n", encoding="utf-8")
    with pytest.raises(InputError, match="must be a YAML mapping"):
        load_codebook(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "codebook.yaml"
    with pytest.raises(InputError) as caught:
        load_codebook(path)
    assert str(caught.value) == f"{path}: codebook file not found"
