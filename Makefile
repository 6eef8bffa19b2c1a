# Every target bootstraps .venv itself: on a fresh machine `make demo` and `make test` are enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PHOENIX := .venv-phoenix
PHOENIX_VERSION := 20.26.1
CHDB := .venv-chdb
CHDB_VERSION := 4.4.0
COMPAT := 1 2  # openai majors tested beside the 3.x in .venv

.PHONY: demo test quick-test lint format bench bench-instructions compat phoenix clickhouse chromium sdk-suite clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo needs only its own extras (a fraction of the dev install); after a dev install they
# are already there.
DEMO_STAMP := $(VENV)/.demo-installed
$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[demo,report]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/qwenobs demo  # ends by writing demo-report.html and printing its path

# The whole suite: lint, every test on openai 3.x (Phoenix end-to-end and the report in a real
# browser included), then the instrumentation, fake and plugin suites on openai 1.x and 2.x.
test: $(STAMP) $(PHOENIX)/.installed $(CHDB)/.installed chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	QWENOBS_PHOENIX=$(PHOENIX)/bin/phoenix $(BIN)/python -m pytest
	$(MAKE) compat

# A quick local run: no Phoenix, no other openai versions (no ClickHouse check unless built).
quick-test: $(STAMP)
	$(BIN)/python -m pytest -m "not phoenix and not install"

compat: $(foreach v,$(COMPAT),.venv-openai$(v)/.installed)
	for v in $(COMPAT); do \
		echo "== openai $$v.x"; \
		.venv-openai$$v/bin/python -m pytest -m "not phoenix" -p no:cacheprovider -q \
			tests/instrumentation tests/fake tests/plugin tests/stress tests/examples tests/test_demo.py || exit 1; \
	done

# LiteLLM (in the dev extra) needs openai>=2.20: the 1.x venv gets dev-base, without it.
.venv-openai%/.installed: pyproject.toml
	test -x .venv-openai$*/bin/python || $(PYTHON) -m venv .venv-openai$*
	.venv-openai$*/bin/python -m pip install --quiet --upgrade pip
	.venv-openai$*/bin/python -m pip install --quiet -e '.[$(if $(filter 1,$*),dev-base,dev)]' 'openai>=$*,<$(word $*,2 3)'
	touch $@

# The openai SDK's own test suite, plain and with qwenobs on every host it uses; fails if a test
# fails only when instrumented. Optional, not part of `make test`: about 4 minutes on 2 cores, and
# it needs ../shared/sdk_suite and the fixtures of a repository snapshot:
#   make sdk-suite SDK_SNAPSHOT=<git directory of an openai/openai-python clone>
SDK_SUITE := ../shared/sdk_suite/run.sh
SDK_SNAPSHOT ?=

sdk-suite: $(STAMP)
	@if [ ! -f $(SDK_SUITE) ]; then \
		echo "sdk-suite: skipped: $(SDK_SUITE) not found (the shared folder beside this checkout)"; \
	elif [ -z "$(SDK_SNAPSHOT)" ] && [ -z "$$SDKSUITE_EXTERNALS" ]; then \
		echo "sdk-suite: skipped: no fixtures; pass SDK_SNAPSHOT=<git directory of an openai/openai-python clone>"; \
		echo "           (or SDKSUITE_EXTERNALS=<folder of its .inline-snapshot/external/*.bin files>)"; \
	else \
		bash $(SDK_SUITE) $(SDK_SNAPSHOT); \
	fi

phoenix: $(PHOENIX)/.installed

$(PHOENIX)/.installed:
	test -x $(PHOENIX)/bin/python || $(PYTHON) -m venv $(PHOENIX)
	$(PHOENIX)/bin/python -m pip install --quiet 'arize-phoenix==$(PHOENIX_VERSION)'
	touch $@

# ClickHouse's embedded engine (about 550 MB), to check that the report's SQL ports to ClickHouse.
clickhouse: $(CHDB)/.installed

$(CHDB)/.installed: pyproject.toml
	test -x $(CHDB)/bin/python || $(PYTHON) -m venv $(CHDB)
	$(CHDB)/bin/python -m pip install --quiet 'chdb==$(CHDB_VERSION)' -e .
	touch $@

# Debian's Chromium for the report's browser test (Playwright drives it; it downloads no browser).
# Installs only when missing; needs root (CI runs as root).
CHROMIUM := /usr/lib/chromium/chromium
chromium:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "Chromium is missing: sudo apt-get install chromium (the browser test skips without it)"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_fake.py
	$(BIN)/python benchmarks/bench_server_load.py
	$(BIN)/python benchmarks/bench_instrument.py
	$(BIN)/python benchmarks/bench_plugin.py
	$(BIN)/python benchmarks/bench_report.py

# Instruction counts under valgrind (not noisy, about 6 minutes); needs valgrind installed.
bench-instructions: $(STAMP)
	$(BIN)/python benchmarks/bench_instructions.py

clean:
	rm -rf $(VENV) .venv-openai* $(PHOENIX) $(CHDB) .pytest_cache .ruff_cache .hypothesis
