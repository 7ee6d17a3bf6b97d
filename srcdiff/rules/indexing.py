"""Reading through an index, selecting, joining arrays."""
import numpy as np

from ..runtime import concat_part, scatter_add, stack_part, unbroadcast
from .registry import GETITEM, rule


@rule(GETITEM.impl, wrt="a")
def getitem(g, ans, a, index):
    # scatter-add: a repeated index collects every contribution
    return scatter_add(a, index, g)


@rule(np.where, wrt=("x", "y"))
def where(g, ans, condition, x, y):
    return unbroadcast(np.where(condition, g, 0.0), x), unbroadcast(np.where(condition, 0.0, g), y)


@rule(np.concatenate, sequence="arrays")
def concatenate(g, ans, arrays, axis=0, *, part):
    return concat_part(g, arrays, axis, part)


@rule(np.stack, sequence="arrays")
def stack(g, ans, arrays, axis=0, *, part):
    return stack_part(g, axis, part)


@rule(np.array, sequence="object")
def array(g, ans, object, *, part):
    # np.array([a, b, ...]) of equal-shaped values stacks them on a new first axis
    return stack_part(g, 0, part)
