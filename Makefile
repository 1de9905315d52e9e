# OpenCertif — two commands for a newcomer: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := run.py
PG_URL ?= $(or $(DATABASE_URL_TEST),postgresql://postgres@127.0.0.1:5432/opencertif_test)
PYTEST_ARGS ?=

.PHONY: run test lint test-sqlite test-postgres venv dev-deps node-deps chromium bench clean migrate

$(BIN)/activate:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/activate
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pybabel compile -d app/translations >/dev/null

dev-deps: venv node-deps
	$(BIN)/pip install -q -r requirements-dev.txt

# axe-core (npm, version pinned by package-lock.json), injected by the browser tests for the
# accessibility audit (issue 16 item 9). Nothing from node_modules is ever served to users.
node-deps: node_modules/axe-core/axe.min.js
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installation de Chromium (Debian) pour les tests navigateur…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Serve the app on http://127.0.0.1:5000 with the SQLite default and demo data.
run: venv
	$(BIN)/flask db upgrade
	$(BIN)/flask demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## The linter with the project's configuration (pyproject.toml); CI runs it before the tests.
lint: dev-deps
	$(BIN)/ruff check .

## The whole suite on SQLite, then on PostgreSQL (required when CI=true).
test: dev-deps chromium
	$(MAKE) --no-print-directory test-sqlite
	@if [ "$$CI" = "true" ] || $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.rsplit('/',1)[0]+'/postgres', connect_timeout=3)" 2>/dev/null; then \
	  $(MAKE) --no-print-directory test-postgres; \
	else echo "PostgreSQL injoignable : suite PostgreSQL sautée (obligatoire avec CI=true)."; fi

# Two workers for the unit and HTTP tests; browser tests one at a time (each drives a Chromium).
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -q
test-sqlite:
	$(PYTEST) -n 2 --ignore=tests/browser $(PYTEST_ARGS) tests
	$(PYTEST) $(PYTEST_ARGS) tests/browser

test-postgres:
	DATABASE_URL_TEST=$(PG_URL) $(PYTEST) -n 2 --ignore=tests/browser $(PYTEST_ARGS) tests
	DATABASE_URL_TEST=$(PG_URL) $(PYTEST) $(PYTEST_ARGS) tests/browser

## Benchmark at national scale on PostgreSQL (issue 9): make bench BENCH_ARGS="--scale 0.01"
BENCH_ARGS ?=
bench: venv
	$(BIN)/python -m bench.seed $(BENCH_ARGS) && $(BIN)/python -m bench.run $(BENCH_ARGS)

## New migration after a model change: make migrate m="what changed"
migrate: venv
	$(BIN)/flask db migrate -m "$(m)"

clean:
	rm -rf instance/opencertif.db instance/outbox
