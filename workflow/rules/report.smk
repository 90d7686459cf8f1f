rule render_report:
    input:
        unpack(report_inputs),
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
        options=report_options,
    shell:
        "{params.casecoder} report --results {params.results:q} --codebook {input.codebook:q}"
        " --out {output:q} --title={params.title:q} {params.options} 2> {log:q}"
