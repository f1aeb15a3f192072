# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app

.PHONY: run test lint format check-infra clean assets

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

VENDOR := app/static/vendor
# Browser libraries of the admin console (pinned in package-lock.json), served by the app itself, and
# DB-IP's city database of region targeting, read in node_modules (REGION_DATABASE_DIR). Without npm,
# `make run` still serves; the console's charts and preview player lack their libraries, and every
# request's region is unknown (said at start and on /readyz/serving).
$(VENDOR)/.installed: package.json package-lock.json scripts/vendor-assets.sh
	@if command -v npm >/dev/null; then \
	  scripts/vendor-assets.sh $(VENDOR) && touch $@; \
	else \
	  echo "npm not found: the admin console's charts and preview, and region targeting, need it (apt-get install nodejs npm)"; \
	fi

## make assets: npm ci (the console's browser libraries, copied into app/static/vendor; the region database)
assets: $(VENDOR)/.installed

## make run: install, migrate, create the admin from ADMIN_EMAIL/ADMIN_PASSWORD, serve on HOST:PORT
run: $(VENV)/.runtime-installed assets
	$(FLASK) migrate
	$(FLASK) ensure-admin
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## make test: install and run the whole suite with coverage (fails under 90 %)
test: $(VENV)/.dev-installed assets
	$(BIN)/python -m pytest -n 2 --dist loadgroup --cov --cov-report=term $(PYTEST_ARGS) tests --ignore=tests/infra

## make bench: the ad server against a reference Flask app, driven by wrk on loopback (about 17 min)
.PHONY: bench
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.run

## make check-infra: terraform fmt/validate/test, checkov, kubernetes schemas, hadolint (all offline)
check-infra: $(VENV)/.dev-installed
	scripts/check-infra.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .coverage .coverage.* htmlcov
