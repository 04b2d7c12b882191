# make run   - a fresh machine to the running site on SQLite with demo data (http://127.0.0.1:5000, PORT overrides)
#              (the demo is seeded once the Stripe stand-in runs, so its paid sessions are really paid)
# make test  - set up, lint (ruff, bandit) and run the whole suite (PostgreSQL, Redis and Chromium are started/installed if missing)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
STRIPE_STANDIN_PORT ?= 8420
# Both cores: every test has its own databases, so workers never share state.
PYTEST_ARGS ?= -n 2

.PHONY: run test lint install install-demo install-dev peers bench bench-load screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,demo]'
	touch $@ $(VENV)/.runtime $(VENV)/.demo

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-demo: $(VENV)/.demo
install-dev: $(VENV)/.dev

# The worker (feed refresh, expired holds, mail retries) runs beside the web server and stops with it. With no
# STRIPE_SECRET_KEY, a local Stripe stand-in (practice.payments.standin) runs beside them too, so paid sessions
# can be paid with Stripe's test cards; with real keys in the environment, those are used.
run: install-demo
	$(BIN)/flask --app app db upgrade
	@set -e; pids=""; trap 'kill $$pids 2>/dev/null' EXIT; \
	if [ -z "$$STRIPE_SECRET_KEY" ]; then \
	  $(BIN)/python -m practice.payments.standin --port $(STRIPE_STANDIN_PORT) \
	    --webhook http://127.0.0.1:$(PORT)/stripe/webhook --webhook-secret whsec_demo_standin & pids="$$pids $$!"; \
	  export STRIPE_SECRET_KEY=sk_test_demo STRIPE_PUBLISHABLE_KEY=pk_test_demo \
	    STRIPE_WEBHOOK_SECRET=whsec_demo_standin STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_STANDIN_PORT) \
	    STRIPE_JS_URL=http://127.0.0.1:$(STRIPE_STANDIN_PORT)/js.stripe.com/v3/practice/; \
	  echo "Payments: a local Stripe stand-in on http://127.0.0.1:$(STRIPE_STANDIN_PORT) (no keys set)."; \
	  echo "  Pay with the test card 4242 4242 4242 4242, any future month and year, any CVC;"; \
	  echo "  4000 0000 0000 0341 is declined."; \
	fi; \
	$(BIN)/flask --app app seed-demo; \
	$(BIN)/flask --app app worker & pids="$$pids $$!"; \
	$(BIN)/flask --app app run --host 127.0.0.1 --port $(PORT)

peers:
	bash .ci/peers

test: install-dev peers lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Static checks, first: ruff (pyflakes, pycodestyle errors) everywhere, bandit on the app's code. A finding left in
# the app's code is explained on its line (# nosec <id> - why).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/bandit -q -c pyproject.toml -r .

bench: install-dev peers
	$(BIN)/python bench/slots.py
	$(BIN)/python bench/booking.py

# The production setup (Procfile: gunicorn and the worker) under mixed traffic from locust, which lives in its own
# environment (.venv-load) because it pins libraries differently from the app.
.venv-load/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-load
	.venv-load/bin/pip install --quiet --upgrade pip
	.venv-load/bin/pip install --quiet -e '.[load]'
	touch $@

bench-load: install-dev peers .venv-load/.installed
	$(BIN)/python bench/load.py

# The README's pictures (docs/screenshots/*.png): the demo practice on a temporary SQLite database, photographed
# in Debian's Chromium (installed by .ci/peers if missing) as a client and as the front desk see it.
screenshots: install-dev peers
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .venv-load instance .pytest_cache .hypothesis
