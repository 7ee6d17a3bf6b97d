"""Loops in the source transform beyond the corpus (tests/corpus.py): closed forms, what
the adjoint stores, writes into arrays, and what is refused."""
import re

import numpy as np
import pytest

import srcdiff
from srcdiff import UnsupportedError
from srcdiff.program import program

from corpus import accumulate_modulo, doubling, newton_sqrt, never_runs, rk4

BOTH = pytest.mark.parametrize("jit", [False, True])


X = np.array([0.3, 0.9, -0.4, 1.2, 0.7, -0.2])


@BOTH
def test_rk4_against_the_closed_form(jit):
    p, steps, h = 0.7, 40, 0.05
    factor = 1 - p * h + (p * h) ** 2 / 2 - (p * h) ** 3 / 6 + (p * h) ** 4 / 24
    dfactor = -h + p * h * h - (p * h) ** 2 * h / 2 + (p * h) ** 3 * h / 6
    expected = steps * factor ** (steps - 1) * dfactor
    assert srcdiff.grad(rk4, jit=jit)(p, steps) == pytest.approx(expected, rel=1e-12)


def _stored_bytes(fun, args):
    """The bytes of the arrays the forward pass hands to the backward pass."""
    _, saved = program(fun, (0,), True).forward(args)
    return sum(np.asarray(v).nbytes for v in saved if isinstance(v, np.ndarray))


def linear_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * 0.5
    return s


def nonlinear(x, n):
    y = x
    for i in range(n):
        y = np.sin(y)
    return y


# nonlinear's adjoint reads y (cos(y)): one float64 per iteration.  linear_sum's reads s
# only for its shape (unbroadcast): its shape is stored, and a scalar's shape is empty.
@pytest.mark.parametrize("fun, bytes_per_iteration", [(linear_sum, 0), (nonlinear, 8)])
def test_stored_state_is_what_the_adjoint_reads(fun, bytes_per_iteration):
    n = 10 ** 6
    stored = _stored_bytes(fun, [0.3, n])
    assert stored <= bytes_per_iteration * n + 64
    assert srcdiff.grad(fun)(0.3, n) == pytest.approx(
        0.5 * n if fun is linear_sum else _nonlinear_derivative(0.3, n), rel=1e-9)


def fill_by_element(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.sin(x[i]) * x[i]
    return np.sum(out * out)


def test_an_array_read_only_for_its_shape_stores_its_shape():
    # out (n floats) is carried through n iterations; its adjoint needs only its shape:
    # one int64 per iteration is stored, not n float64s (besides a few whole arrays:
    # x, out after the loop, out * out)
    n = 2000
    x = np.linspace(0.1, 1.0, n)
    stored = _stored_bytes(fill_by_element, [x])
    assert stored <= 8 * n + 3 * x.nbytes
    y = np.sin(x) * x
    np.testing.assert_allclose(srcdiff.grad(fill_by_element)(x),
                               2 * y * (np.cos(x) * x + np.sin(x)))


def _nonlinear_derivative(x, n):
    d = 1.0
    for _ in range(n):
        d *= np.cos(x)
        x = np.sin(x)
    return d


@BOTH
def test_norm_doubling_while_loop_vjp(jit):
    x = np.array([0.5, -1.2, 0.3])
    v = np.array([0.1, 1.0, 0.0001])
    y, pullback = srcdiff.vjp(doubling, x, mode="source", jit=jit)
    k = int(round(np.log2(y[0] / x[0])))
    assert np.linalg.norm(y) >= 1000 and np.linalg.norm(y / 2) < 1000
    (dx,) = pullback(v)
    np.testing.assert_allclose(dx, 2.0 ** k * v)


@BOTH
def test_while_loops_with_data_dependent_trip_counts(jit):
    for a in (2.0, 9.0, 0.3):
        assert srcdiff.grad(newton_sqrt, jit=jit)(a) == pytest.approx(0.5 / np.sqrt(a))
    srcdiff.check_grad(never_runs, X[:3], jit=jit)
    g = srcdiff.grad(newton_sqrt)
    g(2.0)
    assert g.jitted, g.jit_reason


def reads_loop_local(x):
    for i in range(3):
        last = x[i]
    return last


prev = 100.0     # a global with the name of a loop-local: must not be read in its place


def previous_iteration(x):
    t = 0.0
    for i in range(3):
        if i > 0:
            t = t + prev
        prev = x[i]
    return t


def returns_loop_local(x):
    for v in x:
        if v > 1.0:
            return v * 2.0
    return x[0]


def writes_while_iterating(x):
    y = x * 1.0
    t = 0.0
    for v in y:
        t = t + v
        y[0] = t
    return t


def view_read_in_next_iteration(x):
    d = x * 1.0
    row = d[0:2]
    t = 0.0
    for i in range(3):
        t = t + row[0]
        d[0] = t
    return t


def over_a_literal(x):
    t = 0.0
    for v in (x, x * 2.0):
        t = t + np.sum(v)
    return t


def zip_into_one_name(x):
    t = 0.0
    for pair in zip(x, x):
        t = t + pair[0]
    return t


def for_else(x):
    t = 0.0
    for i in range(3):
        t = t + x[i]
    else:
        t = t * 2
    return t


def index_read_after_loop(x):
    s = 0.0
    for i in range(3):
        s = s + x[i]
    return s * x[i]                # Python: UnboundLocalError when the loop runs no time


def inner_index_returned(m):
    t = 0.0
    for r in range(m.shape[0]):
        for j in range(m.shape[1]):
            t = t + m[r, j]
            if t > 0.5:
                return t * m[r, j]   # taken after the outer loop, where j is the inner's
    return t


def item_read_after_loop(x):
    t = 0.0
    for v in x:
        t = t + v
    return t * v


@pytest.mark.parametrize("fun, message", [
    (reads_loop_local, "use of `last` after the loop that first assigns it"),
    (index_read_after_loop, "use of `i` after the loop that first assigns it"),
    (inner_index_returned, "`return` inside a loop of `j`, a name the loop at line"),
    (item_read_after_loop, "use of `v` after the loop that first assigns it"),
    (for_else, "`for ... else`"),
    (previous_iteration, r"use of `prev` before the loop at line \d+ assigns it \(the previous "
                         "iteration's value\\)"),
    (returns_loop_local, "`return` inside a loop of `v`, a name the loop at line"),
    (writes_while_iterating, "in-place write into `y`, the array the loop at line"),
    (view_read_in_next_iteration, "in-place write into `d`, whose array `row` shares"),
    (over_a_literal, "`for` over a literal list or tuple"),
    (zip_into_one_name, r"`for` over zip\(...\) into one name"),
])
def test_refused_loops(fun, message):
    with pytest.raises(UnsupportedError, match=message):
        srcdiff.grad(fun, mode="source")(X)


def seed_jacobian(a):
    b = np.zeros(3)
    b[0] = a[0] ** 2 + a[1]
    b[1] = a[1] + a[2]
    b[2] = a[2] ** 3
    return b


def overwrite_after_read(x):
    y = x * 1.0
    t = y[0] * 2.0
    y[0] = y[1] * 3.0
    return np.sum(y * y) + t


def matrix_writes(x):
    m = np.zeros((2, 2))
    m[0, 1] = x[0]
    m[1, :] = x * 2.0
    return np.sum(m @ m)


def write_into_alias(x):
    y = x
    y[0] = 1.0
    return np.sum(x)


@BOTH
def test_writes_into_arrays(jit):
    jac = srcdiff.jacobian(seed_jacobian, jit=jit)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(jac, [[2, 1, 0], [0, 1, 1], [0, 0, 27]])
    srcdiff.check_grad(overwrite_after_read, X[:5], jit=jit)
    srcdiff.check_grad(matrix_writes, X[:2], jit=jit)


def test_writes_stay_compiled_and_inputs_untouched():
    x = X[:5].copy()
    g = srcdiff.grad(accumulate_modulo)
    g(x)
    assert g.jitted, g.jit_reason
    np.testing.assert_array_equal(x, X[:5])


def test_write_into_a_shared_array_is_refused():
    with pytest.raises(UnsupportedError, match="in-place write into `y`, whose array `x` shares"):
        srcdiff.grad(write_into_alias, mode="source")(X)


def doubles_its_argument(x):
    for i in range(x.shape[0]):
        x[i] = x[i] * 2.0 + x[(i + 1) % x.shape[0]]
    return np.sum(x * x)


def test_writes_in_loops_go_into_the_array_the_loop_owns():
    # b[i] = v inside a loop writes into the array (no copy per write); the loop copies
    # the array once as it starts, so the caller's array is never changed
    x = X[:5].copy()
    g = srcdiff.grad(doubles_its_argument)
    srcdiff.check_grad(doubles_its_argument, x)
    g(x)
    np.testing.assert_array_equal(x, X[:5])
    assert g.jitted, g.jit_reason
    forward = g.source.split("def doubles_its_argument_forward")[1].split("\ndef ")[0]
    loop = forward.split("\n    for i in range")[1]
    assert "assign_at(" not in loop and "np.copy(x)" in forward
    assert re.search(r"\n {8}write_at\(x_\d+, i, _t\d+\)\n", loop)
    for fun in (fill_by_element, accumulate_modulo):
        assert "assign_at(" not in srcdiff.grad(fun).source.split("_forward(")[1].split("def ")[0]


def scaled_sum(x):
    y = x * 3.0
    return np.sum(y)


def test_values_read_only_for_their_shape_are_handed_over_as_shapes():
    # the backward reads y only for its shape (expand_reduced): the forward hands over a
    # zero-strided stand-in, so y's memory is not kept for the backward pass
    x = np.linspace(0.0, 1.0, 1000)
    prog = program(scaled_sum, (0,), True)
    _, saved = prog.forward([x])
    kept = [v for v in saved if isinstance(v, np.ndarray) and v is not x]
    assert kept and all(v.shape == x.shape and not any(v.strides) for v in kept)
    np.testing.assert_allclose(srcdiff.grad(scaled_sum)(x), np.full(1000, 3.0))


def prefix_sums(x):
    s = np.zeros(x.shape[0])
    s[0] = x[0]
    for i in range(1, x.shape[0]):
        s[i] = s[i - 1] + x[i] * x[i]
    return np.sum(s)


def test_writes_into_one_element_are_undone_not_stored():
    # the reversed loop reads s[i - 1]: instead of s once per iteration (8 n bytes each),
    # the forward logs each overwritten element (its old value and offset) and the
    # iteration's start in the log: 24 bytes per iteration
    n = 2000
    x = np.linspace(0.1, 1.0, n)
    stored = _stored_bytes(prefix_sums, [x])
    assert stored <= 2 * 24 * n + 3 * x.nbytes        # logs grow by doubling
    assert "undo_writes(" in program(prefix_sums, (0,), True).source
    # s_i = x_0 + sum of x_k ** 2 for 1 <= k <= i, summed over i
    expected = 2 * x * (n - np.arange(n))
    expected[0] = n
    np.testing.assert_allclose(srcdiff.grad(prefix_sums)(x), expected)


def doubling_plus_zero(x):
    y = x * 2
    while np.linalg.norm(y) < 1000:
        y = y * 2 + 0.0
    return y


def test_elementwise_ops_with_numbers_keep_nothing_of_the_array():
    # y * 2 and y + 0.0 have y's shape: the cotangent needs no unbroadcast against y,
    # so the forward hands over the trip count alone, no stack of shapes
    x, v = np.array([0.3, 1.2, -0.05]), np.array([0.1, 1.0, 0.0001])
    prog = program(doubling_plus_zero, (0,), True)
    backward = prog.source.split("def doubling_plus_zero_backward")[1].split("\ndef ")[0]
    assert "unbroadcast" not in backward and "_shapes" not in prog.source
    out, saved = prog.forward([x])
    assert [type(s) for s in saved] == [int]
    for jit in (True, False):
        _, pullback = srcdiff.vjp(doubling_plus_zero, x, jit=jit)
        np.testing.assert_array_equal(pullback(v)[0], 2.0 ** 10 * v)


def squared(x):
    y = x + 2
    return np.mean(y * y * 3)


def test_a_square_needs_no_unbroadcast():
    # y * y has y's shape, as y + 2 has x's: the seed notebook's loss reads as by hand
    backward = program(squared, (0,), True).source.split("_backward(")[1]
    assert "unbroadcast" not in backward and "dx = dy\n" in backward
    for x in (np.ones((2, 2)), 1.0):
        np.testing.assert_allclose(srcdiff.grad(squared)(x), np.full(np.shape(x), 18.0 / np.size(x)))
        srcdiff.check_grad(squared, x)


def scaled_by_length(x, w):
    n = x.shape[0]
    return np.sum(x * n) + np.sum(x * w)


def test_unbroadcast_stays_where_the_other_operand_may_be_an_array():
    # n is a number; w is an argument, an array for all the transform knows
    backward = program(scaled_by_length, (0, 1), True).source.split("_backward(")[1]
    assert re.search(r"dx = unbroadcast\(d_t\d+ \* w, x\)", backward)
    assert re.search(r"dw = unbroadcast\(d_t\d+ \* x, w\)", backward)
    assert re.search(r"dx = dx \+ d_t\d+ \* n\n", backward)
    x = X[:4]
    for w in (0.5, np.array([1.0, 2.0, 3.0, 4.0]), np.array([[1.0], [2.0]])):
        for jit in (True, False):
            dx, dw = srcdiff.grad(scaled_by_length, wrt=(0, 1), jit=jit)(x, w)
            np.testing.assert_allclose(dx, 4.0 + np.sum(w * np.ones(4), axis=0) if np.ndim(w) == 2
                                       else 4.0 + w * np.ones(4))
            srcdiff.check_grad(scaled_by_length, x, w, wrt=(0, 1), jit=jit)


def steps_until(a):
    t = 0.1
    while t < 50.0:
        t = t + a                  # t's cotangent needs t's shape only
    return t


@pytest.mark.parametrize("jit", [False, True])
def test_a_scalar_read_for_its_shape_past_the_first_stack(jit):
    # 20 iterations: more than the 8 a while loop's stacks start with; under Numba a
    # scalar's shape is never stored, so nothing must read the stack
    g = srcdiff.grad(steps_until, jit=jit)
    assert "push_shape(" in g.source and "shape_at(" in g.source
    assert g(2.6) == 20.0
    assert g.jitted == jit, g.jit_reason


def lower_triangles(v):
    # GMM's pattern: each outer pass fills a matrix element by element, counting with pos
    total = 0.0
    for j in range(v.shape[0]):
        L = np.zeros((3, 3))
        pos = 0
        for col in range(3):
            for row in range(col, 3):
                L[row, col] = v[j, pos] * (row + 1)
                pos = pos + 1
        total = total + np.sum(L * L) * (j + 1.0)
    return total


def test_nested_loops_are_recorded_by_the_forward_and_taken_back_not_rerun():
    # the reversed column loop needs pos from the row loops (which v to send to) and
    # nothing of L: the forward stacks pos over all runs of the row loop, the backward
    # takes each run back off the stack instead of running the row loops again
    v = np.linspace(0.1, 1.2, 12).reshape(2, 6)
    g = srcdiff.grad(lower_triangles)
    forward = g.source.split("def lower_triangles_forward")[1].split("\ndef ")[0]
    backward = g.source.split("def lower_triangles_backward")[1].split("\ndef ")[0]
    assert re.search(r"pos_\d+_stack = run_push\(pos_\d+_stack, row_top \+ k_row, pos_\d+\)",
                     forward)
    assert not re.search(r"^\s+for (row|col) in range\(", backward, re.M)
    reversed_columns = backward.split("for k_col in range(")[1]
    assert re.search(r"row_runs = row_runs - 1\n\s+n_row = n_row_runs\[row_runs\]", reversed_columns)
    assert re.search(r"pos_\d+ = pos_\d+_stack\[row_top \+ k_row\]", reversed_columns)
    assert "assign_at(L" not in backward and "L_1_stack" not in g.source
    row = np.array([1.0, 2.0, 3.0, 2.0, 3.0, 3.0])
    expected = 2.0 * v * row * row * np.array([[1.0], [2.0]])
    np.testing.assert_allclose(g(v), expected, rtol=1e-12)
    np.testing.assert_allclose(srcdiff.grad(lower_triangles, jit=False)(v), expected, rtol=1e-12)
    assert srcdiff.check_grad(lower_triangles, v) < 1e-7
    assert g.jitted, g.jit_reason


def test_a_pullback_with_nested_loops_can_be_called_again():
    # the backward walks its copy of the runs' counters down: a second call starts over
    v = np.linspace(0.1, 1.2, 12).reshape(2, 6)
    for jit in (True, False):
        out, pullback = srcdiff.vjp(lower_triangles, v, jit=jit)
        first, = pullback(1.0)
        again, = pullback(2.0)
        np.testing.assert_allclose(again, 2.0 * first, rtol=1e-14)


def tanh_rnn(Wx, Wh, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh)
    return np.sum(h * h)


def tanh_until(x):
    y = x
    while np.sum(y) < 2.5:
        y = np.tanh(y * 1.5 + 0.4)
    return np.sum(y * y)


def tanh_until_break(x, limit):
    y = x
    for i in range(20):
        y = np.tanh(y * 1.5 + 0.4)
        if np.sum(y) > limit:
            break
    return np.sum(y * y)


@BOTH
def test_the_value_an_iteration_ends_with_is_the_next_ones_stacked_start(jit):
    # tanh's adjoint reads the new h: it is the stacked h of the next iteration (one
    # more entry holds the last), not a recomputation of both products and the tanh;
    # the products are read for their shapes only, so stand-ins take their place
    rng = np.random.default_rng(5)
    args = (rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((4, 4)) * 0.5,
            rng.standard_normal((6, 2, 3)), rng.standard_normal((2, 4)))
    g = srcdiff.grad(tanh_rnn, wrt=(0, 1), jit=jit)
    backward = g.source.split("def tanh_rnn_backward")[1].split("\ndef ")[0]
    reversed_body = backward.split("for k_t in range(")[1]
    reversed_body = "\n".join(line for line in reversed_body.splitlines()
                              if not line.lstrip().startswith("#"))
    assert re.search(r"h_\d+_stack\[k_t \+ 1\]", reversed_body)
    assert "matmul_stand_in(" in reversed_body
    assert " @ " not in reversed_body and "np.tanh" not in reversed_body
    tape = srcdiff.grad(tanh_rnn, wrt=(0, 1), mode="tape")(*args)
    for got, want in zip(g(*args), tape, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert srcdiff.check_grad(tanh_rnn, *args, wrt=(0, 1, 2, 3)) < 1e-6
    assert g.jitted == jit, g.jit_reason
    x = np.array([0.1, -0.3, 0.2])
    for fun, extra in ((tanh_until, ()), (tanh_until_break, (2.0,))):
        gf = srcdiff.grad(fun, jit=jit)
        assert "_stack[k_" in gf.source and "+ 1]" in gf.source, fun.__name__
        np.testing.assert_allclose(gf(x, *extra), srcdiff.grad(fun, mode="tape")(x, *extra),
                                   rtol=1e-12)
        assert srcdiff.check_grad(fun, x, *extra) < 1e-6


def written_then_replaced(x):
    a = x * 1.0
    for i in range(2):
        a[i] = np.cos(a[i]) * 2.0
        a = np.tanh(a)
    return np.sum(a * a)


@BOTH
def test_writes_are_undone_only_when_the_iteration_ends_with_the_written_array(jit):
    # the iteration ends with tanh's new array, not the one written in place: undoing
    # the write from the next iteration's start would restore the wrong array
    g = srcdiff.grad(written_then_replaced, jit=jit)
    assert "undo_writes" not in g.source
    assert srcdiff.check_grad(written_then_replaced, X[:3], jit=jit) < 1e-7


def rows_recurrence(x):
    s = np.zeros((4, 3))
    s[0] = x
    for i in range(1, 4):
        s[i] = np.sin(s[i - 1]) * x
    return np.sum(s * s)


@BOTH
def test_a_row_written_in_a_loop_is_logged_element_by_element(jit):
    # s[i] = row writes a row: the undo log keeps each of its old elements (it raised
    # in np.ravel_multi_index, taking the row's index for an element's)
    g = srcdiff.grad(rows_recurrence, jit=jit)
    assert "log_write" in g.source and "undo_writes" in g.source
    assert srcdiff.check_grad(rows_recurrence, X[:3], jit=jit) < 1e-7
    assert g.jitted == jit, g.jit_reason


def column_scores(W, x):
    # beta[:, j] = c - sum(Q x * Q x, axis=1), as in the GMM: the adjoint reads the sums
    # (and Q * Q's total, and the moved copy) only for their shapes
    n = W.shape[0]
    total = 0.0
    for j in range(n):
        y = x * W[j]
        s = np.sum(y * y, axis=1)
        t = s
        q = np.sum(W[j] * W[j])
        m = np.max(y, axis=0, keepdims=True)
        total = total + np.sum(2.0 - t) + np.exp(q) + np.sum(m * m)
    return total


@BOTH
def test_reductions_read_for_their_shape_are_not_computed_again(jit):
    rng = np.random.default_rng(11)
    args = (rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((5, 4)))
    g = srcdiff.grad(column_scores, wrt=(0, 1), jit=jit)
    assert "reduced_stand_in(" in g.source.split("def column_scores_backward")[1].split("\ndef ")[0]
    tape = srcdiff.grad(column_scores, wrt=(0, 1), mode="tape")(*args)
    for got, want in zip(g(*args), tape, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert srcdiff.check_grad(column_scores, *args, wrt=(0, 1)) < 1e-6
    assert g.jitted == jit, g.jit_reason


def shape_only_sum_over_axes(W, x, axes):
    total = 0.0
    for j in range(W.shape[0]):
        y = x * W[j]
        s = np.sum(y, axis=axes, keepdims=True)     # read only for its shape
        total = total + np.sum(y + s * 0.0)
    return total


@BOTH
def test_a_shape_only_reduction_over_a_tuple_of_axes(jit):
    # the axes are a value at run time: the stand-in takes a tuple too (a review found
    # a TypeError here)
    W, x = np.ones((3, 4)), np.ones((5, 4))
    for axes in ((0, 1), 1, None):
        got = srcdiff.grad(shape_only_sum_over_axes, wrt=(0, 1), mode="source", jit=jit)(W, x, axes)
        want = srcdiff.grad(shape_only_sum_over_axes, wrt=(0, 1), mode="tape")(W, x, axes)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-14)


def test_a_nested_loop_that_reads_the_table_it_writes_is_rerun_not_stored():
    # soft DTW's inner loop reads d[i - 1, j] and writes d[i, j]: taking its runs back
    # would stack the whole table for every (i, j), 1.5 GB at 100 x 100; the backward
    # reruns it per outer iteration instead, storing the table once per row
    from corpus import soft_dtw
    x = np.linspace(0.0, 1.0, 20)
    y = x[::-1].copy()
    table = 21 * 21 * 8
    assert _stored_bytes(soft_dtw, [x, y, 0.5]) <= 22 * table + 3 * x.nbytes
    assert "j_runs" not in srcdiff.grad(soft_dtw).source
    assert srcdiff.check_grad(soft_dtw, x, y, 0.5) < 1e-6


def sum_shrinks(x):
    h = x * 1.0
    for t in range(2):
        h = np.sin(np.sum(h * h, keepdims=True))     # (3,) the first time, (1,) after
    return np.sum(h)


@BOTH
def test_a_carried_value_that_changes_shape_is_refused_not_broadcast_into_its_stack(jit):
    # its stack holds the first shape: the (1,) value broadcast into a (3,) entry was read
    # back as three copies, a wrong gradient (0.63 where finite differences give 0.68)
    x = np.array([0.3, 0.5, 0.2])
    with pytest.raises(srcdiff.CarriedValueError, match="changed shape between iterations"):
        srcdiff.grad(sum_shrinks, mode="source", jit=jit)(x)
    assert srcdiff.check_grad(sum_shrinks, x, mode="tape") < 1e-6
    # mode="auto" (the default) differentiates it on the tape instead
    g = srcdiff.grad(sum_shrinks, jit=jit)
    np.testing.assert_allclose(g(x), srcdiff.grad(sum_shrinks, mode="tape")(x), rtol=1e-13)
    assert g.mode == "tape" and "refused it at run time" in g.fallback_reason


def accumulates_arrays(x):
    s = 0.0
    for i in range(3):
        s = s + x * i              # a float at first, then arrays of x's shape
    return np.sum(s * s)


@BOTH
def test_a_number_that_becomes_an_array_in_a_loop_is_refused_or_taped(jit):
    # its shape stack had room for no dimension: NumPy broadcast the (2,) shape into
    # nothing, and the backward failed inside unbroadcast ("smaller than (2,)")
    x = np.array([1.0, 2.0])
    with pytest.raises(srcdiff.CarriedValueError, match="np.zeros_like"):
        srcdiff.grad(accumulates_arrays, mode="source", jit=jit)(x)
    # mode="auto": the tape, in grad, value_and_grad, vjp and jacobian
    closed_form = 2 * 9 * x                # s = 3 x after the loop
    np.testing.assert_allclose(srcdiff.grad(accumulates_arrays, jit=jit)(x), closed_form)
    value, g = srcdiff.value_and_grad(accumulates_arrays, jit=jit)(x)
    np.testing.assert_allclose((value, *g), (9 * 5.0, *closed_form))
    y, pullback = srcdiff.vjp(accumulates_arrays, x, jit=jit)
    np.testing.assert_allclose(pullback(2.0)[0], 2 * closed_form)
    np.testing.assert_allclose(srcdiff.jacobian(accumulates_arrays, jit=jit)(x), closed_form)


def int_then_float(x, k):
    s = 0.0
    c = 0
    for j in range(3):
        c = c + k[j] * 0.5         # an int at first, then floats: its stack holds ints
        s = s + x[j] * c
    return s


@BOTH
def test_a_carried_int_that_goes_on_as_floats_is_refused_not_truncated(jit):
    # the stack of c was int64, so 1.5 came back as 1: a wrong gradient (pre-existing)
    x, k = np.array([0.3, 0.9, -0.4]), np.array([1, 3, 2])
    with pytest.raises(srcdiff.CarriedValueError, match="started as an integer"):
        srcdiff.grad(int_then_float, mode="source", jit=jit)(x, k)
    c = np.cumsum(k * 0.5)
    np.testing.assert_allclose(srcdiff.grad(int_then_float, jit=jit)(x, k), c)   # the tape


@BOTH
def test_runs_that_carry_other_shapes_regenerate_the_program_with_the_loop_rerun(jit):
    from corpus import runs_of_other_shapes
    x = np.array([0.3, 0.9, -0.4, 1.2])
    g = srcdiff.grad(runs_of_other_shapes, jit=jit)
    assert "j_runs" in g.source                   # at first the inner runs are taken back
    got = g(x)
    assert "j_runs" not in g.source               # then rerun, once a run's shape differs
    np.testing.assert_allclose(got, srcdiff.grad(runs_of_other_shapes, mode="tape")(x),
                               rtol=1e-12)
    np.testing.assert_allclose(g(x), got, rtol=0)


def runs_then_more(x, n):
    out = x * 1.0
    for i in range(n):
        v = x[i:]                   # one run of the inner loop: one shape; more: others
        for j in range(2):
            v = np.sin(v) * 1.1
        out = out + np.sum(v)
    return out


@BOTH
def test_a_pullback_made_before_the_program_is_generated_again_uses_its_own_backward(jit):
    # vjp at n=1 saves what the first module's backward reads; the call at n=3 has the
    # program generated again (runs of other shapes), whose backward reads other values
    x, v = np.array([0.3, 0.5, -0.2, 0.7]), np.array([1.0, -2.0, 0.5, 3.0])
    _, early = srcdiff.vjp(runs_then_more, x, 1, jit=jit)
    _, late = srcdiff.vjp(runs_then_more, x, 3, jit=jit)
    for n, pullback in ((1, early), (3, late)):
        expected = srcdiff.vjp(runs_then_more, x, n, mode="tape")[1](v)[0]
        np.testing.assert_allclose(pullback(v)[0], expected, rtol=1e-12)


def accumulates_in_inner_loop(x):
    t = 0.0
    for i in range(2):
        s = 0.0
        for j in range(2):
            s = s + x * j           # a float, then arrays, in a loop nested in another
        t = t + np.sum(s)
    return t


@BOTH
def test_a_number_that_becomes_an_array_in_a_nested_loop_says_so(jit):
    x = np.array([1.0, 2.0])
    with pytest.raises(srcdiff.CarriedValueError, match=r"from 0 dimensions to \(2,\)"):
        srcdiff.grad(accumulates_in_inner_loop, mode="source", jit=jit)(x)
    np.testing.assert_allclose(srcdiff.grad(accumulates_in_inner_loop, jit=jit)(x), [2.0, 2.0])
