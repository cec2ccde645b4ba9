# Two commands for a newcomer: `make run` and `make test`. Everything else is for operators.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrations-check demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Re-install only when a requirements file changes.
$(VENV)/.installed-dev: requirements/base.txt requirements/dev.txt requirements/production.txt | $(PY)
	$(PIP) install --quiet -r requirements/dev.txt -r requirements/production.txt
	touch $@

run: $(VENV)/.installed-dev
	HOST=$(HOST) PORT=$(PORT) scripts/run-demo.sh

test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: $(VENV)/.installed-dev
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 test-db.sqlite3 .pytest_cache
