"""`break`, `continue` and `return` anywhere: rewritten into structured code before
lowering (srcdiff/frontend/jumps.py).  The corpus checks them against finite differences;
here: closed forms, what the generated code looks like, and what is refused."""
import numpy as np
import pytest

import srcdiff
from corpus import X, newton_cubic, newton_return, piecewise, skip_negatives, stop_at_first_large
from srcdiff import UnsupportedError
from srcdiff.program import program

BOTH = pytest.mark.parametrize("jit", [False, True])


@BOTH
@pytest.mark.parametrize("t, slope", [(-0.6, -1.0), (0.6, 1.2), (1.6, 2.0)])
def test_multiple_returns_take_the_path_the_value_took(jit, t, slope):
    assert srcdiff.grad(piecewise, jit=jit)(t) == pytest.approx(slope)


@BOTH
def test_solvers_that_leave_their_loop_early(jit):
    root = newton_cubic(1.7)
    assert srcdiff.grad(newton_cubic, jit=jit)(1.7) == pytest.approx(1 / (3 * root ** 2 + 1))
    assert srcdiff.grad(newton_return, jit=jit)(3.0) == pytest.approx(0.5 / np.sqrt(3.0))


@BOTH
def test_break_and_continue_match_closed_forms(jit):
    # stops before x[3] = 1.2: the sum of squares of x[0..2]
    np.testing.assert_allclose(srcdiff.grad(stop_at_first_large, jit=jit)(X),
                               [0.6, 1.8, -0.8, 0, 0, 0])
    np.testing.assert_allclose(srcdiff.grad(skip_negatives, jit=jit)(X),
                               np.where(X < 0, 0.0, np.cos(X)))


def test_a_loop_that_breaks_records_the_iterations_that_ran():
    prog = program(stop_at_first_large, (0,), True)
    out, saved = prog.forward([X])
    # n_i: three whole iterations and the one that broke, not the six of range(6)
    assert [v for v in saved if isinstance(v, int)] == [4]
    text = prog.source
    forward = text.split("def stop_at_first_large_forward")[1].split("def ")[0]
    assert "        if stop:\n            break" in forward and "n_i = k_i" in forward
    backward = text.split("def stop_at_first_large_backward")[1].split("\ndef ")[0]
    assert "for k_i in range(n_i - 1, -1, -1):" in backward
    assert "if stop: break" in srcdiff.grad(stop_at_first_large).ir


def falls_off_the_end(x):
    if x > 0:
        return x * 2.0


def bare_return(x):
    if x > 0:
        return
    return x


@pytest.mark.parametrize("fun, message", [
    (falls_off_the_end, "a path through the function that ends without `return value`"),
    (bare_return, "`return` without a value"),
])
def test_paths_without_a_value_are_refused(fun, message):
    with pytest.raises(UnsupportedError, match=message):
        srcdiff.grad(fun, mode="source")(1.0)
