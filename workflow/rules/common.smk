# Everything the workflow computes from the config (checked settings, the transcript
# batches) and the input functions. The logic lives in casecoder.
import os
import sys
from pathlib import Path

from casecoder.errors import InputError
from casecoder.pipeline import batch_of
from casecoder.settings import check_config


def _stop(exc):
    """A user mistake: one line, no traceback, before any job runs."""
    sys.stderr.write(f"casecoder: error: {exc}\n")
    sys.exit(1)


try:
    config.update(check_config(config))
    from casecoder.codebook import load_codebook
    from casecoder.transcripts import find_transcripts

    CODEBOOK = load_codebook(config["codebook"])
    TRANSCRIPTS = Path(config["transcripts"])
    TRANSCRIPT_FILES = find_transcripts(TRANSCRIPTS)
    if config["classifier"]:
        from casecoder.annotations import find_annotation_files, load_training_set

        load_training_set(config["annotations"], CODEBOOK.ids)
        ANNOTATION_FILES = [
            str(p) for p in find_annotation_files(config["annotations"])
        ]
    else:
        ANNOTATION_FILES = []
except InputError as exc:
    _stop(exc)

RESULTS = config["results"].rstrip("/")
CASECODER = f'"{sys.executable}" -m casecoder'
MODEL = f"{RESULTS}/model/model.skops"

BATCHES = {}
for _file in TRANSCRIPT_FILES:
    _key = (
        f"{batch_of(_file.relative_to(TRANSCRIPTS).as_posix(), config['batches']):04d}"
    )
    BATCHES.setdefault(_key, []).append(str(_file))


def batch_files(wildcards):
    return BATCHES[wildcards.batch]


def folder_extras():
    """manifest.csv and pseudonyms.yaml, when present, are inputs of every batch."""
    extras = [TRANSCRIPTS / name for name in ("manifest.csv", "pseudonyms.yaml")]
    return [str(p) for p in extras if p.is_file()]


def code_batch_inputs(wildcards):
    inputs = {
        "transcripts": batch_files(wildcards),
        "codebook": config["codebook"],
        "extras": folder_extras(),
    }
    if config["classifier"]:
        inputs["model"] = MODEL
        inputs["reviewed"] = f"{RESULTS}/model/reviewed.json"
    return inputs


def code_batch_options(wildcards, input):
    """Command-line options of `casecoder code-batch` that depend on the config."""
    options = [
        f"--combine {config['combine']}",
        f"--pseudonymise {str(config['pseudonymise']).lower()}",
    ]
    if config["classifier"]:
        options.append(f"--model '{input.model}' --reviewed '{input.reviewed}'")
    options += [
        f"--interviewer-label '{label}'" for label in config["interviewer_labels"]
    ]
    return " ".join(options)


def all_batches():
    return expand(f"{RESULTS}/work/batches/batch-{{batch}}.json", batch=sorted(BATCHES))


def aggregate_inputs(wildcards):
    inputs = {
        "batches": all_batches(),
        "corpus": f"{RESULTS}/work/corpus.json",
        "codebook": config["codebook"],
    }
    if config["classifier"]:
        inputs["model_info"] = f"{RESULTS}/model/model.json"
    return inputs


def export_qda_inputs(wildcards):
    """What export_qda reads: the transcripts with the folder's extras, the codebook,
    the result tables and, with a model, the reviewed segments."""
    inputs = {
        "transcripts": [str(f) for f in TRANSCRIPT_FILES],
        "extras": folder_extras(),
        "codebook": config["codebook"],
        "segments": rules.aggregate_cases.output.segments,
        "quotes": rules.aggregate_cases.output.quotes,
    }
    if config["classifier"]:
        inputs["reviewed"] = f"{RESULTS}/model/reviewed.json"
    return inputs


def report_inputs(wildcards):
    """What render_report reads: the result tables and, when the run has them, the
    model's metrics (the model as a coder) and agreement.csv."""
    inputs = {
        "quotes": rules.aggregate_cases.output.quotes,
        "matrix": rules.aggregate_cases.output.matrix,
        "summary": rules.aggregate_cases.output.summary,
        "run_info": rules.aggregate_cases.output.run_info,
        "codebook": config["codebook"],
    }
    if config["classifier"]:
        inputs["metrics"] = f"{RESULTS}/model/metrics.json"
    if config["agreement"]:
        inputs["agreement"] = f"{RESULTS}/agreement.csv"
    return inputs


def report_options(wildcards, input):
    """Command-line options of `casecoder report` for its optional inputs."""
    return " ".join(
        f"--{name} '{input[name]}'"
        for name in ("metrics", "agreement")
        if name in input.keys()
    )


def final_outputs():
    outputs = [
        f"{RESULTS}/{name}"
        for name in (
            "segments.csv",
            "coded_quotes.csv",
            "coded_quotes.xlsx",
            "review_queue.csv",
            "case_code_matrix.csv",
            "case_summary.csv",
            "report.html",
            "codebook.qdc",
            "project.qdpx",
        )
    ]
    if config["classifier"]:
        outputs.append(f"{RESULTS}/model/metrics.json")
    if config["agreement"]:
        outputs.append(f"{RESULTS}/agreement.csv")
    return outputs
