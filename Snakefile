"""casecoder: code interview transcripts against a codebook and compare the cases.

Run `snakemake --cores 2` here; settings in workflow/config/config.yaml
(override with --config key=value). See README.md.
"""


include: "workflow/Snakefile"


rule all:
    default_target: True
    input:
        final_outputs(),
