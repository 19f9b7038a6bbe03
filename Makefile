# leguas-whatsapp. `make` alone lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.DEFAULT_GOAL := help
.PHONY: help install run test lint format typecheck check services migrate messages css screenshots bench faults clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## Create .venv and install requirements/dev.txt (only when they changed)
	@PYTHON=$(PYTHON) scripts/bootstrap.sh

run: install ## Run everything locally: web :8000, workers, beat, Flower :5555, gateway simulator
	@$(PY) scripts/run.py

test: install ## Start PostgreSQL and Redis if needed, then lint, type-check, checks and the whole test suite
	@scripts/test.sh

lint: install ## ruff lint and format check
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: install ## Format the code with ruff
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

typecheck: install ## mypy with django-stubs
	@DEBUG=true $(VENV)/bin/mypy .

# The fault suite (docs/reliability.md): its own PostgreSQL (5440) and Redis (6395); not part of
# `make test`. FAULTS_SCALE=1 runs the issue's sizes (10,000-message backlogs, about two hours).
FAULTS_SCALE ?= 0.05
faults: install ## Run the fault scenarios against real processes and write docs/reliability.md
	@scripts/services.sh && $(PY) -m faults --scale $(FAULTS_SCALE) $(FAULTS)

services: ## Make sure PostgreSQL and Redis are reachable (installs them with apt-get as root)
	@scripts/services.sh

migrate: install ## Apply database migrations
	@DEBUG=true $(PY) manage.py migrate

messages: install ## Refresh the translation catalogues and compile them (no gettext needed)
	@DEBUG=true $(PY) manage.py makemessages_py && DEBUG=true $(PY) manage.py compilemessages_py

css: ## Rebuild whatsapp/static/whatsapp/css/app.css from assets/tailwind.css (Tailwind CLI, pinned in package.json)
	@npm ci --no-audit --no-fund --loglevel=error && npx tailwindcss -i assets/tailwind.css -o whatsapp/static/whatsapp/css/app.css --minify

bench: install ## The benchmark suite (minutes; empties the BENCH_* database and Redis of bench/stack.py): figures into docs/benchmarks.md
	@$(PY) -m bench all

screenshots: install ## Save a picture of each dashboard page under docs/screenshots/ (needs chromium)
	@scripts/browser.sh && $(PY) scripts/screenshots.py

clean: ## Remove the virtualenv and local state under var/
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
