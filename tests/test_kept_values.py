"""Values costly to recompute (np.exp, np.tanh, ...) that a loop's adjoint reads: the
forward pushes them onto a stack where they are made, and each reversed iteration
reads them back instead of computing them again (srcdiff/emit/codegen.py, ``costly``).
Checked in both modes against the tape and finite differences, with the edge cases of
the stacks: no iteration, stacks that grow, runs that leave an entry out, values that
change shape, writes into the kept value after it is made."""
import re

import numpy as np
import pytest

import srcdiff

BOTH = pytest.mark.parametrize("jit", [False, True])


def _function(source, name):
    """The code of the generated function ``name`` (``name_1`` once generated again),
    less its comments (which quote the user's lines)."""
    text = re.split(rf"def {name}(?:_\d+)?\(", source)[1].split("\ndef ")[0]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _agrees_with_the_tape(fun, args, wrt=0, jit=True, rtol=1e-12):
    got = srcdiff.grad(fun, wrt=wrt, jit=jit)(*args)
    want = srcdiff.grad(fun, wrt=wrt, mode="tape")(*args)
    for g, w in zip(got if isinstance(wrt, tuple) else (got,),
                    want if isinstance(wrt, tuple) else (want,), strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-14)
    return got


def exp_terms(x, w, n):
    s = 0.0
    for i in range(n):
        e = np.exp(x * w[i])
        s = s + np.sum(e * x)
    return s


@BOTH
def test_a_loop_keeps_its_exp_and_the_reversed_iteration_reads_it_back(jit):
    x, w = np.array([0.3, -0.5, 0.8]), np.array([0.2, 0.7, -0.4, 1.1])
    g = srcdiff.grad(exp_terms, wrt=(0, 1), jit=jit)
    forward = _function(g.source, "exp_terms_forward")
    backward = _function(g.source, "exp_terms_backward")
    assert re.search(r"if k_i == 0:\n\s+e_stack = stack_alloc\(n_i, e\)\n"
                     r"\s+keep_store\(e_stack, k_i, e\)", forward)
    reversed_body = backward.split("for k_i in range(")[1]
    assert "e = e_stack[k_i]" in reversed_body and "np.exp" not in reversed_body
    got = _agrees_with_the_tape(exp_terms, (x, w, 4), wrt=(0, 1), jit=jit)
    e = np.exp(np.outer(w, x))
    np.testing.assert_allclose(got[0], np.sum(e * (1 + np.outer(w, x)), axis=0), rtol=1e-12)
    assert srcdiff.check_grad(exp_terms, x, w, 4, wrt=(0, 1)) < 1e-6
    assert g.jitted == jit, g.jit_reason


@BOTH
def test_a_loop_that_never_runs_hands_over_stacks_it_never_made(jit):
    x, w = np.array([0.3, -0.5, 0.8]), np.array([0.2])
    value, (dx, dw) = srcdiff.value_and_grad(exp_terms, wrt=(0, 1), jit=jit)(x, w, 0)
    assert value == 0.0
    np.testing.assert_array_equal(dx, np.zeros(3))
    np.testing.assert_array_equal(dw, np.zeros(1))
    _, pullback = srcdiff.vjp(exp_terms, x, w, 0, jit=jit)
    np.testing.assert_array_equal(pullback(1.0)[0], np.zeros(3))


def decay(k, x0, n):
    x = x0
    for i in range(n):
        x = x * np.exp(-k * 0.1) + np.sin(x * k) * 0.01
    return x


@BOTH
def test_numbers_are_kept_too(jit):
    g = srcdiff.grad(decay, wrt=(0, 1), jit=jit)
    forward = _function(g.source, "decay_forward")     # k may be an array: keep_store
    assert re.search(r"keep_store\((_t\d+)_stack, k_i, \1\)", forward)
    _agrees_with_the_tape(decay, (0.7, 1.3, 30), wrt=(0, 1), jit=jit)
    assert srcdiff.check_grad(decay, 0.7, 1.3, 30, wrt=(0, 1)) < 1e-6
    assert g.jitted == jit, g.jit_reason


def tanh_runs(x, w):
    total = 0.0
    for j in range(3):
        h = x * (j + 1.0)
        for i in range(8):
            h = np.tanh(h * w)                      # ends: the next entry holds it
            total = total + np.sum(np.exp(h * 0.5))
    return total


@BOTH
def test_runs_that_leave_an_entry_out_grow_the_kept_stacks_past_it(jit):
    # the inner loop's stacks hold 8 + 1 entries a run (the h each run ends with); its
    # kept exp has 8, then the next run starts past the end of a stack of 8
    x, w = np.array([0.3, -0.5, 0.8]), np.array([0.9, 1.1, -0.7])
    g = srcdiff.grad(tanh_runs, wrt=(0, 1), jit=jit)
    forward = _function(g.source, "tanh_runs_forward")
    assert "i_top = i_top + k_i + 1" in forward
    assert re.search(r"(_t\d+)_stack = run_push\(\1_stack, i_top \+ k_i, \1\)", forward)
    _agrees_with_the_tape(tanh_runs, (x, w), wrt=(0, 1), jit=jit)
    assert srcdiff.check_grad(tanh_runs, x, w, wrt=(0, 1)) < 1e-6
    assert g.jitted == jit, g.jit_reason


def exp_until(x):
    y = x
    s = 0.0
    while s < 40.0:
        e = np.exp(y * 0.3)
        s = s + np.sum(e)
        y = y + 0.1
    return s


@BOTH
def test_a_while_loop_keeps_values_in_stacks_that_grow(jit):
    x = np.array([0.1, -0.3, 0.2])           # some 30 iterations: the stacks start at 8
    g = srcdiff.grad(exp_until, jit=jit)
    assert "e_stack = stack_alloc(8, e)" in _function(g.source, "exp_until_forward")
    _agrees_with_the_tape(exp_until, (x,), jit=jit)
    assert srcdiff.check_grad(exp_until, x) < 1e-6


def prefix_exps(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(np.exp(x[:i + 1]) * (i + 1.0))
    return s


@BOTH
def test_a_kept_value_that_changes_shape_regenerates_the_program_recomputing_it(jit):
    x = np.array([0.3, -0.5, 0.8, 0.1])
    g = srcdiff.grad(prefix_exps, jit=jit)
    assert "keep_store(" in g.source
    got = g(x)
    assert "keep_store(" not in g.source and "np.exp" in \
        _function(g.source, "prefix_exps_backward")
    n = x.shape[0]
    weights = np.array([sum(i + 1.0 for i in range(j, n)) for j in range(n)])
    np.testing.assert_allclose(got, weights * np.exp(x), rtol=1e-12)
    np.testing.assert_allclose(g(x), got, rtol=0)


def exp_then_written(x, n):
    s = 0.0
    for i in range(n):
        e = np.exp(x * (i + 1.0))
        e[0] = 0.5                      # after it is kept: the stack holds the exp
        s = s + np.sum(e * e)
    return s


@BOTH
def test_a_write_into_a_kept_value_after_it_is_made_is_not_in_its_stack(jit):
    x = np.array([0.3, -0.5, 0.8])
    g = srcdiff.grad(exp_then_written, jit=jit)
    assert "e_stack" in g.source
    got = srcdiff.grad(exp_then_written, mode="source", jit=jit)(x, 3)
    k = np.arange(1.0, 4.0)[:, None]
    expected = np.sum(2 * k * np.exp(2 * k * x), axis=0)
    expected[0] = 0.0
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert srcdiff.check_grad(exp_then_written, x, 3) < 1e-6


def table_of_exps(x):
    total = 0.0
    for j in range(2):
        T = np.zeros(4)
        for i in range(1, 4):
            T[i] = T[i - 1] + np.exp(x[i] * (j + 1.0))
        total = total + np.sum(T * T)
    return total


@BOTH
def test_a_nested_loop_the_backward_reruns_keeps_its_values_in_the_rerun(jit):
    # the inner loop reads the table it writes: the backward reruns it in each reversed
    # outer iteration, and the rerun pushes what the reversed inner iterations read
    x = np.array([0.3, -0.5, 0.8, 0.1])
    g = srcdiff.grad(table_of_exps, jit=jit)
    backward = _function(g.source, "table_of_exps_backward")
    assert re.search(r"keep_store\((_t\d+)_stack, k_i, \1\)", backward)
    expected = np.zeros(4)             # (the tape refuses the write into a NumPy table)
    for c in (1.0, 2.0):
        e = np.exp(x * c)
        e[0] = 0.0
        T = np.cumsum(e)
        expected += 2 * c * e * np.cumsum((T * (np.arange(4) >= 1))[::-1])[::-1]
    np.testing.assert_allclose(g(x), expected, rtol=1e-12)
    assert srcdiff.check_grad(table_of_exps, x, mode="source") < 1e-6
    assert g.jitted == jit, g.jit_reason


def sigmoid_cell(w, xs, h):
    for t in range(xs.shape[0]):
        gates = np.concatenate((xs[t], h)) * w
        forget = 1.0 / (1.0 + np.exp(-gates[:2]))
        change = np.tanh(gates[2:])
        h = forget * change + np.tanh(h)
    return np.sum(h * h)


@BOTH
def test_what_only_the_kept_values_read_is_not_recomputed(jit):
    # with the exp and the tanhs read back, the slices of gates and gates itself are read
    # for their shapes only: stand-ins, not products
    rng = np.random.default_rng(3)
    w, xs, h = rng.standard_normal(4), rng.standard_normal((5, 2)), rng.standard_normal(2)
    g = srcdiff.grad(sigmoid_cell, wrt=(0, 2), jit=jit)
    code = _function(g.source, "sigmoid_cell_backward").split("for k_t in range(")[1]
    assert "np.exp" not in code and "np.tanh" not in code
    assert re.search(r"gates = broadcast_stand_in\(", code)
    _agrees_with_the_tape(sigmoid_cell, (w, xs, h), wrt=(0, 2), jit=jit)
    assert srcdiff.check_grad(sigmoid_cell, w, xs, h, wrt=(0, 1, 2)) < 1e-6
    assert g.jitted == jit, g.jit_reason


def longer_runs(x):
    s = 0.0
    for j in range(4):
        v = x * 1.0
        for i in range(j + 1):             # runs of 1, 2, 3, 4 iterations
            v = v * 0.9
            s = s + np.sum(np.exp(v * i))
    return s


@BOTH
def test_the_runs_stacks_start_with_room_for_runs_like_the_first_and_grow_past_it(jit):
    x = np.array([0.3, -0.5, 0.8])
    g = srcdiff.grad(longer_runs, jit=jit)
    forward = _function(g.source, "longer_runs_forward")
    assert "stack_alloc(n_j * (trip_count(0, _t" in forward
    assert "n_i_runs = stack_alloc(n_j, 0)" in forward
    _agrees_with_the_tape(longer_runs, (x,), jit=jit)
    assert srcdiff.check_grad(longer_runs, x) < 1e-6
    assert g.jitted == jit, g.jit_reason


def first_run_empty(x):
    s = 0.0
    for j in range(3):
        h = x * 1.0
        for i in range(j):          # the first run has no iteration, yet an entry
            h = np.tanh(h)          # (the h it ends with) on the stacks of its runs
            s = s + np.sum(np.exp(h))
    return s


@BOTH
def test_the_kept_stack_is_made_by_the_first_iteration_after_an_empty_first_run(jit):
    # made at entry 0, it was never made: entry 0 went to the empty run's end value
    x = np.array([0.3, -0.5, 0.8])
    g = srcdiff.grad(first_run_empty, jit=jit)
    assert "if i_top + k_i == i_runs:" in _function(g.source, "first_run_empty_forward")
    got = g(x)
    assert "if i_top + k_i == i_runs:" in g.source      # (not generated again)
    t1, t2 = np.tanh(x), np.tanh(np.tanh(x))
    expected = 2 * np.exp(t1) * (1 - t1 ** 2) + np.exp(t2) * (1 - t2 ** 2) * (1 - t1 ** 2)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    _agrees_with_the_tape(first_run_empty, (x,), jit=jit)
    _, pullback = srcdiff.vjp(first_run_empty, x, jit=jit)
    np.testing.assert_allclose(pullback(2.0)[0], 2 * expected, rtol=1e-12)
