# clicklake — `make help` lists the targets.
SHELL := /bin/bash
PY ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# compiled once at install: every later `clicklake` command starts without compiling
# pyiceberg and SQLAlchemy again (about 1.3 s here, where PYTHONDONTWRITEBYTECODE is set)
export UV_COMPILE_BYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help up test test-shifted lint bench docs clean sdk test-sdk dashboard test-dashboard chromium nodejs faketime

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "clicklake needs Python 3.11+ as $(PY)"; exit 1; }
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --python $(PY)
	@touch $@

# -- the browser SDK: npm packages from the lock file, built by esbuild into src/clicklake/sdk/dist/
SDK := src/clicklake/sdk
SDK_BUILT := $(SDK)/dist/sdk.js $(SDK)/dist/sdk.mjs

nodejs: # Debian's node and npm, when the machine has none
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; }

$(SDK)/node_modules/.installed: $(SDK)/package.json $(SDK)/package-lock.json | nodejs
	cd $(SDK) && npm ci --no-audit --no-fund
	@touch $@

$(SDK_BUILT) &: $(SDK)/node_modules/.installed $(SDK)/build.mjs $(wildcard $(SDK)/src/*.js)
	node $(SDK)/build.mjs

sdk: $(SDK_BUILT) ## build the browser SDK (/sdk.js, /sdk.mjs)

# -- the dashboard: Preact and ECharts from the lock file, built by esbuild into src/clicklake/web/assets/
DASH := dashboard
DASH_BUILT := src/clicklake/web/assets/manifest.json

$(DASH)/node_modules/.installed: $(DASH)/package.json $(DASH)/package-lock.json | nodejs
	cd $(DASH) && npm ci --no-audit --no-fund
	@touch $@

$(DASH_BUILT): $(DASH)/node_modules/.installed $(DASH)/build.mjs $(wildcard $(DASH)/src/*.js $(DASH)/src/*.css $(DASH)/src/*/*.js)
	node $(DASH)/build.mjs

dashboard: $(DASH_BUILT) ## build the dashboard (served at / and /assets/)

test-dashboard: dashboard ## the dashboard's unit tests (Node test runner; the browser tests are in pytest)
	node --test tests/dashboard/

test-sdk: sdk ## the SDK's unit tests (Node test runner)
	node --test --test-force-exit tests/sdk/

chromium: # Debian's chromium for the browser tests (Playwright drives it; nothing is downloaded)
	@test -x /usr/bin/chromium || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

faketime: # Debian's libfaketime, for the shifted-clock run
	@command -v faketime >/dev/null || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y faketime; }

up: $(VENV)/.synced sdk dashboard ## install on first run, then run the whole platform on http://127.0.0.1:8000, with demo traffic
	$(BIN)/clicklake up --demo

# Two test files at a time (pytest-xdist, one worker per core): most tests wait on servers, subprocesses
# and the disk rather than the CPU, so this halves the wall time on 2 cores. A file stays on one worker,
# so its module fixtures (a server, a lake, a browser) are made once.
PYTEST := $(BIN)/python -m pytest -n auto --dist loadfile
test: $(VENV)/.synced lint test-sdk test-dashboard chromium ## the full test suite (what CI runs), then the shifted-clock run
	$(PYTEST)
	$(MAKE) --no-print-directory test-shifted

# The suites that read the clock, again with the wall clock a year ahead (libfaketime), so that
# no test can lean on the date it runs; the outside engines' reads are left out, as they read
# no clock and are slow. The monotonic clock stays real, and tests/_clock makes time.sleep
# work under it (see its sitecustomize.py).
SHIFTED_SUITES := tests/load tests/lake tests/transform tests/stream tests/query tests/schema \
	tests/realtime/test_stage.py tests/alerts/test_measure_lake.py tests/alerts/test_email_reports.py \
	tests/e2e/test_live_reconcile.py tests/recommend/test_api.py
# Left out of the shifted run, to keep `make test` within its time: files whose code reads no clock of
# its own (the outside engines' reads, the S3 lake's tables and commands, the REST catalog, the storage
# settings, the partition split of two loaders and of one, the loader's crash at each commit step, the
# erasure's byte scan, the catalog's tables, the SQL sandbox, whose only clock is the monotonic one, and
# the transform's random histories at fixed dates, whose runs read the clock only for freshness, lag and
# run stamps, which test_runner's shifted runs check).
# The clock-sensitive parts of each (S3 maintenance's store clock, retention by age, the stream's append
# times, the loader's duplicate window against the clock) stay in.
SHIFTED_SKIP := tests/lake/test_outside_engines.py tests/lake/test_s3_lake.py tests/lake/test_s3_commands.py \
	tests/lake/test_catalog_rest.py tests/lake/test_storage_settings.py tests/load/test_many_loaders.py \
	tests/load/test_crash.py tests/lake/test_erase.py tests/lake/test_s3_erase.py \
	tests/load/test_partitions.py tests/lake/test_catalog.py tests/query/test_sandbox.py \
	tests/transform/test_properties.py
# SeaweedFS's REST catalog stamps each table update on its own (real) clock and refuses one older than
# the snapshots our client stamped a year ahead: a clock skew between two hosts, not our code's clock.
SHIFTED_DESELECT := "tests/lake/test_s3_maintain.py::test_maintain_compacts_expires_and_removes_files_in_the_bucket[rest]"
SHIFT := +365d
test-shifted: $(VENV)/.synced faketime ## the clock-sensitive suites, the wall clock a year ahead
	PYTHONPATH=tests/_clock FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '$(SHIFT)' \
		$(PYTEST) $(SHIFTED_SUITES) $(addprefix --ignore=,$(SHIFTED_SKIP)) $(addprefix --deselect=,$(SHIFTED_DESELECT))

lint: $(VENV)/.synced ## ruff and mypy
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(VENV)/.synced sdk dashboard ## benchmarks, each beside its baseline from the same run
	$(BIN)/python bench/contract.py
	$(BIN)/python bench/stream.py
	$(BIN)/python bench/loader.py
	$(BIN)/python bench/transform.py
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/enrich.py
	$(BIN)/python bench/collector.py
	$(BIN)/python bench/sdk_size.py
	$(BIN)/python bench/dashboard_size.py
	$(BIN)/python bench/query_startup.py
	$(BIN)/python bench/live.py
	$(BIN)/python bench/recommend.py
	$(BIN)/python bench/platform_rate.py
	$(BIN)/python bench/scale_out.py

docs: $(VENV)/.synced ## regenerate docs/schema/v1.json and the generated parts of docs/
	$(BIN)/python -m clicklake._docs

clean: ## remove the virtualenvs (keeps ./data)
	rm -rf $(VENV) $(TOOLS)
