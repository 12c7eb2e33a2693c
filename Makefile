# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    builds .venv (pinned by constraints.txt) and simulates the bundled baseline scenario
#   make test   builds .venv if needed and runs the test suite (what CI runs)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/baseline.yaml
ARGS ?=

.PHONY: run test lint bench setup

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/incentsim run $(SCENARIO) $(ARGS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(ARGS)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(VENV)/.installed
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done
