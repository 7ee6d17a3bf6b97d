"""srcdiff's vectorised exp and tanh (srcdiff/compile/vector_math.py), the ones compiled
code computes, against NumPy's: within 3 units in the last place (exp: 1), special values exactly."""
import sys

import numba
import numpy as np
import pytest

import srcdiff
from srcdiff.compile.vector_math import NUMPY, exp, tanh
from srcdiff.program import program

RNG = np.random.default_rng(7)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-300, -1e-300,
                    709.78, 709.79, 709.8, -708.39, -708.4, -720.0, -745.13, -745.14, -746.0,
                    0.3465, 0.3466, 0.624, 0.625, 0.626, -0.625, 19.06, 19.07, -19.07, 22.0, 30.0])
ACROSS = np.concatenate([RNG.standard_normal(20000) * s for s in (1e-9, 1e-3, 0.3, 1, 3, 30, 300)]
                        + [RNG.uniform(-750, 712, 20000), SPECIAL])


@numba.njit
def _compiled_exp(x):
    return exp(x)


@numba.njit
def _compiled_tanh(x):
    return tanh(x)


def _ulps(got, want):
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(all="ignore"):
        apart = np.abs(got - want) / np.spacing(np.abs(want))
    return np.where(same, 0.0, apart)


@pytest.mark.parametrize("ours, numpys", [(_compiled_exp, np.exp), (_compiled_tanh, np.tanh)])
def test_within_two_ulps_of_numpy_and_special_values_exact(ours, numpys):
    with np.errstate(all="ignore"):
        want = numpys(ACROSS)
    got = ours(ACROSS)
    assert _ulps(got, want).max() <= 3.0
    with np.errstate(all="ignore"):
        special = numpys(SPECIAL)
    got = ours(SPECIAL)
    exact = ~np.isfinite(special) | (special == 0) | (np.abs(SPECIAL) >= 20)
    np.testing.assert_array_equal(got[exact], special[exact])
    assert np.array_equal(np.signbit(got), np.signbit(special))


def test_subnormal_results_round_once():
    x = np.linspace(-745.1, -708.4, 2001)
    assert _ulps(_compiled_exp(x), np.exp(x)).max() <= 1.0 + 1e-9


@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.complex64, np.int64])
def test_other_dtypes_follow_numpy(dtype):
    x = (np.array([0.5, -2.0, 3.0]) * (1 + 1j if np.dtype(dtype).kind == "c" else 1)).astype(dtype)
    for ours, numpys in ((_compiled_exp, np.exp), (_compiled_tanh, np.tanh)):
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
    assert NUMPY.exp is exp and NUMPY.tanh is tanh and NUMPY.zeros is np.zeros
    stem = program(act, (0,), True, "auto").compiled.path.stem
    assert sys.modules[stem + "_jit"].np is NUMPY and sys.modules[stem].np is np
