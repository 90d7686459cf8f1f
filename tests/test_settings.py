"""Config validation: wrong types, unknown keys and missing folders are one-line errors."""

from __future__ import annotations

import pytest

from casecoder.errors import InputError
from casecoder.settings import check_config


@pytest.fixture
def root(tmp_path):
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "annotations").mkdir()
    (tmp_path / "codebooks").mkdir()
    (tmp_path / "codebooks" / "political_will.yaml").write_text("x: 1", encoding="utf-8")
    return tmp_path


def test_defaults_filled(root):
    full = check_config({}, root)
    assert full["transcripts"] == "transcripts" and full["batches"] == 16


@pytest.mark.parametrize(
    "config, message",
    [
        ({"transcripts": "/no/such/dir"}, "config key 'transcripts': no such folder: /no/such/dir"),
        ({"codebook": "nope.yaml"}, "config key 'codebook': no such file: nope.yaml"),
        ({"batches": "many"}, "config key 'batches': 'many' is not of type 'integer'"),
        ({"batches": 0}, "config key 'batches': 0 is less than the minimum of 1"),
        ({"combine": "maybe"}, "config key 'combine': 'maybe' is not one of"),
        ({"transcript": "x"}, "config key 'transcript': unknown key"),
    ],
)
def test_errors(root, config, message):
    with pytest.raises(InputError) as info:
        check_config(config, root)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value, expected", [("false", False), ("True", True), ("no", False),
                                             (False, False)])
def test_command_line_booleans(root, value, expected):
    assert check_config({"classifier": value}, root)["classifier"] is expected
    assert check_config({"pseudonymise": "auto"}, root)["pseudonymise"] == "auto"
