# One entry point for people and CI. Every target sets up what it needs by itself.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench package web clean help

help:
	@echo "make run      start the whole stack locally (embedded PostgreSQL/Redis unless URLs are set)"
	@echo "make test     lint, type-check and the whole test suite"
	@echo "make bench    the benchmarks; writes bench/results.json"
	@echo "make package  chalice package -> dist/functions (the deployable bundle)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

web: web/dist/index.html

web/dist/index.html: $(shell find web -path web/node_modules -prune -o -path web/dist -prune -o -type f -print 2>/dev/null)
	@if [ -f web/package.json ]; then \
		cd web && (npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error) && npm run build; \
	fi

run: $(STAMP) web
	APP_ENV=$${APP_ENV:-development} $(PY) -m infra.stack

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PYTHONPATH=.:functions $(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(PY) -m mypy

test: $(STAMP) web lint typecheck
	cd web && npm test --silent
	APP_ENV=test $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) web
	APP_ENV=test $(PY) -m bench

package: $(STAMP)
	$(PY) -m infra.package

clean:
	rm -rf $(VENV) var web/dist web/node_modules dist
