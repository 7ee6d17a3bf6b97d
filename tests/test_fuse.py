"""Elementwise temporaries written into their one reader (srcdiff/emit/fuse.py): only
where the value computed later is the value computed before.  End to end, the corpus
checks the numbers in both modes and under Numba."""
import numpy as np

import srcdiff
from srcdiff.emit.fuse import fuse_temporaries


def fused(body):
    lines = ["    " + line for line in body.strip("\n").splitlines()]
    return [line.strip() for line in fuse_temporaries(lines)]


def test_a_chain_read_once_becomes_one_expression():
    body = "_t1 = -x\n_t2 = np.exp(_t1)\n_t3 = 1.0 + _t2\ny = 1.0 / _t3\nreturn y"
    assert fused(body) == ["y = 1.0 / (1.0 + np.exp(-x))", "return y"]
    adjoint = "d_t3 = -dy * y / _t3\nd_t2 = d_t3\nd_t1 = d_t2 * _t2\ndx = -d_t1"
    assert fused(adjoint) == ["dx = -(-dy * y / _t3 * _t2)"]     # d_t2 = d_t3 too


def test_values_read_twice_or_by_another_kind_of_line_keep_their_names():
    for body in ("_t1 = np.exp(x)\ny = _t1 + _t1",                 # read twice, not cheap
                 "_t1 = x * 2.0\ny = _t1 + 1.0\nz = _t1 * 3.0",     # read by two lines
                 "_t1 = x * 2.0\nif c:\n    y = _t1",               # in a block below
                 "_t1 = x * 2.0\nfor i in range(3):\n    y = _t1",   # read in every pass
                 "_t1 = np.sum(x)\ny = _t1 + 1.0",                  # not elementwise
                 "_t1 = x @ w\ny = _t1 + 1.0",
                 "t = x * 2.0\ny = t + 1.0",                        # the user's name
                 "_t1 = np.maximum(x, 0.0, out=x)\ny = _t1 + 1.0"):
        assert "_t1" in " ".join(fused(body)) or "t =" in " ".join(fused(body)), body


def test_one_operation_read_twice_by_one_line_is_written_twice():
    assert fused("d_t1 = dz * 3\ndy = d_t1 * y + d_t1 * y\nreturn dy") == [
        "dy = dz * 3 * y + dz * 3 * y", "return dy"]
    assert fused("_t1 = -x\ny = _t1 * _t1\nreturn y") == ["y = -x * -x", "return y"]
    for body in ("_t1 = x * w * 2.0\ny = _t1 + _t1",                # two operations
                 "_t1 = x ** w\ny = _t1 + _t1",                     # a power
                 "_t1 = x * 2.0\ny = _t1 + 1.0\nz = _t1 * 3.0"):   # two lines read it
        assert "_t1" in " ".join(fused(body)), body


def test_a_line_calls_one_vectorised_function_at_most():
    # compiled, two of srcdiff's vectorised exp/tanh/log/log1p in one loop are called
    # out of line, an element at a time (ten times slower than two loops)
    assert fused("_t1 = -x\n_t2 = np.exp(_t1)\ny = np.log1p(_t2)\nreturn y") == [
        "_t2 = np.exp(-x)", "y = np.log1p(_t2)", "return y"]
    assert fused("_t1 = np.tanh(x)\ny = _t1 * np.exp(x)\nreturn y") == [
        "_t1 = np.tanh(x)", "y = _t1 * np.exp(x)", "return y"]
    assert fused("_t1 = np.exp(x)\n_t2 = 1.0 + _t1\ny = np.sqrt(_t2)\nreturn y") == [
        "y = np.sqrt(1.0 + np.exp(x))", "return y"]                  # one: fused
    assert fused("dy = np.exp(x)\ndy = dy + np.log(x)\nreturn dy") == [
        "dy = np.exp(x)", "dy = dy + np.log(x)", "return dy"]         # not summed on one line


def test_nothing_moves_past_a_write_or_a_rebinding_of_what_it_reads():
    for between in ("a[0] = 5.0",                        # may write into x's array
                    "x = y",                             # x is another array now
                    "dx = scatter_add_to(dx, i, g)",     # writes into its argument
                    "v.fill(0.0)",                       # a method: may write
                    "f(x)"):                             # the user's function: may write
        body = f"_t1 = x * 2.0\n{between}\ny = _t1 + 1.0"
        assert fused(body)[0] == "_t1 = x * 2.0", between
    # reading, or binding names the value does not read, is no obstacle
    body = "_t1 = x * 2.0\nn = x.shape[0]\nv = unbroadcast(g, x)\ny = _t1 + 1.0"
    assert fused(body)[-1] == "y = x * 2.0 + 1.0"


def test_a_value_moves_past_what_a_loop_records_of_other_values():
    # a kept value's stack, made at its first push: a block binding the stack only
    record = "e = np.exp(w)\nif k == 0:\n    e_stack = stack_alloc(8, e)\n" \
        "e_stack = run_push(e_stack, k, e)\nstack_store(v_stack, k, v)\n"
    body = f"_t1 = x * 2.0\n{record}y = _t1 + e"
    assert fused(body)[-1] == "y = x * 2.0 + e"
    for block in ("if k == 0:\n    x = e",                       # rebinds what it reads
                  "if k == 0:\n    e_stack = stack_alloc(8, _t1)",  # reads the temporary
                  "if _t1[0] > 0:\n    e_stack = e",
                  "if k == 0:\n    a[0] = 1.0",                   # writes into an array
                  "if k == 0:\n    e_stack = e\nelse:\n    e_stack = w",
                  "if k == 0:\n    for j in range(2):\n        e_stack = e",
                  "x = run_push(x, k, e)"):                      # x is another array now
        body = f"_t1 = x * 2.0\n{block}\ny = _t1 + e"
        assert fused(body)[0] == "_t1 = x * 2.0", block


def test_a_value_read_in_a_later_pass_of_a_loop_keeps_its_name():
    body = "for k in range(3):\n    z = _t1 * 1.0\n    _t1 = x * 2.0\n    y = _t1 + 1.0"
    assert "_t1 = x * 2.0" in fused(body)
    body = "for k in range(3):\n    _t1 = x * 2.0\n    y = _t1 + 1.0"
    assert fused(body)[-1] == "y = x * 2.0 + 1.0"


def test_a_source_comment_left_heading_nothing_goes():
    body = "# f.py:2: a = -x\n_t1 = -x\n# f.py:3: y = a * 2\ny = _t1 * 2.0"
    assert fused(body) == ["# f.py:3: y = a * 2", "y = -x * 2.0"]


def sigmoid_loss(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return np.sum(s * s)


def test_generated_primal_reads_as_the_user_wrote_it_and_gives_the_same_numbers():
    source = srcdiff.grad(sigmoid_loss).source
    primal = source.split("def sigmoid_loss(x):")[1].split("\n\n\n")[0]
    assert "s = 1.0 / (1.0 + np.exp(-x))" in primal
    x = np.linspace(-2.0, 2.0, 7)
    s = 1.0 / (1.0 + np.exp(-x))
    expected = 2.0 * s * s * (1.0 - s)
    np.testing.assert_allclose(srcdiff.grad(sigmoid_loss)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(srcdiff.grad(sigmoid_loss, mode="tape")(x), expected, rtol=1e-12)


def test_consecutive_contributions_to_one_cotangent_are_one_sum():
    assert fused("dy = dz * y\ndy = dy + dz * y") == ["dy = dz * y + dz * y"]
    assert fused("dy = a\ndy = dy + b\ndy = dy - c") == ["dy = a + b - c"]
    for body in ("dy = a\n# f.py:3: z = y\ndy = dy + b",      # another source line
                 "dy = a\ndx = dy + b",                     # another cotangent
                 "dy = a\ndy = dy + dy * b",                # reads the first part
                 "dy = a\nif c:\n    dy = dy + b"):          # in a block below
        assert len([line for line in fused(body) if not line.startswith("#")]) > 1, body


def centred_norms(x, means):
    total = 0.0
    for j in range(means.shape[0]):
        xc = x - means[j]
        total = total + np.sum(xc * xc) * (j + 1.0)
    return total


def test_a_broadcast_difference_is_negated_after_it_is_summed():
    # the cotangent of means[j] in x - means[j] sums a whole matrix down to a row:
    # negating the row, not the matrix, makes one array fewer
    g = srcdiff.grad(centred_norms, wrt=(0, 1))
    backward = g.source.split("def centred_norms_backward")[1].split("\ndef ")[0]
    assert "-unbroadcast(" in backward and "unbroadcast(-" not in backward
    x, means = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.array([[0.1, 0.2, 0.3], [1.0, 0.0, -1.0]])
    dx, dmeans = g(x, means)
    weights = np.array([1.0, 2.0])
    np.testing.assert_allclose(dmeans, -2.0 * weights[:, None] * (x.sum(0) - 4 * means), rtol=1e-13)
    np.testing.assert_allclose(dx, 2.0 * sum(w * (x - m) for w, m in zip(weights, means)), rtol=1e-13)
