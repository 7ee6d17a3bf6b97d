"""The nopython helpers (srcdiff/compile/numba_runtime.py) against the Python ones
(srcdiff/runtime.py), on the shapes their faster paths take: vectors and matrices,
axes 0 and 1 (and -1), kept dimensions, axes of length one."""
import numba
import numpy as np
import pytest

from srcdiff import runtime
from srcdiff.compile import numba_runtime  # noqa: F401  (registers the nopython helpers)

RNG = np.random.default_rng(3)
M = RNG.standard_normal((3, 4))
V = RNG.standard_normal(5)


def compiled(helper, *args):
    params = ", ".join(f"a{k}" for k in range(len(args)))
    call = numba.njit(eval(f"lambda {params}: runtime.{helper.__name__}({params})",
                           {"runtime": runtime}))
    return call(*args)


@pytest.mark.parametrize("g, like", [(V, np.zeros(1)), (M, np.zeros((1, 4))),
                                     (M, np.zeros((3, 1))), (M, np.zeros((1, 1))),
                                     (M, np.zeros((3, 4))), (M, np.zeros(4)), (M, np.zeros(1))])
def test_unbroadcast(g, like):
    np.testing.assert_allclose(compiled(runtime.unbroadcast, g, like),
                               runtime.unbroadcast(g, like), rtol=1e-14)


@pytest.mark.parametrize("helper", [runtime.sum_along, runtime.max_along, runtime.mean_along])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_along_a_matrix(helper, axis, keep):
    got = compiled(helper, M, axis, keep)
    want = helper(M, axis, keep)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-14)
    column = np.asfortranarray(M)              # lanes that are not contiguous
    np.testing.assert_allclose(compiled(helper, column, axis, keep), want, rtol=1e-14)


@pytest.mark.parametrize("helper", [runtime.sum_along, runtime.max_along, runtime.norm_along])
@pytest.mark.parametrize("a", [V, V[::2], M, np.asfortranarray(M), M[:, 1:]],
                         ids=["vector", "strided", "matrix", "fortran", "sliced"])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_of_everything(helper, a, keep):
    # axis=None: a vector read as it is, a C-ordered array as one lane, others copied
    got = compiled(helper, a, None, keep)
    want = helper(a, None, keep)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_norm_of_a_vector_is_numpys_unscaled_sum():
    # np.linalg.norm(v) is generated as norm_along(v, None, False) (a loop, not BLAS)
    big = np.array([3e200, 4e200])
    with np.errstate(over="ignore"):
        assert np.isinf(np.linalg.norm(big)) and np.isinf(compiled(runtime.norm_along, big, None, False))
    np.testing.assert_allclose(compiled(runtime.norm_along, V, None, False), np.linalg.norm(V),
                               rtol=1e-15)


@pytest.mark.parametrize("g, axis", [(2.5, None), (RNG.standard_normal(3), 1),
                                     (RNG.standard_normal(4), 0), (RNG.standard_normal(4), -2),
                                     (np.arange(3), 1)])
def test_expand_reduced(g, axis):
    got = compiled(runtime.expand_reduced, g, M, axis, False)
    np.testing.assert_array_equal(got, runtime.expand_reduced(g, M, axis, False))


def test_parts_of_a_vector():
    arrays = (V[:2], V[:3], V[:1])
    g = np.arange(6.0)
    for part in range(3):
        np.testing.assert_array_equal(compiled(runtime.concat_part, g, arrays, 0, part),
                                      runtime.concat_part(g, arrays, 0, part))
        np.testing.assert_array_equal(compiled(runtime.stack_part, g, 0, part),
                                      runtime.stack_part(g, 0, part))


@pytest.mark.parametrize("a, b", [(M, V[:4]), (M[:, :1], V[:4]), (2.0, M), (M, 2.0), (1.0, 2.0)])
def test_broadcast_stand_in(a, b):
    got, want = compiled(runtime.broadcast_stand_in, a, b), runtime.broadcast_stand_in(a, b)
    assert np.shape(got) == np.shape(want) == np.shape(np.add(a, b))


@pytest.mark.parametrize("a, b", [(M, M.T), (M, V[:4]), (V[:3], M), (V[:4], V[:4])])
def test_matmul_stand_in(a, b):
    got, want = compiled(runtime.matmul_stand_in, a, b), runtime.matmul_stand_in(a, b)
    assert np.shape(got) == np.shape(want) == np.shape(a @ b)


@pytest.mark.parametrize("a, axis, keep", [(M, 1, False), (M, 0, True), (M, -1, True),
                                           (M, None, True), (M, None, False), (V, 0, False),
                                           (V, 0, True), (V, None, True)])
def test_reduced_stand_in(a, axis, keep):
    got, want = compiled(runtime.reduced_stand_in, a, axis, keep), runtime.reduced_stand_in(a, axis, keep)
    assert np.shape(got) == np.shape(want) == np.shape(np.sum(a, axis=axis, keepdims=keep))


TIED = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, -1.0, 0.0, 2.0], [np.nan, 1.0, 4.0, 4.0]])
_EXTREME_GRAD = numba.njit(lambda g, ans, a, axis, keep: runtime.extreme_grad(g, ans, a, axis, keep))


@pytest.mark.slow
@pytest.mark.parametrize("a", [TIED, np.asfortranarray(TIED), TIED[1], TIED[1, ::2],
                               TIED.reshape(2, 2, 3), np.float64(2.0)],
                         ids=["matrix", "fortran", "vector", "strided", "3-d", "number"])
def test_extreme_grad(a):
    # ties share g, NaN lanes give NaN, a cotangent with inf gives NaN off the maxima
    for reduce in (np.max, np.min):
        for axis in (None, 0, 1, -1)[:np.ndim(a) + 1 if np.ndim(a) < 2 else 4]:
            for keep in (False, True):
                ans = reduce(a, axis=axis, keepdims=keep)
                shape = np.shape(ans)
                for g in (1.5 + np.arange(np.size(ans)).reshape(shape), np.full(shape, np.inf)):
                    g = g if shape else float(g)
                    with np.errstate(invalid="ignore"):
                        want = runtime.extreme_grad(g, ans, a, axis, keep)
                    got = _EXTREME_GRAD(g, ans, a, axis, keep)
                    assert np.shape(got) == np.shape(want), (reduce, axis, keep)
                    np.testing.assert_array_equal(got, want)
