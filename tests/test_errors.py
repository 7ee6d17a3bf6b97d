"""Every error srcdiff raises on purpose, with what its message must say."""
import numpy as np
import pytest

import srcdiff
from srcdiff import SourceUnavailableError, UnsupportedError


def vector_out(x):
    return x * 2


def test_grad_of_non_scalar_output_points_to_vjp_and_jacobian():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(3,\).*srcdiff.vjp.*srcdiff.jacobian"):
        srcdiff.grad(vector_out)(np.ones(3))


@pytest.mark.parametrize("bad", [np.arange(3), 3, np.array([True, False])])
def test_integer_inputs_cannot_be_differentiated(bad):
    def f(x):
        return np.sum(x * 2.0)

    with pytest.raises(TypeError, match=r"floating-point inputs.*argument 'x' \(position 0\).*astype\(float\)"):
        srcdiff.grad(f)(bad)


def test_lists_and_complex_are_refused_with_advice():
    def f(x):
        return np.sum(x)

    with pytest.raises(TypeError, match="pass a NumPy array"):
        srcdiff.grad(f)([1.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        srcdiff.grad(f)(np.ones(2, dtype=complex))


def test_builtin_without_source():
    with pytest.raises(SourceUnavailableError, match="without Python source.*wrap the call in a def"):
        srcdiff.grad(np.sin, mode="source")(1.0)


def test_function_without_source_file():
    namespace = {"np": np}
    exec("def f(x):\n    return np.sum(x)\n", namespace)
    with pytest.raises(SourceUnavailableError, match="source is not available.*define it in a .py file"):
        srcdiff.grad(namespace["f"], mode="source")(np.ones(2))


def test_two_lambdas_on_one_line_cannot_be_told_apart():
    pair = (lambda x: np.sum(x), lambda x: np.sum(x * 2))  # noqa: E731
    with pytest.raises(SourceUnavailableError, match="lambda.*define it with def"):
        srcdiff.grad(pair[1], mode="source")(np.ones(2))


def guarded(x):
    total = 0.0
    try:
        total = x[0] * 2.0
    except IndexError:
        total = 1.0
    return total


def test_unsupported_construct_names_file_line_and_hint():
    with pytest.raises(UnsupportedError) as info:
        srcdiff.grad(guarded, mode="source")(np.ones(3))
    err = info.value
    assert err.filename.endswith("test_errors.py")
    assert err.lineno == guarded.__code__.co_firstlineno + 2
    assert err.construct == "try/except" and err.col == 5
    assert "test_errors.py:" in str(err) and "guarded()" in str(err)
    assert "move error handling outside" in str(err)


def opaque_call(x):
    return np.sum(np.sinc(x))


def test_call_without_rule_on_active_value_raises_never_zero():
    with pytest.raises(UnsupportedError, match=r"call to `np\.sinc` on a differentiable value.*no derivative rule"):
        srcdiff.grad(opaque_call, mode="source")(np.ones(3))


def opaque_on_constant(x, n):
    k = np.sinc(n)
    return np.sum(x) * k


def test_call_without_rule_on_constants_is_fine():
    g = srcdiff.grad(opaque_on_constant)(np.ones(2), 0.5)
    np.testing.assert_allclose(g, np.sinc(0.5))


def in_place(x):
    y = np.zeros((3, 3))
    y[0][1] = x[0]
    return np.sum(y)


@pytest.mark.parametrize("fun, construct", [
    (in_place, "assignment into an attribute or nested item"),
])
def test_other_unsupported_constructs(fun, construct):
    with pytest.raises(UnsupportedError, match=construct):
        srcdiff.grad(fun, mode="source")(np.ones(3))


def test_norm_with_other_ord_is_refused():
    def f(x):
        return np.linalg.norm(x, ord=1)

    with pytest.raises(UnsupportedError, match=r"np.linalg.norm with ord=1.*supports ord in \(None,\)"):
        srcdiff.grad(f)(np.ones(3))


def test_list_of_active_values_to_a_reduction_is_refused():
    def f(x):
        return np.sum([x[0], x[1]])

    with pytest.raises(UnsupportedError, match=r"sequence of differentiable values.*np.array"):
        srcdiff.grad(f, mode="source")(np.ones(3))


def test_bad_options():
    with pytest.raises(ValueError, match="mode must be one of"):
        srcdiff.grad(vector_out, mode="fast")
    with pytest.raises(ValueError, match="has no parameter 'y'"):
        srcdiff.grad(vector_out, wrt="y")
    with pytest.raises(ValueError, match="takes 1 parameter"):
        srcdiff.grad(vector_out, wrt=2)


def test_vjp_needs_a_float_argument():
    with pytest.raises(TypeError, match="no floating-point argument"):
        srcdiff.vjp(vector_out, np.arange(3))


def test_decorated_functions_are_unwrapped():
    @srcdiff.grad
    def f(x):
        return np.sum(x * x)

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(srcdiff.grad(f)(x), 2 * x)
    assert srcdiff.check_grad(f, x) < 1e-6


def test_check_grad_refuses_integer_wrt():
    def s(x, n):
        return x * n

    with pytest.raises(TypeError, match=r"floating-point inputs.*argument 'n'"):
        srcdiff.check_grad(s, np.array([1.0, 2.0]), 3, wrt=1)


def test_keyword_only_parameters_are_not_filled_positionally():
    def f(x, *, c=1.0):
        return x * c

    with pytest.raises(TypeError):
        srcdiff.grad(f)(2.0, 5.0)
    assert srcdiff.grad(f)(2.0, c=5.0) == 5.0


def test_rule_bodies_are_checked_when_registered():
    import math

    def softsign(x):
        return x / (1 + abs(x))

    with pytest.raises(srcdiff.SrcdiffError, match="reads `math`"):
        @srcdiff.rule(softsign)
        def softsign_rule(g, ans, x):
            return g * math.pi
    assert srcdiff.rules.lookup(softsign) is None or srcdiff.rules.lookup(softsign).rule is None


def test_vjp_leaves_non_numeric_arguments_alone():
    def f(x, label):
        return x * 2.0

    _, pullback = srcdiff.vjp(f, np.ones(2), None)
    dx, dlabel = pullback(np.ones(2))
    np.testing.assert_allclose(dx, 2.0)
    assert dlabel is None
