# Two commands do all the set-up by themselves: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test lint typecheck pytest fuzz bench translations clean

# scoring.py is compiled by the install (setup.py): a change to it installs again.
$(STAMP): pyproject.toml setup.py ledger/screening/scoring.py
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
	$(FLASK) audit keygen --if-missing
	LEDGER_LOG_FORMAT=text $(FLASK) run --host 127.0.0.1 --port 5000

## Lint, type checks, and the whole test suite (SQLite always; PostgreSQL when
## reachable, and required when CI=true). tests/test_migrations.py runs
## `alembic check` on both databases, so models and migrations cannot drift.
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy ledger

pytest: $(STAMP)
	$(BIN)/pytest

## A longer schemathesis run than the bounded one in `make test`: fresh randomness,
## 200 examples per operation (LEDGER_FUZZ_EXAMPLES to change), on PostgreSQL.
fuzz: $(STAMP)
	LEDGER_FUZZ_RANDOM=1 LEDGER_FUZZ_EXAMPLES=$${LEDGER_FUZZ_EXAMPLES:-200} \
		$(BIN)/pytest tests/security/test_fuzz.py -s

## The console's text: extract it, merge it into the Arabic catalogue (translate what
## is new there: tests/console/test_languages.py fails until every message is), compile.
I18N := ledger/console/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
		--project reconstruction-aid-ledger -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-fuzzy-matching --width 88
	$(BIN)/pybabel compile -d $(I18N)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
