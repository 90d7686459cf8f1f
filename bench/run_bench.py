"""Benchmark the workflow against a single-process baseline (run by hand, not in tests).

    python bench/run_bench.py --n 100 1000 [--dry-run-n 10000] [--incremental]

For each N it writes a corpus (bench/make_corpus.py), then times
(a) `snakemake --cores 2` from clean on it, with the peak memory of any job
    (sampled from /proc every 0.1 s), and
(b) the irreducible work in one Python process: read, segment and tag the same
    files with the same package functions and the model (a) trained,
and prints wall time, peak memory, characters per second and the ratio (a)/(b).
With --incremental it then adds one transcript and times the rerun, and times a
rerun with nothing changed. With --dry-run-n it times `snakemake -n` on a corpus
of that size. Results go to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))

from make_corpus import write_corpus  # noqa: E402


def _descendants(pid: int) -> list[int]:
    children = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            children += [int(c) for c in text.split()]
    except OSError:
        return []
    result = list(children)
    for child in children:
        result += _descendants(child)
    return result


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_snakemake(args: list[str]) -> tuple[float, float, str]:
    """Run snakemake; return wall seconds, peak RSS (MB) of any single job process, output."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/snakemake"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            for pid in _descendants(proc.pid):
                peak[0] = max(peak[0], _rss_mb(pid))
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    output, _ = proc.communicate()
    thread.join()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"snakemake failed:\n{output[-3000:]}")
    return wall, peak[0], output


def baseline(corpus: Path, model: Path) -> dict:
    """Read, segment and tag every transcript in one process with the package functions."""
    code = f"""
import json, resource, time
from pathlib import Path
start = time.perf_counter()
from casecoder.codebook import load_codebook
from casecoder.rules import RuleTagger
from casecoder.classifier import load_model
from casecoder.coding import assign_codes, gather_evidence, review_candidates
from casecoder.segment import get_segmenter
from casecoder.transcripts import find_transcripts, read_manifest, read_transcript
folder = Path({str(corpus)!r})
book = load_codebook({str(ROOT / 'codebooks/political_will.yaml')!r})
tagger = RuleTagger(book)
model = load_model(Path({str(model)!r}), codebook_sha256=book.sha256)
segmenter = get_segmenter()
manifest = read_manifest(folder)
chars = segments = 0
for path in find_transcripts(folder):
    t = read_transcript(path, folder, manifest)
    chars += len(t.text)
    segs = [s for s in segmenter.segment(t)]
    segments += len(segs)
    respondent = [s for s in segs if not s.is_interviewer]
    texts = [s.text for s in respondent]
    evidence = gather_evidence(texts, tagger, model, turns=[s.turn for s in respondent])
    coded = assign_codes(texts, tagger, model, evidence=evidence)
    review_candidates(texts, evidence, model, coded)
wall = time.perf_counter() - start
print(json.dumps({{"wall": wall, "chars": chars, "segments": segments,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", code], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_n(n: int, incremental: bool) -> dict:
    corpus = OUT / f"corpus-{n}"
    results = OUT / f"results-{n}"
    if not corpus.exists():
        write_corpus(n, corpus)
    shutil.rmtree(results, ignore_errors=True)
    config = ["--config", f"transcripts={corpus}", f"results={results}"]
    wall_a, peak_a, _ = run_snakemake(["--cores", "2", *config])
    base = baseline(corpus, results / "model" / "model.skops")
    row = {
        "n": n,
        "megabytes": round(sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file()) / 1e6, 1),
        "characters": base["chars"],
        "snakemake_s": round(wall_a, 1),
        "snakemake_peak_job_mb": round(peak_a),
        "snakemake_chars_per_s": round(base["chars"] / wall_a),
        "baseline_s": round(base["wall"], 1),
        "baseline_peak_mb": round(base["peak_mb"]),
        "baseline_chars_per_s": round(base["chars"] / base["wall"]),
        "ratio": round(wall_a / base["wall"], 2),
    }
    if incremental:
        wall_noop, _, out = run_snakemake(["--cores", "2", *config])
        row["rerun_nothing_changed_s"] = round(wall_noop, 1)
        row["rerun_nothing_to_be_done"] = "Nothing to be done" in out
        extra = corpus / "site0" / "ZZ-new.txt"
        extra.write_text("---\nid: ZZ-new\ncase: County Z\n---\n问：您好。\n答：县里拨了专项资金，"
                         "孩子们暑假有夏令营。\n", encoding="utf-8")
        try:
            wall_add, _, out = run_snakemake(["--cores", "2", *config])
        finally:
            extra.unlink()
        row["rerun_one_added_s"] = round(wall_add, 1)
        row["rerun_one_added_share"] = round(wall_add / wall_a, 3)
    return row


def dry_run(n: int) -> dict:
    corpus = OUT / f"corpus-{n}"
    if not corpus.exists():
        write_corpus(n, corpus)
    results = OUT / f"results-dry-{n}"
    start = time.perf_counter()
    run_snakemake(["-n", "--config", f"transcripts={corpus}", f"results={results}"])
    return {"n": n, "dry_run_s": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--dry-run-n", type=int, default=0)
    parser.add_argument("--incremental", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.n:
        rows.append(bench_n(n, args.incremental))
        print(json.dumps(rows[-1]), flush=True)
    if args.dry_run_n:
        rows.append(dry_run(args.dry_run_n))
        print(json.dumps(rows[-1]), flush=True)
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "max_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    (OUT / "bench.json").write_text(json.dumps({"machine": info, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
