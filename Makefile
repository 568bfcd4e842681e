# civgrid — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# make test runs the suite on both cores; each worker starts its own PostGIS cluster.
# Files go whole to one worker (--dist loadfile): module fixtures (servers, browsers)
# start once. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
# the simulated season of `make demo`: 120 days, about 700 reports
DEMO_DAYS ?= 120
DEMO_PER_DAY ?= 6

.PHONY: demo test screenshots lint format bench system-deps demo-deps install assets serve clean help

help:
	@echo "make demo   — install, load the demo county, serve http://$(HOST):$(PORT)"
	@echo "make test   — install (system packages too), run the whole suite on SQLite + PostGIS"
	@echo "make screenshots — rerun the browser tests, refreshing the pictures in docs/img"
	@echo "make lint   — ruff check and format check"
	@echo "make bench  — benchmarks with targets (bench/)"

# --- installation -----------------------------------------------------------
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# uv (from PyPI) installs in seconds from its cache; plain pip is the fallback.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet uv || true
	if [ -x $(VENV)/bin/uv ]; then \
	  $(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'; \
	else \
	  $(PY) -m pip install --quiet -e '.[dev]'; \
	fi
	touch $(STAMP)

install: $(STAMP)

# Leaflet and its plugins (and Swagger UI for /docs, ReDoc for /redoc), pinned in maps/package-lock.json, copied into
# maps/static/vendor and served by the app itself (no CDN, works offline).
VENDOR := maps/static/vendor
$(VENDOR)/.built: maps/package.json maps/package-lock.json
	cd maps && npm ci --no-audit --no-fund --silent
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp -r maps/node_modules/leaflet/dist $(VENDOR)/leaflet
	cp -r maps/node_modules/leaflet.markercluster/dist $(VENDOR)/leaflet.markercluster
	cp -r maps/node_modules/leaflet.heat/dist $(VENDOR)/leaflet.heat
	cp -r maps/node_modules/leaflet-draw/dist $(VENDOR)/leaflet-draw
	mkdir -p $(VENDOR)/swagger-ui
	cp maps/node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} $(VENDOR)/swagger-ui/
	mkdir -p $(VENDOR)/redoc
	cp maps/node_modules/redoc/bundles/redoc.standalone.js{,.LICENSE.txt} $(VENDOR)/redoc/
	cp maps/node_modules/redoc/LICENSE $(VENDOR)/redoc/
	# its menu's "redocly" logo is the one remote asset ReDoc loads: an empty local image
	sed -i 's|https://cdn.redoc.ly/redoc/logo-mini.svg|data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27/%3E|' $(VENDOR)/redoc/redoc.standalone.js
	touch $@

assets: $(VENDOR)/.built

# System packages: PostGIS for the test cluster, Chromium and a CJK font for
# browser tests, poppler-utils (pdftotext, pdftoppm) for the document tests.
# Installed only when missing; needs root (CI runs as root).
SYSTEM_PACKAGES := postgresql-15-postgis-3 chromium fonts-noto-cjk poppler-utils
# What the demo itself needs: Chromium prints the official documents to PDF in the
# CJK serif font. Without root the demo still runs; documents then answer 503.
DEMO_PACKAGES := chromium fonts-noto-cjk
define apt_install
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; $(2); \
	  else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi
endef
system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES),exit 1)
demo-deps:
	$(call apt_install,$(DEMO_PACKAGES),echo "the demo runs without them: PDF documents are unavailable" >&2)

# --- the two commands -------------------------------------------------------
# The snap kernels compile (numba, once, cached on disk) in the background while
# the database is migrated and the demo county loaded. The season ends today; this
# month's patrol plan is made, the last three months' bulletins (月通报) issued in
# order and the accountability cases they trigger opened, once.
demo: demo-deps $(STAMP) assets
	@$(VENV)/bin/civgrid warmup & warm=$$!; \
	$(VENV)/bin/civgrid db upgrade && \
	$(VENV)/bin/civgrid demo load --commit && \
	wait $$warm && \
	$(VENV)/bin/civgrid simulate --days $(DEMO_DAYS) --per-day $(DEMO_PER_DAY) --if-empty
	$(VENV)/bin/civgrid points demo --commit --if-empty
	$(VENV)/bin/civgrid patrol plan --month $$(date +%Y-%m) --commit --if-missing
	for k in 3 2 1; do \
	  m=$$(date -d "$$(date +%Y-%m-01) -$$((k - 1)) month -1 day" +%Y-%m); \
	  $(VENV)/bin/civgrid report monthly --month $$m --publish --if-missing \
	    --out var/bulletins || exit 1; \
	done; \
	$(VENV)/bin/civgrid score cases evaluate --period $$m
	$(VENV)/bin/civgrid user bootstrap-demo
	# the notification worker runs inside serve; with no SMTP/SMS/robot configured the
	# demo stays offline and notifications show in the in-app centre (docs/notifications.md)
	CIVGRID_NOTIFY_WORKER=$${CIVGRID_NOTIFY_WORKER:-true} \
	  $(VENV)/bin/civgrid serve --host $(HOST) --port $(PORT)

# The layer contracts first: an upward import fails the run before any test.
test: system-deps $(STAMP) assets
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The browser tests write their screenshots to a temporary folder unless
# CIVGRID_SCREENSHOTS names one: this refreshes the README's pictures.
screenshots: system-deps $(STAMP) assets
	CIVGRID_SCREENSHOTS=docs/img $(VENV)/bin/pytest -p no:cacheprovider tests/browser tests/documents $(PYTEST_ARGS)

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
	rm -rf $(VENV) var .pytest_cache maps/node_modules $(VENDOR)
