"""Reductions: sum mean prod max min, with ``axis`` and ``keepdims``; cumsum."""
import numpy as np

from ..runtime import cumsum_grad, expand_reduced, extreme_grad, prod_others, reduced_count
from .registry import alias, nondiff, rule

nondiff(np.argmax, np.argmin, np.argsort, np.count_nonzero, np.any, np.all)


@rule(np.sum)
def sum_(g, ans, a, axis=None, keepdims=False):
    return expand_reduced(g, a, axis, keepdims)


@rule(np.mean)
def mean(g, ans, a, axis=None, keepdims=False):
    # divided before it is spread out: the same quotients, computed once per mean
    return expand_reduced(g / reduced_count(a, ans), a, axis, keepdims)


@rule(np.prod)
def prod(g, ans, a, axis=None, keepdims=False):
    return expand_reduced(g, a, axis, keepdims) * prod_others(a, axis)


@rule(np.max)
def max_(g, ans, a, axis=None, keepdims=False):
    return extreme_grad(g, ans, a, axis, keepdims)     # ties share g equally, as in JAX


@rule(np.min)
def min_(g, ans, a, axis=None, keepdims=False):
    return extreme_grad(g, ans, a, axis, keepdims)


@rule(np.cumsum)
def cumsum(g, ans, a, axis=None):
    return cumsum_grad(g, a, axis)


alias(np.amax, np.max)
alias(np.amin, np.min)
