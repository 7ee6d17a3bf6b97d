"""mode="auto": what the source transform refuses runs on the tape, which says why it
took over (``.mode``, ``.fallback_reason``) and gives the right gradient."""
import numpy as np
import pytest

import srcdiff
from test_loops import (for_else, previous_iteration, reads_loop_local, returns_loop_local,
                        view_read_in_next_iteration, writes_while_iterating)

X = np.array([0.3, 0.9, 1.2])


def recursive(x, n):
    if n == 0:
        return x
    return np.sin(recursive(x, n - 1)) * x


def generator(x):
    return sum(x[i] ** 2 for i in range(3))


def comprehension(x):
    return np.sum(np.stack([x[i] * x[i] for i in range(3)]))


def guarded(x):
    try:
        y = np.log(x)
    except FloatingPointError:
        y = x
    return np.sum(y)


def closure(x):
    def inner(a):
        return a * x
    return np.sum(inner(x) ** 2)


def appended(x):
    out = []
    for i in range(3):
        out.append(x[i] * (i + 1))
    return np.sum(np.stack(out) ** 2)


def dictionary(x):
    d = {"a": x * 2, "b": x ** 2}
    return np.sum(d["a"] * d["b"])


class Model:
    def __init__(self):
        self.w = np.array([1.0, 2.0, 3.0])

    def loss(self, x):
        return np.sum(self.w * x ** 2)


MODEL = Model()


def method_call(x):
    return MODEL.loss(x)


@pytest.mark.parametrize("fun, args, construct", [
    (recursive, (0.7, 3), "recursive call to `recursive`"),
    (generator, (X,), "generator expression"),
    (comprehension, (X,), "list comprehension"),
    (guarded, (X,), "try/except"),
    (closure, (X,), "nested function"),
    (appended, (X,), "expression statement"),
    (dictionary, (X,), "dict"),
    (method_call, (X,), "method `.loss()`"),
    (reads_loop_local, (X,), "use of `last` after the loop"),
    (for_else, (X,), "`for ... else`"),
    (previous_iteration, (X,), "use of `prev` before the loop"),
    (returns_loop_local, (X,), "`return` inside a loop of `v`"),
    (writes_while_iterating, (X,), "the array the loop at line"),
])
def test_refused_functions_run_on_the_tape_with_the_right_gradient(fun, args, construct):
    g = srcdiff.grad(fun)
    g(*args)
    assert g.mode == "tape"
    assert construct in g.fallback_reason and f"{fun.__code__.co_filename}:" in g.fallback_reason
    assert not g.jitted and construct in g.jit_reason
    srcdiff.check_grad(fun, *args)                        # auto mode, through the tape
    with pytest.raises(srcdiff.SrcdiffError, match="differentiated on the tape because"):
        g.source


def test_what_the_tape_cannot_follow_either_is_an_error_not_a_gradient():
    with pytest.raises(RuntimeError, match="changed in place through a view"):
        srcdiff.grad(view_read_in_next_iteration)(X)


def test_functions_without_source_run_on_the_tape():
    namespace = {"np": np}
    exec("def f(x):\n    return np.sum(np.tanh(x))\n", namespace)
    g = srcdiff.grad(namespace["f"])
    close = np.testing.assert_allclose
    close(g(X), 1 - np.tanh(X) ** 2)
    assert g.mode == "tape" and "source is not available" in g.fallback_reason
    assert srcdiff.grad(np.sin)(1.0) == pytest.approx(np.cos(1.0))


def test_source_mode_does_not_fall_back_and_supported_code_stays_on_source():
    with pytest.raises(srcdiff.UnsupportedError, match="generator expression"):
        srcdiff.grad(generator, mode="source")(X)

    def plain(x):
        return np.sum(x * x)
    g = srcdiff.grad(plain)
    g(X)
    assert g.mode == "source" and g.fallback_reason is None


@pytest.mark.parametrize("api", ["grad", "value_and_grad", "vjp", "jacobian"])
def test_every_transform_takes_mode_tape(api):
    def f(x):
        return np.sin(x) * x
    x = np.array([0.5, 1.5])
    expected = np.cos(x) * x + np.sin(x)
    if api == "grad":
        got = srcdiff.grad(lambda x: np.sum(np.sin(x) * x), mode="tape")(x)
    elif api == "value_and_grad":
        value, got = srcdiff.value_and_grad(lambda x: np.sum(np.sin(x) * x), mode="tape")(x)
        assert value == pytest.approx(np.sum(np.sin(x) * x))
    elif api == "vjp":
        out, pullback = srcdiff.vjp(f, x, mode="tape")
        np.testing.assert_allclose(out, f(x))
        got = pullback(np.ones(2))[0]
        np.testing.assert_allclose(pullback(np.ones(2))[0], got)   # the graph is kept
    else:
        got = np.diag(srcdiff.jacobian(f, mode="tape")(x))
    np.testing.assert_allclose(got, expected)


def test_tape_mode_leaves_inputs_alone_and_refuses_tuples():
    x = X.copy()

    def writes(x):
        x[0] = 5.0
        return np.sum(x * x)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        srcdiff.grad(writes, mode="tape")(x)
    np.testing.assert_array_equal(x, X)

    def pair(x):
        return x, x
    with pytest.raises(TypeError, match="returned a tuple"):
        srcdiff.vjp(pair, X, mode="tape")
