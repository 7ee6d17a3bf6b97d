"""Shape changes, copies, and the array attributes that carry no derivative."""
import operator

import numpy as np

from ..runtime import check_length, reshape_like, transpose_grad, unbroadcast
from .registry import ASSIGN, define, known, nondiff, rule


@rule(np.reshape, wrt="a")
def reshape(g, ans, a, shape):
    return reshape_like(g, a)


@rule(np.ravel)
def ravel(g, ans, a):
    return reshape_like(g, a)


@rule(np.transpose)
def transpose(g, ans, a, axes=None):
    return transpose_grad(g, axes)


@rule(ASSIGN.impl)
def assign(g, ans, x):
    return g


@rule(np.copy)
def copy(g, ans, a):
    return g


@rule(np.asarray)
def asarray(g, ans, a):
    return g


# attributes: x.shape and friends are plain data
ATTRIBUTES = {name: define(operator.attrgetter(name), name=f".{name}", attribute=name)
              for name in ("shape", "ndim", "size", "dtype")}
nondiff(*(prim.impl for prim in ATTRIBUTES.values()))
nondiff(len, range, int, bool, np.shape, np.ndim, np.size, np.zeros, np.ones, np.empty,
        np.zeros_like, np.ones_like, np.empty_like, np.eye, np.identity)
define(check_length, name="check_length").path = "check_length"   # n, d = x.shape
nondiff(check_length)
# their values depend on float arguments, and no rule is written yet: an active
# argument raises UnsupportedError instead of a silent zero
known(np.arange, np.linspace)


@rule(np.full, wrt="fill_value")
def full(g, ans, shape, fill_value):
    return unbroadcast(g, fill_value)


@rule(np.full_like, wrt="fill_value")
def full_like(g, ans, a, fill_value):
    return unbroadcast(g, fill_value)
