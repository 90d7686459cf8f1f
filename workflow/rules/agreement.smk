rule agreement:
    input:
        files=config["agreement"],
        codebook=config["codebook"],
    output:
        report(
            f"{RESULTS}/agreement.csv",
            caption="../report/agreement.rst",
            category="Agreement",
        ),
    log:
        f"{RESULTS}/logs/agreement.log",
    benchmark:
        f"{RESULTS}/benchmarks/agreement.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        casecoder=CASECODER,
    shell:
        "{params.casecoder} agreement --codebook {input.codebook:q} --out {output:q}"
        " {input.files:q} 2> {log:q}"
