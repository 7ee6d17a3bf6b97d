"""Python source from the IR and the adjoint IR: the module a user can read and step through.

The module holds four functions for a user function ``f``:

- ``f``: the primal, one operation per line (``fuse`` then writes a temporary read
  once into the expression that reads it, as the user would have);
- ``f_forward``: the primal, returning its result and the values the adjoint reads;
- ``f_backward``: the adjoint, taking those values and the result's cotangent,
  returning one cotangent per differentiated parameter;
- ``f_grad``: forward then backward, how the two fit together (srcdiff calls the
  two in turn: compiled as one function, Numba would optimise both twice).

Each block is headed by a comment quoting the source line it comes from.
"""
import ast
import dataclasses
import os
import textwrap
from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..ir.analysis import bind
from ..ir.nodes import Const, For, If, Opaque, Seq, Slice, Var, applies, reads
from ..ir.writes import in_place
from ..ir.nodes import atom_vars as _atom_names
from ..transform.reverse import BranchBlock, LoopBlock
from . import templates
from .accumulate import accumulate_in_place
from .fuse import fuse_temporaries
from .scalarize import known_arrays, scalarize
from .templates import reads_by_value
from .naming import RESERVED

_BINARY = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "**": ast.Pow,
           "@": ast.MatMult, "%": ast.Mod, "//": ast.FloorDiv}
_COMPARE = {"<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE, "==": ast.Eq, "!=": ast.NotEq}
_UNARY = {"-": ast.USub, "+": ast.UAdd}


def _load(name):
    return ast.Name(name, ast.Load())


def to_ast(atom, subscript=False):
    """An IR atom as an expression (``subscript``: inside ``[...]``, where ``a:b`` is legal)."""
    if isinstance(atom, Var):
        return _load(atom.name)
    if isinstance(atom, Const):
        if atom.source:
            return ast.parse(atom.source, mode="eval").body
        value = atom.value.item() if isinstance(atom.value, np.generic) else atom.value
        return ast.Constant(value)
    if isinstance(atom, Seq):
        items = [to_ast(a, subscript) for a in atom.items]
        return ast.List(items, ast.Load()) if atom.kind == "list" else ast.Tuple(items, ast.Load())
    if isinstance(atom, Slice):
        parts = [None if isinstance(p, Const) and p.value is None else to_ast(p)
                 for p in (atom.lower, atom.upper, atom.step)]
        if subscript:
            return ast.Slice(*parts)
        return ast.Call(_load("slice"), [p or ast.Constant(None) for p in parts], [])
    raise TypeError(f"not an atom: {atom!r}")


def _path(path):
    return ast.parse(path, mode="eval").body


def primal_expr(stmt):
    """The right-hand side of an IR statement, as the user would write it."""
    prim = stmt.prim
    args = stmt.args
    if isinstance(prim, Opaque):
        func = _load(prim.name)
    elif stmt.callee:
        func = _load(stmt.callee)
    elif prim.attribute:
        return ast.Attribute(to_ast(args[0]), prim.attribute, ast.Load())
    elif prim.name == "assign":
        return to_ast(args[0])
    elif prim.name == "getitem":
        return ast.Subscript(to_ast(args[0]), to_ast(args[1], subscript=True), ast.Load())
    elif stmt.operator and prim.infix and len(args) == 2:
        left, right = to_ast(args[0]), to_ast(args[1])
        if prim.infix in _COMPARE:
            return ast.Compare(left, [_COMPARE[prim.infix]()], [right])
        return ast.BinOp(left, _BINARY[prim.infix](), right)
    elif stmt.operator and prim.infix and len(args) == 1:
        return ast.UnaryOp(_UNARY[prim.infix](), to_ast(args[0]))
    else:
        along = _along(stmt)
        if along is not None:
            return along
        func = _path(prim.path or prim.name)
    keywords = [ast.keyword(k, to_ast(v)) for k, v in stmt.kwargs.items()]
    return ast.Call(func, [to_ast(a) for a in args], keywords)


# reductions Numba compiles only without axis and keepdims: with them, generated code
# calls the runtime helper that takes both (same result; loops when compiled)
_ALONG = {"np.sum": "sum_along", "np.mean": "mean_along", "np.prod": "prod_along",
          "np.max": "max_along", "np.min": "min_along", "np.linalg.norm": "norm_along",
          "np.cumsum": "cumsum_along"}


def _along(stmt):
    """``np.max(a, axis=1)`` as ``max_along(a, 1, False)``, or None to write it as is."""
    helper = _ALONG.get(stmt.prim.path)
    if helper is None or stmt.prim.rule is None:
        return None
    # Numba's own np.linalg.norm(v) calls BLAS (about 55 ns on a 3-vector, against 3 ns
    # for the helper's loop): norms are written with the helper even without an axis
    if len(stmt.args) < 2 and not stmt.kwargs and helper != "norm_along":
        return None
    bound = bind(stmt)
    if set(bound) - {stmt.prim.rule.params[0], "axis", "keepdims", "ord"}:
        return None
    ord_ = bound.get("ord", Const(None))
    if not (isinstance(ord_, Const) and ord_.value is None):
        return None                      # norm_along computes the 2-norm only
    axis = bound.get("axis", Const(None))
    if not (isinstance(axis, Var) or (isinstance(axis, Const) and
                                      (axis.value is None or isinstance(axis.value, int)))):
        return None                      # a tuple of axes: NumPy's call, run as Python
    parts = [bound[stmt.prim.rule.params[0]], axis]
    if helper != "cumsum_along":
        parts.append(bound.get("keepdims", Const(False)))
    return ast.Call(_load(helper), [to_ast(p) for p in parts], [])


class _Lines:
    """Indented lines with a comment each time the source line changes."""

    def __init__(self):
        self.lines = []
        self.assigned = set()
        self.order = {}            # names assigned, in order (dict as an ordered set)
        self.depth = 1
        self._last = None

    def indent(self):
        return "    " * self.depth

    def put(self, text, assigns=None):
        """A line of code as text (loops' bookkeeping), at the current depth."""
        if assigns:
            self.assigned.add(assigns)
            self.order.setdefault(assigns)
        self.lines.append(self.indent() + text)

    def _put(self, text):
        self.lines.append(self.indent() + text)

    def header(self, loc, prefix=""):
        key = (loc.filename, loc.lineno)
        if key != self._last:
            self._last = key
            self._put(f"# {prefix}{os.path.basename(loc.filename)}:{loc.lineno}: {loc.text}")

    def add(self, node):
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            self.assigned.update(names)
            self.order.update(dict.fromkeys(names))
        self._put(ast.unparse(ast.fix_missing_locations(node)))

    def block(self, opener, emit_body):
        """``opener`` (``if c:``, ``else:``) and an indented body (``pass`` if it is empty)."""
        self._put(opener)
        self.depth += 1
        size = len(self.lines)
        emit_body()
        if len(self.lines) == size or all(line.strip().startswith("#")
                                          for line in self.lines[size:]):
            self._put("pass")
        self.depth -= 1
        self._last = None


def _assign(name, value):
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value, lineno=0)


class _Loops:
    """The names a loop's recording uses (trip count, counter, one stack per stored value).

    A loop nested in another loop records in the forward pass too, into stacks that grow
    over all its runs (``stored``), with ``counts`` the number of iterations of each run,
    ``top`` the entries pushed so far (and one more entry per run for the value it ends
    with, if the backward reads one: ``keeps_ends``).
    The backward meets the runs in reverse and takes each back off the top of its stacks.
    """

    def __init__(self, namer, active=(), body=(), take_back=True):
        self.namer = namer
        self.active = set(active)   # values with a derivative: their stacks hold floats
        self.parent = dict(_parents(body))
        self.loop = {id(loop): loop for stmt in body for loop in _loops_in(stmt)}
        # a loop that reads an array it writes into would stack the whole array for
        # each iteration of all its runs: the backward reruns it instead
        self.nested = {key for key in self.parent if take_back
                       and not _reads_what_it_writes(self.loop[key])}
        self.runs = {}         # id(a stored loop) -> (counts, runs so far, top)
        self.outs = {}         # id(a stored loop) -> {carried name: stack of its value after}
        self.names = {}        # id(For) -> (count, counter)
        self.stacks = {}       # id(For) -> {carried name: (stack, name, shape only?)}
        self.undos = {}        # id(For) -> {carried name: names of its undo log}
        self.logged = {}       # id of a write -> the undo log it writes to
        self.copies = {}       # id(a loop with fewer statements) -> (it, the loop it is of)
        self.finals = set()    # (id(For), name): stacks that also keep the value after the loop
        # values costly to recompute (np.exp) that the reversed iterations read from a
        # stack the forward pushes them onto; a stack whose entries change shape makes
        # the program again without them (RunShapeChanged, take_back=False)
        self.keeping = take_back
        self.kept = {}         # id(For) -> {id of a statement in its body: (stack, name)}

    def key(self, loop):
        """Who ``loop``'s recording belongs to: itself, or the loop it is a pruned copy of."""
        return id(self.copies[id(loop)][1]) if id(loop) in self.copies else id(loop)

    def pruned(self, loop, body):
        """``loop`` with only ``body`` of its statements, recording what ``loop`` records."""
        copy = dataclasses.replace(loop, body=body)
        self.copies[id(copy)] = (copy, self.copies.get(id(loop), (None, loop))[1])
        return copy

    def recording(self, loop):
        """The names ``loop``'s recording defines: its trip count, stacks and undo logs."""
        key = self.key(loop)
        if key not in self.names:
            return set()
        logs = {n for log in self.undos.get(key, {}).values() for n in log}
        runs = set(self.runs.get(key, ())) | set(self.outs.get(key, {}).values())
        return {self.names[key][0]} | {stack for stack, _, _ in self.stacks[key].values()} | \
            logs | runs | set(self.kept_stacks(key))

    def keeps_ends(self, key):
        """Whether the loop ``key`` stacks the values its runs end with, one more entry
        each run (a stored loop's runs then take up its count + 1 entries)."""
        return any(k == key for k, _ in self.finals)

    def stored(self, loop):
        """Whether ``loop`` is nested in a loop and recorded by the forward pass over all
        its runs, the backward taking each run back (see the class): a loop with an
        adjoint that does not read an array it writes into, in loops that are stored
        too, or the function's own."""
        key = self.key(loop)
        if key not in self.nested or key not in self.names:
            return False
        outer = self.parent[key]
        return outer not in self.parent or self.stored(self.loop[outer])

    def entry(self, loop):
        """Where iteration ``k`` of the current run of ``loop`` sits in its stacks."""
        counter = self.names[self.key(loop)][1]
        return f"{self.runs[self.key(loop)][2]} + {counter}" if self.stored(loop) else counter

    def out(self, loop, name):
        """The stack of the value the carried ``name`` has after each run of ``loop``."""
        outs = self.outs.setdefault(self.key(loop), {})
        if name not in outs:
            outs[name] = self.namer.fresh(f"{name}_outs")
        return outs[name]

    def read_inside(self, loop):
        """The names the recording of ``loop`` reads in each iteration: at its start, and
        the kept values where they are made."""
        key = self.key(loop)
        return {name for _, name, _ in self.stacks.get(key, {}).values()} | \
            set(self.undos.get(key, {})) | {name for _, name in self.kept.get(key, {}).values()}

    def keep(self, loop, stmt):
        """The stack the forward pushes ``stmt``'s value onto in each iteration of
        ``loop`` (a statement of its body), for its reversed iterations to read."""
        self.of(loop)
        kept = self.kept.setdefault(id(loop), {})
        if id(stmt) not in kept:
            kept[id(stmt)] = (self.namer.fresh(f"{stmt.target}_stack"), stmt.target)
        return kept[id(stmt)][0]

    def kept_stacks(self, key):
        return [stack for stack, _ in self.kept.get(key, {}).values()]

    def stacked(self, key):
        """Whether the loop ``key`` pushes values (its entries then count from ``top``)."""
        return bool(self.stacks[key]) or key in self.kept

    def of(self, loop):
        if id(loop) not in self.names:
            label = loop.index or "iterations"
            fresh = self.namer.fresh
            self.names[id(loop)] = (fresh(f"n_{label}"), fresh(f"k_{label}"))
            self.stacks[id(loop)] = {}
            if id(loop) in self.nested:
                self.runs[id(loop)] = (fresh(f"n_{label}_runs"), fresh(f"{label}_runs"),
                                       fresh(f"{label}_top"))
        return self.names[id(loop)]

    def undo(self, loop, name, writes):
        """The undo log of the carried array ``name``: (values, offsets, length, marks)."""
        self.of(loop)
        logs = self.undos.setdefault(id(loop), {})
        if name not in logs:
            fresh = self.namer.fresh
            logs[name] = (fresh(f"{name}_old"), fresh(f"{name}_at"), fresh(f"{name}_logged"),
                          fresh(f"{name}_marks"))
            for write in writes:
                self.logged[id(write)] = logs[name]
        return logs[name]

    def stack(self, loop, name, shape_only=False, final=False):
        """The stack of ``name``'s value per iteration, or only of its shape; ``final``:
        with one more entry, the value after the loop (entry k + 1 is then the value
        iteration k ends with)."""
        self.of(loop)
        stacks = self.stacks[id(loop)]
        if name not in stacks:
            stacks[name] = (self.namer.fresh(f"{name}_{'shapes' if shape_only else 'stack'}"),
                            name, shape_only)
        if final:
            self.finals.add((id(loop), name))
        return stacks[name][0]

    def by_value(self, loop, name):
        """Whether ``loop`` stacks ``name``'s value (not only its shape)."""
        entry = self.stacks.get(id(loop), {}).get(name)
        return entry is not None and not entry[2]


def _parents(body, outer=None):
    """(id of a loop nested in another loop, id of that loop) for the loops of ``body``."""
    for stmt in body:
        if isinstance(stmt, For):
            if outer is not None:
                yield id(stmt), id(outer)
            yield from _parents(stmt.test + stmt.body, stmt)
        elif isinstance(stmt, If):
            yield from _parents(stmt.then + stmt.orelse, outer)


def _reads_what_it_writes(loop):
    """Whether ``loop`` reads (other than to write into it or move it) an array that it
    writes into: a table the reversed iterations would need whole, iteration by
    iteration (soft DTW's)."""
    statements = list(applies(loop.test + loop.body))
    written = {name for s in statements if s.prim.name == "assign_at"
               for name in (s.target, *_atom_names(s.args[0]))}
    moves = [(s.target, s.args[0].name) for s in statements
             if s.prim.name == "assign" and isinstance(s.args[0], Var)]
    while True:                 # the versions of a written array, moved from one to the next
        grown = written | {a for a, b in moves if b in written} | \
            {b for a, b in moves if a in written}
        if grown == written:
            break
        written = grown
    for s in statements:
        if s.prim.name == "assign_at":
            read = {n for a in s.args[1:] for n in _atom_names(a)}
        elif s.prim.name == "assign":
            read = set()
        else:
            read = set(s.reads())
        if read & written:
            return True
    return bool(set(_atom_names(loop.cond) if loop.cond is not None else ()) & written)


def _range_args(loop):
    return ", ".join(ast.unparse(to_ast(a)) for a in (loop.start, loop.stop, loop.step))


_COPYING = (set(), set())     # no in-place writes: what the backward's recomputing uses

# functions a reversed loop iteration reads the value of from a stack rather than
# computing it again: an exp of 14 elements costs more than the copy onto the stack
# and the read back (the D-LSTM cell's gradient: 10% faster)
_COSTLY = frozenset({np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p,
                     np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan, np.arctan2,
                     np.sinh, np.cosh, np.tanh, np.logaddexp, np.cbrt})


def _emit_forward(body, out, loops=None, skip=(), writes=_COPYING, stand_ins=None,
                  nested=False, numbers=frozenset(), pushes=None):
    """The primal statements of ``body``, leaving out assigns to ``skip``; with ``loops``,
    loops also record what their adjoint reads (their trip count, stacks of values),
    except loops ``nested`` in a loop: the backward reruns the outer loop's body, and
    with it their recording. ``writes`` (from ``ir.writes.in_place``) says which writes
    go into the array itself; ``stand_ins`` (id of a statement -> an expression) what
    stands in for a value needed only for its shape; ``numbers``: the names that hold
    numbers (written into arrays with ``a[i] = v``, the others with ``write_at``);
    ``pushes``: id of a statement -> what emits the push of its value (``_kept_pushes``)."""
    for stmt in body:
        if isinstance(stmt, If):
            out.header(stmt.loc)
            cond = ast.unparse(to_ast(stmt.cond))
            out.block(f"if {cond}:", lambda s=stmt: _emit_forward(
                s.then, out, loops, (), writes, nested=nested, numbers=numbers))
            if stmt.orelse:
                out.block("else:", lambda s=stmt: _emit_forward(
                    s.orelse, out, loops, (), writes, nested=nested, numbers=numbers))
        elif isinstance(stmt, For):
            _emit_loop(stmt, out, loops, writes, nested, numbers)
        elif stmt.target not in skip:
            out.header(stmt.loc)
            in_place, copies = writes[:2]
            if id(stmt) in in_place:           # b[i] = v into b itself, then b_1 is b
                log = loops.logged.get(id(stmt)) if loops is not None else None
                if log is not None:            # the element's old value, for the adjoint
                    old, at, logged, _ = log
                    where = ast.unparse(to_ast(stmt.args[1]))
                    out.put(f"{old}, {at}, {logged} = log_write({old}, {at}, {logged}, "
                            f"{ast.unparse(to_ast(stmt.args[0]))}, {where})")
                out.add(_write(*stmt.args, numbers))
                out.add(_assign(stmt.target, to_ast(stmt.args[0])))
            elif id(stmt) in copies:           # the loop owns the array it writes into
                out.add(_assign(stmt.target, ast.Call(_path("np.copy"), [to_ast(stmt.args[0])], [])))
            elif stand_ins and id(stmt) in stand_ins:
                out.add(_assign(stmt.target, stand_ins[id(stmt)]))
            else:
                out.add(_assign(stmt.target, primal_expr(stmt)))
            if pushes and id(stmt) in pushes:
                pushes[id(stmt)]()


def _write(array, index, value, numbers):
    """``array[index] = value``; ``write_at(array, index, value)`` when ``value`` may be
    an array (compiled, a loop: see ``write_at``)."""
    if isinstance(value, Const) or (isinstance(value, Var) and value.name in numbers):
        return ast.Assign(targets=[ast.Subscript(to_ast(array), to_ast(index, subscript=True),
                                                 ast.Store())], value=to_ast(value), lineno=0)
    return ast.Expr(ast.Call(_load("write_at"), [to_ast(a) for a in (array, index, value)], []))


def _emit_loop(loop, out, loops, writes=_COPYING, nested=False, numbers=frozenset()):
    out.header(loop.loc)
    key = loops.key(loop) if loops is not None else None
    stored = loops is not None and loops.stored(loop)
    if stored and not nested:       # in a reversed iteration: the run is taken back
        return _take_back(loop, out, loops)
    record = loops is not None and key in loops.names and (stored or not nested)
    stacks = loops.stacks[key] if record else {}
    undos = loops.undos.get(key, {}) if record else {}
    if record:
        count, counter = loops.names[key]
        finals = [(stack, name, shape_only) for stack, name, shape_only in stacks.values()
                  if (key, name) in loops.finals or stored and loops.keeps_ends(key)]
    if record and stored:
        _start_run(loop, out, loops)
    elif record:
        if loop.index is not None:
            out.put(f"{count} = trip_count({_range_args(loop)})", assigns=count)
        size = count if loop.index is not None else 8   # a while loop's stacks grow
        for stack, name, shape_only in stacks.values():
            room = f"{size} + 1" if (stack, name, shape_only) in finals and loop.index is not None \
                else size
            out.put(f"{stack} = stack_alloc({room}, {_stack_item(loops, name, shape_only)})",
                    assigns=stack)
        for name, (old, at, logged, marks) in undos.items():
            out.put(f"{old}, {at} = undo_alloc({name})", assigns=old)
            out.order.setdefault(at)
            out.put(f"{logged} = 0", assigns=logged)
            out.put(f"{marks} = stack_alloc({size}, 0)", assigns=marks)
        _start_nested_runs(loop, out, loops)
        out.put(f"{counter} = 0", assigns=counter)
    growing = loop.index is None or stored      # stacks that grow as they are pushed
    entry = loops.entry(loop) if record else None

    def body():
        if loop.index is None:
            _emit_forward(loop.test, out, loops, (), writes, nested=True, numbers=numbers)
            out.block(f"if not {ast.unparse(to_ast(loop.cond))}:", lambda: out.put("break"))
        for old, at, logged, marks in undos.values():    # where this iteration's log starts
            out.put(f"{marks} = stack_push({marks}, {counter}, {logged})" if loop.index is None
                    else f"{marks}[{counter}] = {logged}")
        for stack, name, shape_only in stacks.values():
            _push(out, stack, entry, name, shape_only, growing, numbers, stored)
        _emit_forward(loop.body, out, loops, (), writes, nested=True, numbers=numbers,
                      pushes=_kept_pushes(loop, out, loops, entry, growing, numbers)
                      if record else None)
        if record:
            out.put(f"{counter} = {counter} + 1")
        if loop.exit is not None:
            out.block(f"if {ast.unparse(to_ast(loop.exit))}:", lambda: out.put("break"))
    opener = f"for {loop.index} in range({_range_args(loop)}):" if loop.index is not None \
        else "while True:"
    out.block(opener, body)
    if record and not stored and (loop.index is None or loop.exit is not None):
        out.put(f"{count} = {counter}", assigns=count)   # the iterations that ran
    for stack, name, shape_only in (finals if record else ()):   # and the value they end with
        _push(out, stack, entry, name, shape_only, growing, numbers, stored)
    if record and stored:
        _end_run(loop, out, loops)


def _stack_item(loops, name, shape_only):
    """What a stack of ``name`` is made like: its shape, or its value (as a float when
    it is differentiated: ``s = 0`` may go on as floats)."""
    return f"shape_of({name})" if shape_only else f"1.0 * {name}" if name in loops.active \
        else name


def _push(out, stack, entry, name, shape_only, growing, numbers, runs=False):
    """``name`` (or its shape) into ``stack`` at ``entry``, growing it if it may be full;
    ``runs``: a stack all runs of a nested loop share (``run_push``)."""
    if shape_only:
        out.put(f"{stack} = push_shape({stack}, {entry}, {name})" if growing
                else f"store_shape({stack}, {entry}, {name})")
    elif growing:
        out.put(f"{stack} = {'run_push' if runs else 'stack_push'}({stack}, {entry}, {name})")
    elif name in numbers:
        out.put(f"{stack}[{entry}] = {name}")
    else:
        out.put(f"stack_store({stack}, {entry}, {name})")


def _kept_pushes(loop, out, loops, entry, growing, numbers):
    """{id of a statement: what pushes its value} for the values ``loop`` keeps for its
    reversed iterations (``_Loops.keep``), each stack made by its first push: only there
    is the shape of its entries known."""
    key = loops.key(loop)
    size = _room(loop, loops) if loops.stored(loop) else \
        loops.names[key][0] if loop.index is not None and not growing else 8
    # the first iteration of all runs: a run that ends with an entry of its own (the
    # value it ends with) leaves one behind even if it has no iteration
    first = f"{entry} == {loops.runs[key][1]}" if loops.stored(loop) and \
        loops.keeps_ends(key) else f"{entry} == 0"

    def push(stack, name):
        last = out._last        # (the block does not start another source line)
        out.block(f"if {first}:", lambda: out.put(
            f"{stack} = stack_alloc({size}, {name})", assigns=stack))
        out._last = last
        # (a value of another shape than the entries: RunShapeChanged)
        if name in numbers and not growing:
            out.put(f"{stack}[{entry}] = {name}")
        elif not growing:
            out.put(f"keep_store({stack}, {entry}, {name})")
        else:
            out.put(f"{stack} = run_push({stack}, {entry}, {name})")
    return {at: lambda stack=stack, name=name: push(stack, name)
            for at, (stack, name) in loops.kept.get(key, {}).items()}


def _start_nested_runs(loop, out, loops):
    """Before a loop of the function's own body (or one the backward reruns): nothing
    recorded yet by the loops nested in it, and in Python a name for each of their
    stacks and of the stacks of its kept values, which their first push makes."""
    inner = {loops.key(n): n for n in _loops_in(loop) if n is not loop and loops.stored(n)}
    lazy = loops.kept_stacks(loops.key(loop))
    for key, nested in inner.items():
        counts, runs, top = loops.runs[key]
        out.put(f"{counts} = stack_alloc({_room(nested, loops, per_run=False)}, 0)",
                assigns=counts)
        out.put(f"{runs} = 0", assigns=runs)
        if loops.stacked(key):
            out.put(f"{top} = 0", assigns=top)
        lazy += [stack for stack, _, _ in loops.stacks[key].values()]
        lazy += list(loops.outs.get(key, {}).values()) + loops.kept_stacks(key)
    if lazy:       # (Numba drops this block: PYTHON is False in the compiled module)
        out.block("if PYTHON:", lambda: out.put(" = ".join(lazy) + " = None"))


def _start_run(loop, out, loops):
    """A run of a nested loop: its stacks made by the first run (their entries' shape is
    known only there), the iteration counter at zero."""
    key = loops.key(loop)
    count, counter = loops.names[key]
    runs = loops.runs[key][1]
    stacks = loops.stacks[key]
    _made_by_the_first_run(out, runs, loops, stacks.values(), _room(loop, loops))
    out.put(f"{counter} = 0", assigns=counter)


def _made_by_the_first_run(out, runs, loops, stacks, room):
    """``if runs == 0:`` making each of ``stacks`` (stack, name, shape only?) like its
    value, with ``room`` entries: Numba types a stack by its entries, which only the
    first run shows."""
    stacks = list(stacks)
    if stacks:
        out.block(f"if {runs} == 0:", lambda: [
            out.put(f"{stack} = stack_alloc({room}, {_stack_item(loops, name, shape_only)})",
                    assigns=stack) for stack, name, shape_only in stacks])


def _room(loop, loops, per_run=True):
    """How many entries the stacks of the runs of the nested ``loop`` start with (or,
    not ``per_run``, the stacks of one entry a run): all the runs' when ``loop`` is a
    ``range`` loop in one of the function's own body, neither with a ``break`` (the
    outer trip count times the first run's, with the entry a run ends with: one
    allocation, not a dozen as they double, 8 to 2,303 entries for the D-LSTM's layer
    loop); else 8.  Stacks still grow if later runs are longer."""
    key = loops.key(loop)
    outer = loops.loop[loops.parent[key]]
    if id(outer) in loops.parent or outer.index is None or outer.exit is not None:
        return "8"
    runs = loops.names[id(outer)][0]
    if not per_run:
        return runs
    if loop.index is None or loop.exit is not None:
        return "8"
    ends = " + 1" if loops.keeps_ends(key) else ""
    return f"{runs} * (trip_count({_range_args(loop)}){ends})"


def _end_run(loop, out, loops):
    """After a run of a nested loop: its entries counted, the values it carries out that
    the backward reads pushed, its iteration count pushed."""
    key = loops.key(loop)
    counter = loops.names[key][1]
    counts, runs, top = loops.runs[key]
    if loops.stacked(key):
        out.put(f"{top} = {top} + {counter}" + (" + 1" if loops.keeps_ends(key) else ""))
    outs = loops.outs.get(key, {})
    _made_by_the_first_run(out, runs, loops, [(stack, name, False) for name, stack in outs.items()],
                           _room(loop, loops, per_run=False))
    for name, stack in outs.items():
        out.put(f"{stack} = run_push({stack}, {runs}, {name})")
    out.put(f"{counts} = stack_push({counts}, {runs}, {counter})")
    out.put(f"{runs} = {runs} + 1")


def _take_back(loop, out, loops):
    """In the backward, where a nested loop ran: its last run taken off its stacks (the
    entries of its iterations, then the value it ended with), not run again."""
    key = loops.key(loop)
    count = loops.names[key][0]
    counts, runs, top = loops.runs[key]
    out.put(f"{runs} = {runs} - 1")
    out.put(f"{count} = {counts}[{runs}]", assigns=count)
    if loops.stacked(key):
        out.put(f"{top} = {top} - {count}" + (" - 1" if loops.keeps_ends(key) else ""))
    for name, stack in loops.outs.get(key, {}).items():
        out.put(f"{name} = {stack}[{runs}]", assigns=name)


def _primal_body(fn, loops=None, skip=(), by_value=None):
    """The primal's lines; with ``loops``, its loops record what their adjoints read;
    with ``by_value`` (what is read after it by value), values read only for their
    shape are stand-ins."""
    out = _Lines()
    writes = in_place(fn.body, fn.numbers)
    stand_ins = None
    if by_value is not None:
        keep = set(writes[0]) | set(writes[1])    # writes into arrays are made as they are
        stand_ins = _stand_ins(fn.body, by_value, fn.numbers, keep)
    _emit_forward(fn.body, out, loops, skip, writes, stand_ins, numbers=fn.numbers)
    out.header(fn.result_loc)
    return out


def _needed(body, names, loops=None, outside=None):
    """The statements of ``body`` that compute ``names``, with what they read in turn
    (a branch keeps only the statements of its arms that are needed; with ``loops``, a
    ``range`` loop keeps those its recording and the values it carries out need).
    With ``outside`` (what the code after ``body`` reads before it assigns it), ``body``
    is a reversed iteration's: its nested loops are taken back off their stacks
    (``_take_back``), not run."""
    kept, names = _needed_names(body, set(names), loops, outside)
    return kept


def _loops_in(stmt):
    """``stmt`` if it is a loop, and the loops inside it."""
    if isinstance(stmt, For):
        yield stmt
        for inner in stmt.test + stmt.body:
            yield from _loops_in(inner)
    elif isinstance(stmt, If):
        for inner in stmt.then + stmt.orelse:
            yield from _loops_in(inner)


def _needed_names(body, names, loops=None, outside=None):
    kept = []
    for stmt in reversed(body):
        targets = {s.target for s in applies([stmt])}
        recorded = loops is not None and any(loops.recording(loop) & names
                                             for loop in _loops_in(stmt))
        if not targets & names and not recorded:
            continue                # a loop whose adjoint reads its trip count is needed
        # what is read after the statement (for the branches and the loops taken back)
        later = None if outside is None or not isinstance(stmt, (If, For)) \
            else outside | reads(kept)
        if isinstance(stmt, If):
            then, then_names = _needed_names(stmt.then, set(names), loops, later)
            orelse, else_names = _needed_names(stmt.orelse, set(names), loops, later)
            names = names | then_names | else_names | set(_atom_names(stmt.cond))
            stmt = If(stmt.cond, then, orelse, stmt.loc, stmt.merges)
        elif later is not None and isinstance(stmt, For) and loops.stored(stmt):
            carried_out = set(stmt.carried) & later    # its outs give them
            for name in sorted(carried_out):
                loops.out(stmt, name)
            # the reversed loop restores what it reads of them from its own stacks
            names = names - set(stmt.carried)
            kept.append(stmt)
            continue
        elif isinstance(stmt, For) and loops is not None and stmt.index is not None \
                and stmt.exit is None:
            stmt, inside = _needed_loop(stmt, names, loops)
            names = names | inside
        else:                   # the whole loop: what decides when it stops is all needed
            names |= {n for s in applies([stmt]) for n in s.reads()}
        if isinstance(stmt, For):
            names |= {n for a in (stmt.start, stmt.stop, stmt.step) for n in _atom_names(a)}
        kept.append(stmt)
    return kept[::-1], names


def _needed_loop(loop, names, loops):
    """``loop`` with the statements that compute ``names`` and what its recording reads,
    and the names those read: a value read at the start of an iteration is needed at
    the end of the one before, so the set grows until it holds."""
    inside = set(names) | loops.read_inside(loop)
    while True:
        body, reads = _needed_names(loop.body, set(inside), loops)
        if reads == inside:
            return loops.pruned(loop, body), inside
        inside = reads


def _contributions(blocks):
    for block in blocks:
        if isinstance(block, BranchBlock):
            yield from _contributions(block.then)
            yield from _contributions(block.orelse)
        elif isinstance(block, LoopBlock):
            yield from _contributions(block.body)
        else:
            yield from block.contributions


def _zeros(target, var):
    return _assign(target, ast.Call(_load("zeros_like"), [_load(var)], []))


def _stand_in(stmt, numbers):
    """What can stand in for ``stmt``'s value where only its shape is read: an operand
    of the same shape, a stand-in of the broadcast or matrix product's shape; or None."""
    impl, args = getattr(stmt.prim, "impl", None), stmt.args
    if stmt.callee or not all(isinstance(a, (Var, Const)) for a in args):
        return None
    if stmt.prim.name == "assign" and isinstance(args[0], Var):
        return to_ast(args[0])      # a move: what it moves is read for its shape only
    if _REDUCED.get(getattr(stmt.prim, "path", None)):
        return _reduced_stand_in(stmt)
    if stmt.kwargs:
        return None
    arrays = [a for a in args if isinstance(a, Var) and a.name not in numbers]
    if impl is np.matmul and len(arrays) == 2:
        return ast.Call(_load("matmul_stand_in"), [to_ast(a) for a in args], [])
    if not isinstance(impl, np.ufunc) or impl.nout != 1 or impl.signature is not None \
            or not 1 <= len(args) <= 2 or not arrays:
        return None               # (a generalized ufunc, np.vecdot, has core dimensions)
    if len(arrays) == 1 or len(set(arrays)) == 1 and len(arrays) == len(args):
        return to_ast(arrays[0])   # the others are numbers (or the same): its shape
    return ast.Call(_load("broadcast_stand_in"), [to_ast(a) for a in args], [])


# reductions whose result's shape follows from the input's, the axis and keepdims
_REDUCED = {path: True for path in _ALONG if path != "np.cumsum"}


def _reduced_stand_in(stmt):
    """``reduced_stand_in(a, axis, keepdims)`` (or 0.0 for a number) for a reduction
    whose axis is None or an int, or None."""
    bound = bind(stmt)
    first = stmt.prim.rule.params[0]
    if set(bound) - {first, "axis", "keepdims", "ord"} or \
            not isinstance(bound.get("ord", Const(None)), Const):
        return None
    axis, keep = bound.get("axis", Const(None)), bound.get("keepdims", Const(False))
    if not (isinstance(keep, Const) and isinstance(keep.value, bool)) or not (
            isinstance(axis, Var) or isinstance(axis, Const) and
            (axis.value is None or isinstance(axis.value, int))):
        return None
    if isinstance(axis, Const) and axis.value is None and not keep.value:
        return ast.Constant(0.0)
    return ast.Call(_load("reduced_stand_in"), [to_ast(p) for p in (bound[first], axis, keep)], [])


def _stand_ins(statements, by_value, numbers, keep=None):
    """{id of a statement: its stand-in} for the statements of a reversed iteration
    whose values are read only for their shape (the first use sees them all).
    With ``keep``, the statements are the function's own, for the one-pass gradient:
    none for those in ``keep``, and a stand-in names the first value of the same shape
    (``x`` for ``z`` in ``y = x + 2; z = y * 3``), so that ``y`` may go into its reader."""
    return _stand_ins_and_values(statements, by_value, numbers, keep)[0]


def _stand_ins_and_values(statements, by_value, numbers, keep=None):
    """``_stand_ins``, and the names read by value: ``by_value`` and what the
    statements without a stand-in read."""
    sources = _shape_sources(statements, numbers) if keep is not None else {}
    value, found = set(by_value), {}
    for stmt in reversed(statements):
        if isinstance(stmt, (If, For)):
            value |= reads([stmt])
            continue
        stand_in = _stand_in(stmt, numbers) if stmt.target not in value \
            and id(stmt) not in (keep or ()) else None
        if stand_in is not None:
            found[id(stmt)] = templates.Substitute(
                {name: _load(source) for name, source in sources.items()}).visit(stand_in)
        else:
            value |= set(stmt.reads())
    return found, value


def _shape_sources(statements, numbers):
    """{name: the name it has the shape of} along straight statements whose value has
    an operand's shape (``y = x + 2``), for names defined once."""
    defined = [s.target for s in applies(statements)]
    sources = {}
    for stmt in statements:
        if isinstance(stmt, (If, For)):
            continue
        same = _stand_in(stmt, numbers)
        if isinstance(same, ast.Name) and defined.count(stmt.target) == 1 and \
                defined.count(same.id) <= 1:
            sources[stmt.target] = sources.get(same.id, same.id)
    return sources


class _Backward:
    """Writes the adjoint: blocks in reverse order, branches re-taken as in the forward pass,
    loops run backwards from their recorded values."""

    def __init__(self, adj, take_back=True):
        self.adj = adj
        self.names = adj.adjoint_names
        self.out = _Lines()
        self.loops = _Loops(adj.fn.namer, adj.active, adj.fn.body, take_back)
        self.undoable = in_place(adj.fn.body, adj.fn.numbers)[2]

    def blocks(self, blocks, started, recompute, carried=()):
        for block in blocks:
            if isinstance(block, BranchBlock):
                self.branch(block, started, recompute)
            elif isinstance(block, LoopBlock):
                self.loop(block, started)
            else:
                self.block(block, started, carried)

    def start_outside(self, blocks, inner, started):
        """Cotangents of values from outside a region that it adds to start at zero there."""
        for c in _contributions(blocks):
            target = self.names[c.var]
            if c.var not in inner and target not in started:
                self.out.add(_zeros(target, c.var))
                started.add(target)

    def recomputed(self, emit_adjoint, statements, skip, loop=None):
        """Emit the adjoint, then put before it the statements that recompute what it
        reads: in ``loop``'s reversed body, the value an iteration ends a carried value
        with is the next iteration's stacked one, and values read only for their shape
        get stand-ins."""
        out = self.out
        mark = len(out.lines)
        emit_adjoint()
        adjoint_lines = out.lines[mark:]
        del out.lines[mark:]
        out._last = None
        needed = _reads(adjoint_lines) if adjoint_lines else set()
        by_value = _by_value(adjoint_lines)
        ends = self.ends_from_stack(loop, by_value) if loop is not None else {}
        statements = [s for s in statements if getattr(s, "target", None) not in skip
                      and getattr(s, "target", None) not in ends]
        stored = self.costly(loop, statements, needed, by_value) if loop is not None else []
        stored_ids = {id(s) for s in stored}
        kept = _needed([s for s in statements if id(s) not in stored_ids], needed, self.loops,
                       _inputs(adjoint_lines) if loop is not None and adjoint_lines else None)
        for line in ends.values():
            out.put(line)
        used = needed | reads(kept)
        for stmt in stored:
            if stmt.target in used:
                out.put(f"{stmt.target} = {self.loops.keep(loop, stmt)}[{self.loops.entry(loop)}]")
        stand_ins = _stand_ins(kept, by_value, self.adj.fn.numbers) if loop is not None else None
        _emit_forward(kept, out, self.loops, stand_ins=stand_ins, numbers=self.adj.fn.numbers)
        out.lines += adjoint_lines

    def costly(self, loop, statements, needed, by_value):
        """The statements of ``loop``'s body among ``statements`` whose value is costly
        to recompute (``_COSTLY``) and read by value in a reversed iteration: the forward
        keeps them (``_Loops.keep``).  Each has one definition, in the body itself."""
        if not self.loops.keeping:
            return []
        assigned = [s.target for s in applies(loop.body)]
        candidates = [s for s in statements if not isinstance(s, (If, For))
                      and assigned.count(s.target) == 1
                      and getattr(s.prim, "impl", None) in _COSTLY and s.target in self.adj.active]
        if not candidates:
            return []
        # what the reversed iteration reads by value when it recomputes everything
        recomputed = _needed(statements, needed)
        _, value = _stand_ins_and_values(recomputed, by_value, self.adj.fn.numbers)
        return [s for s in candidates if s.target in value]

    def ends_from_stack(self, loop, by_value):
        """{y: ``y = c_stack[k + 1]``} for each ``c = y`` ending an iteration of ``loop``
        whose ``y`` the adjoint reads: the value the next iteration starts with."""
        carried, entry = set(loop.carried), self.loops.entry(loop)
        assigned = [s.target for s in applies(loop.body)]
        # a value with one definition, in the body itself: one value per iteration
        defined = {s.target for s in loop.body if not isinstance(s, (If, For))
                   and assigned.count(s.target) == 1}
        undoable = self.undoable.get(id(loop), {})
        ends = {}
        for stmt in loop.body:
            if isinstance(stmt, (If, For)) or stmt.target not in carried \
                    or stmt.prim.name != "assign" or not isinstance(stmt.args[0], Var):
                continue
            value = stmt.args[0].name
            if value in by_value and value in defined and stmt.target not in undoable:
                stack = self.loops.stack(loop, stmt.target, final=True)
                ends[value] = f"{value} = {stack}[{entry} + 1]"
        return ends

    def branch(self, block, started, recompute):
        stmt, out = block.stmt, self.out
        self.start_outside([block], {s.target for s in applies(stmt.then + stmt.orelse)}, started)
        out.header(stmt.loc, "adjoint of ")
        cond = ast.unparse(to_ast(stmt.cond))
        for opener, arm, reverse in ((f"if {cond}:", stmt.then, block.then),
                                     ("else:", stmt.orelse, block.orelse)):
            def emit(arm=arm, reverse=reverse):
                adjoint = lambda: self.blocks(reverse, set(started), recompute=False)  # noqa: E731
                if recompute:    # the arm's values the adjoint reads: recomputed, not stored
                    self.recomputed(adjoint, arm, stmt.merges)
                else:
                    adjoint()
            if reverse or opener.startswith("if"):
                out.block(opener, emit)

    def loop(self, block, started):
        loop, out = block.stmt, self.out
        carried = set(loop.carried)
        inner = {s.target for s in applies(loop.body)} - carried
        self.start_outside([block], inner, started)
        count, counter = self.loops.of(loop)
        entry = self.loops.entry(loop)
        out.header(loop.loc, "adjoint of ")

        def iteration():
            if loop.index is not None:
                start, step = (ast.unparse(to_ast(a)) for a in (loop.start, loop.step))
                out.put(f"{loop.index} = {start} + {counter} * {step}")
            mark = len(out.lines)
            inner_started = set(started)
            self.recomputed(lambda: self.blocks(block.body, inner_started, recompute=False,
                                                carried=carried), loop.body, carried, loop)
            for name in sorted(carried):     # a carried value no statement sent anything to
                g = self.names.get(name)
                if g in started and g not in inner_started:
                    out.add(_zeros(g, name))
            lines = out.lines[mark:]
            by_value = _by_value(lines)
            restored = []
            undoable = self.undoable.get(id(loop), {})
            for name in sorted(carried & _reads(lines)):
                if name in by_value and name in undoable:   # the writes undone, in place
                    old, at, logged, marks = self.loops.undo(loop, name, undoable[name])
                    restored.append(f"{logged} = undo_writes({name}, {old}, {at}, "
                                    f"{marks}[{counter}], {logged})")
                    rolled.append(name)
                elif name in by_value or self.loops.by_value(loop, name):
                    restored.append(f"{name} = {self.loops.stack(loop, name)}[{entry}]")
                else:       # read for its shape only: the shape is stored, not the value
                    shapes = self.loops.stack(loop, name, shape_only=True)
                    restored.append(f"{name} = shape_at({shapes}, {entry}, {name})")
            out.lines[mark:mark] = [out.indent() + line for line in restored]
        rolled = []                          # arrays rolled back write by write
        before = len(out.lines)
        out.block(f"for {counter} in range({count} - 1, -1, -1):", iteration)
        out.lines[before:before] = [out.indent() + f"{name} = np.copy({name})"
                                    for name in rolled]

    def block(self, block, started, carried=()):
        stmt, out, names = block.stmt, self.out, self.names
        g = names.get(stmt.target)
        if g not in started:
            return                            # a zero cotangent sends nothing
        rule = stmt.prim.rule
        bindings = {p: to_ast(a) for p, a in block.bindings.items()}
        bindings.update(g=_load(g), ans=_load(stmt.target))
        out.header(stmt.loc, "adjoint of ")
        for c in block.contributions:
            if c.part is not None:
                bindings["part"] = ast.Constant(c.part)
            lets, exprs = templates.expand(rule, bindings, [rule.wrt.index(c.param)],
                                           self.adj.fn.namer.fresh)
            for let in lets:
                out.add(let)
            target = names[c.var]
            value = exprs[rule.wrt.index(c.param)]
            if _others_are_numbers(stmt, block.bindings, c.param, self.adj.fn.numbers):
                value = _without_unbroadcast(value)
            if target in started:     # t + (-e) is t - e, to the last bit
                negated = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
                value = ast.BinOp(_load(target), ast.Sub() if negated else ast.Add(),
                                  value.operand if negated else value)
            started.add(target)
            out.add(_assign(target, value))
        if stmt.target in carried:
            # the end of an iteration: the value at its start is another value, whose
            # cotangent starts afresh (at zero, if nothing reaches it: see loop())
            started.discard(g)


def _others_are_numbers(stmt, bindings, param, numbers):
    """Whether the other operands of an elementwise ufunc are numbers or ``param``'s own
    value (``y * y``): the result, and so its cotangent, then has ``param``'s shape."""
    if not isinstance(stmt.prim.impl, np.ufunc):
        return False
    for p, atom in bindings.items():
        if p == param or atom == bindings[param]:
            continue
        if isinstance(atom, Const) and type(atom.value) in (int, float, bool):
            continue
        if not (isinstance(atom, Var) and atom.name in numbers):
            return False
    return True


def _without_unbroadcast(value):
    """``unbroadcast(e, x)`` as ``e`` (and ``-unbroadcast(e, x)`` as ``-e``), where ``e``
    has ``x``'s shape already."""
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        return ast.UnaryOp(ast.USub(), _without_unbroadcast(value.operand))
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
            and value.func.id == "unbroadcast":
        return value.args[0]
    return value


def _backward_body(adj, take_back=True):
    """The adjoint's lines, each wrt parameter's cotangent name (None when it got none),
    and the loops' recording names."""
    writer = _Backward(adj, take_back)
    result = adj.fn.result
    started = {adj.seed} if isinstance(result, Var) and result.name in adj.adjoint_names else set()
    writer.blocks(adj.blocks, started, recompute=True)
    names = adj.adjoint_names
    return writer.out, [names[p] if names.get(p) in started else None for p in adj.wrt], writer.loops


def _inputs(lines):
    """The names the lines read before assigning them: what they need from outside."""
    tree = ast.parse(textwrap.dedent("\n".join(lines)))
    assigned, needed = set(), []

    def visit(node):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            visit(node.value)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                visit(target)
            return
        if isinstance(node, ast.For):
            visit(node.iter)
            visit(node.target)
            for child in node.body:
                visit(child)
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                assigned.add(node.id)
            elif node.id not in assigned:
                needed.append(node.id)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return set(needed)


def _by_value(lines):
    """The names the lines read for their values (``reads_by_value``)."""
    return reads_by_value(ast.parse(textwrap.dedent("\n".join(lines)))) if lines else set()


def _reads(lines):
    """Every name the lines read."""
    tree = ast.parse(textwrap.dedent("\n".join(lines)))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _tuple(names):
    return names[0] + "," if len(names) == 1 else ", ".join(names)


@dataclass
class Module:
    """A generated module's text and the facts callers need to drive it."""
    text: str
    primal: str                # function names
    forward: str
    backward: str
    grad: str
    param_reads: list          # indices of the inputs (parameters, then globals) backward reads
    result_read: bool          # whether backward reads the result too
    constants: str = None      # a Python function computing the values hoisted out of the
    kept: list = None          # compiled code; the inputs (by index) the compiled code takes
    element_loops: bool = False    # whether runs of the backward are loops over elements too


def _hoisted(fn, adj):
    """Calls to library functions on constants (``multigammaln(0.5 * n, d)``) at the top
    of the function, with what they read: computed in Python before the compiled code,
    which Numba could not compile with a Python callable in it."""
    calls, body = [], fn.body
    for k, stmt in enumerate(body):
        if isinstance(stmt, If) or isinstance(stmt, For) or not isinstance(stmt.prim, Opaque) \
                or stmt.target in adj.active:
            continue
        slice_ = _needed(body[:k], set(stmt.reads()))
        if not any(isinstance(s, (If, For)) or s.target in adj.active for s in slice_):
            calls.append(stmt)
    if not calls:
        return [], []
    needed = {id(s) for c in calls for s in _needed(body[:body.index(c)], set(c.reads()))}
    needed |= {id(c) for c in calls}
    return calls, [s for s in body if id(s) in needed]


def generate(fn, adj, take_back=True, element_loops=True):
    """The generated module for ``fn`` and its adjoint ``adj``; ``take_back=False``:
    every nested loop is rerun by the backward (see ``runtime.RunShapeChanged``);
    ``element_loops=False``: no runs of the backward written as loops over elements
    (``scalarize``)."""
    all_params = list(fn.params) + list(fn.free_values)
    calls, prelude = _hoisted(fn, adj)
    hoisted = [c.target for c in calls]
    still_called = {s.prim.name for s in applies(fn.body)
                    if isinstance(s.prim, Opaque) and s not in calls}
    dropped = {c.prim.name for c in calls} - still_called     # callables Numba cannot take
    params = [p for p in all_params if p not in dropped] + hoisted
    signature = ", ".join(params)
    result = ast.unparse(to_ast(fn.result))
    backward, results, loops = _backward_body(adj, take_back)
    for p, r in zip(adj.wrt, results, strict=True):
        if r is None:
            backward.add(_zeros(adj.adjoint_names.setdefault(p, adj.fn.namer.adjoint(p)), p))
    backward.lines = accumulate_in_place(backward.lines)
    primal = _primal_body(fn, skip=set(hoisted))
    forward = _primal_body(fn, loops, set(hoisted))   # recording what the loops' adjoints read
    grads = [adj.adjoint_names[p] for p in adj.wrt]
    read = _inputs(backward.lines) - {adj.seed}
    param_reads = [p for p in params if p in read]
    saved = [n for n in forward.order if n in read and n != result and n not in params]
    result_read = result in read and result not in params
    # a value the backward reads only for its shape is handed over as a stand-in of
    # that shape, so that its memory is not kept alive for the backward pass
    by_value = _by_value(backward.lines)
    handed = [n if n in by_value else f"shape_proxy(shape_of({n}), {n})" for n in saved]
    stand_ins = {"shape_of", "shape_proxy"} if handed != saved else set()
    # forward and backward in one function, what grad calls: no values handed over,
    # and what the backward reads only for its shape is a stand-in, not computed
    one_pass = _primal_body(fn, loops, set(hoisted), by_value)
    prelude_lines = _Lines()
    _emit_forward(prelude, prelude_lines)
    plain_backward = backward.lines
    if element_loops:
        arrays = known_arrays(primal.lines + forward.lines + one_pass.lines + backward.lines,
                              adj.adjoint_names)
        backward.lines = scalarize(backward.lines, set(adj.adjoint_names.values()), arrays,
                                   fn.namer)
    helpers = sorted(set(runtime.__all__) & (_reads(backward.lines) | _reads(forward.lines)
                                             | _reads(one_pass.lines)
                                             | _reads(prelude_lines.lines) | stand_ins))
    out = result if result.isidentifier() else fn.namer.fresh("out")
    backward_params = param_reads + saved + ([out] if result_read else []) + [adj.seed]
    loc = f"{os.path.basename(fn.filename)}:{fn.lineno}"
    # the four functions' names never collide with the user's names or the helpers
    base = fn.name if fn.name not in RESERVED else fn.name + "_fn"
    name, fwd, bwd, grd = (fn.namer.fresh(base + suffix)
                           for suffix in ("", "_forward", "_backward", "_grad"))
    text = [
        f"# Generated by srcdiff from {fn.name}() at {fn.filename}:{fn.lineno}.",
        "# Read it, step through it, copy it: it is plain Python, compiled by Numba when it can be.",
        "import numpy as np",
    ]
    if helpers:
        text.append(f"from srcdiff.runtime import {', '.join(helpers)}")
    wrt = ", ".join(adj.wrt)
    constants = None
    if calls:
        constants = fn.namer.fresh(base + "_constants")
        text += ["", "", f"def {constants}({', '.join(all_params)}):",
                 f'    """What {fn.name} computes with library functions Numba cannot call, '
                 'before the compiled code runs (in Python)."""']
        text += prelude_lines.lines + [f"    return {_tuple(hoisted)}"]
    text += ["", "", f"def {name}({signature}):",
             f'    """The primal of {fn.name} ({loc}), a line per step."""']
    text += fuse_temporaries(primal.lines + [f"    return {result}"])
    text += ["", "", f"def {fwd}({signature}):",
             f'    """{fn.name}: its result, then the values {bwd} reads."""']
    text += fuse_temporaries(forward.lines + [f"    return {_tuple([result] + handed)}"])
    text += ["", "", f"def {bwd}({', '.join(backward_params)}):",
             f'    """Cotangents of ({wrt}), given {adj.seed}, the cotangent of the result."""']
    text += fuse_temporaries(backward.lines + [f"    return {_tuple(grads)}"])
    text += ["", "", f"def {grd}({', '.join(params + [adj.seed])}):",
             f'    """The result of {fn.name} (or a stand-in of its shape, where nothing reads its '
             f'value) and the cotangents of ({wrt}), in one pass."""']
    text += fuse_temporaries(one_pass.lines + backward.lines +
                             [f"    return {result}, ({_tuple(grads)})"], any_name=True)
    text.append("")
    return Module(text="\n".join(text), primal=name, forward=fwd, backward=bwd, grad=grd,
                  param_reads=[params.index(p) for p in param_reads], result_read=result_read,
                  constants=constants,
                  kept=[k for k, p in enumerate(all_params) if p not in dropped],
                  element_loops=backward.lines != plain_backward)
