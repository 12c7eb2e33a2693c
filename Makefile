# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    builds .venv (pinned by constraints.txt) and simulates the bundled baseline scenario
#   make test   builds .venv if needed and runs the test suite (what CI runs)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/baseline.yaml
ARGS ?=

.PHONY: run test lint bench setup

# Headless Chromium renders the HTML reports in the tests (tests/report/test_report_render.py,
# skipped without it). Installed from the distribution's packages when missing and apt-get is
# usable (as root, or with password-less sudo); set-up carries on without it otherwise.
INSTALL_CHROMIUM = command -v chromium >/dev/null 2>&1 || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else SUDO=none; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$SUDO" != none ]; then \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| echo "note: could not install chromium; the HTML render test will be skipped"; \
	else echo "note: chromium missing and apt-get not usable; the HTML render test will be skipped"; fi; }

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@$(INSTALL_CHROMIUM)
	touch $@

setup: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/incentsim run $(SCENARIO) $(ARGS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(ARGS)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[benchmarks]"
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done
