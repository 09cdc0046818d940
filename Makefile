# Two commands do all the set-up by themselves: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test lint typecheck check-migrations pytest bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Serve the API on 127.0.0.1:5000 with an embedded SQLite database and demo data.
run: $(STAMP)
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

## Lint, type checks, migration drift check, and the whole test suite
## (SQLite always; PostgreSQL when reachable, and required when CI=true).
test: lint typecheck check-migrations pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy ledger

check-migrations: $(STAMP)
	$(BIN)/python -m ledger.migrate_check

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
