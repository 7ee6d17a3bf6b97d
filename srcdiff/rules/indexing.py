"""Reading through an index, selecting, joining arrays."""
import numpy as np

from ..runtime import assign_at, concat_part, scatter_add, stack_part, unbroadcast
from .registry import GETITEM, define, rule

define(assign_at, name="assign_at").path = "assign_at"   # b[i] = v, a helper of generated code


@rule(assign_at, wrt=("a", "value"))
def assign_at_rule(g, ans, a, index, value):
    # what was written is gone from a; what is there came from value
    return assign_at(g, index, 0.0), unbroadcast(g[index], value)


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
