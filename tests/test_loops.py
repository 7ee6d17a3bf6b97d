"""`for` loops over range in the source transform: a corpus checked against central
differences in Numba and in Python, what the adjoint stores, and what is refused."""
import numpy as np
import pytest

import srcdiff
from srcdiff import UnsupportedError
from srcdiff.program import program

BOTH = pytest.mark.parametrize("jit", [False, True])


def recurrence(x, n):
    s = 0.0
    y = x[0]
    for i in range(n):
        y = np.sin(y) * x[1] + s
        s = s + y * y
    return s


def lotka_volterra(a, b, steps):
    u = 1.0
    v = 0.5
    dt = 0.01
    for k in range(steps):
        du = a * u - b * u * v
        dv = b * u * v - v
        u = u + dt * du
        v = v + dt * dv
    return u + v


def branch_in_loop(x):
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            acc = acc + x[i] * x[i]
        else:
            acc = acc * 0.5 - x[i]
    return acc


def loop_in_branch(x, on):
    t = np.sum(x)
    if on > 0:
        for i in range(3):
            t = np.tanh(t) + x[i]
    return t


def nested_loops(x):
    t = 0.0
    for i in range(3):
        for j in range(2):
            t = t + np.cos(x[i] * (j + 1) + t)
    return t


def strided_and_backwards(x):
    t = 1.0
    for i in range(5, 0, -2):
        t = t * x[i] + 1.0
    for j in range(0, 6, 4):
        t = t / (1.0 + x[j] * x[j])
    return t


def vector_state(w, x):
    h = np.zeros(3)
    for t in range(4):
        h = np.tanh(w @ h + x[t])
    return np.sum(h * h)


def zero_trips(x, n):
    y = x * 2.0
    for i in range(n):
        y = y * y
    return np.sum(y)


def rk4(p, steps):
    y = 1.0
    h = 0.05
    for i in range(steps):
        k1 = -p * y
        k2 = -p * (y + 0.5 * h * k1)
        k3 = -p * (y + 0.5 * h * k2)
        k4 = -p * (y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


X = np.array([0.3, 0.9, -0.4, 1.2, 0.7, -0.2])


@BOTH
def test_corpus_against_finite_differences(jit):
    rng = np.random.default_rng(0)
    srcdiff.check_grad(recurrence, X[:2], 5, jit=jit)
    srcdiff.check_grad(lotka_volterra, 1.1, 0.4, 200, wrt=(0, 1), jit=jit)
    srcdiff.check_grad(branch_in_loop, X, jit=jit)
    for on in (1, 0):
        srcdiff.check_grad(loop_in_branch, X[:3], on, jit=jit)
    srcdiff.check_grad(nested_loops, X[:3], jit=jit)
    srcdiff.check_grad(strided_and_backwards, X, jit=jit)
    srcdiff.check_grad(vector_state, rng.standard_normal((3, 3)) * 0.5,
                       rng.standard_normal((4, 3)), wrt=(0, 1), jit=jit)
    for n in (0, 1, 3):
        srcdiff.check_grad(zero_trips, X[:2] * 0.5, n, jit=jit)


@BOTH
def test_rk4_against_the_closed_form(jit):
    p, steps, h = 0.7, 40, 0.05
    factor = 1 - p * h + (p * h) ** 2 / 2 - (p * h) ** 3 / 6 + (p * h) ** 4 / 24
    dfactor = -h + p * h * h - (p * h) ** 2 * h / 2 + (p * h) ** 3 * h / 6
    expected = steps * factor ** (steps - 1) * dfactor
    assert srcdiff.grad(rk4, jit=jit)(p, steps) == pytest.approx(expected, rel=1e-12)


def test_loops_stay_compiled():
    for fun, args in ((lotka_volterra, (1.1, 0.4, 20)), (branch_in_loop, (X,)),
                      (nested_loops, (X[:3],)), (rk4, (0.7, 10))):
        g = srcdiff.grad(fun)
        g(*args)
        assert g.jitted, (fun.__name__, g.jit_reason)


def linear_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * 0.5
    return s


def nonlinear(x, n):
    y = x
    for i in range(n):
        y = np.sin(y)
    return y


# One float64 per iteration for the one carried scalar, nothing for the temporaries.
# (linear_sum's adjoint reads s only for its shape, in unbroadcast: storing shapes
# instead of values would bring it to 0.)
@pytest.mark.parametrize("fun, bytes_per_iteration", [(linear_sum, 8), (nonlinear, 8)])
def test_stored_state_is_what_the_adjoint_reads(fun, bytes_per_iteration):
    n = 10 ** 6
    prog = program(fun, (0,), True)
    _, saved = prog.forward([0.3, n])
    stored = sum(np.asarray(v).nbytes for v in saved if isinstance(v, np.ndarray))
    assert stored <= bytes_per_iteration * n + 64
    assert srcdiff.grad(fun)(0.3, n) == pytest.approx(
        0.5 * n if fun is linear_sum else _nonlinear_derivative(0.3, n), rel=1e-9)


def _nonlinear_derivative(x, n):
    d = 1.0
    for _ in range(n):
        d *= np.cos(x)
        x = np.sin(x)
    return d


def doubling(x):
    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2
    return y


def newton_sqrt(a):
    x = 1.0
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def never_runs(x):
    y = x * 3.0
    while np.sum(y) > 1e9:
        y = y * 0.5
    return np.sum(y * y)


@BOTH
def test_norm_doubling_while_loop_vjp(jit):
    x = np.array([0.5, -1.2, 0.3])
    v = np.array([0.1, 1.0, 0.0001])
    y, pullback = srcdiff.vjp(doubling, x, mode="source", jit=jit)
    k = int(round(np.log2(y[0] / x[0])))
    assert np.linalg.norm(y) >= 1000 and np.linalg.norm(y / 2) < 1000
    (dx,) = pullback(v)
    np.testing.assert_allclose(dx, 2.0 ** k * v)


@BOTH
def test_while_loops_with_data_dependent_trip_counts(jit):
    for a in (2.0, 9.0, 0.3):
        assert srcdiff.grad(newton_sqrt, jit=jit)(a) == pytest.approx(0.5 / np.sqrt(a))
    srcdiff.check_grad(never_runs, X[:3], jit=jit)
    g = srcdiff.grad(newton_sqrt)
    g(2.0)
    assert g.jitted, g.jit_reason


def reads_loop_local(x):
    for i in range(3):
        last = x[i]
    return last


def loops_over_array(x):
    t = 0.0
    for v in x:
        t = t + v
    return t


def for_else(x):
    t = 0.0
    for i in range(3):
        t = t + x[i]
    else:
        t = t * 2
    return t


@pytest.mark.parametrize("fun, message", [
    (reads_loop_local, "use of `last` after the loop that first assigns it"),
    (loops_over_array, "`for` over something other than range"),
    (for_else, "`for ... else`"),
])
def test_refused_loops(fun, message):
    with pytest.raises(UnsupportedError, match=message):
        srcdiff.grad(fun)(X)


def seed_jacobian(a):
    b = np.zeros(3)
    b[0] = a[0] ** 2 + a[1]
    b[1] = a[1] + a[2]
    b[2] = a[2] ** 3
    return b


def fill_buffer(x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sin(x[i]) * x[(i + 1) % n]
    return np.sum(out * out)


def accumulate_modulo(x):
    y = np.zeros(3)
    for i in range(x.shape[0]):
        y[i % 3] += x[i] * x[i]
    return np.sum(y * np.arange(1.0, 4.0))


def overwrite_after_read(x):
    y = x * 1.0
    t = y[0] * 2.0
    y[0] = y[1] * 3.0
    return np.sum(y * y) + t


def matrix_writes(x):
    m = np.zeros((2, 2))
    m[0, 1] = x[0]
    m[1, :] = x * 2.0
    return np.sum(m @ m)


def write_into_alias(x):
    y = x
    y[0] = 1.0
    return np.sum(x)


@BOTH
def test_writes_into_arrays(jit):
    jac = srcdiff.jacobian(seed_jacobian, jit=jit)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(jac, [[2, 1, 0], [0, 1, 1], [0, 0, 27]])
    for fun in (fill_buffer, accumulate_modulo, overwrite_after_read):
        srcdiff.check_grad(fun, X[:5], jit=jit)
    srcdiff.check_grad(matrix_writes, X[:2], jit=jit)


def test_writes_stay_compiled_and_inputs_untouched():
    x = X[:5].copy()
    g = srcdiff.grad(accumulate_modulo)
    g(x)
    assert g.jitted, g.jit_reason
    np.testing.assert_array_equal(x, X[:5])


def test_write_into_a_shared_array_is_refused():
    with pytest.raises(UnsupportedError, match="in-place write into `y`, whose array `x` shares"):
        srcdiff.grad(write_into_alias)(X)
