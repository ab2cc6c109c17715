# The consent portal's tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help run install install-test assets catalogues translations check-translations migrate demo serve test test-postgres lint format typecheck clean bench

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: install assets catalogues migrate demo serve ## Install everything, migrate, load the demo and serve on http://127.0.0.1:5000

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed ## Create the virtual environment and install the portal

install-test: $(VENV)/.installed-test ## Install the portal with the test and lint tools

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

static/dist/portal.css: node_modules/.package-lock.json $(wildcard static/css/*.scss static/css/*/*.scss)
	npm run --silent build

static/dist/simplewebauthn.min.js: node_modules/.package-lock.json
	npm run --silent build:js

assets: static/dist/portal.css static/dist/simplewebauthn.min.js ## Build the CSS and JavaScript into static/dist (git-ignored)

# Translations (docs/languages.md): the catalogues' sources, translations/*/LC_MESSAGES/
# messages.po, are committed; the compiled .mo files are built here and git-ignored.
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k _n:1,2

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	@$(BIN)/pybabel compile -i $< -o $@ 2>&1 | grep -v "^compiling" || true

catalogues: $(MO_FILES) ## Compile the translation catalogues (built by run and test)

translations: install ## Extract the messages, update every catalogue and compile them
	$(BIN)/pybabel extract --no-location --sort-by-file --ignore-dirs '.* node_modules .venv' -F babel.cfg --project 'School consent portal' --copyright-holder 'The consent portal authors' $(BABEL_KEYWORDS) -o translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete --no-fuzzy-matching -i translations/messages.pot -d translations
	$(BIN)/pybabel compile -d translations

check-translations: install ## Fail on a missing or fuzzy message in a language marked complete
	$(BIN)/python -m portal.translation_check

migrate: install ## Bring the database schema up to date
	$(FLASK) db upgrade

demo: install ## Load the demo school, families and staff (idempotent)
	$(FLASK) demo

serve: ## Serve the portal for development on $(HOST):$(PORT), with the mail worker beside it
	@$(FLASK) mail worker --interval 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# Tests run in parallel, one worker per core (pytest-xdist); TEST_WORKERS=0 runs them in one
# process (for a debugger or -x).
TEST_WORKERS ?= auto

test: install-test assets catalogues ## Run every test (set TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install-test ## Check the code with ruff (lint and format)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install-test ## Type-check portal/ and tools/ with mypy
	$(BIN)/mypy

# The benchmarks, in the order `make bench` runs them after seeding the trust once; each writes
# bench/out/NAME.json (bench/ledger.py last: it drops and reseeds its own database).
BENCH_SCRIPTS := verify export http_load invites pageweight lighthouse roster todo retention languages ledger second_factor
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench

# Lighthouse, pinned in bench/package.json: only `make bench` installs it.
bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund

bench: install-test assets bench/node_modules/.package-lock.json ## Seed PostgreSQL (BENCH_DATABASE_URL), run every benchmark, write bench/RESULTS.md
	@mkdir -p bench/out
	@rm -f bench/out/steps.tsv bench/out/seed.log $(BENCH_SCRIPTS:%=bench/out/%.json) $(BENCH_SCRIPTS:%=bench/out/%.log)
	@export BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)'; set -o pipefail; \
	trap 'rc=$$?; $(BIN)/python bench/report.py || rc=1; exit $$rc' EXIT; \
	step() { \
	  local name=$$1 began=$$SECONDS rc=0; shift; \
	  echo "== make bench: $$name: $$*"; \
	  "$$@" 2>&1 | tee bench/out/$$name.log || rc=$$?; \
	  printf '%s\t%s\t%s\n' "$$name" "$$rc" "$$((SECONDS - began))" >> bench/out/steps.tsv; \
	  if [ $$rc -ne 0 ]; then \
	    echo "make bench: $$name failed (exit $$rc); see bench/out/$$name.log. Stopping here;" \
	      "bench/RESULTS.md lists what ran." >&2; \
	  fi; \
	  return $$rc; \
	}; \
	step seed $(BIN)/python bench/seed.py || exit 1; \
	for name in $(BENCH_SCRIPTS); do \
	  if [ ! -f bench/$$name.py ]; then \
	    echo "make bench: bench/$$name.py does not exist: not run" >&2; \
	    printf '%s\tmissing\t0\n' "$$name" >> bench/out/steps.tsv; continue; \
	  fi; \
	  step $$name $(BIN)/python bench/$$name.py --json bench/out/$$name.json || exit 1; \
	done

clean: ## Remove the virtual environment, node modules and built assets
	rm -rf $(VENV) node_modules static/dist
