# dsdoctor — every target creates the virtualenv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench fixtures clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python fixtures/demo.py

test: $(STAMP)
	KERAS_BACKEND=numpy $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests fixtures benchmarks
	$(BIN)/ruff format --check src tests fixtures benchmarks

bench: $(STAMP)
	KERAS_BACKEND=numpy $(BIN)/python benchmarks/run.py

fixtures: $(STAMP)
	$(BIN)/python fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
