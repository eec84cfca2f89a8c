# smile — `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test venv venv-test browser bench lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet torch==2.13.0  # the CPU build, before .[embeddings], so pip never pulls a CUDA torch
	$(BIN)/pip install --quiet -e '.[embeddings]'
	touch $@

venv: $(BIN)/.installed
venv-test: $(BIN)/.installed-test

browser:
	@bash scripts/ensure-chromium.sh

run: venv
	$(BIN)/smile serve --seed-demo

test: venv-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff's rules and version are in pyproject.toml ([tool.ruff], the test extra).
lint: venv-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv-test
	$(BIN)/python bench/users_me.py

clean:
	rm -rf $(VENV) var/test
