# lightboard — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install messages demo test lint format clean

install: $(STAMP)

# Re-installs only when pyproject.toml changes, so `make install` is idempotent and quick.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "lightboard needs $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

messages: $(STAMP)
	$(BIN)/python manage.py compile_catalogues

demo: install messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "lightboard: http://$(HOST):$(PORT)/  logins: staff, leader, leadership, inspector, admin (password: demo)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
