"""Shared fixtures: paths, a tiny codebook, and small corpora written by the tests."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "codebooks" / "political_will.yaml"


def tiny_codebook_dict() -> dict:
    """A three-code codebook in the bundled format, for tests that must not depend on
    the wording of the bundled one."""

    def code(cid, category, direction, rules):
        return {
            "id": cid,
            "category": category,
            "direction": direction,
            "label": {"en": cid.title(), "zh": cid},
            "definition": {"en": f"Definition of {cid}.", "zh": f"{cid}的定义。"},
            "examples": {"en": ["one example", "another"], "zh": ["例子一", "例子二"]},
            "rules": rules,
        }

    return {
        "name": "tiny",
        "version": "0.1",
        "title": {"en": "Tiny", "zh": "小"},
        "categories": ["will", "context", "target"],
        "codes": [
            code("FUNDED", "will", 1, [
                {"name": "fund-zh", "language": "zh", "keywords": ["专项资金", "资金"],
                 "negated": ["BROKE"]},
                {"name": "fund-en", "language": "en", "keywords": ["special fund", "budget"],
                 "negated": ["BROKE"]},
            ]),
            code("BROKE", "context", 0, [
                {"name": "broke-zh", "language": "zh", "keywords": ["没钱"], "negatable": False},
                {"name": "broke-en", "language": "en", "patterns": [r"\bno money\b"],
                 "negatable": False},
            ]),
            code("KIDS", "target", 0, [
                {"name": "kids-zh", "language": "zh", "keywords": ["留守"], "match": "chars"},
                {"name": "kids-en", "language": "en", "keywords": ["left-behind child", "kid"],
                 "unless": ["goat"]},
            ]),
        ],
    }


@pytest.fixture
def tiny_codebook_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_codebook_dict(), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(autouse=True, scope="session")
def _quiet_env():
    os.environ.setdefault("PYTHONHASHSEED", "0")
    yield


def snakemake(*args: str, check: bool = True, timeout: int = 900):
    """Run the repository's workflow with this interpreter's snakemake; return the process."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "snakemake"
    proc = subprocess.run(
        [str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
            f"{proc.stderr[-6000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory) -> Path:
    """The bundled transcripts run once through the whole workflow (model included)."""
    out = tmp_path_factory.mktemp("bundled") / "results"
    snakemake("--cores", "2", "--config", f"results={out}")
    return out


@pytest.fixture(scope="session")
def small_annotations(tmp_path_factory) -> Path:
    """The first 80 rows of every bundled annotation file (about 1,000 segments, every
    code present): for end-to-end tests that need a trained model but not a good one,
    so that each trains in seconds rather than the full set's half minute."""
    folder = tmp_path_factory.mktemp("annotations") / "annotations"
    folder.mkdir()
    for path in sorted((ROOT / "annotations").glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows[:81])
        (folder / path.name).write_text(out.getvalue(), encoding="utf-8")
    return folder
