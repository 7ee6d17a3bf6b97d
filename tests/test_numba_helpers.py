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


@pytest.mark.parametrize("a, b", [(M, V[:4]), (M[:, :1], V[:4]), (2.0, M), (M, 2.0), (1.0, 2.0),
                                  (V[:4], M), (np.ones((2, 1, 3)), np.ones((5, 1))),
                                  (np.arange(3), np.ones((2, 3))), (np.ones(0), np.ones(1))])
def test_broadcast_stand_in(a, b):
    got, want = compiled(runtime.broadcast_stand_in, a, b), runtime.broadcast_stand_in(a, b)
    assert np.shape(got) == np.shape(want) == np.shape(np.add(a, b))
    assert np.ndim(got) == 0 or got.strides == (0,) * got.ndim


def test_a_broadcast_stand_in_views_a_small_operand_not_a_large_one():
    # a new zero for each would cost as much as the small product it stands in for; a
    # large operand's memory is not kept alive by it
    small, large = np.arange(1.0, 15.0), np.ones((100, 14))
    assert np.shares_memory(compiled(runtime.broadcast_stand_in, small, 2.0), small)
    assert np.shares_memory(compiled(runtime.broadcast_stand_in, 2, small), small)
    assert not np.shares_memory(compiled(runtime.broadcast_stand_in, large, small), large)
    ints = np.arange(14)          # a stand-in of float products is of floats
    assert compiled(runtime.broadcast_stand_in, ints, 2.0).dtype == np.float64


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


# ------------------------------------------------ writes of arrays into parts of arrays

@numba.njit
def _write_at(a, index, value):
    runtime.write_at(a, index, value)
    return a


@numba.njit
def _scatter_add_to(a, index, value):
    return runtime.scatter_add_to(a, index, value)


WRITES = [(M, 1, V[:4]), (M, (slice(None), 2), V[:3]), (M, (slice(0, 2), slice(1, 3)), M[1:, 2:]),
          (M, slice(0, 2), V[:4]), (M, (slice(None), 1), V[:1]), (M, (1, 2), 5.0), (M, 1, 7.0),
          (M, (slice(0, 2), 1), V[3:1:-1]), (V, slice(None, None, 2), V[:3]),
          (np.zeros((2, 3, 4)), 1, M), (np.zeros((2, 3, 4)), (0, slice(None)), V[:4]),
          (M, (1, 2), np.array(4.0))]


@pytest.mark.parametrize("a, index, value", WRITES)
def test_write_at_writes_what_numpy_writes(a, index, value):
    want = a.copy()
    want[index] = value
    np.testing.assert_array_equal(_write_at(a.copy(), index, value), want)
    runtime.write_at(got := a.copy(), index, value)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("a, index, value", WRITES[:-1])   # (a 0-d array into an element:
def test_scatter_add_to_adds_what_numpy_adds(a, index, value):    # Numba cannot type it)
    want = a.copy()
    want[index] += value
    np.testing.assert_array_equal(_scatter_add_to(a.copy(), index, value), want)


@numba.njit
def _shift_right(a):
    runtime.write_at(a, slice(1, None), a[:-1])
    return a


@numba.njit
def _reverse(a):
    runtime.write_at(a, slice(None), a[::-1])
    return a


@numba.njit
def _add_shifted(a):
    return runtime.scatter_add_to(a, slice(1, None), a[:-1])


def test_writes_of_an_overlapping_value_read_it_first():
    # a value that is a view of the array written is copied before the write, as NumPy does
    for fun, numpy in ((_shift_right, lambda a: a.__setitem__(slice(1, None), a[:-1])),
                       (_reverse, lambda a: a.__setitem__(slice(None), a[::-1])),
                       (_add_shifted, lambda a: a.__setitem__(slice(1, None), a[1:] + a[:-1]))):
        for a in (V.copy(), M.copy()):
            want = a.copy()
            numpy(want)
            np.testing.assert_array_equal(fun(a.copy()), want)


def test_writes_of_a_mis_shaped_value_raise():
    # (Numba's own in-place += reads past the end of a shorter value: scatter_add_to checks)
    big = np.arange(100.0)
    for a, index, value in ((np.zeros(4), slice(None), np.ones(3)), (M, 0, np.ones(3)),
                            (M, slice(0, 2), np.ones((3, 4))), (np.zeros(8), slice(None), big[:3]),
                            (M, slice(0, 2), np.ones((2, 3))), (np.zeros((2, 1)), 0, np.ones(3))):
        for write in (_write_at, runtime.write_at, _scatter_add_to, runtime.scatter_add_to):
            with pytest.raises(ValueError):
                write(a.copy(), index, value)


def test_stack_push_grows_and_keeps_what_it_held():
    stack = runtime.stack_alloc(1, M)
    push = numba.njit(lambda s, k, v: runtime.stack_push(s, k, v))
    for k in range(5):
        stack = push(stack, k, M * k)
    np.testing.assert_array_equal(stack[:5], [M * k for k in range(5)])


@pytest.mark.parametrize("value", [2.5, V, M])
def test_run_push_grows_past_an_entry_left_out_and_refuses_another_shape(value):
    # (a nested loop's kept values skip the entry each run ends with: k may pass the end)
    push = numba.njit(lambda s, k, v: runtime.run_push(s, k, v))
    for write in (push, runtime.run_push):
        stack = runtime.stack_alloc(2, value)
        for k in (0, 1, 3, 8, 9):
            stack = write(stack, k, value * (k + 1))
        assert stack.shape[0] > 9
        for k in (0, 1, 3, 8, 9):
            np.testing.assert_array_equal(stack[k], value * (k + 1))
        if np.ndim(value):
            with pytest.raises(runtime.RunShapeChanged):
                write(stack, 10, value[:1])


def test_stack_store_copies_entries_of_the_stacks_shape_and_refuses_others():
    store = numba.njit(lambda s, k, v: runtime.stack_store(s, k, v))
    for value in (2.5, V, M, M.T, np.arange(24.0).reshape(2, 3, 4), M[:, ::2]):
        for write in (store, runtime.stack_store):
            stack = runtime.stack_alloc(3, value)
            write(stack, 1, value)
            np.testing.assert_array_equal(stack[1], value)
    # a value that would broadcast into the entry (a carried value that changed shape)
    for entry, value in ((V, V[:1]), (M, M[:1]), (M, 1.0 + 0.0 * V[:1])):
        for write in (store, runtime.stack_store):
            with pytest.raises(ValueError, match="changed shape"):
                write(runtime.stack_alloc(3, entry), 0, value)


def test_shape_proxy_keeps_the_dtype():
    for like in (np.zeros((2, 2), complex), np.zeros(3, bool), np.zeros((1, 1, 1), np.float32)):
        got = compiled(runtime.shape_proxy, np.array([2, 5, 3][:like.ndim]), like)
        want = runtime.shape_proxy(np.array([2, 5, 3][:like.ndim]), like)
        assert got.shape == want.shape and got.dtype == want.dtype == like.dtype
        assert not got.any()


@pytest.mark.parametrize("entries, value", [((3,), np.ones(3)), ((), 2.5)])
def test_keep_store_stores_an_entry_of_the_stacks_shape(entries, value):
    stack = np.zeros((4,) + entries)
    compiled(runtime.keep_store, stack, 2, value)
    np.testing.assert_array_equal(stack[2], value)
    runtime.keep_store(stack, 1, value)
    np.testing.assert_array_equal(stack[1], value)


@pytest.mark.parametrize("entries, value", [((3,), np.ones(2)), ((3,), 2.5), ((), np.ones(2)),
                                            ((3,), np.ones((1, 3)))])
def test_keep_store_of_another_shape_has_the_program_generated_again(entries, value):
    stack = np.zeros((4,) + entries)
    with pytest.raises(runtime.RunShapeChanged):
        compiled(runtime.keep_store, stack, 2, value)
    with pytest.raises(runtime.RunShapeChanged):
        runtime.keep_store(stack, 2, value)
    assert not stack.any()


def test_broadcast_stand_in_of_shapes_that_do_not_broadcast_raises():
    with pytest.raises(ValueError):
        compiled(runtime.broadcast_stand_in, M, V)
    with pytest.raises(ValueError):
        runtime.broadcast_stand_in(M, V)


@pytest.mark.parametrize("helper", [runtime.sum_along, runtime.mean_along])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_sums_of_a_whole_matrix_are_numpys_to_the_last_bit(helper, layout):
    # NumPy sums a whole array pairwise (in its memory's order); along an axis the
    # compiled sums are Numba's, an element at a time
    m = RNG.standard_normal((40, 300)) * 10.0 ** RNG.uniform(-8, 8, (40, 300))
    m = np.asarray(m, order=layout)
    for a in (m, m.T):
        np.testing.assert_array_equal(compiled(helper, a, None, False), helper(a, None, False))
        for axis in (0, 1):
            np.testing.assert_allclose(compiled(helper, a, axis, False), helper(a, axis, False),
                                       rtol=1e-12, atol=1e-12 * np.abs(m).max())
