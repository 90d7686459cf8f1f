"""Command line: one sub-command per workflow rule (``casecoder <step> --help``).

User mistakes (:class:`casecoder.errors.InputError`) end the command with one
line on stderr, ``casecoder: error: <file>: <problem>``, and exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from casecoder.errors import InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casecoder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)

    p = sub.add_parser("code-batch", help="read, segment and code a batch of transcripts")
    p.add_argument("files", nargs="*")
    p.add_argument("--transcripts", required=True)
    p.add_argument("--codebook", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--model")
    p.add_argument("--reviewed")
    p.add_argument("--combine", default="union", choices=["union", "intersection", "rules", "model"])
    p.add_argument("--pseudonymise", default="auto", choices=["auto", "true", "false"])
    p.add_argument("--interviewer-label", action="append", default=[])

    p = sub.add_parser("train", help="train the classifier on the annotations")
    p.add_argument("--annotations", required=True)
    p.add_argument("--codebook", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--reviewed", required=True)
    p.add_argument("--min-examples", type=int, default=8)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--heldout", help="an annotation CSV to score the model against (metrics.json)")

    p = sub.add_parser("check-corpus", help="check transcript ids and translations across batches")
    p.add_argument("batches", nargs="+")
    p.add_argument("--transcripts", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("aggregate", help="build the result tables from coded batches")
    p.add_argument("batches", nargs="+")
    p.add_argument("--transcripts", required=True)
    p.add_argument("--codebook", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--model-info")
    p.add_argument("--queue-size", type=int, default=500, help="pairs in review_queue.csv (0 = all)")

    p = sub.add_parser("report", help="render report.html")
    p.add_argument("--results", required=True)
    p.add_argument("--codebook", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="")
    p.add_argument("--agreement", help="agreement.csv, for the intercoder agreement section")
    p.add_argument("--metrics", help="the model's metrics.json, for the model-as-coder section")

    p = sub.add_parser("agreement", help="write agreement.csv: intercoder agreement per code")
    p.add_argument("files", nargs="*", help="annotation CSV files, one per coder")
    p.add_argument("--codebook", required=True)
    p.add_argument("--out", required=True, help="the agreement.csv to write")

    p = sub.add_parser("export-qda", help="write codebook.qdc and project.qdpx (REFI-QDA)")
    p.add_argument("--transcripts", required=True)
    p.add_argument("--codebook", required=True)
    p.add_argument("--segments", required=True, help="segments.csv of the run")
    p.add_argument("--quotes", required=True, help="coded_quotes.csv of the run")
    p.add_argument("--qdc", required=True, help="the codebook file to write")
    p.add_argument("--qdpx", required=True, help="the project file to write")
    p.add_argument("--pseudonymise", default="auto", choices=["auto", "true", "false"])
    p.add_argument("--reviewed", help="the model's reviewed.json (codes a reviewer set)")
    p.add_argument("--title", default="")

    p = sub.add_parser("check", help="validate a codebook (and optionally annotations)")
    p.add_argument("--codebook", required=True)
    p.add_argument("--annotations")
    return parser


def run(args: argparse.Namespace) -> None:
    from casecoder import steps

    if args.step == "code-batch":
        from casecoder.pipeline import code_batch

        pseudo = {"auto": "auto", "true": True, "false": False}[args.pseudonymise]
        code_batch(args.files, transcripts=args.transcripts, codebook=args.codebook,
                   out=args.out, model=args.model, reviewed=args.reviewed,
                   interviewer_labels=args.interviewer_label, combine=args.combine,
                   pseudonymise=pseudo)
    elif args.step == "train":
        steps.train_model(annotations=args.annotations, codebook=args.codebook, model=args.model,
                          metrics=args.metrics, reviewed=args.reviewed,
                          min_examples=args.min_examples, folds=args.folds,
                          heldout=args.heldout)
    elif args.step == "check-corpus":
        steps.check_corpus(batches=args.batches, transcripts=args.transcripts, out=args.out)
    elif args.step == "aggregate":
        steps.aggregate(batches=args.batches, transcripts=args.transcripts,
                        codebook=args.codebook, results=args.results, model_info=args.model_info,
                        queue_size=args.queue_size)
    elif args.step == "report":
        steps.write_report(results=args.results, codebook=args.codebook, out=args.out,
                           title=args.title, agreement=args.agreement, metrics=args.metrics)
    elif args.step == "agreement":
        steps.write_agreement(files=args.files, codebook=args.codebook, out=args.out)
    elif args.step == "export-qda":
        from casecoder.qda import export_qda

        pseudo = {"auto": "auto", "true": True, "false": False}[args.pseudonymise]
        export_qda(transcripts=args.transcripts, codebook=args.codebook, segments=args.segments,
                   quotes=args.quotes, qdc=args.qdc, qdpx=args.qdpx, pseudonymise=pseudo,
                   reviewed=args.reviewed, title=args.title)
    elif args.step == "check":
        from casecoder.codebook import load_codebook

        book = load_codebook(args.codebook)
        if args.annotations:
            from casecoder.annotations import load_training_set

            data = load_training_set(args.annotations, book.ids)
            print(f"{args.annotations}: {len(data)} annotated segments")
        print(f"{args.codebook}: {len(book.codes)} codes, valid")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    args = _parser().parse_args(argv)
    try:
        run(args)
    except InputError as exc:
        print(f"casecoder: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
