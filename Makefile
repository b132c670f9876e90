# Two commands for a newcomer:  `make run`  and  `make test`.  See README.md.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The first Python 3.12+ on this machine (pyenv's 3.12/3.13 included).
PYTHON ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: run test install install-test lint schema eventmap bench clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Start the whole platform (web, Celery worker and beat) with demo data, print where to log in.
## SQLite + filesystem broker under var/ by default; DATABASE_URL / CELERY_BROKER_URL switch to
## PostgreSQL / Redis. Options: make run ARGS="--port 8001 --host 0.0.0.0"
run: install
	$(PY) manage.py serve $(ARGS)

## Install what tests need (Chromium, CJK font; PostgreSQL and Redis if absent) and run the whole
## suite against PostgreSQL and Redis (started if they do not answer).
test: install-test
	bin/run-tests

install-test: install
	bin/install-test-deps

## The orders-list benchmark on PostgreSQL (prints its figures; see bench/README.md).
bench: install
	bin/ensure-services
	$(PY) bench/api_list.py $(ARGS)

## Lint, format and the import layers of ARCHITECTURE.md ([tool.importlinter] in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

## Regenerate the committed OpenAPI schema (CI fails when the code drifts from it). Generated
## with the test settings on PostgreSQL, as CI checks it (integer ranges depend on the backend).
schema: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/aftersales} \
	DJANGO_SETTINGS_MODULE=config.settings.test AFTERSALES_VAR_DIR=$$PWD/var/test \
	$(PY) manage.py spectacular --file openapi.yaml --validate

## Regenerate the committed map of what happens after an event (docs/events.md: event →
## subscribers, status → deadline rules, deadline kinds); CI fails when the code drifts from it.
eventmap: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/aftersales} \
	DJANGO_SETTINGS_MODULE=config.settings.test AFTERSALES_VAR_DIR=$$PWD/var/test \
	$(PY) manage.py eventmap --file docs/events.md

clean:
	rm -rf $(VENV) var
