"""srcdiff's benchmark suite: `make bench` or `python benchmarks/run.py --help`.

Not collected by pytest (pyproject's testpaths are tests/ and srcdiff/, and no file
here is named test_*.py).
"""
