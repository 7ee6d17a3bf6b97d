"""Array methods and attributes, as the NumPy functions they stand for.

``x.sum(axis=0)`` is ``np.sum(x, axis=0)``; ``x.T`` is ``np.transpose(x)``.
Methods that take a shape or axes as separate arguments (``x.reshape(2, 3)``)
collect them into one tuple, which ``VARARG_METHODS`` names.
"""
import numpy as np

METHODS = {
    "sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
    "cumsum": np.cumsum, "reshape": np.reshape, "transpose": np.transpose,
    "ravel": np.ravel, "flatten": np.ravel, "dot": np.dot, "copy": np.copy,
    "argmax": np.argmax, "argmin": np.argmin, "clip": np.clip,
}
VARARG_METHODS = {"reshape", "transpose"}
ATTRIBUTE_FUNCTIONS = {"T": np.transpose}
