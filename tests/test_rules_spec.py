"""Every rule against central finite differences, for scalars, vectors, matrices and
broadcast shapes, through the generated adjoint; then Numba against Python."""
import numpy as np
import pytest

import srcdiff
from helpers import draw
from spec_table import BINARY, BINARY_SHAPES, SHAPED, UNARY, UNARY_SHAPES

CASES = []
for name, fun, kind in UNARY:
    for shapes in UNARY_SHAPES:
        CASES.append(pytest.param(fun, [(shapes[0], kind)], id=f"{name}-{shapes[0]}"))
for name, fun, kx, ky in BINARY:
    for sx, sy in BINARY_SHAPES:
        CASES.append(pytest.param(fun, [(sx, kx), (sy, ky)], id=f"{name}-{sx}-{sy}"))
for name, fun, cases in SHAPED:
    for args in cases:
        CASES.append(pytest.param(fun, args, id=f"{name}-{'-'.join(str(s) for s, _ in args)}"))


def _inputs(spec):
    rng = np.random.default_rng(len(spec))
    return [draw(shape, kind, rng) for shape, kind in spec]


@pytest.mark.parametrize("fun, spec", CASES)
def test_rule_matches_finite_differences(fun, spec):
    args = _inputs(spec)
    srcdiff.check_grad(fun, *args, wrt=tuple(range(len(args))), mode="source", jit=False)


@pytest.mark.slow
@pytest.mark.parametrize("fun, spec", CASES)
def test_numba_agrees_with_python(fun, spec):
    args = _inputs(spec)
    out_py, pull_py = srcdiff.vjp(fun, *args, mode="source", jit=False)
    out_nb, pull_nb = srcdiff.vjp(fun, *args, mode="source", jit=True)
    v = np.random.default_rng(1).standard_normal(np.shape(out_py))
    v = float(v) if np.ndim(v) == 0 else v
    np.testing.assert_allclose(out_nb, out_py, rtol=1e-12, atol=1e-12)
    for g_nb, g_py in zip(pull_nb(v), pull_py(v), strict=True):
        np.testing.assert_allclose(g_nb, g_py, rtol=1e-10, atol=1e-12)
