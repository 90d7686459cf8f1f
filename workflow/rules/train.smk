rule train_model:
    input:
        annotations=ANNOTATION_FILES,
        codebook=config["codebook"],
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
    conda:
        "../envs/casecoder.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    benchmark:
        f"{RESULTS}/benchmarks/train_model.tsv"
    params:
        annotations=config["annotations"],
        min_examples=config["min_examples"],
        folds=config["cv_folds"],
    shell:
        "{CASECODER} train --annotations {params.annotations:q} --codebook {input.codebook:q}"
        " --model {output.model:q} --metrics {output.metrics:q} --reviewed {output.reviewed:q}"
        " --min-examples {params.min_examples} --folds {params.folds} 2> {log:q}"
