# make run   - a fresh machine to the running site on SQLite with demo data (http://127.0.0.1:5000, PORT overrides)
# make test  - set up and run the whole suite (PostgreSQL, Redis and Chromium are started/installed if missing)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Both cores: every test has its own databases, so workers never share state.
PYTEST_ARGS ?= -n 2

.PHONY: run test install install-dev peers bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# The worker (feed refresh, expired holds, mail retries) runs beside the web server and stops with it.
run: install
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app seed-demo
	$(BIN)/flask --app app worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
	$(BIN)/flask --app app run --host 127.0.0.1 --port $(PORT)

peers:
	bash .ci/peers

test: install-dev peers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev peers
	$(BIN)/python bench/slots.py
	$(BIN)/python bench/booking.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
