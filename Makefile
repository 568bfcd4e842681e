# civgrid — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint format bench system-deps install serve clean help

help:
	@echo "make demo   — install, load the demo county, serve http://$(HOST):$(PORT)"
	@echo "make test   — install (system packages too), run the whole suite on SQLite + PostGIS"
	@echo "make lint   — ruff check and format check"
	@echo "make bench  — benchmarks with targets (bench/)"

# --- installation -----------------------------------------------------------
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# System packages: PostGIS for the test cluster, Chromium and a CJK font for
# browser tests. Installed only when missing; needs root (CI runs as root).
SYSTEM_PACKAGES := postgresql-15-postgis-3 chromium fonts-noto-cjk
system-deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# --- the two commands -------------------------------------------------------
demo: $(STAMP)
	$(VENV)/bin/civgrid db upgrade
	$(VENV)/bin/civgrid demo load --commit
	$(VENV)/bin/civgrid serve --host $(HOST) --port $(PORT)

test: system-deps $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# --- development ------------------------------------------------------------
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: system-deps $(STAMP)
	$(PY) bench/run.py

serve: $(STAMP)
	$(VENV)/bin/civgrid serve --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) var .pytest_cache
