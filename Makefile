# Lantern: `make run` serves the demo, `make test` runs the whole suite. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup browser database lint format typecheck bench load clean-db

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, so pip takes the CPU build; the rest of the pins then install nothing more of it
	$(PIP) install --quiet "torch==$$(sed -n 's/^torch==//p' requirements.txt)"
	$(PIP) install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

# Browser tests drive Debian's Chromium (with Noto CJK, so Chinese renders); without root or apt they skip and
# say why.
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk"; } || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null 2>&1 && \
		    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1; }; }; } || \
		command -v chromium >/dev/null 2>&1 || echo "Chromium is not installed: the browser tests will skip."

database: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py check --database default

run: database
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Lantern is at http://$(HOST):$(PORT)/"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup browser
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: database
	$(PY) bench/run_all.py

# gunicorn + Celery + Redis under Locust, then the records check (about 20 minutes; --quick: 2 minutes)
load: database
	$(PY) bench/load_test.py $(LOAD_ARGS)

clean-db:
	rm -rf var/pgdata var/run
