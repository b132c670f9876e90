# Two commands for a newcomer:  `make run`  and  `make test`.  See README.md.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The first Python 3.12+ on this machine (pyenv's 3.12/3.13 included).
PYTHON ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: run test install install-test lint schema bench clean

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Start the whole platform (web, Celery worker and beat) with demo data, print where to log in.
run: install
	$(PY) manage.py serve

## Install what tests need (PostgreSQL/Redis checks, Chromium, CJK font) and run the whole suite.
test: install
	bin/install-test-deps
	bin/run-tests

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Regenerate the committed OpenAPI schema (CI fails when the code drifts from it).
schema: install
	$(PY) manage.py spectacular --file openapi.yaml --validate

clean:
	rm -rf $(VENV) var
