"""Elementwise temporaries read once, written into the expression that reads them.

Numba compiles each array statement into a loop of its own that fills a new array:
``_t19 = -x``, ``_t20 = np.exp(_t19)``, ``_t21 = 1.0 + _t20`` make three arrays and
three loops, and each statement costs Numba some 25 ms to compile.  Written as one
expression, ``_t21 = 1.0 + np.exp(-x)``, Numba fuses the ufuncs into one loop that
fills one array (it fuses within an expression, never across statements).  On the
small arrays of an LSTM cell most of an operation's time is making its array, so
fewer arrays is most of the speed, and fewer statements most of the compile time.

A temporary (``_t3``, ``d_t3``: names only the generator makes) is written into its
reader when it is assigned once, read once, by the next statement that reads anything
of it in the same straight run of lines, and its value is a ufunc, an arithmetic
operator or a unary minus.  Nothing between the two lines may rebind a name it reads,
write into an array (``a[i] = v``, the runtime's in-place helpers) or call anything
srcdiff does not know to be free of side effects: the value computed later is then
the value computed before.  Values read by two lines stay named, as the adjoint reads
them; one operation on names and numbers read twice by one line is written twice
(``dy = dz * 3 * y + dz * 3 * y``: a multiplication more per element, an array less).

Two contributions to one cotangent on consecutive lines (``dy = dz * y`` then
``dy = dy + dz * y``, from ``z = y * y``) become one sum, for the same reason.

A line calls one of ``VECTORISED`` at most: compiled, these are srcdiff's own
vectorised versions (``srcdiff/compile/vector_math.py``), and where one loop calls two
of them Numba compiles each as a call of its own, which LLVM does not inline: the loop
then runs an element at a time, two calls an element, ten times slower than two loops
(``np.log1p(np.exp(-x))`` on 10^4 elements: 243 us in one expression, 28 us in two).
"""
import ast
import copy
import re

import numpy as np

from .. import runtime
from .lines import live_after, names, parse_line

_TEMPORARY = re.compile(r"d?_t\d+\Z")
_ELEMENTWISE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
# (a loop's stacks are no values: writing into one changes no value an expression reads)
_RUNTIME_READS = set(runtime.__all__) - runtime.WRITES_INTO_ARGUMENT | runtime.WRITES_INTO_STACK
_BUILTINS = {"len", "float", "int", "abs", "min", "max", "range", "tuple", "slice"}
# NumPy functions that write into an argument
_NUMPY_WRITES = {"copyto", "put", "place", "putmask", "fill_diagonal"}
# the NumPy ufuncs compiled code gets as srcdiff's vectorised versions
VECTORISED = ("exp", "tanh", "log", "log1p")


def _ufunc(call):
    """Whether ``call`` is ``np.<ufunc>(...)`` with positional arguments only."""
    func = call.func
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "np" and isinstance(getattr(np, func.attr, None), np.ufunc)
            and not call.keywords)


def _elementwise(value):
    if isinstance(value, ast.BinOp):
        return isinstance(value.op, _ELEMENTWISE_OPS)
    if isinstance(value, ast.UnaryOp):
        return isinstance(value.op, (ast.USub, ast.UAdd))
    return isinstance(value, ast.Call) and _ufunc(value)


def _vectorised_calls(node):
    """How many calls of ``VECTORISED`` ufuncs ``node`` makes."""
    return sum(isinstance(n, ast.Call) and _ufunc(n) and n.func.attr in VECTORISED
               for n in ast.walk(node))


def _cheap(value):
    """One arithmetic operation on names and numbers (``dz * 3``): computed again for
    each place its one reader reads it, rather than made into an array of its own."""
    atoms = (ast.Name, ast.Constant)
    if isinstance(value, ast.BinOp):                # (not a power: that is a pow call)
        return not isinstance(value.op, ast.Pow) and isinstance(value.left, atoms) \
            and isinstance(value.right, atoms)
    return isinstance(value, ast.UnaryOp) and isinstance(value.operand, atoms)


def _reads_only(call):
    """Whether ``call`` leaves every array it is given as it was."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in _RUNTIME_READS or func.id in _BUILTINS
    path = ast.unparse(func)
    if path.startswith(("np.linalg.", "np.random.")) and "shuffle" not in path:
        return True
    return path.count(".") == 1 and path.startswith("np.") \
        and func.attr not in _NUMPY_WRITES and all(k.arg != "out" for k in call.keywords)


def _writes_nothing(stmt):
    """Whether ``stmt`` only binds names: no element writes, no call that may write."""
    if not isinstance(stmt, (ast.Assign, ast.Expr)):
        return False
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            return False
        if isinstance(node, ast.Call) and not _reads_only(node):
            return False
    return True


def _may_write_inside(stmt):
    """Whether a call that writes into an argument sits inside ``stmt``'s value (its
    arguments would then be computed after the write, not before)."""
    outer = stmt.value
    return any(isinstance(node, ast.Call) and node is not outer and not _reads_only(node)
               for node in ast.walk(outer))


def _loads(stmt, name):
    return [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == name
            and isinstance(n.ctx, ast.Load)]


def _indent(line):
    return len(line) - len(line.lstrip())


class _Substitute(ast.NodeTransformer):
    def __init__(self, name, value):
        self.name, self.value = name, value

    def visit_Name(self, node):
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            return copy.deepcopy(self.value)
        return node


def _temporary(stmt, any_name=False):
    """The name and value of ``stmt`` if it assigns an elementwise value to a temporary
    (or, ``any_name``, to any name)."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)):
        return None
    name = stmt.targets[0].id
    if not ((any_name or _TEMPORARY.match(name)) and _elementwise(stmt.value)):
        return None
    return name, stmt.value


def _reader(lines, statements, k, name, value):
    """The index of the first line after ``k`` that reads ``name`` if it is in the same
    straight run of lines and ``value`` may be computed there instead."""
    read = names(value, ast.Load)
    depth = _indent(lines[k])
    j = k
    while j + 1 < len(lines):
        j += 1
        stmt = statements[j]
        if stmt is None:
            if lines[j].strip():            # a comment: the next source line's header
                continue
            return None
        if isinstance(stmt, ast.If) and _indent(lines[j]) == depth:
            j = _past_binding_block(lines, statements, j, depth, read, name)
            if j is None:
                return None
            continue
        if _indent(lines[j]) != depth or lines[j].rstrip().endswith(":"):
            return None                     # the straight run of lines ends
        if name in names(stmt, ast.Load):
            simple = isinstance(stmt, (ast.Assign, ast.Expr)) and (
                len(_loads(stmt, name)) == 1 or _cheap(value))
            return j if simple and not _may_write_inside(stmt) else None
        if not _writes_nothing(stmt) or names(stmt, ast.Store) & (read | {name}):
            return None
    return None


def _past_binding_block(lines, statements, j, depth, read, name):
    """The last line of the ``if`` block opening at line ``j`` if it only binds names,
    none of ``read`` or ``name``, and does not read ``name`` (a loop making the stack
    of a kept value at its first push: ``if k == 0: e_stack = stack_alloc(n, e)``),
    else None: ``name``'s value, computed before the block, is the same after it."""
    if name in names(statements[j].test, ast.Load):
        return None
    end = j
    while end + 1 < len(lines) and (not lines[end + 1].strip()
                                    or _indent(lines[end + 1]) > depth):
        end += 1
        stmt = statements[end]
        if stmt is None:
            continue
        if lines[end].rstrip().endswith(":") or not _writes_nothing(stmt) \
                or names(stmt, ast.Store) & (read | {name}) or name in names(stmt, ast.Load):
            return None
    nxt = statements[end + 1] if end + 1 < len(lines) else None
    if end == j or isinstance(nxt, ast.Pass) and lines[end + 1].strip() == "else:":
        return None
    return end


def _drop_empty_headers(lines, dropped):
    """The lines kept, less the source-line comments whose lines all moved away."""
    keep = []
    for k, line in enumerate(lines):
        if k in dropped:
            continue
        if line.lstrip().startswith("#"):
            j = k + 1
            while j in dropped:
                j += 1
            if j > k + 1 and (j == len(lines) or lines[j].lstrip().startswith("#")
                              or _indent(lines[j]) < _indent(line)):
                continue
        keep.append(line)
    return keep


def _sum_of(first, second):
    """``n = a`` and then ``n = n + b`` as ``n = a + b`` (or ``-`` both), or None."""
    if not (isinstance(first, ast.Assign) and isinstance(second, ast.Assign)
            and len(first.targets) == len(second.targets) == 1
            and isinstance(first.targets[0], ast.Name)):
        return None
    name, value = first.targets[0].id, second.value
    if not (isinstance(second.targets[0], ast.Name) and second.targets[0].id == name
            and isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub))
            and isinstance(value.left, ast.Name) and value.left.id == name
            and name not in names(value.right, ast.Load)):
        return None
    return ast.Assign(first.targets, ast.BinOp(first.value, value.op, value.right), lineno=0)


def _merge_sums(lines):
    """Contributions to one cotangent on consecutive lines, ``dy = a`` then
    ``dy = dy + b``, as one line ``dy = a + b``: one array where there were two."""
    out, last = [], None
    for line in lines:
        stmt = parse_line(line)
        if stmt is not None and last is not None and _indent(line) == _indent(out[-1]):
            merged = _sum_of(last, stmt)
            if merged is not None and _vectorised_calls(merged) <= 1:
                last = ast.fix_missing_locations(merged)
                out[-1] = line[:_indent(line)] + ast.unparse(last)
                continue
        out.append(line)
        last = stmt if stmt is not None and not line.rstrip().endswith(":") else None
    return out


def _drop_dead_moves(lines):
    """``lines`` less the moves and constants (``a = b``, ``a = 0.0``) nothing reads:
    what stand-ins leave behind in the one-pass gradient."""
    live = live_after(lines)
    dead = set()
    for k, line in enumerate(lines):
        stmt = parse_line(line)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) \
                and isinstance(stmt.value, (ast.Name, ast.Constant)) \
                and stmt.targets[0].id not in live.get(k, {stmt.targets[0].id}):
            dead.add(k)
    return _drop_empty_headers(lines, dead)


def fuse_temporaries(lines, any_name=False):
    """``lines`` (one function's body) with elementwise temporaries read once written
    into the expression that reads them, and consecutive contributions to one
    cotangent summed on one line; ``any_name``: the user's names too (in a function
    the user does not read line by line: the one-pass gradient), and moves nothing
    reads dropped."""
    if any_name:
        lines = _drop_dead_moves(lines)
    lines = _merge_sums(lines)
    statements = [parse_line(line) for line in lines]
    live = live_after(lines)
    dropped = set()
    for k, stmt in enumerate(statements):
        found = _temporary(stmt, any_name) if stmt is not None else None
        if found is None:
            continue
        name, value = found
        j = _reader(lines, statements, k, name, value)
        if j is None or name in live[j]:
            continue                        # read again later: it keeps its name
        calls = _vectorised_calls(statements[j]) + \
            _vectorised_calls(value) * len(_loads(statements[j], name))
        if calls > 1:
            continue
        statements[j] = ast.fix_missing_locations(_Substitute(name, value).visit(statements[j]))
        lines[j] = lines[j][:_indent(lines[j])] + ast.unparse(statements[j])
        statements[k] = None
        dropped.add(k)
    return _drop_empty_headers(lines, dropped)
