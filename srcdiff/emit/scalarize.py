"""Runs of elementwise adjoint lines in a loop, as one loop over the arrays' elements.

Compiled, each array statement of a loop's reversed body makes an array: on the
14-element arrays of an LSTM cell, making it, counting references to it and freeing it
is most of the time (measured with ``perf`` on the D-LSTM gradient: 22% in Numba's
reference counting, 17% in ``malloc`` and ``free``).  A run of adjoint lines such as

    d_t35 = unbroadcast(dhidden * _t40, _t35)
    dcell = dcell + d_t40 * (1.0 - _t40 * _t40)
    dgates = scatter_add_to(dgates, slice(_t29, _t30, None), -d_t35 * _t33)

is elementwise where its arrays are 1-D and of one length ``n``: ``unbroadcast`` then
sums nothing, and a slice of ``n`` elements is written at an offset.  Whether they are
is known only when the code runs, so the run becomes

    if PYTHON:
        <the lines as they were>
    else:
        n = vector_length(dhidden)
        if n >= 1 and vector_length(_t40) == n and ... and start == 2 * n:
            for j in range(n):          # one element of every value at a time
                ...
        else:
            element_loop_not_taken()

and the values only the run reads are numbers, never arrays.  Compiled, the lines are
dropped (Numba drops what ``if PYTHON:`` guards) and a failed test raises: srcdiff then
compiles the module generated without element loops (``compile/jit.py``), so that only
the functions that need the lines compile them.  Element ``j`` of each
value depends only on element ``j`` of what it is computed from, so computing the
values an element at a time gives the numbers the lines give, provided every array
the run writes into is read in the run only where it is written: a row ``a[i]`` of it
read as ``copy_of(a[i])`` and written by ``zero_at``/``scatter_add_to`` (the same
element ``j`` of the same memory either way), or a slice of it only written, never
read, and zeroed only where all its writes are (additions at several offsets commute,
a zero among them does not).  In-place writes come from ``accumulate``, which makes them only into arrays no
other name sees.

A value may have several parts of ``n`` elements (lanes): the gate vector of an LSTM
cell is four, its slices ``gates[k * h:(k + 1) * h]`` and the arrays ``np.concatenate``
joined.  Part ``k`` of such a value is its elements ``k * n + j``, computed in iteration
``j``: its cotangent, made by ``scatter_add`` into one slice and ``scatter_add_to`` into
the others, is four numbers an element, read whole by ``dgates * weight`` and split by
``concat_part``, and never an array.  Which part a slice is is read off its bounds'
forms (``_t36 = 3 * hsize``: part 3; ``multiples``), a guess the test checks
(``start == 3 * n``).

Only lines that assign cotangents are taken (their values are floats, of the shape
their lines give), only in loops, and only where a value the run reads is known to
be an array (made by a slice, ``np.concatenate``, ``np.zeros`` and the like, computed
from one, or its cotangent), so that code over numbers is left as it was.  The Python
copy of the module always runs the lines (an interpreted loop over elements would be
slower than NumPy's).
"""
import ast
import copy
import re

import numpy as np

from .lines import live_after, names, parse_line

_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_MAKES_ARRAY = {"concatenate", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
                "empty_like", "full_like", "array", "arange", "linspace", "stack", "copy"}
_SAME_KIND = {"copy_of", "zeros_like"}        # runtime helpers: an array for an array
_MIN_ARRAYS_SAVED = 3


def _indent(line):
    return len(line) - len(line.lstrip())


def _is_name(node):
    return isinstance(node, ast.Name)


def _index_atom(node):
    """A row index or slice bound the run may read: a name, a number or None."""
    return _is_name(node) or (isinstance(node, ast.Constant)
                              and (node.value is None or type(node.value) is int))


def _slice_bounds(node):
    """``(lo, hi)`` of ``slice(lo, hi, None)`` (a step of 1 too), else None."""
    if not (isinstance(node, ast.Call) and _is_name(node.func) and node.func.id == "slice"
            and len(node.args) == 3 and not node.keywords):
        return None
    lo, hi, step = node.args
    if not (_index_atom(lo) and _index_atom(hi)):
        return None
    if not (isinstance(step, ast.Constant) and step.value in (None, 1)):
        return None
    return lo, hi


def _ufunc(call):
    func = call.func
    if not (isinstance(func, ast.Attribute) and _is_name(func.value) and func.value.id == "np"
            and not call.keywords):
        return False
    f = getattr(np, func.attr, None)
    return isinstance(f, np.ufunc) and f.nout == 1 and f.nin == len(call.args)


def known_arrays(lines, adjoint_names):
    """The names that hold an array wherever they are bound in ``lines`` (a generated
    module's functions): made by a slice, ``np.concatenate``, ``np.zeros`` and kin, or
    computed elementwise from such a name, moved, copied, read back from a stack they
    were pushed on (the same name), or the cotangent (``adjoint_names[name]``) of one."""
    defs = [(d, ast.Name(p, ast.Load())) for p, d in adjoint_names.items()]
    for line in lines:
        stmt = parse_line(line)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _is_name(stmt.targets[0]):
            defs.append((stmt.targets[0].id, stmt.value))
    arrays = set()
    changed = True
    while changed:
        changed = False
        for name, value in defs:
            if name not in arrays and _makes_array(value, arrays):
                arrays.add(name)
                changed = True
    return arrays


def _makes_array(value, arrays):
    if _is_name(value):
        return value.id in arrays
    if isinstance(value, ast.Subscript):
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        return any(isinstance(p, ast.Slice) for p in parts)
    if isinstance(value, ast.BinOp):
        return isinstance(value.op, _ARITHMETIC) and (
            _makes_array(value.left, arrays) or _makes_array(value.right, arrays))
    if isinstance(value, ast.UnaryOp):
        return _makes_array(value.operand, arrays)
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and _is_name(func.value) and func.value.id == "np":
        if func.attr in _MAKES_ARRAY:
            return True
        return _ufunc(value) and any(_makes_array(a, arrays) for a in value.args)
    if _is_name(func) and value.args:
        if func.id in _SAME_KIND:
            return _makes_array(value.args[0], arrays)
        if func.id == "unbroadcast" and len(value.args) == 2:
            return _makes_array(value.args[1], arrays)
        return func.id == "scatter_add"
    return False



class _Reject(Exception):
    """The statement cannot go into the run."""


def multiples(lines):
    """{name: (c, s)} for the names ``lines`` assign only ``c * s``, ``s * c`` (an int
    ``c`` and a name ``s``) or 0: how the bounds of a cell's gate slices are written
    (``_t36 = 3 * hsize``).  A guess at which part of an array a slice is, checked when
    the code runs."""
    found, other = {}, set()
    for line in lines:
        stmt = parse_line(line)
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and _is_name(stmt.targets[0])):
            continue
        name, value = stmt.targets[0].id, stmt.value
        form = None
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
            for c, v in ((value.left, value.right), (value.right, value.left)):
                if isinstance(c, ast.Constant) and type(c.value) is int and _is_name(v):
                    form = (c.value, v.id)
        elif isinstance(value, ast.Constant) and value.value == 0 and type(value.value) is int:
            form = (0, None)
        if form is None or found.get(name, form) != form:
            other.add(name)
        else:
            found[name] = form
    return {name: form for name, form in found.items() if name not in other}


class _Object:
    """What one or more names hold in the run: a version of a name and its moves."""

    def __init__(self, kind=None, root=None):
        self.kind = kind          # None (not known yet), "value" or "array"
        self.root = root          # the input name that held it before the run, or None
        self.access = None        # an array in memory: written at "row"s or at "offset"s
        self.fresh = None         # an array in memory the run makes: (its name, like name)
        self.lanes = None         # a value's: how many n-element parts it has (None: not known)
        self.scalars = None       # a value the run computes: an expression per part
        self.parts_of = None      # a value made by scatter_add into parts of this name
        self.witnesses = ()       # what its type follows: the arrays it is computed from
        self.writes = set()       # an array's writes at offsets: (start name, zeroes?)


class _Run:
    """A run of statements, checked and translated to the lines of element ``j``.

    A value of ``L`` parts (lanes) has ``L * n`` elements; element ``j`` of part ``k``
    is its element ``k * n + j``, computed in iteration ``j`` (a gate vector of an LSTM
    cell, four parts: its slices ``gates[k * h:(k + 1) * h]`` and ``np.concatenate``'s
    parts)."""

    def __init__(self, adjoints, arrays, multiples, namer):
        self.adjoints, self.arrays, self.multiples, self.namer = adjoints, arrays, multiples, namer
        self.j = namer.fresh("j")
        self.n = namer.fresh("n")
        self.now = {}             # name -> the _Object it holds now
        self.inputs = {}          # name -> the _Object it held before the run
        self.loads = {}           # input read by value -> its as_vector name (None: .flat)
        self.checked = {}         # L -> what must be a 1-D array of L * n elements
        self.rows = {}            # (root, index) -> (row name, parts)
        self.starts = {}          # (array, lo, hi) -> (start name, part or None)
        self.assigned = set()
        self.body = []            # per statement: its element lines
        self.arrays_saved = 0
        self.evidence = False

    def held(self, name):
        if name in self.now:
            return self.now[name]
        return self.inputs.setdefault(name, _Object(root=name))

    def unassigned(self, node):
        """The source text of an index or bound, which the run must not assign."""
        if _is_name(node) and node.id in self.assigned:
            raise _Reject
        return ast.unparse(node)

    def check(self, text, lanes):
        listed = self.checked.setdefault(lanes, [])
        if any(text in other for key, other in self.checked.items() if key != lanes):
            raise _Reject                         # two lengths asked of one array
        if text not in listed:
            listed.append(text)

    def bind(self, name, obj):
        self.now[name] = obj
        self.assigned.add(name)

    def index(self, k, start=None):
        """``k * n + j`` (plus ``start``)."""
        text = self.j if k == 0 else f"{self.n} + {self.j}" if k == 1 else \
            f"{k} * {self.n} + {self.j}"
        if start is not None:
            text = f"{start} + {text}"
        return ast.parse(text, mode="eval").body

    def at(self, array, k, ctx, start=None):
        """Element ``j`` of part ``k`` of ``array`` (a name or an expression's text)."""
        return ast.Subscript(ast.parse(array, mode="eval").body, self.index(k, start), ctx)

    # -------------------------------------------------------------- how many parts
    def lanes_of(self, node):
        """How many parts ``node``'s value has (None: any number, a number or an input
        not read yet), without reading anything."""
        if isinstance(node, ast.Constant):
            return None
        if _is_name(node):
            obj = self.held(node.id)
            if obj.kind == "array":
                raise _Reject
            return obj.lanes
        if isinstance(node, ast.BinOp):
            return _same(self.lanes_of(node.left), self.lanes_of(node.right))
        if isinstance(node, ast.UnaryOp):
            return self.lanes_of(node.operand)
        if isinstance(node, ast.Call) and _ufunc(node):
            lanes = None
            for a in node.args:
                lanes = _same(lanes, self.lanes_of(a))
            return lanes
        func = node.func.id if isinstance(node, ast.Call) and _is_name(node.func) else None
        if func == "unbroadcast" and len(node.args) == 2:
            return self.lanes_of(node.args[0])
        if func == "concat_part":
            return 1
        return None

    # -------------------------------------------------------------- elements of values
    def element(self, node, lanes, witnesses):
        """``node``'s elements ``j`` of its ``lanes`` parts; the arrays its type follows
        (NumPy's: as many dimensions as the most of them has) go into ``witnesses``."""
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return [node] * lanes
        if _is_name(node):
            obj = self.held(node.id)
            if obj.kind == "array" or (obj.lanes or lanes) != lanes:
                raise _Reject
            obj.kind = "value"
            if obj.scalars is not None:
                witnesses.extend(obj.witnesses)
                return list(obj.scalars)
            obj.lanes = lanes
            return self.load(obj.root, lanes, witnesses)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            return [ast.BinOp(a, node.op, b) for a, b in zip(
                self.element(node.left, lanes, witnesses),
                self.element(node.right, lanes, witnesses), strict=True)]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return [ast.UnaryOp(node.op, e) for e in self.element(node.operand, lanes, witnesses)]
        if not isinstance(node, ast.Call) or node.keywords:
            raise _Reject
        if _ufunc(node):
            args = [self.element(a, lanes, witnesses) for a in node.args]
            return [ast.Call(copy.deepcopy(node.func), list(parts), []) for parts in zip(*args)]
        func = node.func.id if _is_name(node.func) else None
        if func == "unbroadcast" and len(node.args) == 2 and _is_name(node.args[1]):
            like = node.args[1].id            # read for its shape: n elements, no sum
            if like in self.assigned:
                raise _Reject
            self.check(like, lanes)
            self.evidence |= like in self.arrays
            witnesses.append(like)            # (the result has its dimensions, not g's)
            return self.element(node.args[0], lanes, [])
        if func == "copy_of" and len(node.args) == 1 and isinstance(node.args[0], ast.Subscript):
            part = node.args[0]
            if _is_name(part.value) and _index_atom(part.slice):
                row, source = self.row(part.value.id, part.slice, lanes)
                witnesses.append(source)
                return [self.at(row, k, ast.Load()) for k in range(lanes)]
        if func == "concat_part" and lanes == 1:
            return self.concat_part(node, witnesses)
        raise _Reject

    def concat_part(self, node, witnesses):
        """``concat_part(g, (a, b, ...), 0, k)``, the part of ``g`` that came from the
        k-th array of a concatenation of 1-D arrays of n elements: part ``k`` of ``g``."""
        if len(node.args) != 4 or not _is_name(node.args[0]):
            raise _Reject
        g, parts, axis, k = node.args
        if not (isinstance(parts, ast.Tuple) and all(_is_name(p) for p in parts.elts)
                and isinstance(axis, ast.Constant) and axis.value in (0, None)
                and isinstance(k, ast.Constant) and type(k.value) is int
                and 0 <= k.value < len(parts.elts)):
            raise _Reject
        for p in parts.elts:
            if p.id in self.assigned:
                raise _Reject
            self.check(p.id, 1)
        witnesses.append(parts.elts[k.value].id)
        return [self.element(g, len(parts.elts), [])[k.value]]

    def load(self, name, lanes, witnesses):
        """An input read by value: ``name.flat[k * n + j]`` for a known array (a number
        whatever its dimensions, so that the loop compiles where it is not 1-D and is
        never run), else the element of ``as_vector(name)``."""
        if name not in self.loads:
            known = name in self.arrays
            self.loads[name] = None if known else self.namer.fresh(f"{name}_v")
            self.check(name, lanes)
            self.evidence |= known
        witnesses.append(name)
        vector = self.loads[name] or f"{name}.flat"
        return [self.at(vector, k, ast.Load()) for k in range(lanes)]

    # -------------------------------------------------------------- arrays written into
    def array(self, name, access):
        obj = self.held(name)
        if obj.kind == "value" or obj.access not in (None, access) \
                or (obj.root is None and obj.fresh is None):
            raise _Reject
        obj.kind, obj.access = "array", access
        return obj

    def row(self, name, index, lanes):
        """(row name, its source) of ``name[index]``: a 1-D view, made before the loop."""
        obj = self.array(name, "row")
        if obj.root is None:
            raise _Reject                     # a row of an array the run makes
        key = (obj.root, self.unassigned(index))
        self.evidence |= obj.root in self.arrays
        if key not in self.rows:
            self.rows[key] = (self.namer.fresh(f"{obj.root}_row"), lanes)
        elif self.rows[key][1] != lanes:
            raise _Reject
        source = f"{key[0]}[{key[1]}]"
        self.check(source, lanes)
        return self.rows[key][0], source

    def start(self, base, lo, hi, part=None):
        """The name of where slice ``lo:hi`` of ``base`` starts: checked to be ``part * n``
        for a part, else to be a start of n elements (-1 where it is not)."""
        key = (base, self.unassigned(lo), self.unassigned(hi))
        if key not in self.starts:
            self.starts[key] = (self.namer.fresh("start"), part)
        elif self.starts[key][1] != part:
            raise _Reject
        return self.starts[key][0]

    def part(self, lo, hi, lanes):
        """Which part of a value of ``lanes`` parts (None: not known) slice ``lo:hi`` is,
        by the bounds' forms (``3 * h``, None), and how many parts that makes it; else
        raise _Reject."""
        def form(node):
            if isinstance(node, ast.Constant):
                return (0, None) if node.value == 0 else "end" if node.value is None else None
            return self.multiples.get(node.id, (1, node.id)) if _is_name(node) else None
        first, last = form(lo), form(hi)
        if not isinstance(first, tuple):
            raise _Reject
        k = first[0]
        if last == "end":
            if lanes not in (None, k + 1):
                raise _Reject
            return k, k + 1
        if not (isinstance(last, tuple) and last[0] == k + 1
                and first[1] in (None, last[1]) and lanes is not None and k + 1 <= lanes):
            raise _Reject
        return k, lanes

    # -------------------------------------------------------------- statements
    def add(self, stmt):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and _is_name(stmt.targets[0]) and stmt.targets[0].id in self.adjoints):
            raise _Reject
        name, value = stmt.targets[0].id, stmt.value
        if _is_name(value):                                   # a move: the same object
            self.bind(name, self.held(value.id))
            return []
        func = value.func.id if isinstance(value, ast.Call) and _is_name(value.func) else None
        if func in ("zero_at", "scatter_add_to", "scatter_add") and not value.keywords \
                and len(value.args) == (2 if func == "zero_at" else 3) and _is_name(value.args[0]):
            return self.write(name, func, value)
        lanes = self.lanes_of(value) or 1
        witnesses = []
        elements = self.element(value, lanes, witnesses)
        same = _unbroadcast_of_name(value)
        if same is not None:                   # n elements unbroadcast: the same object
            self.bind(name, self.held(same))
            return []
        obj = _Object(kind="value")
        obj.lanes, obj.witnesses = lanes, tuple(dict.fromkeys(witnesses))
        obj.scalars = [ast.Name(self.namer.fresh(f"{name}_j" + (str(k) if lanes > 1 else "")),
                                ast.Load()) for k in range(lanes)]
        self.bind(name, obj)
        self.arrays_saved += 1
        return [ast.Assign([ast.Name(s.id, ast.Store())], e, lineno=0)
                for s, e in zip(obj.scalars, elements, strict=True)]

    def write(self, name, func, value):
        """``zero_at``, ``scatter_add_to`` (into a row, a slice, or a part of a value
        ``scatter_add`` made) or ``scatter_add`` (into a part of a new value, or a slice
        of new zeros)."""
        target, index = value.args[0].id, value.args[1]
        bounds = _slice_bounds(index)
        if bounds is None and (func == "scatter_add" or not _index_atom(index)):
            raise _Reject
        obj = self.held(target) if func != "scatter_add" else None
        if func == "scatter_add" or obj.parts_of is not None:
            made = self.into_part(name, func, target, obj, bounds, value.args[2])
            if made is not None:
                return made
        if func == "scatter_add":
            if target in self.assigned:
                raise _Reject
            obj = _Object(kind="array")
            obj.access, obj.fresh = "offset", (self.namer.fresh(name + "_new"), target)
        else:
            obj = self.array(target, "row" if bounds is None else "offset")
        value_at = value.args[2] if len(value.args) == 3 else None
        lanes = (self.lanes_of(value_at) or 1) if bounds is None and value_at is not None else 1
        if bounds is None:
            row = self.row(target, index, lanes)[0]
            targets = [self.at(row, k, ast.Store()) for k in range(lanes)]
        else:
            array = obj.root if obj.root is not None else obj.fresh[0]
            base = obj.root if obj.root is not None else obj.fresh[1]
            start = self.start(base, *bounds)
            # additions commute, so slices added into at several offsets may be added
            # in any order; a slice zeroed must be where every other write of it is,
            # else element j's zero would land after element j + 1's addition
            obj.writes.add((start, value_at is None))
            if len({s for s, _ in obj.writes}) > 1 and any(zero for _, zero in obj.writes):
                raise _Reject
            targets = [self.at(f"{array}.flat", 0, ast.Store(), start)]
        if value_at is None:
            lines = [ast.Assign([t], ast.Constant(0.0), lineno=0) for t in targets]
        else:
            elements = self.element(value_at, lanes, [])
            lines = [ast.AugAssign(t, ast.Add(), e, lineno=0)
                     for t, e in zip(targets, elements, strict=True)]
            self.arrays_saved += not _is_name(value_at)
        self.bind(name, obj)
        return lines

    def into_part(self, name, func, target, obj, bounds, added):
        """A part of a value of parts: ``scatter_add(like, slice, g)`` a new one (zeros but
        for that part), ``scatter_add_to`` of it one more; None where the slice is not
        seen to be a part (then the slice is written in memory)."""
        lanes = None if func == "scatter_add" else obj.lanes
        try:
            k, lanes = self.part(*bounds, lanes)
        except _Reject:
            if func == "scatter_add":
                return None
            raise
        like = target if func == "scatter_add" else obj.parts_of
        if like in self.assigned:
            raise _Reject
        self.check(like, lanes)
        self.evidence |= like in self.arrays
        self.start(like, *bounds, part=k)
        element = self.element(added, 1, [])[0]
        new = _Object(kind="value")
        new.lanes, new.parts_of, new.witnesses = lanes, like, (like,)
        if func == "scatter_add":
            new.scalars = [ast.Constant(0.0)] * lanes
        else:
            new.scalars = list(obj.scalars)
            if not isinstance(obj.scalars[k], ast.Constant):      # (a part still zero)
                element = ast.BinOp(obj.scalars[k], ast.Add(), element)
        scalar = ast.Name(self.namer.fresh(f"{name}_j{k}"), ast.Load())
        new.scalars[k] = scalar
        self.bind(name, new)
        self.arrays_saved += func == "scatter_add" or not _is_name(added)
        return [ast.Assign([ast.Name(scalar.id, ast.Store())], element, lineno=0)]


def _same(a, b):
    """The one number of parts of ``a`` and ``b`` (None: either)."""
    if a is not None and b is not None and a != b:
        raise _Reject
    return a if a is not None else b


def _unbroadcast_of_name(value):
    """``x`` where ``value`` is ``x`` unbroadcast (to n elements: ``x`` itself), else None."""
    while isinstance(value, ast.Call) and _is_name(value.func) and value.func.id == "unbroadcast" \
            and len(value.args) == 2:
        value = value.args[0]
    return value.id if _is_name(value) else None


def _run_of(statements, adjoints, arrays, forms, namer):
    """The run made of a prefix of ``statements`` (as many as can go in), and its length."""
    run = _Run(adjoints, arrays, forms, namer)
    shared = ("adjoints", "arrays", "multiples", "namer")
    for count, stmt in enumerate(statements):
        before = copy.deepcopy({k: v for k, v in run.__dict__.items() if k not in shared})
        taken = set(namer.taken)
        try:
            run.body.append(run.add(stmt))
        except _Reject:                   # as it was before the statement
            run.__dict__.update(before)
            namer.taken = taken
            return run, count
    return run, len(statements)


def _tuple(items):
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _emit(run, lines, span, live, namer):
    """The lines ``lines[span[0]:span[1]]`` (the run's) as the loop and, under ``else:``,
    as they were; None where the loop would save too little."""
    ind = " " * _indent(lines[span[0]])
    allocs, bindings = [], []                 # (array, value); (name, source)
    for name in dict.fromkeys(n for n in run.now if n in live):
        obj = run.now[name]
        if obj.scalars is not None:
            allocs.append((namer.fresh(name + "_out"), obj))
            bindings.append((name, allocs[-1][0]))
        elif obj.root is not None and obj.root != name:
            bindings.append((name, obj.root))
        elif obj.fresh is not None:
            bindings.append((name, obj.fresh[0]))
    if run.arrays_saved - len(allocs) < _MIN_ARRAYS_SAVED or not run.evidence or not run.checked:
        return None
    n, j = run.n, run.j
    length = lambda lanes: n if lanes == 1 else f"{lanes} * {n}"  # noqa: E731
    lanes, first = next(iter(run.checked.items()))
    head = [f"{n} = vector_length({first[0]})" + ("" if lanes == 1 else f" // {lanes}")]
    # the 1-D views the loop reads and writes, made first: their lengths are the test
    views = {name: vector for name, vector in run.loads.items() if vector is not None}
    views.update({f"{root}[{index}]": row for (root, index), (row, _) in run.rows.items()})
    head += [f"{vector} = as_vector({name})" for name, vector in run.loads.items()
             if vector is not None]
    head += [f"{row} = row_of({root}, {index})" for (root, index), (row, _) in run.rows.items()]
    guard = [f"{n} >= 1"]                 # (an empty view is no test of a length)
    for lanes, items in run.checked.items():
        guard += [f"{views[item]}.shape[0] == {length(lanes)}" if item in views
                  else f"vector_length({item}) == {length(lanes)}" for item in items]
    for (base, lo, hi), (start, part) in run.starts.items():
        head.append(f"{start} = slice_start({base}, {lo}, {hi}, {n})")
        guard.append(f"{start} >= 0" if part is None else f"{start} == {length(part) if part else 0}")
    head.append(f"if {' and '.join(guard)}:")
    fast = [f"{o.fresh[0]} = zeros_like({o.fresh[1]})"
            for o in {id(o): o for o in run.now.values()}.values() if o.fresh is not None]
    stores = {}
    for out, obj in allocs:
        fast.append(f"{out} = vector_like({length(obj.lanes)}, {_tuple(obj.witnesses)})")
        if any(w in run.arrays for w in obj.witnesses):
            stores[out] = f"{out}.flat"
        else:                                     # vector_like may give a number
            stores[out] = namer.fresh(f"{out}_v")
            fast.append(f"{stores[out]} = as_vector({out})")
    targets = {name for name, _ in bindings}
    saved = {}
    for name, source in bindings:
        if source in targets and source not in saved:
            saved[source] = namer.fresh(source + "_was")
            fast.append(f"{saved[source]} = {source}")
    fast.append(f"for {j} in range({n}):")
    statements = iter(run.body)
    for line in lines[span[0]:span[1]]:
        if parse_line(line) is None:
            if line.strip():
                fast.append("    " + line.strip())
            continue
        for stmt in next(statements):
            fast.append("    " + ast.unparse(ast.fix_missing_locations(stmt)))
    for out, obj in allocs:
        for k, scalar in enumerate(obj.scalars):
            store = ast.Assign([run.at(stores[out], k, ast.Store())], scalar, lineno=0)
            fast.append("    " + ast.unparse(ast.fix_missing_locations(store)))
    fast += [f"{name} = {saved.get(source, source)}" for name, source in bindings]
    # Python runs the lines; compiled (Numba drops what `if PYTHON:` guards), the loop,
    # and a failed test raises: the module is compiled again without element loops
    slow = ["    " + line if line.strip() else line for line in lines[span[0]:span[1]]]
    compiled = head + ["    " + line for line in fast] + ["else:", "    element_loop_not_taken()"]
    return [f"{ind}if PYTHON:"] + slow + [
        f"{ind}else:",
        f"{ind}    # these lines an element at a time where their arrays are 1-D and of one length",
    ] + [f"{ind}    {line}" for line in compiled]


def _candidates(lines, statements, adjoints):
    """Spans (first, last + 1) of consecutive assignments to cotangents at one depth
    inside a loop, comments between them included."""
    spans, openers, start, last = [], [], None, None
    for k, (line, stmt) in enumerate(zip(lines, statements, strict=True)):
        if stmt is None:
            continue
        depth = _indent(line)
        while openers and openers[-1][0] >= depth:
            openers.pop()
        in_loop = any(isinstance(s, (ast.For, ast.While)) for _, s in openers)
        takes = in_loop and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and _is_name(stmt.targets[0]) and stmt.targets[0].id in adjoints \
            and not line.rstrip().endswith(":")
        if start is not None and (not takes or depth != _indent(lines[start])):
            spans.append((start, last + 1))
            start = None
        if takes:
            start = k if start is None else start
            last = k
        if line.rstrip().endswith(":") and not isinstance(stmt, ast.Pass):
            openers.append((depth, stmt))
    if start is not None:
        spans.append((start, last + 1))
    return spans


def scalarize(lines, adjoints, arrays, namer):
    """``lines`` (a backward body) with each run of elementwise cotangent lines in a loop
    that saves at least two arrays also written as one loop over the elements, taken
    where the run's arrays are 1-D and of one length; ``adjoints``: the cotangents'
    names, ``arrays``: ``known_arrays`` of the module; names from ``namer``."""
    statements = [parse_line(line) for line in lines]
    live = live_after(lines)
    forms = multiples(lines)
    out, done = [], 0
    for first, end in _candidates(lines, statements, adjoints):
        at = [k for k in range(first, end) if statements[k] is not None]
        while at:
            taken = set(namer.taken)
            run, count = _run_of([statements[k] for k in at], adjoints, arrays, forms, namer)
            span = (at[0], at[count - 1] + 1) if count else None
            emitted = span and _emit(run, lines, span, live[at[count - 1]], namer)
            if not emitted:
                namer.taken = taken
                at = at[max(count, 1):]
                continue
            out += lines[done:span[0]] + emitted
            done = span[1]
            at = at[count:]
    return out + lines[done:]
