# Signaal developer entry points. `make test` is what CI runs (.ci/run): it installs what the machine lacks,
# starts a real Kafka broker and PostgreSQL, runs the whole suite against them, and stops them again.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
KAFKA_PORT ?= 9092
PGPORT_SIGNAAL ?= 55432
PYTEST_ARGS ?=
export KAFKA_PORT PGPORT_SIGNAAL

.PHONY: help venv demo test compile uncompile lint evaluate benchmark services-up services-down clean

help:
	@echo "make venv           create .venv and install signaal with its dev tools"
	@echo "make demo           run the embedded demo (in-process bus, SQLite)"
	@echo "make test           full test suite against real Kafka + PostgreSQL + Chromium, pure Python and compiled"
	@echo "make compile        compile the hot path with mypyc, in place (setup.py); uncompile removes it"
	@echo "make lint           ruff check"
	@echo "make evaluate       detection figures on ../shared/data and generated incidents (10-20 min)"
	@echo "make benchmark      pipeline throughput and memory over 1M generated posts, compiled build"
	@echo "make services-up    start Kafka (:$(KAFKA_PORT)) and PostgreSQL (:$(PGPORT_SIGNAAL)) for local runs"
	@echo "make services-down  stop them"
	@echo "make clean          stop services, remove .local/ state and caches (keeps .venv)"

venv: $(VENV)/.installed

# The stamp is newer than pyproject.toml once the install succeeded, so this only re-runs after it changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@echo "installing signaal and its dev tools into $(VENV) (log: $(VENV)/install.log)"
	@$(VENV)/bin/pip install --disable-pip-version-check -e '.[dev]' >$(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; exit 1; }
	@touch $@

demo: venv
	$(VENV)/bin/signaal demo

# Services are stopped on every exit path (the trap; INT/TERM go through it too), and the recipe exits with
# pytest's own status. Stopping is silent unless it fails, so pytest's summary stays the last line printed.
STOP_SERVICES := scripts/kafka-local stop >/dev/null 2>&1 || echo "make test: kafka-local stop failed" >&2; \
	scripts/postgres-local stop >/dev/null 2>&1 || echo "make test: postgres-local stop failed" >&2

# The suite runs twice: on the pure Python a checkout runs, then on the compiled build that the benchmark
# measures and the Docker image installs: all but tests/dashboard (the dashboard is not compiled, and its pages
# are also driven through the service in tests/integration). SIGNAAL_EXPECT_BUILD makes each pass check that
# it runs the build it means to (tests/conftest.py). It ends pure.
COMPILED_TESTS := tests/app tests/streams tests/integration

test: venv
	scripts/install-system-deps
	@$(MAKE) --no-print-directory uncompile >/dev/null
	@trap 'rc=$$?; $(STOP_SERVICES); $(MAKE) --no-print-directory uncompile >/dev/null; exit $$rc' EXIT; \
	trap 'exit 130' INT TERM; \
	scripts/kafka-local start >/dev/null; \
	database_url=$$(scripts/postgres-local start); \
	export SIGNAAL_TEST_KAFKA=127.0.0.1:$(KAFKA_PORT) SIGNAAL_TEST_DATABASE_URL=$$database_url; \
	echo "== pure Python"; \
	SIGNAAL_EXPECT_BUILD="pure Python" $(VENV)/bin/pytest $(PYTEST_ARGS); \
	$(MAKE) --no-print-directory compile; \
	echo "== compiled (mypyc): $(COMPILED_TESTS)"; \
	SIGNAAL_EXPECT_BUILD="compiled (mypyc)" $(VENV)/bin/pytest $(PYTEST_ARGS) $(COMPILED_TESTS)

# In place, beside the sources; streams/compiled.py refuses a build whose sources changed since. A failed
# compile leaves the tree pure (uncompile first), never half old and half new.
compile: venv uncompile
	@echo "compiling the hot path with mypyc (setup.py, about a minute; log: $(VENV)/compile.log)"
	@SIGNAAL_COMPILE=1 $(VENV)/bin/pip install --disable-pip-version-check --no-build-isolation --no-deps -e . \
		>$(VENV)/compile.log 2>&1 || { tail -n 30 $(VENV)/compile.log; exit 1; }

uncompile:
	rm -rf build streams/compiled.json signaal_hotpath__mypyc*.so
	find app streams -name '*.cpython-*.so' -delete

lint: venv
	$(VENV)/bin/ruff check .

evaluate: venv
	$(VENV)/bin/python benchmarks/evaluate.py

benchmark: compile
	$(VENV)/bin/python benchmarks/pipeline.py

services-up:
	scripts/kafka-local start
	scripts/postgres-local start

services-down:
	scripts/kafka-local stop
	scripts/postgres-local stop

clean: services-down uncompile
	rm -rf .local build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
