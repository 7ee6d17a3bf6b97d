"""The control-flow corpus (tests/corpus.py) against central differences, in Numba and
in Python, and the share of it that stays compiled."""
import numpy as np
import pytest

import srcdiff
from corpus import CASES
from srcdiff.program import program

IDS = [f"{k}-{fun.__name__}" for k, (fun, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("fun, args, wrt", CASES, ids=IDS)
def test_against_finite_differences(fun, args, wrt, jit):
    srcdiff.check_grad(fun, *args, wrt=wrt, jit=jit)


def _pullback_of_ones(fun, args, jit):
    out, pullback = srcdiff.vjp(fun, *args, jit=jit)
    return pullback(np.ones_like(out) if np.ndim(out) else 1.0)


def test_numba_and_python_run_the_same_source_to_the_same_numbers():
    for fun, args, wrt in CASES:
        compiled, plain = (_pullback_of_ones(fun, args, jit) for jit in (True, False))
        for k in wrt:
            np.testing.assert_allclose(compiled[k], plain[k], rtol=1e-12, atol=1e-14,
                                       err_msg=fun.__name__)


def test_at_least_nine_in_ten_stay_compiled():
    interpreted = []
    for fun, args, wrt in CASES:
        _pullback_of_ones(fun, args, True)
        compiled = program(fun, wrt, True).compiled     # the program vjp just ran
        if not compiled.jitted:
            interpreted.append(f"{fun.__name__}: {compiled.jit_reason}")
    assert len(interpreted) <= 0.1 * len(CASES), interpreted
    print(f"{len(CASES) - len(interpreted)} of {len(CASES)} compiled; not: {interpreted}")


# written as NumPy code: a tensor written into a buffer made with np.zeros
TAPE_REFUSES = {"fill_buffer", "accumulate_modulo", "prefix_sums", "soft_dtw", "two_column_table"}


def test_the_tape_gives_the_same_gradients_or_refuses():
    for fun, args, wrt in CASES:
        if fun.__name__ in TAPE_REFUSES:
            with pytest.raises(srcdiff.LostGradientError, match="float\\(\\) of a tensor"):
                srcdiff.vjp(fun, *args, mode="tape")
            continue
        out, pullback = srcdiff.vjp(fun, *args, mode="tape")
        source = _pullback_of_ones(fun, args, True)
        taped = pullback(np.ones_like(out) if np.ndim(out) else 1.0)
        for k in wrt:
            np.testing.assert_allclose(taped[k], source[k], rtol=1e-10, atol=1e-12,
                                       err_msg=fun.__name__)


@pytest.mark.parametrize("jit", [False, True])
def test_grads_one_pass_gives_the_two_passes_numbers(jit):
    # srcdiff.grad runs the generated f_grad (forward and backward in one function, with
    # stand-ins for what only shapes need); vjp runs f_forward then f_backward
    fallen_back = []
    for fun, args, wrt in CASES:
        if np.ndim(fun(*args)) != 0:
            continue
        one_pass = srcdiff.grad(fun, wrt=wrt, jit=jit, mode="source")(*args)
        two_passes = _pullback_of_ones(fun, args, jit)
        for k, got in zip(wrt, one_pass, strict=True):
            np.testing.assert_allclose(got, two_passes[k], rtol=1e-12, atol=1e-14,
                                       err_msg=fun.__name__)
        prog = program(fun, wrt, jit)
        if jit and prog.compiled.jitted and not prog._one_pass:
            fallen_back.append(f"{fun.__name__}: {prog.compiled.optional_reasons}")
    assert not fallen_back, fallen_back
