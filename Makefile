# Shipyard: `make demo` walks the golden path, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# Test files spread over the cores; `make test PYTEST_ARGS=...` overrides (e.g. `-n 0 -x`).
PYTEST_ARGS ?= -q -n auto --dist loadfile

.PHONY: demo test fuzz lint fmt bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Reinstall when the project's dependencies change; otherwise a no-op.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/shipyard demo $(DEMO_ARGS)

test: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A longer fuzz of the HTTP API (the normal test run does ~20 cases per operation).
fuzz: install-dev
	SHIPYARD_FUZZ_EXAMPLES=$${SHIPYARD_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/fuzz -m fuzz -q -s

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: install-dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .shipyard shipyard-demo*
