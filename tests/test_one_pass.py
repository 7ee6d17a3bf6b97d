"""srcdiff.grad's one pass: the generated f_grad runs forward and backward as one
function, computing only what the backward reads by value (values read for their
shape are stand-ins), and fuses across the two."""
import re

import numpy as np
import pytest

import srcdiff
from srcdiff.compile.jit import Compiled, NotCompiled
from srcdiff.program import program

BOTH = pytest.mark.parametrize("jit", [False, True])


def seed_mean(x):
    y = x + 2
    z = y * y * 3
    return z.mean()


def _function(source, name):
    return source.split(f"def {name}(")[1].split("\ndef ")[0]


@BOTH
def test_the_value_only_shapes_need_is_not_computed_and_the_passes_fuse(jit):
    x = np.linspace(-1.0, 2.0, 1001)
    g = srcdiff.grad(seed_mean, jit=jit)
    dx = g(x)
    np.testing.assert_allclose(dx, 6.0 * (x + 2) / x.size, rtol=1e-14)
    one_pass = "\n".join(line for line in _function(g.source, "seed_mean_grad").splitlines()
                         if not line.lstrip().startswith("#"))
    assert "np.mean(" not in one_pass and "y * y" not in one_pass     # z and the mean: stand-ins
    assert re.search(r"dx = .*\(x \+ 2\)", one_pass)   # y written into its reader: one array
    assert g.jitted == jit, g.jit_reason
    # the mean's cotangent is one number spread out (a zero-strided view when compiled):
    # what the user gets is an array of its own
    dm = srcdiff.grad(_mean, jit=jit)(x)
    assert dm.flags.writeable and dm.flags.owndata and 0 not in dm.strides
    dm[0] = 5.0
    assert dm[1] == 1.0 / x.size


def _mean(x):
    return np.mean(x)


def mismatched_product(a, b):
    return np.sum(a @ b)


def mismatched_sum(a, b):
    return np.sum(a + b)


def axis_out_of_range(a):
    return np.sum(np.sum(a * 2.0, axis=3))


@BOTH
def test_stand_ins_raise_where_the_value_would_have(jit):
    # the one pass makes a stand-in where the forward made the value: a function that
    # raises must raise, not return a gradient
    a, b = np.ones((2, 3)), np.ones((2, 3))
    with pytest.raises(ValueError, match="matmul|np.dot"):
        srcdiff.grad(mismatched_product, jit=jit)(a, b)
    with pytest.raises(ValueError):
        srcdiff.grad(mismatched_sum, jit=jit)(a, np.ones((3, 2)))
    with pytest.raises(ValueError, match="axis"):
        srcdiff.grad(axis_out_of_range, jit=jit)(a)
    assert "_stand_in(" in _function(srcdiff.grad(mismatched_product).source,
                                     "mismatched_product_grad")


def doubles(x):
    return x * 2.0


@BOTH
def test_an_output_that_is_not_a_number_is_refused_by_the_one_pass_too(jit):
    with pytest.raises(TypeError, match="requires a scalar output.*shape \\(3,\\)"):
        srcdiff.grad(doubles, jit=jit)(np.ones(3))


def test_an_optional_function_that_does_not_compile_leaves_the_others_compiled():
    text = ("import numpy as np\n\n\ndef f(x):\n    return x * 2.0\n\n\n"
            "def g(x):\n    return object()\n")
    compiled = Compiled(text, "optional_case", ["f"], optional=["g"])
    with pytest.raises(NotCompiled):
        compiled("g", 1.0)
    assert "g" in compiled.optional_reasons and "g" not in compiled.optional
    with pytest.raises(NotCompiled):        # and it is not tried again
        compiled("g", 1.0)
    assert compiled("f", 1.5) == 3.0 and compiled.jitted


def test_grad_falls_back_to_forward_and_backward_where_the_one_pass_does_not_compile():
    x = np.linspace(-1.0, 2.0, 7)
    prog = program(seed_mean, (0,), True)
    calls = []
    real = prog.compiled

    class OnePassFails:
        def __call__(self, name, *args):
            calls.append(name)
            if name == prog.module.grad:
                raise NotCompiled(name)
            return real(name, *args)

        def __getattr__(self, attr):
            return getattr(real, attr)

    prog.compiled = OnePassFails()
    prog._one_pass = True
    try:
        dx = srcdiff.grad(seed_mean)(x)
        assert calls[:3] == [prog.module.grad, prog.module.forward, prog.module.backward]
        srcdiff.grad(seed_mean)(x)
        assert calls[3:] == [prog.module.forward, prog.module.backward]   # not tried again
    finally:
        prog.compiled = real
        prog._one_pass = True
    np.testing.assert_allclose(dx, 6.0 * (x + 2) / x.size, rtol=1e-14)


def sum_rows(a):
    return np.sum(np.sum(a * 2.0, axis=1))


def test_a_users_error_on_a_later_call_leaves_the_compiled_code_in_use():
    # an exception from compiled code already compiled for these types is the user's:
    # it used to switch the program to Python (and the one pass off) for good
    g = srcdiff.grad(sum_rows)
    g(np.ones((2, 3)))
    for _ in range(2):
        with pytest.raises(ValueError, match="axis"):
            g(np.ones(3))
    np.testing.assert_allclose(g(np.ones((2, 3))), np.full((2, 3), 2.0))
    prog = program(sum_rows, (0,), True)
    assert g.jitted and prog._one_pass and not prog.compiled.optional_reasons
    # the compiled forward checks the axis too (it took axis % ndim)
    with pytest.raises(ValueError, match="axis"):
        srcdiff.vjp(sum_rows, np.ones(3))
