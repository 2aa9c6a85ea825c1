# newsdb: `make run` serves it on http://127.0.0.1:8000/, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# newsdb refuses to start without DJANGO_SECRET_KEY (unless DJANGO_DEBUG=true). make's commands run on a developer's
# machine: without one in the environment they use a random key made once and kept in .secret-key (not committed).
ifndef DJANGO_SECRET_KEY
DJANGO_SECRET_KEY := $(shell test -s .secret-key || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > .secret-key); cat .secret-key)
export DJANGO_SECRET_KEY
endif

.PHONY: install run migrate load serve test lint format check pytest browser-deps test-deps clean bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

migrate: install
	$(BIN)/python manage.py migrate --noinput

load: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_fixtures

serve: install
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## Install, migrate, load the curated data and serve on http://127.0.0.1:8000/
run: load serve

## Lint, Django checks, migrations up to date, and the whole pytest suite (browser test included)
test: lint check test-deps pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

## Benchmark the API on PostgreSQL at 100,000 articles (minutes; not part of `make test`): make bench BENCH_ARGS=--loader
bench: install
	@pg_isready -h 127.0.0.1 -p 5432 -q || { pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | head -n 1)" \
		main start; for _ in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; }
	$(BIN)/python tests/benchmarks/bench_api.py $(BENCH_ARGS)

# What the suite drives besides Python: Debian's Chromium (the browser tests) and PgBouncer (tests/test_pgbouncer.py).
test-deps: browser-deps
	@command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || { \
		echo "Installing Debian's pgbouncer for the pooler test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }

# The browser test drives Debian's Chromium (nothing downloads a browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
