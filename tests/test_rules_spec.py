"""Every rule against central finite differences, for scalars, vectors, matrices and
broadcast shapes, through the generated adjoint; then Numba against Python, and the
tape against the source transform."""
import re

import numpy as np
import pytest

import srcdiff
from helpers import draw
from spec_table import BINARY, BINARY_SHAPES, SHAPED, UNARY, UNARY_SHAPES
from srcdiff.program import program

CASES, NUMBA_CASES = [], []
for name, fun, kind in UNARY:
    for shapes in UNARY_SHAPES:
        case = pytest.param(fun, [(shapes[0], kind)], id=f"{name}-{shapes[0]}")
        CASES.append(case)
    NUMBA_CASES.append(case)                       # the matrix case
for name, fun, kx, ky in BINARY:
    for sx, sy in BINARY_SHAPES:
        case = pytest.param(fun, [(sx, kx), (sy, ky)], id=f"{name}-{sx}-{sy}")
        CASES.append(case)
        if (sx, sy) in (((), ()), ((2, 3), (3,))):  # scalars, and a broadcast
            NUMBA_CASES.append(case)
for name, fun, cases in SHAPED:
    for args in cases:
        case = pytest.param(fun, args, id=f"{name}-{'-'.join(str(s) for s, _ in args)}")
        CASES.append(case)
    NUMBA_CASES.append(case)

# Cases whose generated code Numba cannot compile yet, so they run as Python (with
# `.jit_reason` saying why).  Any other case falling back to Python fails the test.
EXPECTED_PYTHON = {
    "dot_scalar",                # Numba's np.dot takes no scalar operand
    "sum_axis_tuple",            # a tuple of axes (one axis, and keepdims, compile)
    "matmul_batched",            # 3-D matmul
    "index_none", "index_ellipsis", "index_mask",   # scatter-add of these index kinds
    "transpose_axes",            # np.transpose with axes in the adjoint
}


def _inputs(spec):
    rng = np.random.default_rng(len(spec))
    return [draw(shape, kind, rng) for shape, kind in spec]


@pytest.mark.parametrize("fun, spec", CASES)
def test_rule_matches_finite_differences(fun, spec):
    args = _inputs(spec)
    srcdiff.check_grad(fun, *args, wrt=tuple(range(len(args))), mode="source", jit=False)


@pytest.mark.slow
@pytest.mark.parametrize("fun, spec", NUMBA_CASES)
def test_numba_agrees_with_python(fun, spec, request):
    args = _inputs(spec)
    out_py, pull_py = srcdiff.vjp(fun, *args, mode="source", jit=False)
    out_nb, pull_nb = srcdiff.vjp(fun, *args, mode="source", jit=True)
    v = np.random.default_rng(1).standard_normal(np.shape(out_py))
    v = float(v) if np.ndim(v) == 0 else v
    np.testing.assert_allclose(out_nb, out_py, rtol=1e-12, atol=1e-12)
    for g_nb, g_py in zip(pull_nb(v), pull_py(v), strict=True):
        np.testing.assert_allclose(g_nb, g_py, rtol=1e-10, atol=1e-12)
    compiled = program(fun, tuple(range(len(args))), True).compiled
    name = request.node.callspec.id.split("-")[0]
    assert compiled.jitted == (name not in EXPECTED_PYTHON), compiled.jit_reason


# Python forms the tape cannot record: NumPy makes a plain array or float of the tensor.
# The tape refuses them with an error (never a gradient with the path dropped).
TAPE_REFUSES = {
    "float_cast": "float\\(\\) of a tensor that requires grad",
    "array_of_scalars": "turned into a NumPy array",
    "asarray_copy": "turned into a NumPy array",
}


@pytest.mark.parametrize("fun, spec", CASES)
def test_tape_agrees_with_the_source_transform(fun, spec, request):
    args = _inputs(spec)
    name = request.node.callspec.id.split("-")[0]
    if name in TAPE_REFUSES:
        with pytest.raises((RuntimeError, ValueError)) as info:
            srcdiff.vjp(fun, *args, mode="tape")
        err = info.value.__cause__ if isinstance(info.value, ValueError) else info.value
        assert re.search(TAPE_REFUSES[name], str(err))
        return
    out_src, pull_src = srcdiff.vjp(fun, *args, mode="source", jit=False)
    out_tape, pull_tape = srcdiff.vjp(fun, *args, mode="tape")
    np.testing.assert_allclose(out_tape, out_src, rtol=1e-12, atol=1e-12)
    v = np.random.default_rng(2).standard_normal(np.shape(out_src))
    v = float(v) if np.ndim(v) == 0 else v
    for g_tape, g_src in zip(pull_tape(v), pull_src(v), strict=True):
        np.testing.assert_allclose(g_tape, g_src, rtol=1e-12, atol=1e-12)
