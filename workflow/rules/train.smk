rule train_model:
    input:
        annotations=ANNOTATION_FILES,
        codebook=config["codebook"],
        heldout=config["heldout_annotations"] or [],
    output:
        model=MODEL,
        info=f"{RESULTS}/model/model.json",
        metrics=report(
            f"{RESULTS}/model/metrics.json",
            caption="../report/metrics.rst",
            category="Model",
        ),
        reviewed=f"{RESULTS}/model/reviewed.json",
    log:
        f"{RESULTS}/logs/train_model.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_model.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        casecoder=CASECODER,
        annotations=lambda wildcards: config["annotations"],
        min_examples=config["min_examples"],
        folds=config["cv_folds"],
        heldout=lambda wildcards, input: (
            f"--heldout '{input.heldout}'" if input.heldout else ""
        ),
    shell:
        "{params.casecoder} train --annotations {params.annotations:q} --codebook {input.codebook:q}"
        " --model {output.model:q} --metrics {output.metrics:q} --reviewed {output.reviewed:q}"
        " --min-examples {params.min_examples} --folds {params.folds} {params.heldout} 2> {log:q}"
