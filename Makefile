# Quick start: `make demo` and `make test` do all set-up themselves (a virtualenv in .venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export SRCDIFF_CACHE_DIR ?= $(CURDIR)/.srcdiff-cache

.PHONY: demo test test-fast clean

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
