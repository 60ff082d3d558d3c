# The commands of ../shared/CONTRACT.md. A fresh machine needs only python3 (>= 3.11) and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

INBOX ?= $(CURDIR)/inbox
DB ?= $(CURDIR)/warehouse/warehouse.duckdb
export WAREHOUSE_INBOX := $(abspath $(INBOX))
export WAREHOUSE_DB := $(abspath $(DB))
export DAGSTER_HOME ?= $(CURDIR)/warehouse/dagster_home
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PATH := $(BIN):$(PATH)

DBT := cd dbt_project && $(BIN)/dbt
# Ground truth of the generated demo region: beside the inbox, never inside it.
DEMO_TRUTH ?= $(CURDIR)/demo_truth
MANIFEST := dbt_project/target/manifest.json

.PHONY: install demo demo-inbox build ui test lint manifest docs clean

# .venv from the committed lock file (hashes checked); rebuilt when the lock changes.
$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Dagster loads the dbt manifest when it loads the definitions: parse first, every time (a few seconds).
manifest: install
	$(DBT) parse --quiet --profiles-dir .

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# The default demo region (15 LAs, 2021-2025) is generated into the bundled inbox once; delete
# demo_truth/ to generate it again.
demo-inbox: install
	@if [ ! -f $(DEMO_TRUTH)/manifest.json ]; then \
		echo "Generating the demo region into $(CURDIR)/inbox (ground truth in $(DEMO_TRUTH))"; \
		$(BIN)/python -m demo --out $(CURDIR)/inbox --truth $(DEMO_TRUTH); \
	fi

demo: manifest $(DAGSTER_HOME)/dagster.yaml demo-inbox
	WAREHOUSE_INBOX=$(CURDIR)/inbox $(BIN)/python -m orchestration.cli build
	$(MAKE) --no-print-directory docs

build: manifest $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/python -m orchestration.cli build
	$(MAKE) --no-print-directory docs

ui: manifest $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -m orchestration.definitions

docs: manifest
	mkdir -p $(dir $(WAREHOUSE_DB))docs
	$(DBT) docs generate --quiet --profiles-dir . --target-path $(dir $(WAREHOUSE_DB))docs/dbt
	@echo "dbt docs: $(dir $(WAREHOUSE_DB))docs/dbt/index.html   GX Data Docs: $(dir $(WAREHOUSE_DB))docs/gx/index.html"

lint: manifest
	$(BIN)/sqlfluff lint dbt_project/models

# pytest builds a fresh warehouse from the bundled inbox through the real Dagster job (dbt build with every
# dbt test, every GX suite as a blocking asset check) and asserts that all of it passed.
test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf warehouse/*.duckdb* warehouse/published warehouse/dagster_home warehouse/gx warehouse/docs dbt_project/target
