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

    n = vector_length(dhidden)
    if not PYTHON and all_vectors(n, (dhidden, _t40, _t35, ...)) and _s1 >= 0:
        for j in range(n):          # one element of every value at a time
            ...
    else:
        <the lines as they were>

and the values only the run reads are numbers, never arrays.  Element ``j`` of each
value depends only on element ``j`` of what it is computed from, so computing the
values an element at a time gives the numbers the lines give, provided every array
the run writes into is read in the run only where it is written: a row ``a[i]`` of it
read as ``copy_of(a[i])`` and written by ``zero_at``/``scatter_add_to`` (the same
element ``j`` of the same memory either way), or a slice of it only written, never
read.  In-place writes come from ``accumulate``, which makes them only into arrays no
other name sees.  The Python copy of the module always takes the second branch (an
interpreted loop over elements would be slower than NumPy's).

Only lines that assign cotangents are taken (their values are floats, of the shape
their lines give), only in loops, and only where a value the run reads is known to
be an array (made by a slice, ``np.concatenate``, ``np.zeros`` and the like, or
computed from one), so that code over numbers is left as it was.
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


class _Object:
    """What one or more names hold in the run: a version of a name and its moves."""

    def __init__(self, kind=None, root=None):
        self.kind = kind          # None (not known yet), "value" or "array"
        self.root = root          # the input name that held it before the run, or None
        self.access = None        # an array's: "row" or "offset"
        self.fresh = None         # an array the run makes: (its name, the like name)
        self.scalar = None        # a value the run computes: its element's name
        self.witnesses = ()       # what its type follows: the arrays it is computed from


class _Run:
    """A run of statements, checked and translated to the lines of element ``j``."""

    def __init__(self, adjoints, arrays, namer):
        self.adjoints, self.arrays, self.namer = adjoints, arrays, namer
        self.j = namer.fresh("j")
        self.n = namer.fresh("n")
        self.now = {}             # name -> the _Object it holds now
        self.inputs = {}          # name -> the _Object it held before the run
        self.loads = {}           # input read by value -> its as_vector name (None: .flat)
        self.checked = []         # what must be a 1-D array of n elements (source text)
        self.rows = {}            # (root, index) -> (row name, root, index)
        self.starts = {}          # (array, lo, hi) -> start name
        self.assigned = set()
        self.body = []            # per statement: its comment lines and element lines
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

    def check(self, text):
        if text not in self.checked:
            self.checked.append(text)

    def bind(self, name, obj):
        self.now[name] = obj
        self.assigned.add(name)

    # -------------------------------------------------------------- elements of values
    def element(self, node, witnesses):
        """``node``'s element ``j``; the arrays its type follows (NumPy's: as many
        dimensions as the most of them has) go into ``witnesses``."""
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node
        if _is_name(node):
            obj = self.held(node.id)
            if obj.kind == "array":
                raise _Reject
            obj.kind = "value"
            if obj.scalar is not None:
                witnesses.extend(obj.witnesses)
                return ast.Name(obj.scalar, ast.Load())
            return self.load(obj.root, witnesses)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            return ast.BinOp(self.element(node.left, witnesses), node.op,
                             self.element(node.right, witnesses))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return ast.UnaryOp(node.op, self.element(node.operand, witnesses))
        if not isinstance(node, ast.Call) or node.keywords:
            raise _Reject
        if _ufunc(node):
            return ast.Call(copy.deepcopy(node.func),
                            [self.element(a, witnesses) for a in node.args], [])
        func = node.func.id if _is_name(node.func) else None
        if func == "unbroadcast" and len(node.args) == 2 and _is_name(node.args[1]):
            like = node.args[1].id            # read for its shape: n elements, no sum
            if like in self.assigned:
                raise _Reject
            self.check(like)
            self.evidence |= like in self.arrays
            witnesses.append(like)            # (the result has its dimensions, not g's)
            return self.element(node.args[0], [])
        if func == "copy_of" and len(node.args) == 1 and isinstance(node.args[0], ast.Subscript):
            part = node.args[0]
            if _is_name(part.value) and _index_atom(part.slice):
                row, source = self.row(part.value.id, part.slice)
                witnesses.append(source)
                return self.at(row, None, ast.Load())
        raise _Reject

    def load(self, name, witnesses):
        """An input read by value: ``name.flat[j]`` for a known array (a number whatever
        its dimensions, so that the loop compiles where it is not 1-D and never runs),
        else element ``j`` of ``as_vector(name)``."""
        if name not in self.loads:
            known = name in self.arrays
            self.loads[name] = None if known else self.namer.fresh(f"{name}_v")
            self.check(name)
            self.evidence |= known
        witnesses.append(name)
        vector = self.loads[name]
        if vector is None:
            return self.at(ast.Attribute(ast.Name(name, ast.Load()), "flat", ast.Load()),
                           None, ast.Load())
        return self.at(vector, None, ast.Load())

    def at(self, array, start, ctx):
        """``array[j]`` or ``array[start + j]`` (``array``: a name or an expression)."""
        j = ast.Name(self.j, ast.Load())
        index = j if start is None else ast.BinOp(ast.Name(start, ast.Load()), ast.Add(), j)
        if isinstance(array, str):
            array = ast.Name(array, ast.Load())
        return ast.Subscript(array, index, ctx)

    # -------------------------------------------------------------- arrays written into
    def array(self, name, access):
        obj = self.held(name)
        if obj.kind == "value" or obj.access not in (None, access) \
                or (obj.root is None and obj.fresh is None):
            raise _Reject
        obj.kind, obj.access = "array", access
        return obj

    def row(self, name, index):
        """(row name, its source) of ``name[index]``: a 1-D view, made before the loop."""
        obj = self.array(name, "row")
        if obj.root is None:
            raise _Reject                     # a row of an array the run makes
        key = (obj.root, self.unassigned(index))
        self.evidence |= obj.root in self.arrays
        if key not in self.rows:
            self.rows[key] = self.namer.fresh(f"{obj.root}_row")
        source = f"{key[0]}[{key[1]}]"
        self.check(source)
        return self.rows[key], source

    def start(self, obj, lo, hi):
        """The name of where slice ``lo:hi`` of ``obj``'s array starts (-1: not n long)."""
        base = obj.root if obj.root is not None else obj.fresh[1]
        key = (base, self.unassigned(lo), self.unassigned(hi))
        if key not in self.starts:
            self.starts[key] = self.namer.fresh("start")
        return self.starts[key]

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
        if func in ("zero_at", "scatter_add_to") and not value.keywords \
                and len(value.args) == (2 if func == "zero_at" else 3) and _is_name(value.args[0]):
            return self.write(name, value)
        if func == "scatter_add" and not value.keywords and len(value.args) == 3 \
                and _is_name(value.args[0]):
            return self.write(name, value, fresh=True)
        witnesses = []
        element = self.element(value, witnesses)
        same = _unbroadcast_of_name(value)
        if same is not None:                   # n elements unbroadcast: the same object
            self.bind(name, self.held(same))
            return []
        obj = _Object(kind="value")
        obj.scalar = self.namer.fresh(f"{name}_j")
        obj.witnesses = tuple(dict.fromkeys(witnesses))
        self.bind(name, obj)
        self.arrays_saved += 1
        return [ast.Assign([ast.Name(obj.scalar, ast.Store())], element, lineno=0)]

    def write(self, name, value, fresh=False):
        """``zero_at``, ``scatter_add_to`` (into a row or a slice) or ``scatter_add``
        (into a slice of new zeros)."""
        index = value.args[1]
        bounds = _slice_bounds(index)
        if bounds is None and (fresh or not _index_atom(index)):
            raise _Reject
        if fresh:
            like = value.args[0].id
            if like in self.assigned:
                raise _Reject
            obj = _Object(kind="array")
            obj.access, obj.fresh = "offset", (self.namer.fresh(name + "_new"), like)
        else:
            obj = self.array(value.args[0].id, "row" if bounds is None else "offset")
        if bounds is None:
            at = self.at(self.row(value.args[0].id, index)[0], None, ast.Store())
        else:
            target = obj.root if obj.root is not None else obj.fresh[0]
            at = self.at(target, self.start(obj, *bounds), ast.Store())
        if len(value.args) == 2:
            line = ast.Assign([at], ast.Constant(0.0), lineno=0)
        else:
            line = ast.AugAssign(at, ast.Add(), self.element(value.args[2], []), lineno=0)
            self.arrays_saved += not _is_name(value.args[2])
        self.bind(name, obj)
        return [line]


def _unbroadcast_of_name(value):
    """``x`` where ``value`` is ``x`` unbroadcast (to n elements: ``x`` itself), else None."""
    while isinstance(value, ast.Call) and _is_name(value.func) and value.func.id == "unbroadcast" \
            and len(value.args) == 2:
        value = value.args[0]
    return value.id if _is_name(value) else None


def _run_of(statements, adjoints, arrays, namer):
    """The run made of a prefix of ``statements`` (as many as can go in), and its length."""
    run = _Run(adjoints, arrays, namer)
    shared = ("adjoints", "arrays", "namer")
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
    allocs, bindings = [], []                 # (array, witnesses, element); (name, source)
    for name in dict.fromkeys(n for n in run.now if n in live):
        obj = run.now[name]
        if obj.scalar is not None:
            allocs.append((namer.fresh(name + "_out"), obj.witnesses, obj.scalar))
            bindings.append((name, allocs[-1][0]))
        elif obj.root is not None and obj.root != name:
            bindings.append((name, obj.root))
        elif obj.fresh is not None:
            bindings.append((name, obj.fresh[0]))
    if run.arrays_saved - len(allocs) < _MIN_ARRAYS_SAVED or not run.evidence or not run.checked:
        return None
    n, j = run.n, run.j
    head = [f"{ind}# these lines an element at a time where their arrays are 1-D and "
            f"of one length (else as they are)",
            f"{ind}{n} = vector_length({run.checked[0]})"]
    guard = [f"all_vectors({n}, {_tuple(run.checked)})"]
    offsets = {}                              # array written at offsets -> its 1-D view
    for (base, lo, hi), start in run.starts.items():
        head.append(f"{ind}{start} = slice_start({base}, {lo}, {hi}, {n})")
        guard.append(f"{start} >= 0")
    head.append(f"{ind}if not PYTHON and {' and '.join(guard)}:")
    fast = []
    for name, vector in run.loads.items():
        if vector is not None:
            fast.append(f"{vector} = as_vector({name})")
    for (root, index), row in run.rows.items():
        fast.append(f"{row} = row_of({root}, {index})")
    for obj in {id(o): o for o in run.now.values()}.values():
        if obj.fresh is not None:
            fast.append(f"{obj.fresh[0]} = zeros_like({obj.fresh[1]})")
    for out, witnesses, _ in allocs:
        fast.append(f"{out} = vector_like({n}, {_tuple(witnesses)})")
    written = {o.root if o.root is not None else o.fresh[0]
               for o in run.now.values() if o.access == "offset"}
    for array in sorted(written):                 # an array whatever its dimensions
        offsets[array] = f"{array}.flat"
    stores = {}
    for out, witnesses, _ in allocs:
        if any(w in run.arrays for w in witnesses):
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
    loop = []
    statements = iter(run.body)
    for line in lines[span[0]:span[1]]:
        if parse_line(line) is None:
            if line.strip():
                loop.append("    " + line.strip())
            continue
        for stmt in next(statements):
            stmt = _Retarget(offsets).visit(stmt)
            loop.append("    " + ast.unparse(ast.fix_missing_locations(stmt)))
    loop += [f"    {stores[out]}[{j}] = {element}" for out, _, element in allocs]
    fast += loop
    fast += [f"{name} = {saved.get(source, source)}" for name, source in bindings]
    slow = ["    " + line if line.strip() else line for line in lines[span[0]:span[1]]]
    return head + [f"{ind}    {line}" for line in fast] + [f"{ind}else:"] + slow


class _Retarget(ast.NodeTransformer):
    """Writes at offsets go into the arrays' 1-D views."""

    def __init__(self, views):
        self.views = views

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Store) and _is_name(node.value) and node.value.id in self.views:
            node.value = ast.parse(self.views[node.value.id], mode="eval").body
        return node


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
    out, done = [], 0
    for first, end in _candidates(lines, statements, adjoints):
        at = [k for k in range(first, end) if statements[k] is not None]
        while at:
            taken = set(namer.taken)
            run, count = _run_of([statements[k] for k in at], adjoints, arrays, namer)
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
