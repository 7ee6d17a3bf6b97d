"""srcdiff's vectorised exp, tanh, log and log1p (srcdiff/compile/vector_math.py), the ones
compiled code computes, against NumPy's: within 1 to 3 units in the last place, special
values exactly."""
import sys

import numba
import numpy as np
import pytest

import srcdiff
from srcdiff.compile.vector_math import NUMPY, exp, log, log1p, tanh
from srcdiff.program import program

RNG = np.random.default_rng(7)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-300, -1e-300,
                    709.78, 709.79, 709.8, -708.39, -708.4, -720.0, -745.13, -745.14, -746.0,
                    0.3465, 0.3466, 0.624, 0.625, 0.626, -0.625, 19.06, 19.07, -19.07, 22.0, 30.0])
ACROSS = np.concatenate([RNG.standard_normal(20000) * s for s in (1e-9, 1e-3, 0.3, 1, 3, 30, 300)]
                        + [RNG.uniform(-750, 712, 20000), SPECIAL])


def _compiled(ufunc):
    """``ufunc`` called from compiled code (the way generated code calls it)."""
    return numba.njit(lambda x: ufunc(x))


_compiled_exp, _compiled_tanh, _compiled_log, _compiled_log1p = map(
    _compiled, (exp, tanh, log, log1p))


LOG_SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -1e-300, 5e-324, 1e-310,
                        2.2250738585072014e-308, 1.0, np.nextafter(1.0, 2), np.nextafter(1.0, 0),
                        1.4142135623730951, 1.4142135623730954, 0.7071067811865475, 2.0,
                        1.7976931348623157e308, -1 + 1e-16, -0.5, 1e-20, -1e-20])
POSITIVE = np.concatenate([np.exp(RNG.uniform(-745, 709.7, 50000)), RNG.uniform(0.5, 2.0, 50000),
                           np.abs(LOG_SPECIAL)])
AROUND_ZERO = np.concatenate([RNG.uniform(-1, 1, 50000) * 10.0 ** RNG.uniform(-25, 0, 50000),
                              np.exp(RNG.uniform(-40, 709, 50000)), RNG.uniform(-1, 0, 20000),
                              LOG_SPECIAL])


def _ulps(got, want):
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(all="ignore"):
        apart = np.abs(got - want) / np.spacing(np.abs(want))
    return np.where(same, 0.0, apart)


@pytest.mark.parametrize("ours, numpys, ulps", [(_compiled_exp, np.exp, 1),
                                                (_compiled_tanh, np.tanh, 3)])
def test_within_a_few_ulps_of_numpy_and_special_values_exact(ours, numpys, ulps):
    with np.errstate(all="ignore"):
        want = numpys(ACROSS)
    got = ours(ACROSS)
    assert _ulps(got, want).max() <= ulps
    with np.errstate(all="ignore"):
        special = numpys(SPECIAL)
    got = ours(SPECIAL)
    exact = ~np.isfinite(special) | (special == 0) | (np.abs(SPECIAL) >= 20)
    np.testing.assert_array_equal(got[exact], special[exact])
    assert np.array_equal(np.signbit(got), np.signbit(special))


@pytest.mark.parametrize("ours, numpys, points, ulps", [
    (_compiled_log, np.log, POSITIVE, 1), (_compiled_log1p, np.log1p, AROUND_ZERO, 2)])
def test_logarithms_within_an_ulp_or_two_of_numpy(ours, numpys, points, ulps):
    with np.errstate(all="ignore"):
        want, special = numpys(points), numpys(LOG_SPECIAL)
    assert _ulps(ours(points), want).max() <= ulps
    got = ours(LOG_SPECIAL)        # log of 0, of negatives, inf, NaN, subnormals, signed zero
    exact = ~np.isfinite(special) | (special == 0)
    np.testing.assert_array_equal(got[exact], special[exact])
    signed = ~np.isnan(special)          # (a NaN's sign bit means nothing)
    assert np.array_equal(np.signbit(got[signed]), np.signbit(special[signed]))
    assert _ulps(got, special).max() <= ulps


def test_subnormal_results_round_once():
    x = np.linspace(-745.1, -708.4, 2001)
    assert _ulps(_compiled_exp(x), np.exp(x)).max() <= 1.0 + 1e-9


@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.complex64, np.int64])
def test_other_dtypes_follow_numpy(dtype):
    complex_ = np.dtype(dtype).kind == "c"
    signed = np.array([1.5, -2.0, 3.0]) * (1 + 1j if complex_ else 1)
    for ours, numpys in ((_compiled_exp, np.exp), (_compiled_tanh, np.tanh),
                         (_compiled_log, np.log), (_compiled_log1p, np.log1p)):
        real_domain = numpys in (np.exp, np.tanh) or complex_
        x = (signed if real_domain else np.abs(signed)).astype(dtype)
        got = ours(x)
        assert got.dtype == numpys(x).dtype
        np.testing.assert_allclose(got, numpys(x), rtol=4 * np.finfo(got.dtype).eps)


def test_the_compiled_module_reads_them_and_python_reads_numpy():
    def act(x):
        return np.sum(np.tanh(x) + 1.0 / (1.0 + np.exp(-x)))

    x = RNG.standard_normal(200)
    compiled, python = srcdiff.grad(act), srcdiff.grad(act, jit=False)
    np.testing.assert_allclose(compiled(x), python(x), rtol=1e-14)
    assert compiled.jitted, compiled.jit_reason
    assert NUMPY.exp is exp and NUMPY.tanh is tanh and NUMPY.log is log and NUMPY.log1p is log1p
    assert NUMPY.zeros is np.zeros
    stem = program(act, (0,), True, "auto").compiled.path.stem
    assert sys.modules[stem + "_jit"].np is NUMPY and sys.modules[stem].np is np


# ------------------------------------------------------------ sums in NumPy's order

@numba.njit
def _compiled_sum(a):
    return NUMPY.sum(a)


@numba.njit
def _compiled_mean(a):
    return NUMPY.mean(a)


def test_compiled_sums_are_numpys_to_the_last_bit():
    # NumPy sums pairwise (blocks of 128, 8 accumulators); Numba one element at a time
    lengths = list(range(0, 300)) + [1000, 4097, 100_001]
    for n in lengths:
        a = RNG.standard_normal(n) * 10.0 ** RNG.uniform(-8, 8, n)
        assert _compiled_sum(a) == np.sum(a), n
        if n:
            assert _compiled_mean(a) == np.mean(a), n
    v = RNG.standard_normal(3001)
    for a in (v[::3], v[::-2], v.reshape(3001, 1)[:, 0], v[1:].reshape(100, 30),
              v[1:].reshape(100, 30).T, v[1:].reshape(10, 20, 15).T):
        assert _compiled_sum(a) == np.sum(a) and _compiled_mean(a) == np.mean(a)


def test_other_sums_are_numbas():
    m = RNG.standard_normal((30, 20))
    for a in (m[:, ::2], m[::2].T, np.arange(7), m.astype(np.float32)):
        np.testing.assert_allclose(_compiled_sum(a), np.sum(a), rtol=1e-5)   # (float32)
        np.testing.assert_allclose(_compiled_mean(a), np.mean(a), rtol=1e-5)
    assert np.isnan(_compiled_mean(np.empty(0)))
    axis_sum = numba.njit(lambda a: NUMPY.sum(a, axis=1))
    np.testing.assert_allclose(axis_sum(m), np.sum(m, axis=1), rtol=1e-14)


def logistic_loss(w, X, t):
    z = X @ w
    return np.mean(np.log1p(np.exp(-t * z))) + np.sum(np.log(w * w + 1.0))


def test_compiled_gradients_through_the_logarithms_and_sums():
    # the compiled module's log, log1p, exp, sum and mean: finite differences, and the
    # Python mode's gradient (NumPy's functions) to a few ulps
    w = RNG.standard_normal(6)
    X = RNG.standard_normal((300, 6))
    t = np.sign(RNG.standard_normal(300))
    g = srcdiff.grad(logistic_loss)
    assert srcdiff.check_grad(logistic_loss, w, X, t) < 1e-7
    np.testing.assert_allclose(g(w, X, t), srcdiff.grad(logistic_loss, jit=False)(w, X, t),
                               rtol=1e-13)
    assert g.jitted, g.jit_reason
