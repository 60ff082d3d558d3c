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

.PHONY: install prepare demo demo-inbox build ui test lint manifest docs clean lineage browser

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

# Everything a build needs before it starts: .venv, the dbt manifest, the Dagster instance. bin/warehouse runs
# this, then the CLI itself, so that the build's exit code (0 / 3 / 1) reaches cron unchanged: make reports any
# failing recipe as 2.
prepare: manifest $(DAGSTER_HOME)/dagster.yaml

# The default demo region (15 LAs, 2021-2025) is generated into the bundled inbox once; delete
# demo_truth/ to generate it again.
demo-inbox: install
	@if [ ! -f $(DEMO_TRUTH)/manifest.json ]; then \
		echo "Generating the demo region into $(CURDIR)/inbox (ground truth in $(DEMO_TRUTH))"; \
		$(BIN)/python -m demo --out $(CURDIR)/inbox --truth $(DEMO_TRUTH); \
	fi

demo: prepare demo-inbox
	WAREHOUSE_INBOX=$(CURDIR)/inbox $(BIN)/python -m orchestration.cli build

# Exit 0 when published with every return, 2 for anything else (make's code for a failing recipe): the daily run
# and its alerting use bin/warehouse build, which keeps 3 (published, some returns held back) and 1 apart.
build: prepare
	$(BIN)/python -m orchestration.cli build

# The source records behind one mart row (README, "Tracing a figure"), from the warehouse DB (read-only):
#   make lineage MART=mart_provider_group_spend \
#     WHERE="grouping_name = 'Eastern Region' and financial_year = '2023-24' and provider_group_id = 'org-41a271068f48'"
# WHERE holds one or more conditions joined by `and` (text values in single quotes); OUT=file.csv overrides the
# default CSV (lineage/<mart>-<timestamp>.csv beside the DB). The values reach the CLI through the environment,
# never through the shell's parsing of the command line.
lineage: export LINEAGE_MART = $(value MART)
lineage: export LINEAGE_WHERE = $(value WHERE)
lineage: export LINEAGE_OUT = $(value OUT)
lineage: manifest
	@if [ -z "$$LINEAGE_MART" ] || [ -z "$$LINEAGE_WHERE" ]; then \
		echo "usage: make lineage MART=<mart> WHERE=\"column = 'value' [and column = 'value' ...]\" [OUT=file.csv] [DB=file]"; \
		exit 2; fi
	$(BIN)/python -m orchestration.cli lineage "$$LINEAGE_MART" --where "$$LINEAGE_WHERE" $${LINEAGE_OUT:+--out "$$LINEAGE_OUT"}

ui: prepare
	$(BIN)/dagster dev -m orchestration.definitions

# Every build writes both sites (the docs/dbt asset, the GX checks); this rewrites them for an existing warehouse:
# dbt docs as one static page, GX Data Docs with their libraries copied in. Both open from file:// with no network.
docs: manifest
	$(BIN)/python -m orchestration.defs.docs.assets

lint: manifest
	$(BIN)/sqlfluff lint dbt_project/models

# Debian's chromium for the browser tests (tests/browser.py drives it through playwright; never a browser that
# playwright downloads). Installed with apt when missing and we are root, as in CI; otherwise says how.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests (apt-get install chromium)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && \
		apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; \
	else \
		echo "The browser tests need chromium: install your distribution's package as root" \
			"(Debian/Ubuntu: apt-get install chromium), then run make test again." >&2; \
	fi

# pytest builds a fresh warehouse from the bundled inbox through the real Dagster job (dbt build with every
# dbt test, every GX suite as a blocking asset check) and asserts that all of it passed.
test: lint browser
	$(BIN)/python -m pytest

clean:
	rm -rf warehouse/*.duckdb* warehouse/published warehouse/dagster_home warehouse/gx warehouse/docs dbt_project/target
