"""One function per workflow rule: the glue between files and the stage modules.

Each function takes paths and settings, reads, calls the stage functions and
writes the rule's outputs. Only this module and the command line touch paths.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from casecoder.codebook import load_codebook

log = logging.getLogger("casecoder")


def _write_json(data: object, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def train_model(
    *,
    annotations: str | Path,
    codebook: str | Path,
    model: str | Path,
    metrics: str | Path,
    reviewed: str | Path,
    min_examples: int = 8,
    folds: int = 5,
    heldout: str | Path | None = None,
) -> dict:
    """Train the classifier on the annotations folder; write model, metrics and reviews.

    With ``heldout`` (an annotation file the model never sees), metrics.json also
    gets the model's agreement with that file's coder under ``heldout``."""
    from casecoder.annotations import load_training_set
    from casecoder.classifier import save_model, train

    book = load_codebook(codebook)
    data = load_training_set(annotations, book.ids)
    log.info("training on %d segments from %d file(s): %s", len(data), len(data.files),
             ", ".join(data.files))
    from casecoder.rules import RuleTagger

    rule_hits = RuleTagger(book).hit_matrix(data.texts)
    result = train(data.texts, data.labels, book.ids, min_examples=min_examples, folds=folds,
                   seed=0, log=log.info, rule_hits=rule_hits, rule_codes=book.ids)
    save_model(result.model, Path(model), codebook_sha256=book.sha256, data_sha256=data.sha256)
    report = dict(result.metrics)
    report["codebook"] = {"name": book.name, "version": book.version, "sha256": book.sha256}
    report["training_data"] = {"files": data.files, "sha256": data.sha256,
                               "n_reviewed": len(data.reviewed)}
    if heldout:
        from casecoder.agreement import heldout_agreement

        report["heldout"] = heldout_agreement(result.model, book, heldout, data.texts)
        log.info("held-out %s: %d segments, mean kappa %s, alpha %s", report["heldout"]["file"],
                 report["heldout"]["n_segments"], report["heldout"]["macro"]["kappa"],
                 report["heldout"]["macro"]["alpha"])
    _write_json(report, metrics)
    _write_json({k: sorted(v) for k, v in sorted(data.reviewed.items())}, reviewed)
    macro = report.get("macro", {})
    log.info("cross-validated macro F1 %.3f, kappa %.3f", macro.get("f1", float("nan")),
             macro.get("kappa", float("nan")))
    return report


def check_corpus(*, batches: Sequence[str | Path], transcripts: str | Path, out: str | Path) -> None:
    """Check what no single batch can: unique transcript ids and that every
    translation matches an original turn by turn. It runs as its own job so that
    a mistake stops the run before the aggregation job starts, which leaves the
    earlier result tables untouched (Snakemake clears a job's outputs when it starts)."""
    from casecoder import aggregate as agg

    merged = agg.load_batches(batches)
    agg.check_transcripts(merged["transcripts"], str(transcripts))
    translations = agg.attach_translations(merged, str(transcripts))
    log.info("%d transcripts with unique ids; %d translated turns line up",
             len(merged["transcripts"]), len(translations))
    _write_json({"transcripts": sorted(t["id"] for t in merged["transcripts"]),
                 "translated_turns": len(translations)}, out)


def aggregate(
    *,
    batches: Sequence[str | Path],
    transcripts: str | Path,
    codebook: str | Path,
    results: str | Path,
    model_info: str | Path | None = None,
    run_info_extra: dict | None = None,
    queue_size: int = 500,
) -> None:
    """Write segments.csv, coded_quotes.csv/.xlsx, case_code_matrix.csv, case_summary.csv
    and run_info.json from the coded batches."""
    from casecoder import aggregate as agg
    from casecoder.export import write_quotes_xlsx
    from casecoder.tables import write_table

    book = load_codebook(codebook)
    merged = agg.load_batches(batches)
    agg.check_transcripts(merged["transcripts"], str(transcripts))
    translations = agg.attach_translations(merged, str(transcripts))
    info = json.loads(Path(model_info).read_text(encoding="utf-8")) if model_info else {}
    model_version = info.get("model_sha256", "")[:12]
    segments = agg.segments_table(merged)
    quotes = agg.quotes_table(merged, segments, translations, book, model_version)
    queue = agg.queue_table(merged, segments, translations, model_version, limit=queue_size)
    summary = agg.case_summary(segments, merged["transcripts"], book)
    matrix = agg.case_code_matrix(quotes, list(summary["case"]), book)
    out = Path(results)
    write_table(segments, out / "segments.csv")
    write_table(quotes, out / "coded_quotes.csv")
    write_table(matrix, out / "case_code_matrix.csv")
    write_table(summary, out / "case_summary.csv")
    write_table(queue, out / "review_queue.csv")
    write_quotes_xlsx(quotes, book.ids, out / "coded_quotes.xlsx", queue=queue)
    log.info("%d transcripts, %d segments, %d coded quotes, %d pairs in the review queue, "
             "%d cases", len(merged["transcripts"]), len(segments), len(quotes), len(queue),
             len(summary))
    _write_json(run_info(merged["transcripts"], book, info, run_info_extra or {}),
                out / "run_info.json")


def run_info(transcripts: list[dict], book, model_info: dict, extra: dict) -> dict:
    """Provenance of a run: versions, hashes of the codebook, model and every input file."""
    packages = ["casecoder", "snakemake", "spacy", "jieba", "pysbd", "scikit-learn", "skops",
                "pandas", "numpy", "openpyxl", "altair"]
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "packages": versions,
        "codebook": {"name": book.name, "version": book.version, "sha256": book.sha256},
        "model": {k: model_info[k] for k in ("model_sha256", "data_sha256", "codebook_sha256")
                  if k in model_info},
        "inputs": {t["file"]: t["sha256"] for t in sorted(transcripts, key=lambda t: t["file"])},
        **extra,
    }


def write_agreement(*, files: Sequence[str | Path], codebook: str | Path,
                    out: str | Path) -> None:
    """Write agreement.csv: how far the coders of the annotation files agree, per code."""
    from casecoder.agreement import agreement
    from casecoder.tables import write_table

    write_table(agreement(files, load_codebook(codebook).ids), out)


def write_report(*, results: str | Path, codebook: str | Path, out: str | Path,
                 title: str = "", agreement: str | Path | None = None,
                 metrics: str | Path | None = None) -> None:
    """Render report.html from the result tables, with agreement.csv and the model's
    metrics.json when given."""
    from casecoder.report import write_report as render
    from casecoder.tables import read_table

    results = Path(results)
    book = load_codebook(codebook)
    quotes = read_table(results / "coded_quotes.csv")
    for column in ("turn", "segment", "start", "end"):
        quotes[column] = quotes[column].astype(int)
    quotes["confidence"] = quotes["confidence"].astype(float)
    matrix = read_table(results / "case_code_matrix.csv")
    for code in book.ids:
        matrix[code] = matrix[code].astype(int)
    summary = read_table(results / "case_summary.csv")
    for column in summary.columns:
        if column.startswith(("n_", "coded_")):
            summary[column] = summary[column].astype(int)
    summary["political_will_index"] = summary["political_will_index"].replace("", "nan").astype(float)
    info_path = results / "run_info.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    run = {"codebook": f"{book.name} {book.version}",
           "transcripts": str(len(info.get("inputs", {}))),
           "model": (info.get("model", {}).get("model_sha256") or "none (rules only)")[:12]}
    render(quotes, matrix, summary, book, Path(out), title=title or None, run_info=run,
           agreement=read_table(agreement) if agreement else None,
           metrics=json.loads(Path(metrics).read_text(encoding="utf-8")) if metrics else None)


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
