"""How well the workflow codes interviews it has never seen: run it, score it per turn.

Runs the real workflow (``snakemake``, current annotations and codebook) on a
folder of transcripts with a gold coding of whole turns, then scores the
segment codes united per respondent turn against the gold
(:func:`casecoder.agreement.turn_scores`) and compares the case typology and
political-will index with the gold's.

    .venv/bin/python bench/generalisation.py                       # ../shared/validation
    .venv/bin/python bench/generalisation.py --transcripts transcripts \\
        --gold tests/data/bundled_gold.csv                          # the bundled interviews

The validation set (``../shared/validation``) is for measuring only: never
train, write rules or choose settings by its score.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from casecoder.agreement import turn_scores  # noqa: E402
from casecoder.tables import read_table  # noqa: E402

VALIDATION = ROOT.parent / "shared" / "validation"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=Path, default=VALIDATION / "transcripts")
    parser.add_argument("--gold", type=Path, default=VALIDATION / "gold.csv")
    parser.add_argument("--cases", type=Path, default=VALIDATION / "cases.csv",
                        help="gold case table (case, typology, index_from_gold), if any")
    parser.add_argument("--results", type=Path, help="keep the run here (default: temporary)")
    parser.add_argument("--cores", default="2")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        results = (args.results or Path(scratch) / "results").resolve()
        snakemake = Path(sys.executable).parent / "snakemake"
        subprocess.run([str(snakemake), "--cores", args.cores, "--quiet", "rules", "--config",
                        f"transcripts={args.transcripts.resolve()}", f"results={results}"],
                       cwd=ROOT, check=True)
        macro, per_code = turn_scores(read_table(results / "segments.csv"), read_table(args.gold))
        print(f"macro-F1 per respondent turn: {macro:.3f} over {len(per_code)} codes")
        for code, f1 in sorted(per_code.items(), key=lambda kv: kv[1]):
            print(f"  {code:26s} {f1:.2f}")
        summary = read_table(results / "case_summary.csv").set_index("case")
        if args.cases.is_file():
            gold_cases = read_table(args.cases).set_index("case")
            summary = summary.merge(gold_cases[["typology", "index_from_gold"]], how="left",
                                    left_index=True, right_index=True, suffixes=("", "_gold"))
            right = (summary["typology"] == summary["typology_gold"]).sum()
            print(f"typology right for {right} of {len(summary)} cases")
        print(summary.filter(regex="typology|index").to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
