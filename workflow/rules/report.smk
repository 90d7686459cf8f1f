rule render_report:
    input:
        quotes=rules.aggregate_cases.output.quotes,
        matrix=rules.aggregate_cases.output.matrix,
        summary=rules.aggregate_cases.output.summary,
        run_info=rules.aggregate_cases.output.run_info,
        codebook=config["codebook"],
    output:
        report(
            f"{RESULTS}/report.html",
            caption="../report/report_html.rst",
            category="Case comparison",
        ),
    log:
        f"{RESULTS}/logs/render_report.log",
    benchmark:
        f"{RESULTS}/benchmarks/render_report.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        casecoder=CASECODER,
        results=lambda wildcards, input: os.path.dirname(input.quotes),
        title=config["report_title"],
    shell:
        "{params.casecoder} report --results {params.results:q} --codebook {input.codebook:q}"
        " --out {output:q} --title={params.title:q} 2> {log:q}"
