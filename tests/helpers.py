"""Shared test helpers."""
import numpy as np


def draw(shape, kind, rng):
    """A value of ``shape`` from a domain where the tested function is smooth."""
    if kind == "pos":
        value = rng.uniform(0.5, 2.0, shape)
    elif kind == "unit":
        value = rng.uniform(-0.9, 0.9, shape)
    elif kind == "idx":
        n = int(np.prod(shape)) if shape else 1
        value = rng.permutation(n).reshape(shape) * 0.37 + rng.uniform(0, 0.1, shape)
    else:
        value = rng.standard_normal(shape)
    return float(value) if shape == () else value

