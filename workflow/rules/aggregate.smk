rule check_corpus:
    input:
        batches=all_batches(),
    output:
        f"{RESULTS}/work/corpus.json",
    log:
        f"{RESULTS}/logs/check_corpus.log",
    benchmark:
        f"{RESULTS}/benchmarks/check_corpus.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        casecoder=CASECODER,
        transcripts=config["transcripts"],
    shell:
        "{params.casecoder} check-corpus --transcripts {params.transcripts:q}"
        " --out {output:q} {input.batches:q} 2> {log:q}"


rule aggregate_cases:
    input:
        unpack(aggregate_inputs),
    output:
        segments=report(
            f"{RESULTS}/segments.csv",
            caption="../report/segments.rst",
            category="Tables",
        ),
        quotes=report(
            f"{RESULTS}/coded_quotes.csv",
            caption="../report/coded_quotes.rst",
            category="Tables",
        ),
        xlsx=report(
            f"{RESULTS}/coded_quotes.xlsx",
            caption="../report/coded_quotes_xlsx.rst",
            category="Review",
        ),
        queue=report(
            f"{RESULTS}/review_queue.csv",
            caption="../report/review_queue.rst",
            category="Review",
        ),
        matrix=report(
            f"{RESULTS}/case_code_matrix.csv",
            caption="../report/case_code_matrix.rst",
            category="Case comparison",
        ),
        summary=report(
            f"{RESULTS}/case_summary.csv",
            caption="../report/case_summary.rst",
            category="Case comparison",
        ),
        run_info=f"{RESULTS}/run_info.json",
    log:
        f"{RESULTS}/logs/aggregate_cases.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate_cases.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        casecoder=CASECODER,
        transcripts=config["transcripts"],
        results=lambda wildcards, output: os.path.dirname(output.quotes),
        queue_size=config["review_queue_size"],
        model_info=lambda wildcards, input: (
            f"--model-info '{input.model_info}'"
            if "model_info" in input.keys()
            else ""
        ),
    shell:
        "{params.casecoder} aggregate --transcripts {params.transcripts:q} --codebook {input.codebook:q}"
        " --results {params.results:q} --queue-size {params.queue_size} {params.model_info} {input.batches:q} 2> {log:q}"
