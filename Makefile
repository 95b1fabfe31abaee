# Smartwatch lakehouse: `make demo` runs the pipeline end to end, `make test` runs every test.
# Both create .venv and install the project on first use; the first Spark start fetches the Delta
# and Kafka jars from Maven Central (cached in ~/.ivy2.5.2 afterwards).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test quick bench lint clean help system-deps

help:
	@echo "make demo   simulate, ingest and build on the embedded default (env dev)"
	@echo "make test   run the whole test suite (env test, under a temporary folder)"
	@echo "make quick  the developer's loop: unit and deploy tests, no end-to-end build"
	@echo "make bench  measure throughput, build cost, freshness, memory (docs/benchmarks.md)"
	@echo "make lint   ruff and sqlfluff"
	@echo "make clean  remove local state (.lakehouse/) and build output"

# System packages the tests use: Java 17 and Maven (Spark, the Kafka broker), PostgreSQL (the
# registration extractor against a real server), Chromium (the docs site in a real browser).
# Installed with apt when missing.
SYSTEM_PACKAGES := openjdk-17-jre-headless:java maven:mvn postgresql:/usr/lib/postgresql chromium:chromium

system-deps:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
	  package=$${entry%%:*}; probe=$${entry#*:}; \
	  if ! command -v $$probe >/dev/null 2>&1 && [ ! -e $$probe ]; then missing="$$missing $$package"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Two projects, both editable: the ingester and simulator (the wheel of the Databricks jobs, with
# the pinned local stack as extras) and the local tooling in tooling/ (the lakehouse command).
$(STAMP): pyproject.toml tooling/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,dev]' -e ./tooling
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lakehouse demo

test: system-deps $(STAMP)
	$(BIN)/python -m pytest

quick: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

bench: system-deps $(STAMP)
	$(BIN)/lakehouse bench

lint: $(STAMP)
	$(BIN)/ruff check ingestion simulator tooling tests
	$(BIN)/ruff format --check ingestion simulator tooling tests
	$(BIN)/sqlfluff lint models macros snapshots

clean:
	rm -rf .lakehouse target logs build dist *.egg-info tooling/build tooling/*.egg-info
