# lightboard — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install chromium axe directory demo test bench lint format clean

# Installing also compiles the translation catalogues (in pure Python: no gettext needed).
install: $(STAMP)
	@$(BIN)/python manage.py compile_catalogues --verbosity 0

# Re-installs only when pyproject.toml changes, so `make install` is idempotent and quick.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "lightboard needs $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "lightboard: http://$(HOST):$(PORT)/  logins: staff, leader, leadership, inspector, admin, and leadership.hlxt, inspector.hlxt for a subsidiary (password: demo)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# A fresh demo: the embedded database is deleted and built again (the .venv stays).
.PHONY: demo-reset
demo-reset:
	rm -f $${SQLITE_PATH:-db.sqlite3}
	$(MAKE) demo

# The browser tests drive Debian's Chromium (with a CJK font for readable screenshots).
# Installed here when we may (root with apt);
# otherwise they are skipped with a note, except in CI (LIGHTBOARD_REQUIRE_BROWSER=1).
chromium:
	@if command -v chromium >/dev/null 2>&1 && { ! command -v dpkg >/dev/null 2>&1 || dpkg -s fonts-wqy-microhei >/dev/null 2>&1; }; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Chromium and a Chinese font for the browser tests"; \
	  apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }; \
	else \
	  echo "note: Chromium is not installed, so the browser tests will be skipped (apt-get install -y chromium)"; \
	fi

# The accessibility tests inject axe-core (from the npm registry, the exact version in
# package-lock.json) into each page. `npm ci` runs when it is missing or package-lock.json is newer;
# without npm it is installed when we may (root with apt); otherwise those tests are skipped with a
# note, except in CI (LIGHTBOARD_REQUIRE_BROWSER=1).
AXE := node_modules/axe-core/axe.min.js
axe:
	@if [ ! -f $(AXE) ] || [ package-lock.json -nt $(AXE) ]; then \
	  if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing npm for axe-core, the accessibility checker of the browser tests"; \
	    apt-get install -y -q npm >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q npm >/dev/null; }; \
	  fi; \
	  if command -v npm >/dev/null 2>&1; then \
	    npm ci --no-audit --no-fund --loglevel=error && touch $(AXE); \
	  else \
	    echo "note: npm is not installed, so the accessibility tests will be skipped (apt-get install -y npm; npm ci)"; \
	  fi; \
	fi

# Directory sign-in (LDAP) needs python-ldap, which compiles against OpenLDAP, and its tests run
# a throwaway slapd: Debian's packages are installed here when we may (root with apt); otherwise
# the directory tests are skipped with a note, except in CI (LIGHTBOARD_REQUIRE_SERVICES=1).
DIRECTORY_STAMP := $(VENV)/.installed-directory
directory: install $(DIRECTORY_STAMP)

$(DIRECTORY_STAMP): pyproject.toml
	@if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ] || ! [ -e /usr/include/ldap.h ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing OpenLDAP (slapd, its client tools and headers) for directory sign-in"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q slapd ldap-utils libldap2-dev libsasl2-dev >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q slapd ldap-utils libldap2-dev libsasl2-dev >/dev/null; }; \
	  fi; \
	fi
	@if [ -e /usr/include/ldap.h ]; then \
	  $(BIN)/python -m pip install --quiet -e '.[test,directory]' && touch $@; \
	else \
	  echo "note: OpenLDAP's headers are missing, so directory sign-in is not installed (apt-get install libldap2-dev libsasl2-dev slapd)"; \
	fi

# The tests run in parallel, one worker per core (pytest-xdist; each worker has its own test
# database, Celery queue, servers and browser). PYTEST_ARGS="-n 0" runs them in one process.
test: install chromium axe directory
	$(BIN)/python -m pytest -n auto --dist worksteal $(PYTEST_ARGS)

# Benchmarks are not part of `make test`. They need DATABASE_URL (PostgreSQL: a throwaway
# lightboard_bench database is created and dropped) and REDIS_URL (a real Celery worker),
# print a table and bench/results.json, and exit non-zero when a budget fails.
bench: install
	$(BIN)/python -m bench.run --json bench/results.json $(BENCH_ARGS)

# The load test, not part of `make test`: 50 signed-in users of every role for 60 s (at most
# 120: LOAD_ARGS="--duration 120") against gunicorn on PostgreSQL (a throwaway lightboard_load
# database on DATABASE_URL's server) and Redis (REDIS_URL, default db 6). Fails on any error.
.PHONY: load
load: install $(VENV)/.installed-bench
	$(BIN)/python bench/load/run.py --json bench/load-results.json $(LOAD_ARGS)

$(VENV)/.installed-bench: pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
