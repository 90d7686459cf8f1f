"""How long training (with cross-validated metrics) and prediction take on 10,000 rows.

The rows are built deterministically from the bundled annotations: each is two
annotated segments of the same language joined into one, carrying the union of
their codes, so the vocabulary and code frequencies look like real data while
the row count is free. The metrics on these rows mean nothing (the same
segments recur across folds); only the times and memory do.

    .venv/bin/python bench/train_bench.py                 # 10,000 rows, 2 jobs
    .venv/bin/python bench/train_bench.py --rows 2000 --jobs 1
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from casecoder.classifier import train  # noqa: E402


def read_annotations(folder: Path) -> list[tuple[str, str, frozenset[str]]]:
    """(language, text, codes) of every row of the plain annotation CSVs, in file order."""
    rows = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                if "review" in row:  # a reviewed coded_quotes file, not plain annotations
                    break
                codes = frozenset(c for c in row["codes"].split(";") if c.strip())
                rows.append((row.get("language") or "", row["text"], codes))
    return rows


def code_ids(rows: list[tuple[str, str, frozenset[str]]]) -> list[str]:
    """The codebook's IDs when it is there, else the codes seen, sorted."""
    book = ROOT / "codebooks" / "political_will.yaml"
    if book.is_file():
        from casecoder.codebook import load_codebook

        return list(load_codebook(book).ids)
    return sorted({c for _, _, codes in rows for c in codes})


def recombine(rows: list[tuple[str, str, frozenset[str]]], n: int, seed: int = 0):
    """n texts, each two same-language segments joined, with the union of their codes."""
    rng = random.Random(seed)
    by_language: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for language, text, codes in rows:
        by_language.setdefault(language[:2] or "xx", []).append((text, codes))
    languages = sorted(by_language)
    texts, labels = [], []
    for _ in range(n):
        pool = by_language[rng.choice(languages)]
        (a, codes_a), (b, codes_b) = rng.sample(pool, 2)
        texts.append(a + ("" if a[-1:] in "。！？!?." else " ") + b)
        labels.append(codes_a | codes_b)
    return texts, labels


class MemoryWatch:
    """Peak resident memory of this process plus its worker processes, sampled every 0.1 s.

    ``ru_maxrss`` alone misses the workers that fit the per-code models.
    """

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(os.getpid()))


def _tree_rss_kb(pid: int) -> int:
    """VmRSS of a process and all its descendants (Linux /proc; 0 where unreadable)."""
    total = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("VmRSS:")))
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _tree_rss_kb(int(child))
    except (OSError, StopIteration, ValueError):
        pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2, help="threads for the per-code fits")
    parser.add_argument("--annotations", type=Path, default=ROOT / "annotations")
    args = parser.parse_args()

    rows = read_annotations(args.annotations)
    codes = code_ids(rows)
    texts, labels = recombine(rows, args.rows)
    print(f"{len(rows)} annotated segments -> {len(texts)} rows, {len(codes)} codes")

    # As the workflow trains (casecoder.steps.train_model): the rule hits are features.
    from casecoder.codebook import load_codebook
    from casecoder.rules import RuleTagger

    start = time.perf_counter()
    with MemoryWatch() as memory:
        tagger = RuleTagger(load_codebook(ROOT / "codebooks" / "political_will.yaml"))
        hits = tagger.hit_matrix(texts, codes)
        tagged = time.perf_counter() - start
        result = train(texts, labels, codes, n_jobs=args.jobs, log=lambda line: None,
                       rule_hits=hits, rule_codes=codes)
    wall = time.perf_counter() - start
    print(f"rule hits of {len(texts)} rows: {tagged:.1f} s (included below)")
    print(f"train with metrics: {wall:.1f} s wall, {len(texts) / wall:.0f} rows/s, "
          f"{len(result.model.codes_)} codes trained, {result.metrics['folds']} folds")

    start = time.perf_counter()
    probs = result.model.predict_proba(texts, rule_hits=hits)
    wall = time.perf_counter() - start
    print(f"predict_proba: {probs.shape[0]} segments in {wall:.2f} s, "
          f"{probs.shape[0] / wall:.0f} segments/s")
    print(f"peak memory while training (with workers): {memory.peak_kb / 1024:.0f} MB; "
          f"this process alone: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
