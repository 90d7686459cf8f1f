# Two commands on a fresh machine with Python 3.11+ and make:
#   make run   - set up .venv, then run the workflow on the bundled data
#   make test  - set up .venv, then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check workflow tests bench
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint

format: $(STAMP)
	$(BIN)/ruff check --fix workflow tests bench
	$(BIN)/ruff format workflow tests bench
	$(BIN)/snakefmt Snakefile workflow/Snakefile workflow/rules

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf results/work results/model results/logs results/*.csv results/*.xlsx results/*.html results/*.json .snakemake
