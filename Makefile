# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1

.PHONY: run demo test lint install install-test install-dev check-rules clean

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

## run: the service on the embedded default (SQLite, jobs in-process, dry run); HOST=0.0.0.0 to listen on every interface
run: install
	$(BIN)/flowkeeper serve --host $(HOST)

## demo: the sandbox — stub tracker with a seeded workspace, Flowkeeper writing to it
demo: install
	$(BIN)/flowkeeper demo

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
