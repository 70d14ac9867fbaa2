# dsdoctor — every target creates the virtualenv and installs what it needs.
# Two levels: the demo needs only the package (seconds to install); everything else needs the
# dev extra (the test oracles torch, keras, jax; dask; the models extra onnx, flatbuffers,
# safetensors; ruff; mypy: about a gigabyte).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
STAMP      := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint typecheck bench fuzz fixtures docs clean venv compile

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python fixtures/demo.py

# Bytecode is compiled up front, as `pip install` does for a user: where PYTHONDONTWRITEBYTECODE
# is set, every dsdoctor process would otherwise compile the package again (~90 ms a start).
compile: $(STAMP)
	$(BIN)/python -m compileall -q src > /dev/null

# CI (.ci/run) runs this target: lint and the type check first (seconds), then the suite.
test: lint typecheck compile
	KERAS_BACKEND=numpy $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests fixtures benchmarks fuzz
	$(BIN)/ruff format --check src tests fixtures benchmarks fuzz

# configured in pyproject.toml's [tool.mypy]: src/dsdoctor, untyped bodies checked too
typecheck: $(STAMP)
	$(BIN)/mypy

# the bench extra (pandera, a baseline) on top of the dev one; `make test` never installs it
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: compile $(BENCH_STAMP)
	KERAS_BACKEND=numpy $(BIN)/python benchmarks/run.py

# Longer fuzzing campaigns with atheris: FUZZ_RUNS inputs per format; crashes land in
# fuzz/crashes/<format>/, which tests/test_fuzz.py replays in every `make test`.
FUZZ_RUNS ?= 20000
fuzz: $(STAMP)
	$(BIN)/python -m pip install -q atheris
	$(BIN)/python fuzz/targets.py   # seed corpora from fixtures/ into fuzz/corpus/<format>/
	for f in npy npz hdf5 parquet csv options spec; do \
	  (cd fuzz && ../$(BIN)/python fuzz.py $$f corpus/$$f -atheris_runs=$(FUZZ_RUNS) \
	     -artifact_prefix=crashes/$$f/ -rss_limit_mb=4096 -timeout=60 -max_len=65536) || exit 1; \
	done

docs: $(STAMP)
	$(BIN)/python -m dsdoctor.docs

fixtures: $(STAMP)
	$(BIN)/python fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
