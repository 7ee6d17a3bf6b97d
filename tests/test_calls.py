"""Calls to user functions: inlined into the caller's IR, with keyword, default and
literal arguments, tuple returns, calls inside loops and across modules."""
import numpy as np
import pytest

import srcdiff
from callees import rnn_step, set_first, softplus
from srcdiff import UnsupportedError

BOTH = pytest.mark.parametrize("jit", [False, True])


def sigmoid(z, scale=1.0):
    return 1.0 / (1.0 + np.exp(-z * scale))


def halves(x):
    return x[0] * 2.0, x[1] ** 2


def model(x, w):
    a, b = halves(x)
    h = sigmoid(a * w) + softplus(b, beta=2.0) + sigmoid(z=b, scale=3)
    s = 0.0
    for i in range(3):
        s = rnn_step(s, x[i % 2], w)
    return h + s


def count_down(x, n):
    return x if n == 0 else count_down(x, n - 1)


@BOTH
def test_inlined_calls_match_finite_differences(jit):
    x = np.array([0.3, -0.7])
    srcdiff.check_grad(model, x, 0.8, wrt=(0, 1), jit=jit)


def test_inlined_calls_stay_compiled_and_show_the_callee_lines():
    g = srcdiff.grad(model)
    g(np.array([0.3, -0.7]), 0.8)
    assert g.jitted, g.jit_reason
    assert "callees.py:" in g.source and "np.tanh(" in g.source


def test_recursion_is_refused():
    with pytest.raises(UnsupportedError, match="recursive call to `count_down`"):
        srcdiff.grad(count_down, mode="source")(1.0, 3)


def writes_through_a_helper(x):
    y = x * 2.0
    y = set_first(y, x[1] ** 2)
    return np.sum(y * y)


def reads_what_the_helper_changed(x):
    y = x * 2.0
    z = set_first(y, 0.0)
    return np.sum(y * z)


def reads_it_in_the_same_statement(x):
    y = x * 2.0
    return np.sum(set_first(y, 0.0) * y)


@BOTH
def test_helper_writing_into_an_argument_the_caller_no_longer_reads(jit):
    srcdiff.check_grad(writes_through_a_helper, np.array([0.3, -0.7, 1.1]), jit=jit)


@pytest.mark.parametrize("fun", [reads_what_the_helper_changed, reads_it_in_the_same_statement])
def test_helper_writing_into_an_array_the_caller_reads_again_is_refused(fun):
    with pytest.raises(UnsupportedError, match=r"in-place write into `b`, whose array the caller "
                       r"\w+\(\) reads afterwards as `y`"):
        srcdiff.grad(fun, mode="source")(np.array([0.3, -0.7, 1.1]))
