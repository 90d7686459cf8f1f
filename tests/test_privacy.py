"""Pseudonyms replace names consistently; contact numbers are masked."""

from __future__ import annotations

import pytest

from casecoder.errors import InputError
from casecoder.privacy import load_pseudonymiser

PSEUDONYMS = """\
pseudonyms:
  - pseudonym: 官员甲
    names: [王建国, 王局长, Wang Jianguo]
  - pseudonym: 青山镇
    names: [桃源镇, Taoyuan]
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "pseudonyms.yaml").write_text(PSEUDONYMS, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("王局长在桃源镇开会。", "官员甲在青山镇开会。"),
        ("WANG JIANGUO visited Taoyuan township.", "官员甲 visited 青山镇 township."),
        ("Taoyuanese food", "Taoyuanese food"),  # word boundary for Latin names
        ("电话13812345678，座机0551-62345678。", "电话[PHONE]，座机[PHONE]。"),
        ("call +86 138 1234 5678 now", "call [PHONE] now"),
        ("身份证号340102198001011234。", "身份证号[ID]。"),
        ("mail li.na@example.org.cn please", "mail [EMAIL] please"),
        ("300,000 yuan in 2018; 1,290 yuan", "300,000 yuan in 2018; 1,290 yuan"),
    ],
)
def test_pseudonymise(folder, text, expected):
    assert load_pseudonymiser(folder)(text) == expected


def test_off_without_file(tmp_path):
    assert load_pseudonymiser(tmp_path)("王局长 13812345678") == "王局长 13812345678"
    assert load_pseudonymiser(tmp_path, True)("王局长 13812345678") == "王局长 [PHONE]"


def test_bad_file(tmp_path):
    (tmp_path / "pseudonyms.yaml").write_text("pseudonyms:\n  - names: [a]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pseudonyms\.yaml: field pseudonyms\.0\.pseudonym"):
        load_pseudonymiser(tmp_path)


def test_in_pieces_moves_the_cuts_with_the_text(folder):
    private = load_pseudonymiser(folder)
    text = "问：Wang Jianguo好。\n答：王局长在桃源镇，电话13812345678。Call Wang Jianguo."
    cuts = [text.index("答：") + 2, text.index("。C") + 1, len(text)]
    new, where = private.in_pieces(text, cuts)
    assert new == private(text)
    points = [0, *cuts]
    for start, end in zip(points, points[1:], strict=False):
        assert new[where[start]:where[end]] == private(text[start:end])
    assert where[cuts[0]] == new.index("官员甲在") and where[len(text)] == len(new)


def test_in_pieces_is_the_identity_when_off(tmp_path):
    text = "王局长 13812345678 😀"
    assert load_pseudonymiser(tmp_path).in_pieces(text, [3, 9]) == (text, {0: 0, 3: 3, 9: 9,
                                                                           len(text): len(text)})
