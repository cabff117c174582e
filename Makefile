# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-test install-dev check-rules clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-dev: $(VENV)/.installed-dev

## run: the service on the embedded default (SQLite, jobs in-process, dry run)
run: install
	$(BIN)/flowkeeper serve

## lint: ruff (rules in pyproject.toml) and mypy over the service's packages
lint: install-dev
	$(BIN)/ruff check integration webhooks rules tests bench
	$(BIN)/mypy rules integration webhooks

## test: lint, then the whole suite (needs Redis and PostgreSQL; .ci/run starts them)
test: install-test lint
	$(BIN)/flowkeeper rules check
	$(BIN)/flowkeeper rules test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var test-output .pytest_cache
