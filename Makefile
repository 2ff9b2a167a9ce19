# tokendeck: `make run` opens the app, `make test` runs every check. Needs python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Processes the tests start run from cached bytecode, as an installed command does: an inherited
# PYTHONDONTWRITEBYTECODE would make every one of them compile tokendeck's modules afresh.
unexport PYTHONDONTWRITEBYTECODE
STAMP := $(VENV)/.installed
RUNTIME := $(VENV)/.runtime

.PHONY: run install test check unit lint typecheck pytest snapshots bench docs clean

# make run: tokendeck and its runtime dependencies only.
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

# make test: the test tools too, at the versions CI pins. The system packages come first: the
# install builds scan's literal search (vault/core/literals.c) with the C compiler among them.
$(STAMP): pyproject.toml requirements/ci-constraints.txt vault/core/literals.c hatch_build.py
	sh tests/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/ci-constraints.txt -e '.[test]'
	touch $(RUNTIME) $(STAMP)

run: $(RUNTIME)
	$(BIN)/tokendeck

# A user tool on PATH, in pipx's own virtualenv (the README's install command).
install:
	@command -v pipx >/dev/null || { echo "make install needs pipx: sudo apt install pipx (Debian, Ubuntu), brew install pipx (macOS), or python3 -m pip install --user pipx; then pipx ensurepath" >&2; exit 1; }
	pipx install --force .

# Tests run on JOBS pytest-xdist workers: most of the suite waits (on processes, sockets and the
# real-time tests' clocks) more than it computes, so twice the 2 CPUs of the machine CI uses.
# Files that keep time on the wall clock or use the whole machine share one worker
# (ONE_AT_A_TIME in tests/conftest.py). JOBS=0 runs everything in this one process.
JOBS ?= 4

test: $(STAMP) lint typecheck pytest

# make check: the inner loop (lint, types, and the tests that start no process, drive no TUI and
# need no interoperability tier; the tiers are set in tests/conftest.py). `make test` runs everything.
check: $(STAMP) lint typecheck unit

unit: $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist loadgroup -m "not (process or tui or interop or slow)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	sh tests/system-deps.sh
	sh tests/interop/install.sh
	$(BIN)/pytest -n $(JOBS) --dist loadgroup

snapshots: $(STAMP)
	$(BIN)/pytest tests/test_snapshots.py --snapshot-update

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The manual's tables that come from the code (exit codes, environment); tests/test_docs.py checks them.
docs: $(STAMP)
	$(BIN)/python -m tests.support.docs_tables

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
