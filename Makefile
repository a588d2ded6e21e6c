# The two commands of the README, and a few helpers.
#
#   make run              demo portal on http://127.0.0.1:8000 (SQLite, mails in var/mail/)
#   make run PORT=8080    the same on another port
#   make test             the test suite (PostgreSQL when DATABASE_URL is set, else SQLite)
#   make test ARGS="-k availability"
#   make test ARGS="-m 'not slow'"   the quick loop: without the browser, processes and fuzz tests
#   make test ARGS="--lf"            only the tests that failed last time
#   make lint             ruff (lint + format check), the import contract, mypy: what CI checks
#
# Needs only Python 3.11+ and the usual system tools: every dependency is a wheel, installed into
# .venv/ on first use and again only when requirements.txt changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Touched after a successful install; newer requirements.txt means install again.
STAMP  := $(VENV)/.requirements.stamp
PORT   ?= 8000
ARGS   ?=

# Every recipe line stops the build on its first failure.
.SHELLFLAGS := -eu -c
.DEFAULT_GOAL := help

.PHONY: help run test lint venv migrate seed check clean

help:
	@echo "make run [PORT=8000]     start the demo portal (migrate, seed demo data, runserver)"
	@echo "make test [ARGS=...]     run the test suite (pytest arguments in ARGS)"
	@echo "make lint                ruff check, ruff format --check, lint-imports, mypy (as in CI)"
	@echo "make venv                create .venv and install requirements.txt"
	@echo "make migrate             apply database migrations"
	@echo "make seed                (re)create the demo data and print the demo accounts"
	@echo "make check               Django system checks and the missing-migrations check"
	@echo "make bench               performance benchmarks on PostgreSQL and Redis (see README, Performance)"
	@echo "make clean               remove .venv"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Order-only on the interpreter, so that recreating it alone does not force a reinstall.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check --no-input -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

# The demo: debug mode, embedded SQLite unless DATABASE_URL is set, every e-mail written as a file
# into var/mail/, and a real Celery worker with its beat on an embedded broker (message files in
# var/broker/), so that confirmations and reminders go out as in production. Ctrl-C stops both.
run: export DEBUG := 1
run: export CELERY_BROKER_URL ?= filesystem://
run: export PORTAL_BASE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Demo e-mails are written to var/mail/. Portal: http://127.0.0.1:$(PORT)/  Admin: http://127.0.0.1:$(PORT)/admin/"
	$(PY) -m celery -A ikz_portal worker --beat --pool=solo --loglevel=warning & worker=$$!; \
	trap 'kill $$worker 2>/dev/null || true' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: venv
	$(PY) -m pytest $(ARGS)

# The same four checks as CI, in the same order; `$(VENV)/bin/ruff format .` applies the formatting.
# mypy's Django plugin loads the settings, which refuse to load without SECRET_KEY when DEBUG is off:
# a stand-in key that nothing signs with.
MYPY_SECRET_KEY := type-checking-only-never-signs-anything
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	SECRET_KEY="$${SECRET_KEY:-$(MYPY_SECRET_KEY)}" $(VENV)/bin/mypy

migrate: venv
	$(PY) manage.py migrate --noinput

seed: export DEBUG := 1
seed: venv
	$(PY) manage.py seed_demo

check: export DEBUG ?= 1
check: venv
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Not part of `make test`: builds its own PostgreSQL database (ikz_bench), starts gunicorn and
# Celery on loopback, writes tests/benchmarks/results.md. ARGS="--quick" for a smoke run.
.PHONY: bench
bench: venv
	$(PY) -m tests.benchmarks.run $(ARGS)

clean:
	rm -rf $(VENV)
