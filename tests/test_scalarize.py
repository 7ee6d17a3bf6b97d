"""Runs of elementwise cotangent lines in loops, written a second time as one loop over
the arrays' elements, taken where the arrays are 1-D and of one length
(srcdiff/emit/scalarize.py).  Checked against the tape, finite differences and the
lines as they were (the Python copy, whose loop the tests also run by setting the
module's ``PYTHON`` to False); and, for the cases the loop must not take, that the
gradient is still right: 2-D arrays, broadcasting, slices of another length, numbers.

A compiled program whose element loop's test fails is compiled again without element
loops, and stays so: the tests that give such arguments use a ``wrt`` of their own,
and ``check_grad`` (a ``vjp`` over every float argument) with ``jit=False``, so that
the programs other tests read are not changed."""
import ast
import re

import numba
import numpy as np
import pytest

import srcdiff
from srcdiff import runtime
from srcdiff.compile import numba_runtime  # noqa: F401  (registers the compiled helpers)
from srcdiff.emit.naming import Namer
from srcdiff.emit.scalarize import known_arrays, scalarize

BOTH = pytest.mark.parametrize("jit", [False, True])
FAST = "an element at a time where"


def gated(w, b, xs, h):
    n = h.shape[0]
    total = 0.0
    for t in range(xs.shape[0]):
        z = np.concatenate((xs[t], h)) * w + b
        f = 1.0 / (1.0 + np.exp(-z[0:n]))
        g = np.tanh(z[n:])
        h = f * h + (1.0 - f) * g
        total = total + np.sum(h * h)
    return total


def rows(w, s, x):
    s2 = s.copy()
    for i in range(s.shape[0]):
        a = np.exp(-w[i] * x)
        c = s[i] * a + x * x
        s2[i] = c * w[i]
        x = np.tanh(c)
    return np.sum(s2 * s2) + np.sum(x)


def cell(weight, bias, state, x):
    """The D-LSTM's cell (benchmarks/lstm.py), its states written into rows."""
    s2 = state.copy()
    for i in range(0, state.shape[0], 2):
        hsize = state[i].shape[0]
        gates = np.concatenate((x, state[i], x, state[i])) * weight[i] + bias[i]
        forget = 1.0 / (1.0 + np.exp(-gates[0:hsize]))
        ingate = 1.0 / (1.0 + np.exp(-gates[hsize:2 * hsize]))
        outgate = 1.0 / (1.0 + np.exp(-gates[2 * hsize:3 * hsize]))
        change = np.tanh(gates[3 * hsize:])
        c = state[i + 1] * forget + ingate * change
        h = outgate * np.tanh(c)
        s2[i] = h
        s2[i + 1] = c
        x = h
    return np.sum(s2 * s2) + np.sum(x * x)


def _gated_args(n=5, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=2 * n), rng.normal(size=2 * n), rng.normal(size=(steps, n)),
            rng.normal(size=n))


def _cell_args(n=4, layers=2, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(2 * layers, 4 * n)), rng.normal(size=(2 * layers, 4 * n)),
            rng.normal(size=(2 * layers, n)), rng.normal(size=n))


def _agree(fun, args, wrt, jit):
    got = srcdiff.grad(fun, wrt=wrt, jit=jit)(*args)
    want = srcdiff.grad(fun, wrt=wrt, mode="tape")(*args)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)
    return got


def _python_copy_taking_the_loop(g, unused=()):
    """The generated module run as Python with ``PYTHON`` False: the element loops taken;
    the helpers ``unused`` raise if called (only the lines the loop replaces call them)."""
    namespace = {}
    exec(compile(g.source, "<generated>", "exec"), namespace)
    namespace["PYTHON"] = False

    def not_called(*args):
        raise AssertionError("the element loop was not taken")
    namespace.update({name: not_called for name in unused})
    return namespace


CASES = [(gated, _gated_args, (0, 1, 3), "concat_part"), (rows, None, (0, 1, 2), "copy_of"),
         (cell, _cell_args, (0, 1, 2, 3), "concat_part")]


def _rows_args(seed=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), rng.normal(size=5)


@BOTH
@pytest.mark.parametrize("fun, make, wrt, replaced", CASES, ids=[c[0].__name__ for c in CASES])
def test_runs_of_cotangent_lines_go_an_element_at_a_time_with_the_same_gradient(
        fun, make, wrt, replaced, jit):
    args = (make or _rows_args)()
    g = srcdiff.grad(fun, wrt=wrt, jit=jit)
    assert FAST in g.source
    got = _agree(fun, args, wrt, jit)
    assert srcdiff.check_grad(fun, *args, wrt=wrt) < 1e-6
    assert g.jitted == jit, g.jit_reason
    # the element loop itself, run as Python, gives the same numbers
    namespace = _python_copy_taking_the_loop(g, unused=[replaced])
    grad_name = next(n for n in namespace if n.endswith("_grad") and callable(namespace[n]))
    _, python_loop = namespace[grad_name](*args, 1.0)
    for a, b in zip(got, python_loop, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_the_cells_reversed_body_is_one_loop_its_gates_four_numbers_an_element():
    """The gate vector's cotangent is made of four slices (``scatter_add`` into
    ``gates[3 * h:]``, then the other three) and read whole (``dgates * weight``), then
    split by ``concat_part``: in the loop it is four numbers an element (its parts,
    ``k * n + j``), never an array; the test checks the slices start at ``k * n``."""
    g = srcdiff.grad(cell, wrt=(0,), jit=False)
    text = g.source.split("def cell_grad(")[1]
    assert text.count(FAST) == 1
    loop = _element_loop(text)
    assert not any("dgates" in line.split("=")[0] and "[" in line.split("=")[0] for line in loop)
    assert [line.split("=")[0].strip() for line in loop if line.strip().startswith("dgates_j")] \
        == ["dgates_j3", "dgates_j2", "dgates_j1", "dgates_j0"]
    assert any(re.search(r"\w+_row\[3 \* n \+ j\] \+= d_t\d+_j3", line) for line in loop)
    assert "start == 3 * n and start_1 == 2 * n and start_2 == n and start_3 == 0:" in text
    assert "concat_part" not in "\n".join(loop)


def _element_loop(text):
    """The lines of the first element loop in ``text``."""
    lines = text.split(FAST)[1].splitlines()
    start = next(k for k, line in enumerate(lines) if line.strip().startswith("for j"))
    depth = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= depth:
            break
        body.append(line)
    return body


@BOTH
def test_two_dimensional_arrays_keep_the_array_lines(jit):
    """``w[i]`` a matrix row of a 3-D ``w``: 2-D arrays, never 1-D. The loop compiles
    (its arrays' types allow it), its test fails, and the compiled copy, which holds
    only the loop, raises: the module is compiled again without element loops.  (Each
    of these tests differentiates with its own ``wrt``: a program that met other
    arrays has no element loops left.)"""
    from srcdiff.program import program
    rng = np.random.default_rng(3)
    w, s, x = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4)), rng.normal(size=(2, 4))
    g = srcdiff.grad(rows, wrt=(0, 1), jit=jit)
    assert FAST in g.source
    namespace = _python_copy_taking_the_loop(g)
    with pytest.raises(runtime.ElementLoopNotTaken):
        namespace["rows_grad"](w, s, x, 1.0)
    _agree(rows, (w, s, x), (0, 1), jit)
    assert g.jitted == jit, g.jit_reason
    if jit:
        assert FAST not in g.source
        reason = program(rows, (0, 1), jit, "auto").compiled.element_loops_reason
        assert reason.startswith("ElementLoopNotTaken")
        _agree(rows, _rows_args(), (0, 1), jit)     # 1-D again: the module without them


@BOTH
def test_broadcasting_and_numbers_keep_the_array_lines(jit):
    """``w[i]`` of one element beside vectors of five (unbroadcast sums), and ``w[i]`` a
    number: the loop's test fails and the lines run as they are."""
    rng = np.random.default_rng(4)
    s, x = rng.normal(size=(3, 5)), rng.normal(size=5)
    for w in (rng.normal(size=(3, 1)), rng.normal(size=3)):
        _agree(rows, (w, s, x), (1, 2), jit)
        assert srcdiff.check_grad(rows, w, s, x, wrt=(1, 2), jit=False) < 1e-6


@BOTH
def test_slices_of_another_length_keep_the_array_lines(jit):
    """Inputs of one element: ``z[n:]`` is one element long beside vectors of ``n``
    (broadcast), so its start is -1 and the lines run as they are."""
    rng = np.random.default_rng(5)
    n = 3
    args = (rng.normal(size=n + 1), rng.normal(size=n + 1), rng.normal(size=(4, 1)),
            rng.normal(size=n))
    _agree(gated, args, (0, 1), jit)
    assert srcdiff.check_grad(gated, *args, wrt=(0, 1), jit=False) < 1e-6


def scalar_steps(a, b, x, y):
    for _ in range(20):
        dx = a * x - b * x * y
        dy = b * x * y - a * y
        x = x + 0.01 * dx
        y = y + 0.01 * dy
    return x + y


def test_loops_over_numbers_are_left_as_they_are():
    g = srcdiff.grad(scalar_steps, wrt=(0, 1))
    assert FAST not in g.source
    got = g(0.7, 0.4, 1.2, 0.8)
    want = srcdiff.grad(scalar_steps, wrt=(0, 1), mode="tape")(0.7, 0.4, 1.2, 0.8)
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ------------------------------------------------------------------- the pass itself

def _scalarized(body, adjoints, arrays=("a", "b"), after=()):
    lines = ["    for k in range(m):"] + ["        " + line for line in body] + list(after)
    return scalarize(lines, set(adjoints), set(arrays), Namer())


def test_a_run_needs_a_loop_a_known_array_and_three_arrays_saved():
    body = ["d1 = unbroadcast(g * a, a)", "d2 = d1 * b + d1", "d3 = d2 * d2 - a", "e = d3 * b"]
    out = _scalarized(body, ["d1", "d2", "d3", "e"])
    assert any(FAST in line for line in out)
    assert not any(FAST in line for line in scalarize(
        ["    " + line for line in body], {"d1", "d2", "d3", "e"}, {"a", "b"}, Namer()))
    assert not any(FAST in line for line in _scalarized(body, ["d1", "d2", "d3", "e"], ()))
    assert not any(FAST in line for line in _scalarized(body[:2], ["d1", "d2"]))


def test_a_run_ends_where_a_written_array_would_be_read_by_value():
    body = ["d1 = unbroadcast(g * a, a)", "d2 = d1 * b + d1", "d3 = d2 * d2 - a",
            "dz = scatter_add_to(dz, slice(0, h, None), d3)", "d4 = dz * a"]
    out = _scalarized(body, ["d1", "d2", "d3", "dz", "d4"])
    loop = _element_loop("\n".join(out))
    assert any("dz.flat[start + j] += " in line for line in loop)
    assert not any("d4" in line for line in loop)
    # and the other way round: read by value, then written into
    body = ["d1 = unbroadcast(g * a, a)", "d2 = d1 * dz + d1", "d3 = d2 * d2 - a",
            "dz = zero_at(dz, i)"]
    loop = _element_loop("\n".join(_scalarized(body, ["d1", "d2", "d3", "dz"])))
    assert any("dz_j" in line or "dz_v[j]" in line for line in loop)
    assert not any("dz_row" in line for line in loop)


def test_rows_read_and_zeroed_keep_their_order_element_by_element():
    """``dcell`` reads row ``i + 1`` before it is zeroed, ``dh`` row ``i`` after row
    ``i + 1`` is (the same row when the indices agree): both give the lines' values."""
    body = ["dcell = unbroadcast(copy_of(ds[r]), a)", "ds = zero_at(ds, r)",
            "dh = dx + unbroadcast(copy_of(ds[q]), a)", "ds = zero_at(ds, q)",
            "d1 = dh * a + dcell * b", "d2 = d1 * d1", "dout = d2 * a + dh"]
    adjoints = ["dcell", "ds", "dh", "d1", "d2", "dout"]
    out = ["    m = 1"] + _scalarized(body, adjoints, ("a", "b", "dx"), ["    return dout, ds"])
    source = "def f(ds, dx, a, b, r, q):\n" + "\n".join(out) + "\n"
    assert FAST in source
    plain = "def f(ds, dx, a, b, r, q):\n    m = 1\n    for k in range(m):\n" + \
        "\n".join("        " + line for line in body) + "\n    return dout, ds\n"
    helpers = {name: getattr(runtime, name) for name in runtime.__all__}
    rng = np.random.default_rng(6)
    for r, q in ((1, 0), (1, 1)):
        ds, dx, a, b = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=4), \
            rng.normal(size=4)
        results = []
        for text, python in ((plain, True), (source, False)):
            namespace = dict(helpers, np=np)
            exec(text, namespace)
            namespace["PYTHON"] = python
            results.append(namespace["f"](ds.copy(), dx, a, b, r, q))
        for want, got in zip(*results, strict=True):
            np.testing.assert_array_equal(got, want)


def test_known_arrays_follow_slices_arithmetic_moves_and_cotangents():
    lines = ["    g = z[0:n]", "    e = np.exp(-g) * w", "    f = e", "    s = np.sum(e)",
             "    q = x[i]", "    c = np.concatenate((q, q))", "    dq = unbroadcast(dc, c)"]
    assert known_arrays(lines, {"f": "df", "s": "ds"}) == {"g", "e", "f", "df", "c", "dq"}


# ------------------------------------------------------------------- the helpers

def test_the_helpers_in_python():
    v, m = np.arange(3.0), np.ones((2, 3))
    assert runtime.vector_length(v) == 3 and runtime.vector_length(m) == -1
    assert runtime.vector_length(np.array([1j])) == -1 and runtime.vector_length(2.0) == -1
    assert runtime.vector_like(3, (v, 1.0)).shape == (3,)
    assert runtime.vector_like(3, (m,)).shape == (3, 1) and runtime.vector_like(3, (1.0,)) == 0.0
    assert runtime.as_vector(v) is v and runtime.as_vector(m).shape == (0,)
    assert runtime.as_vector(2.0).shape == (0,)
    row = runtime.row_of(m, 1)
    row[0] = 5.0
    assert m[1, 0] == 5.0 and runtime.row_of(v, 1).shape == (0,)
    assert runtime.slice_start(np.zeros(8), 2, 6, 4) == 2
    assert runtime.slice_start(np.zeros(8), -4, None, 4) == 4
    assert runtime.slice_start(np.zeros(8), 6, 2, 0) == 6
    assert runtime.slice_start(np.zeros(8), 2, None, 4) == -1
    assert runtime.slice_start(m, 0, 1, 1) == -1


def test_the_compiled_helpers_give_the_python_answers():
    @numba.njit
    def helpers(v, m, x, n):
        row = runtime.row_of(m, 1)
        return (runtime.vector_length(v), runtime.vector_length(m), runtime.vector_length(x),
                runtime.vector_like(n, (v, x)).shape,
                runtime.vector_like(n, (m,)).shape, runtime.vector_like(n, (x,)),
                runtime.as_vector(v).shape, runtime.as_vector(m).shape,
                runtime.as_vector(x).shape, row.shape, runtime.row_of(v, 1).shape,
                runtime.slice_start(v, 1, None, 2), runtime.slice_start(v, -2, None, 2),
                runtime.slice_start(v, 1, None, 1), runtime.slice_start(m, 0, 1, 1))

    v, m = np.arange(3.0), np.ones((2, 3))
    assert helpers(v, m, 2.0, 3) == (3, -1, -1, (3,), (3, 1), 0.0,
                                      (3,), (0,), (0,), (3,), (0,), 1, 1, -1, -1)
    assert helpers(np.arange(3), m, 2.0, 3)[0] == 3


def test_the_element_loops_source_is_one_statement_per_element_line():
    g = srcdiff.grad(cell, wrt=(0,), jit=False)
    for line in _element_loop(g.source):
        if line.strip() and not line.strip().startswith("#"):
            assert len(ast.parse(line.strip()).body) == 1



def _compiled(lines, arguments):
    """``lines`` as the body of ``f(arguments)``, compiled with the runtime's helpers."""
    namespace = {name: getattr(runtime, name) for name in runtime.__all__}
    namespace.update(np=np, PYTHON=False)
    exec(f"def f({arguments}):\n" + "\n".join(lines) + "\n", namespace)
    return numba.njit(namespace["f"])


def test_a_cotangent_summed_to_fewer_dimensions_has_the_type_of_what_it_is_summed_to():
    """``d1 = unbroadcast(g * a, x)`` is 1-D where ``g`` and ``a`` are 2-D: the element
    loop's array for it is made 1-D too, else the two ways of computing it would give
    it two types and the function would not compile."""
    body = ["d1 = unbroadcast(g * a, x)", "d2 = d1 * d1 + x", "d3 = d2 * d2 - x",
            "dout = d3 * x"]
    lines = ["    m = 2", "    dout = x"] + _scalarized(body, ["d1", "d2", "d3", "dout"], ("a", "x"),
                                                      ["    return dout"])
    assert FAST in "\n".join(lines)
    fast = _compiled(lines, "g, a, x")
    plain = _compiled(["    m = 2", "    dout = x", "    for k in range(m):"]
                      + ["        " + line for line in body] + ["    return dout"], "g, a, x")
    rng = np.random.default_rng(7)
    x = rng.normal(size=4)
    g, a = rng.normal(size=4), rng.normal(size=4)
    np.testing.assert_allclose(fast(g, a, x), plain(g, a, x), rtol=1e-13)
    g, a = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))   # compiles; its test fails
    with pytest.raises(runtime.ElementLoopNotTaken):
        fast(g, a, x)


def test_where_the_element_loops_do_not_compile_the_module_without_them_does(monkeypatch):
    """A module whose element loop Numba cannot type (a line made to fail here) is
    generated again without its element loops and compiled: still compiled, the same
    numbers, the reason kept.  (``wrt=(0, 1, 2)``: a program no other test makes.)"""
    from srcdiff.emit import codegen
    from srcdiff.program import program

    def untypable(lines, *rest):
        out = []
        for line in scalarize(lines, *rest):
            out.append(line)
            if re.match(r"\s*if n(_\d+)? >= 1 and ", line):
                out.append(" " * (len(line) - len(line.lstrip()) + 4) + 'broken = "a" + 1')
        return out

    monkeypatch.setattr(codegen, "scalarize", untypable)
    args = _cell_args(seed=8)
    g = srcdiff.grad(cell, wrt=(0, 1, 2))
    assert 'broken = "a" + 1' in g.source
    got = g(*args)
    want = srcdiff.grad(cell, wrt=(0, 1, 2), mode="tape")(*args)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    assert g.jitted, g.jit_reason
    assert FAST not in g.source and "broken" not in g.source
    compiled = program(cell, (0, 1, 2), True, "auto").compiled
    assert compiled.element_loops_reason.startswith("TypingError")
    assert srcdiff.check_grad(cell, *args, wrt=(0, 1, 2), jit=False) < 1e-6


@BOTH
def test_the_backward_of_vjp_has_the_element_loops_too(jit):
    """``vjp``'s pullback runs the generated backward function (not the one-pass
    gradient): its element loops give the tape's vector-Jacobian product."""
    def carried(w, h, xs):
        for t in range(xs.shape[0]):
            z = np.concatenate((xs[t], h)) * w
            f = 1.0 / (1.0 + np.exp(-z[0:h.shape[0]]))
            h = f * h + (1.0 - f) * np.tanh(z[h.shape[0]:])
        return h

    rng = np.random.default_rng(9)
    args = (rng.normal(size=8), rng.normal(size=4), rng.normal(size=(5, 4)))
    v = rng.normal(size=4)
    out, pullback = srcdiff.vjp(carried, *args, jit=jit)
    want_out, want_pullback = srcdiff.vjp(carried, *args, mode="tape")
    np.testing.assert_allclose(out, want_out, rtol=1e-13)
    for a, b in zip(pullback(v), want_pullback(v), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    from srcdiff.program import program
    prog = program(carried, (0, 1, 2), jit, "auto")
    assert FAST in prog.source.split("_backward(")[1].split("\ndef ")[0]
    assert prog.compiled.jitted == jit


def uneven(a, b, steps):
    total = 0.0
    for _ in range(steps):
        h = a.shape[0]
        z = np.concatenate((a, b)) * 0.5
        f = np.tanh(z[0:h])
        g = np.tanh(z[h:])
        total = total + np.sum(f * f * 3.0) + np.sum(g * g * 2.0)
        a = a * 0.9 + 0.1
        b = b * 0.8 - 0.1
    return total


@BOTH
def test_parts_guessed_from_the_bounds_are_checked_when_the_code_runs(jit):
    """``z[0:h]`` and ``z[h:]`` look like the two halves of ``z``. With ``a`` and ``b`` of
    one length they are, and the loop is taken; of different lengths they are not, the
    loop's test fails and the gradient comes from the lines (compiled: from the module
    generated again without element loops)."""
    rng = np.random.default_rng(10)
    a, b = rng.normal(size=3), rng.normal(size=3)
    g = srcdiff.grad(uneven, wrt=(0, 1), jit=jit)
    assert FAST in g.source
    namespace = _python_copy_taking_the_loop(g, unused=["concat_part"])
    loop = namespace["uneven_grad"](a, b, 3, 1.0)[1]
    got = _agree(uneven, (a, b, 3), (0, 1), jit)
    for x, y in zip(got, loop, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)
    assert g.jitted == jit and FAST in g.source
    a, b = rng.normal(size=2), rng.normal(size=3)
    _agree(uneven, (a, b, 3), (0, 1), jit)
    assert srcdiff.check_grad(uneven, a, b, 3, wrt=(0, 1), jit=False) < 1e-6


def shifted(a, y):
    y2 = y.copy()
    for _ in range(2):
        u = y2[1:4] * a
        y2[0:3] = np.sin(u) * a + u
    return np.sum(y2 * y2)


@BOTH
def test_a_slice_zeroed_at_one_offset_and_added_into_at_another_keeps_the_lines(jit):
    """``y2[0:3] = ...`` zeroes ``dy2[0:3]``, ``y2[1:4]`` adds into ``dy2[1:4]``: element
    by element the zero of element 2 would come after its addition (found by a review
    of the change, the compiled gradient was wrong). Additions alone commute; a zero
    among writes at other offsets ends the run."""
    a, y = np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.1, -0.7, 1.2])
    g = srcdiff.grad(shifted, wrt=(0, 1), jit=jit)
    got = g(a, y)           # (the tape refuses: y2 is written after y2[1:4] is read)
    np.testing.assert_allclose(got[0], [0.00933, -63.946, 2.4568], rtol=1e-3)
    np.testing.assert_allclose(got[1], [0.0, 0.0, -0.01475, -19.667], rtol=1e-3, atol=1e-12)
    assert srcdiff.check_grad(shifted, a, y, wrt=(0, 1)) < 1e-6
    assert g.jitted == jit
    for text in g.source.split(FAST)[1:]:
        _assert_zeroed_only_where_written(_element_loop(FAST + text))


def _assert_zeroed_only_where_written(loop):
    """In an element loop, an array zeroed at an offset is written at no other one."""
    writes = {}
    for line in loop:
        found = re.match(r"\s*(\w+)\.flat\[(\w+) \+ [^\]]*\] (\+?=) ", line)
        if found:
            writes.setdefault(found[1], set()).add((found[2], found[3] == "="))
    for array, seen in writes.items():
        assert len({start for start, _ in seen}) == 1 or not any(z for _, z in seen), array


def test_zeroing_one_slice_and_adding_into_another_is_not_one_run():
    body = ["d1 = unbroadcast(g * a, a)", "d2 = d1 * b + d1",
            "dz = zero_at(dz, slice(0, h, None))", "d3 = d2 * d2 - a",
            "dz = scatter_add_to(dz, slice(1, k, None), d3)", "d4 = d3 * a + d2"]
    text = "\n".join(_scalarized(body, ["d1", "d2", "d3", "dz", "d4"], after=["    return d4, dz"]))
    for part in text.split(FAST)[1:]:
        _assert_zeroed_only_where_written(_element_loop(FAST + part))
    assert "dz = scatter_add_to(dz, slice(1, k, None), d3)" in text
    # two additions at different offsets are one run
    body[2] = "dz = scatter_add_to(dz, slice(0, h, None), d2)"
    text = "\n".join(_scalarized(body, ["d1", "d2", "d3", "dz", "d4"], after=["    return d4, dz"]))
    loop = _element_loop(text)
    assert sum(".flat[start" in line and "+=" in line for line in loop) == 2


def decayed(w, x):
    y = np.zeros_like(x)
    for i in range(w.shape[0]):
        e = np.tanh(w[i] * x[0:3])
        y = y * 0.5 + e * e * w[i] - e
    return y


@BOTH
def test_a_pullback_whose_element_loop_test_fails_is_recompiled_without_them(jit):
    """``vjp``'s forward and backward are called past ``Compiled`` once compiled; a
    backward whose element loop's test fails (2-D rows) has the module compiled again
    without element loops, and the calls after it go to the new module."""
    rng = np.random.default_rng(11)
    cases = [(rng.normal(size=(4, 3)), rng.normal(size=3)),
             (rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 3))),
             (rng.normal(size=(4, 3)), rng.normal(size=3))]
    for w, x in cases:
        out, pullback = srcdiff.vjp(decayed, w, x, jit=jit)
        want_out, want_pullback = srcdiff.vjp(decayed, w, x, mode="tape")
        v = rng.normal(size=np.shape(out))
        np.testing.assert_allclose(out, want_out, rtol=1e-13)
        for a, b in zip(pullback(v), want_pullback(v), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    from srcdiff.program import program
    prog = program(decayed, (0, 1), jit, "auto")
    assert prog.compiled.jitted == jit
    assert (FAST in prog.source) == (not jit)
    if jit:                 # the direct calls go to the module compiled again
        assert prog._compiled_passes[2] is prog.compiled._dispatchers
