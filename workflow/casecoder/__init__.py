"""casecoder: code interview transcripts against a codebook and compare cases.

The package holds all the logic of the Snakemake workflow in ``workflow/``; the
rules only call :mod:`casecoder.cli`. The flow, one module per stage::

    transcripts -> turns (transcripts) -> segments (segment) -> codes (rules,
    classifier, tagging) -> tables (aggregate, tables) -> xlsx (export), report
"""

__version__ = "0.1.0"
