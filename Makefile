# Quick start: `make demo` and `make test` do all set-up themselves (a virtualenv in .venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export SRCDIFF_CACHE_DIR ?= $(CURDIR)/.srcdiff-cache

.PHONY: demo test test-fast clean bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo.py

test: $(VENV)/.installed
	$(PY) -m pytest -n auto

test-fast: $(VENV)/.installed
	$(PY) -m pytest -n auto -m "not slow"

clean:
	rm -rf $(VENV) .srcdiff-cache .pytest_cache

# `make bench`: srcdiff against its peers (benchmarks/run.py), results in docs/benchmarks.md.
# Its own virtualenv; each peer is optional and skipped if it does not install.
# torch==2.13.0 is the CPU build on this machine's disk (any other version pulls a multi-GB build).
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the run alone: they slow a current NumPy.
BENCH_VENV ?= .bench-venv
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_ARGS ?=
BENCH_PEERS ?= torch==2.13.0 jax jaxlib autograd

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip
	$(BENCH_PY) -m pip install --quiet -e . threadpoolctl
	@for peer in $(BENCH_PEERS); do \
	  $(BENCH_PY) -m pip install --quiet "$$peer" || echo "bench: $$peer did not install; it will be skipped"; \
	done
	touch $@

bench: $(BENCH_VENV)/.installed
	mkdir -p benchmarks/data
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BENCH_PY) benchmarks/run.py --markdown docs/benchmarks.md --json benchmarks/data/results.json $(BENCH_ARGS)
