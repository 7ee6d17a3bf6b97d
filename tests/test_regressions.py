"""Inputs that once gave wrong gradients or the wrong error (found by adversarial review)."""
import types

import numpy as np
import pytest
from scipy.special import multigammaln

import srcdiff
from srcdiff import UnsupportedError

BOTH = pytest.mark.parametrize("jit", [False, True])


def sym(a, b):
    m = np.array([[a, b], [b, a]])
    return np.sum(m @ np.array([1.0, 2.0]))


def rotation(t):
    c, s = np.cos(t), np.sin(t)
    r = np.array([[c, -s], [s, c]])
    return np.sum(r @ np.array([1.0, 2.0]))


def cat_params(x, s):
    return np.sum(np.concatenate([x, [s, s]]) ** 2)


@BOTH
def test_nested_lists_of_differentiable_values(jit):
    ga, gb = srcdiff.grad(sym, wrt=(0, 1), jit=jit)(0.3, 0.7)
    assert (ga, gb) == pytest.approx((3.0, 3.0))
    t = 0.4
    assert srcdiff.grad(rotation, jit=jit)(t) == pytest.approx(-3 * np.sin(t) - np.cos(t))
    gs = srcdiff.grad(cat_params, wrt="s", jit=jit)(np.array([1.0, 2.0]), 0.5)
    assert gs == pytest.approx(2.0)


def transpose_negative(x):
    return np.sum(np.transpose(x, (-1, 0, 1)) * np.arange(24.0).reshape(4, 2, 3))


@BOTH
def test_transpose_with_negative_axes(jit):
    x = np.ones((2, 3, 4))
    expected = np.transpose(np.arange(24.0).reshape(4, 2, 3), (1, 2, 0))
    np.testing.assert_allclose(srcdiff.grad(transpose_negative, jit=jit)(x), expected)


def clip_hi(x, hi):
    return np.sum(np.clip(x, 0.0, hi))


def clip_none(x):
    return np.sum(np.clip(x, None, 0.5))


def fill(x, s):
    return np.sum(np.full_like(x, s) * x) + np.sum(np.full(3, s))


@BOTH
def test_bounds_and_fill_values_carry_gradients(jit):
    x = np.array([0.3, -1.2, 0.7, 2.0])
    assert srcdiff.grad(clip_hi, wrt="hi", jit=jit)(x, 0.5) == pytest.approx(2.0)
    np.testing.assert_allclose(srcdiff.grad(clip_none, jit=jit)(x), [1, 1, 0, 0])
    assert srcdiff.grad(fill, wrt="s", jit=jit)(np.array([1.0, 2.0, 3.0]), 0.5) == pytest.approx(9.0)


def linspace_end(b):
    return np.sum(np.linspace(0.0, b, 5) ** 2)


def arange_of_shape(x):
    return np.sum(x * np.arange(x.shape[0]))


def test_functions_without_rules_refuse_active_inputs_but_serve_constants():
    with pytest.raises(UnsupportedError, match="np.linspace"):
        srcdiff.grad(linspace_end)(2.0)
    np.testing.assert_allclose(srcdiff.grad(arange_of_shape)(np.ones(3)), [0, 1, 2])


def alias_then_add(x):
    y = x
    y += 1.0
    return np.sum(x ** 2)


def view_then_scale(x):
    y = x[0:2]
    y *= 3.0
    return np.sum(x ** 2)


def fresh_then_add(x):
    y = x * 2.0
    y += 1.0
    x += 1.0
    return np.sum(y * x)


@pytest.mark.parametrize("fun", [alias_then_add, view_then_scale])
def test_augmented_assignment_into_shared_arrays_is_refused(fun):
    with pytest.raises(UnsupportedError, match="in-place write into `y`.*shares"):
        srcdiff.grad(fun, mode="source")(np.ones(4))


def test_augmented_assignment_on_fresh_values_is_fine():
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(srcdiff.grad(fresh_then_add)(x), 4 * x + 3)


act = np.tanh
cfg = types.ModuleType("cfg")


def uses_module_attribute(x):
    return np.sum(x * cfg.SCALE)


def test_module_attribute_values_are_read_at_each_call():
    cfg.SCALE = 2.0
    g = srcdiff.grad(uses_module_attribute)
    np.testing.assert_allclose(g(np.ones(3)), 2.0)
    cfg.SCALE = 5.0
    np.testing.assert_allclose(g(np.ones(3)), 5.0)


def index_at(x, i):
    return x[i] * 2.0


def test_out_of_bounds_index_raises_under_numba():
    with pytest.raises(IndexError):
        srcdiff.grad(index_at)(np.ones(3), 5)


def power_wrt_exponent(x, p):
    return np.sum(x ** p)


def power_zero(x):
    return np.sum(x ** 0.0 + x ** 2.0)


@BOTH
def test_power_is_finite_where_its_derivative_is(jit):
    x = np.array([0.0, 1.0, 2.0])
    assert srcdiff.grad(power_wrt_exponent, wrt="p", jit=jit)(x, 2.0) == pytest.approx(4 * np.log(2))
    np.testing.assert_allclose(srcdiff.grad(power_zero, jit=jit)(x), 2 * x)


def unbroadcast(x, y):
    return np.sum(x * y + x)


def loss(x, loss_forward):
    return np.sum(x * loss_forward)


def test_user_names_never_collide_with_generated_ones():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    gx, gy = srcdiff.grad(unbroadcast, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y + 1)
    np.testing.assert_allclose(gy, x)
    np.testing.assert_allclose(srcdiff.grad(loss)(x, y), y)


def divide_call(x):
    return np.divide(1.0, x) + np.power(x, 0.5)


def reciprocal_call(x):
    return np.divide(1.0, x)


@BOTH
def test_numpy_calls_keep_numpy_semantics(jit):
    assert "np.divide(1.0, x)" in srcdiff.grad(divide_call).source
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(srcdiff.grad(divide_call, jit=jit)(-1.0))   # not complex, not a TypeError
        assert srcdiff.grad(reciprocal_call, jit=jit)(0.0) == -np.inf


def mask_2d(a):
    return np.sum(np.sin(a[a > 0]))


def test_numba_internal_failures_fall_back_to_python():
    a = np.array([[0.5, -1.0], [2.0, 0.1]])
    g = srcdiff.grad(mask_2d)
    np.testing.assert_allclose(g(a), np.cos(a) * (a > 0))
    assert g.jitted is False and g.jit_reason


def concat_flat(a, b):
    return np.sum(np.concatenate([a, b], axis=None) * np.arange(6.0))


def test_concatenate_with_axis_none():
    ga, gb = srcdiff.grad(concat_flat, wrt=(0, 1))(np.ones((2, 2)), np.ones(2))
    np.testing.assert_allclose(ga, [[0, 1], [2, 3]])
    np.testing.assert_allclose(gb, [4, 5])


# -- found while writing the benchmarks (natural NumPy, as a scientist writes it) -------

def shape_unpacked(x):
    n, d = x.shape
    pos = d                       # an int alias: += rebinds it, nothing is shared
    t = 0.0
    for i in range(n):
        for j in range(d):
            t = t + x[i, j] * pos
            pos += 1
    a, b = x[:, 0]
    return t + a * b


def unpacks_the_wrong_length(x):
    a, b = x
    return a * b


def float_alias(x):
    a = 2.0
    b = a
    b += x
    return a * b


@pytest.mark.parametrize("jit", [False, True])
def test_unpacking_and_numbers_rebound_by_augmented_assignment(jit):
    m = np.arange(6.0).reshape(2, 3) / 5
    srcdiff.check_grad(shape_unpacked, m, mode="source", jit=jit)
    with pytest.raises(ValueError, match="cannot unpack"):
        srcdiff.grad(unpacks_the_wrong_length, mode="source", jit=jit)(np.ones(3))
    assert srcdiff.grad(float_alias, mode="source", jit=jit)(1.5) == 2.0


def library_call_on_constants(x, m):
    d = x.shape[0]
    return np.sum(x * x) * multigammaln(0.5 * (d + m + 1), d)


def library_call_on_a_differentiable_value(x):
    return multigammaln(np.sum(x), 2)


def test_library_functions_are_called_not_inlined_and_the_rest_stays_compiled():
    g = srcdiff.grad(library_call_on_constants)
    x = np.ones(3)
    np.testing.assert_allclose(g(x, 0.0), 2 * x * multigammaln(2.0, 3))
    assert "raise" not in g.source and "multigammaln(" in g.source
    # computed in Python before the compiled code: the rest stays compiled
    assert g.jitted, g.jit_reason
    assert "def library_call_on_constants_constants(" in g.source
    with pytest.raises(UnsupportedError, match="call to `multigammaln` on a differentiable value"):
        srcdiff.grad(library_call_on_a_differentiable_value, mode="source")(np.ones(3) * 3)
