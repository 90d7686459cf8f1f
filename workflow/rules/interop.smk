rule export_qda:
    input:
        unpack(export_qda_inputs),
    output:
        qdc=report(
            f"{RESULTS}/codebook.qdc",
            caption="../report/codebook_qdc.rst",
            category="QDA tools",
        ),
        qdpx=report(
            f"{RESULTS}/project.qdpx",
            caption="../report/project_qdpx.rst",
            category="QDA tools",
        ),
    log:
        f"{RESULTS}/logs/export_qda.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_qda.tsv"
    conda:
        "../envs/casecoder.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        casecoder=CASECODER,
        transcripts=config["transcripts"],
        pseudonymise=str(config["pseudonymise"]).lower(),
        title=config["report_title"],
        reviewed=lambda wildcards, input: (
            f"--reviewed '{input.reviewed}'" if "reviewed" in input.keys() else ""
        ),
    shell:
        "{params.casecoder} export-qda --transcripts {params.transcripts:q} --codebook {input.codebook:q}"
        " --segments {input.segments:q} --quotes {input.quotes:q} --qdc {output.qdc:q} --qdpx {output.qdpx:q}"
        " --pseudonymise {params.pseudonymise} {params.reviewed} --title={params.title:q} 2> {log:q}"
