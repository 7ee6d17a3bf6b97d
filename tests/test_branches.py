"""`if` / `elif` / `else` and `a if c else b` in the source transform, in Numba and in Python.

The forward pass takes a branch; the adjoint takes the same one (its condition is a
value the forward pass hands over) and recomputes what that arm computed.
"""
import numpy as np
import pytest

import srcdiff

BOTH = pytest.mark.parametrize("jit", [False, True])


def on_argument(x, flag):
    y = x * 2.0
    if flag > 0:
        z = np.sin(y) * x
        y = z + 1.0
    elif flag < -1:
        y = y * y
    else:
        w = np.exp(x)
        y = w * y
    return np.sum(y * x)


def on_data(x):
    s = np.sum(x)
    if s > 0:
        out = s * s
    else:
        out = -s * 3.0
    return out


def conditional_expression(x):
    r = x * x if np.sum(x) > 0 else -x
    return np.sum(r * x)


def one_armed(x, k):
    y = np.cos(x)
    if k == 1:
        y = y * x
    return np.sum(y)


def nested(x, a, b):
    y = x
    if a > 0:
        if b > 0:
            y = np.tanh(y) * a
        else:
            y = y * 3.0
        y = y + np.sum(y)
    return np.sum(y * y)


def piecewise_scalar(t):
    v = t * t if t < 1.0 else 2.0 * t - 1.0
    if v > 3.0:
        v = np.log(v)
    return v


X = np.array([0.3, -0.7, 1.1])


@BOTH
@pytest.mark.parametrize("flag", [1, -5, 0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_if_elif_else_on_an_argument(jit, flag, sign):
    srcdiff.check_grad(on_argument, sign * X, flag, jit=jit)


@BOTH
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_conditions_on_data(jit, sign):
    x = sign * X + 0.5
    srcdiff.check_grad(on_data, x, jit=jit)
    srcdiff.check_grad(conditional_expression, x, jit=jit)
    assert srcdiff.grad(on_data, jit=jit)(x) == pytest.approx(
        2 * np.sum(x) if np.sum(x) > 0 else -3.0)


@BOTH
def test_one_armed_and_nested(jit):
    for k in (0, 1):
        srcdiff.check_grad(one_armed, X, k, jit=jit)
    for a in (1.0, -1.0):
        for b in (1.0, -1.0):
            srcdiff.check_grad(nested, X, a, b, wrt=(0, 1, 2), jit=jit)


@BOTH
@pytest.mark.parametrize("t", [0.5, 1.5, 4.0])
def test_piecewise_scalar(jit, t):
    expected = 2 * t if t < 1.0 else (2.0 if 2 * t - 1 <= 3.0 else 2.0 / (2 * t - 1))
    assert srcdiff.grad(piecewise_scalar, jit=jit)(t) == pytest.approx(expected)


def test_branches_stay_compiled_and_readable():
    g = srcdiff.grad(on_argument)
    g(X, 1)
    assert g.jitted, g.jit_reason
    backward = g.source.split("def on_argument_backward")[1].split("\ndef ")[0]
    assert "if _t1:" in backward and "else:" in backward
