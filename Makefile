# emkit: the two commands of the README, plus the benchmarks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed-core $@

demo: $(VENV)/.installed-core
	$(BIN)/emkit demo

# The tests marked `numerics` run a second time with the numba kernels compiled for a generic
# x86-64 CPU (no AVX/FMA; a cache of their own), so results that depend on this machine's
# instruction set show up on any machine.
test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q --durations=15
	NUMBA_CPU_NAME=generic NUMBA_CACHE_DIR=$(VENV)/numba-cache-generic \
		$(BIN)/python -m pytest -n 2 -q -m numerics -p no:cacheprovider

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_gmm.py
	$(BIN)/python benchmarks/bench_hmm.py
	$(BIN)/python benchmarks/bench_variational.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_impute.py
	$(BIN)/python benchmarks/bench_init.py
	$(BIN)/python benchmarks/bench_kmeans.py
	$(BIN)/python benchmarks/bench_segment.py
	$(BIN)/python benchmarks/bench_mri.py
	$(BIN)/python benchmarks/bench_motif.py
	$(BIN)/python benchmarks/bench_plsa.py
	$(BIN)/python benchmarks/bench_io.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_mclust.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
