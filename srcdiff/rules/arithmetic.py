"""Operators: + - * / ** @ % and unary minus, each an elementwise NumPy ufunc.

Every binary rule unbroadcasts, so ``x / np.sum(x)`` gets its gradient right.
"""
import numpy as np

from ..runtime import matmul_lhs, matmul_rhs, reshape_like, unbroadcast
from .registry import define, nondiff, rule

define(np.add, name="add", infix="+")
define(np.subtract, name="subtract", infix="-")
define(np.multiply, name="multiply", infix="*")
define(np.true_divide, name="divide", infix="/")
define(np.power, name="power", infix="**")
define(np.matmul, name="matmul", infix="@")
define(np.mod, name="mod", infix="%")
define(np.floor_divide, name="floor_divide", infix="//")
define(np.negative, name="negative", infix="-")
define(np.positive, name="positive", infix="+")
for op, symbol in ((np.less, "<"), (np.less_equal, "<="), (np.greater, ">"),
                   (np.greater_equal, ">="), (np.equal, "=="), (np.not_equal, "!=")):
    define(op, name=op.__name__, infix=symbol)
nondiff(np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
        np.floor_divide, np.logical_not, np.logical_and, np.logical_or)


@rule(np.add)
def add(g, ans, x, y):
    return unbroadcast(g, x), unbroadcast(g, y)


@rule(np.subtract)
def subtract(g, ans, x, y):
    # negated after summing: no array of -g where y was broadcast
    return unbroadcast(g, x), -unbroadcast(g, y)


@rule(np.multiply)
def multiply(g, ans, x, y):
    return unbroadcast(g * y, x), unbroadcast(g * x, y)


@rule(np.true_divide)
def divide(g, ans, x, y):
    return unbroadcast(g / y, x), unbroadcast(-g * ans / y, y)


@rule(np.power)
def power(g, ans, x, y):
    # (y == 0) and (x == 0) keep 0 * inf from turning the exact derivative 0 into nan
    return (unbroadcast(g * y * x ** (y - 1 + (y == 0)), x),
            unbroadcast(g * ans * np.log(x + (x == 0)), y))


@rule(np.mod)
def mod(g, ans, x, y):
    return unbroadcast(g, x), unbroadcast(-g * np.floor(x / y), y)


@rule(np.negative)
def negative(g, ans, x):
    return -g


@rule(np.positive)
def positive(g, ans, x):
    return g


@rule(np.matmul)
def matmul(g, ans, x, y):
    return matmul_lhs(g, x, y), matmul_rhs(g, x, y)


@rule(np.dot)
def dot(g, ans, a, b):
    return matmul_lhs(g, a, b), matmul_rhs(g, a, b)


@rule(np.outer)
def outer(g, ans, a, b):
    return reshape_like(g @ np.ravel(b), a), reshape_like(np.ravel(a) @ g, b)

