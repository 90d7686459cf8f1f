rule code_batch:
    input:
        unpack(code_batch_inputs),
    output:
        f"{RESULTS}/work/batches/batch-{{batch}}.json",
    log:
        f"{RESULTS}/logs/code_batch/batch-{{batch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/code_batch/batch-{{batch}}.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    params:
        casecoder=CASECODER,
        transcripts=config["transcripts"],
        options=code_batch_options,
    shell:
        "{params.casecoder} code-batch --transcripts {params.transcripts:q}"
        " --codebook {input.codebook:q} --out {output:q} {params.options}"
        " {input.transcripts:q} 2> {log:q}"
