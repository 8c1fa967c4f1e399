# Clientela: `make run` serves the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
CLIENTELA := $(BIN)/clientela
STAMP := $(VENV)/.installed
# Two processes: the suite is database-bound and these machines have two cores.
PYTEST_ARGS ?= -n 2

.PHONY: help run test test-fast lint format vendor bench messages browser-deps clean

help:
	@echo "make run     install, migrate, load demo data once, serve on http://127.0.0.1:8000 with the worker"
	@echo "make test    install test tools (and Debian chromium when root) and run the whole suite"
	@echo "make lint    ruff, makemigrations --check, mypy on services and selectors"
	@echo "make vendor  copy pinned front-end files from npm into static/vendor (needs Node)"
	@echo "make bench   run the benchmarks under bench/ and write bench/report.md"

$(PY):
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(STAMP)
	@mkdir -p var
	$(CLIENTELA) migrate --no-input
	$(CLIENTELA) demo --if-empty
	CLIENTELA_DEBUG=$${CLIENTELA_DEBUG:-1} $(CLIENTELA) run

browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing: install it (sudo apt-get install chromium) or the browser tests are skipped"; \
	  fi; \
	fi

test: $(STAMP) browser-deps
	$(CLIENTELA) makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(CLIENTELA) makemigrations --check --dry-run
	$(BIN)/mypy clientela/*/services.py clientela/*/selectors.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

vendor:
	npm ci --no-audit --no-fund
	node scripts/vendor.mjs

messages: $(STAMP)
	cd clientela && ../$(CLIENTELA) makemessages -l es -l da -l hi --no-obsolete --no-location --ignore='tests/*'
	$(PY) scripts/compile_messages.py

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules
