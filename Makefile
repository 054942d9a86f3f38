# Two commands do everything on a fresh machine with Python 3.11+:
#   make demo   set up, run the whole pipeline on the demo data, say where the results are
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export CRI_HOME ?= $(CURDIR)/data
# compiled modules are kept (__pycache__, ignored by git) even where the environment turns it off: every run,
# worker and test process then imports the pipeline and the rewritten tests without compiling them again
unexport PYTHONDONTWRITEBYTECODE
# make ui PORT=3001 HOST=0.0.0.0: another port, or reachable from other machines of the office network
PORT   ?= 3000
HOST   ?= 127.0.0.1
# make bench RECORDS_REGISTRY=all: the record-level benchmark of every registry (births, health_insurance,
# immunisation), RECORDS_ROWS records each
RECORDS_REGISTRY ?= births
RECORDS_ROWS ?= 10000000

.PHONY: help install manifest demo demo-history demo-quick test ui bench bench-records-100m bench-national-records clean

help:
	@echo "make demo   - set up, generate the demo's history, run 2019-2025 and the 2025 half-years, print the ranking"
	@echo "make demo-quick - the same for 2024 and 2025 only"
	@echo "make test   - set up and run the whole test suite"
	@echo "make ui     - start the Dagster UI on http://127.0.0.1:3000 (another port: make ui PORT=3001)"
	@echo "make bench  - print the benchmark figures"
	@echo "make bench-records-100m - a decade of doses (100 million records) through the registry ingest and models"
	@echo "make bench-national-records - the national demo with a 10-million-birth extract, cri run, the release checked"

$(STAMP): pyproject.toml
	@echo "==> Setting up $(VENV) (Python: $$($(PYTHON) --version))"
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# dbt's manifest must exist before the Dagster definitions load: prepared the way dagster-dbt intends, at build time
# (`dagster-dbt project prepare-and-package` runs the DbtProject's `dbt parse`). Parsed with the runs' variables and
# warehouse, so that the first run on $(CRI_HOME) reuses this parse (dbt's partial parsing).
manifest: install
	@echo "==> Parsing the dbt project"
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file pipelines/transform/assets.py

demo: manifest
	$(BIN)/cri demo

demo-history: demo

demo-quick: manifest
	$(BIN)/cri demo --quick

test: manifest
	$(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder

ui: manifest
	$(BIN)/cri ui --host $(HOST) --port $(PORT)

bench: manifest
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_robustness.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_workbook.py
	$(BIN)/python benchmarks/bench_records.py --rows $(RECORDS_ROWS) --registry $(RECORDS_REGISTRY) --runs 1
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_tests.py

# not part of make bench: it takes tens of minutes and about 10 GB of disk (docs/scaling.md)
bench-records-100m: manifest
	$(BIN)/python benchmarks/bench_records.py --rows 100000000 --registry immunisation --runs 1 --skip-pandas

# not part of make bench either: the whole national run with a 10-million-birth extract, published and checked
# against the extract (tens of minutes on 2 cores; docs/scaling.md)
bench-national-records: manifest
	$(BIN)/python benchmarks/bench_national_records.py --births 10000000

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
