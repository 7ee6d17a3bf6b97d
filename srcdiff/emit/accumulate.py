"""Cotangents updated in place, where no other name sees the array.

The adjoint of a read ``t = x[i]`` is ``dx = dx + scatter_add(x, i, dt)``: zeros the size
of ``x``, one element set, then a whole-array add.  In a loop that reads one element per
iteration that is O(size) work per iteration.  When ``dx`` holds an array that only
``dx`` refers to, the same sum can be made in place, ``dx = scatter_add_to(dx, i, dt)``
(``dx[i] += dt``), O(1).

The adjoint of a write ``b_1 = assign_at(b, i, v)`` (``b[i] = v``) is a copy of the
cotangent with the written part zeroed, then the part read for ``v``:
``db = assign_at(db_1, i, 0.0)`` and ``dv = ... db_1[i] ...``.  When ``db_1`` is fresh
and read nowhere after, the part is read first, as a copy (``copy_of``), and then zeroed
in place (``db = zero_at(db_1, i)``): O(size of the part), not of the array.

Which names hold such an array is followed through the generated backward function's
lines (straight-line code, ``if``/``else``, ``for`` and ``while`` blocks): an array is
fresh when a line makes it (``zeros_like``, ``scatter_add``, arithmetic) or moves it
(``a = b`` where nothing reads ``b`` after); it stops being fresh when another name may
see it (``a = b`` with ``b`` read later, ``a = f(b)`` that may return ``b`` or a view of
it, ``a = b[i]``).  At a join, a name is fresh if it is on every path; a loop's body
starts with what holds both before the loop and after a pass through the body.
"""
import ast
import copy
import math

from .lines import line_blocks, live_after, names

_FRESH_CALLS = {"zeros_like", "scatter_add", "scatter_add_to", "assign_at", "zero_at"}


def _all_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _call_of(value, func, arity):
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id == func and len(value.args) == arity and not value.keywords)


def _single_assign(stmt):
    """The target name and value of ``name = value``, or None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    return None


def _scatter_into_itself(stmt):
    """``d = d + scatter_add(a, i, g)``: the names (d, i, g) as text, or None."""
    assign = _single_assign(stmt)
    if assign is None or not (isinstance(assign[1], ast.BinOp)
                              and isinstance(assign[1].op, ast.Add)):
        return None
    target, left, right = assign[0], assign[1].left, assign[1].right
    if not (isinstance(left, ast.Name) and left.id == target
            and _call_of(right, "scatter_add", 3)):
        return None
    return target, ast.unparse(right.args[1]), ast.unparse(right.args[2])


def _zeroing(stmt):
    """``db = assign_at(db_1, i, 0.0)``: (db, db_1, i as text), or None."""
    assign = _single_assign(stmt)
    if assign is None or not _call_of(assign[1], "assign_at", 3):
        return None
    array, index, value = assign[1].args
    if not (isinstance(array, ast.Name) and isinstance(value, ast.Constant)
            and type(value.value) is float and math.copysign(1.0, value.value) == 1.0
            and value.value == 0.0):
        return None                # zero_at writes 0.0: not -0.0, 0 or False
    return assign[0], array.id, ast.unparse(index)


def _reads_part_first(stmt, target, array, index):
    """Whether ``stmt`` may run before ``target = zero_at(array, index)``: it reads
    ``array`` only as ``array[index]``, once, and neither reads ``target`` nor binds a
    name the zeroing reads."""
    if not isinstance(stmt, ast.Assign):
        return False
    parts = [n for n in ast.walk(stmt) if isinstance(n, ast.Subscript)
             and isinstance(n.value, ast.Name) and n.value.id == array
             and ast.unparse(n.slice) == index]
    reads = [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == array]
    zeroing_reads = {array} | _all_names(ast.parse(index, mode="eval"))
    return len(parts) == 1 and len(reads) == 1 and target not in names(stmt, ast.Load) \
        and not names(stmt, ast.Store) & zeroing_reads


class _CopyPart(ast.NodeTransformer):
    def __init__(self, array, index):
        self.array, self.index = array, index

    def visit_Subscript(self, node):
        if isinstance(node.value, ast.Name) and node.value.id == self.array \
                and ast.unparse(node.slice) == self.index:
            return ast.Call(ast.Name("copy_of", ast.Load()), [node], [])
        return self.generic_visit(node)


class _Fresh:
    """The names holding an array no other name sees, line by line."""

    def __init__(self, lines):
        self.lines = lines
        self.live = live_after(lines)
        self.rewrite = {}          # line index -> new text

    def _indent(self, index):
        line = self.lines[index]
        return line[:len(line) - len(line.lstrip())]

    def transfer(self, items, fresh, record):
        before_if = arm = None
        for k, (index, stmt, children, is_else) in enumerate(items):
            if children is None:
                following = items[k + 1] if k + 1 < len(items) else None
                fresh = self.assign(index, stmt, fresh, record, following)
            elif isinstance(stmt, (ast.For, ast.While)):
                fresh = self.loop(children, fresh, record)
            elif is_else:                           # both arms ran from before_if
                fresh = arm & self.transfer(children, before_if, record)
            else:                                   # an if: its arm may not run
                before_if = fresh
                arm = self.transfer(children, fresh, record)
                fresh = arm & before_if
        return fresh

    def loop(self, body, fresh, record):
        """What holds at the start of every pass (and so after the loop)."""
        start = set(fresh)
        while True:
            new = start & self.transfer(body, start, False)
            if new == start:
                break
            start = new
        self.transfer(body, start, record)
        return start

    def zero_in_place(self, index, stmt, fresh, following):
        """For ``db = assign_at(db_1, i, 0.0)`` on a fresh ``db_1``: the new lines (the
        next one reading ``db_1[i]`` first, then the zeroing in place), or None."""
        zeroing = _zeroing(stmt)
        if zeroing is None or zeroing[1] not in fresh:
            return None
        target, array, where = zeroing
        text = [f"{target} = zero_at({array}, {where})"]
        last = index
        if following is not None and following[2] is None \
                and _reads_part_first(following[1], target, array, where):
            last = following[0]
            reader = _CopyPart(array, where).visit(copy.deepcopy(following[1]))
            text.insert(0, ast.unparse(ast.fix_missing_locations(reader)))
        if array in self.live[last]:
            return None
        return last, text

    def assign(self, index, stmt, fresh, record, following=None):
        if self.rewrite.get(index) == []:        # moved before a zeroing: nothing more
            return fresh - _all_names(stmt)
        scatter = _scatter_into_itself(stmt)
        if scatter and scatter[0] in fresh:
            if record:
                target, where, g = scatter
                self.rewrite[index] = [f"{target} = scatter_add_to({target}, {where}, {g})"]
            return fresh
        zeroed = self.zero_in_place(index, stmt, fresh, following)
        if zeroed is not None:
            last, text = zeroed
            if record:
                self.rewrite[index] = text
                if last != index:
                    self.rewrite[last] = []
            target, array, _ = _zeroing(stmt)
            return (fresh - {array}) | {target}
        if not isinstance(stmt, ast.Assign):
            return fresh - _all_names(stmt)
        targets = {n for t in stmt.targets for n in _all_names(t)}
        value = stmt.value
        moved = isinstance(value, ast.Name) and value.id in fresh \
            and value.id not in self.live[index] \
            and all(isinstance(t, ast.Name) for t in stmt.targets)
        fresh = fresh - targets
        if moved:                                  # the array changes hands, still unseen
            return (fresh - {value.id}) | targets
        if isinstance(value, (ast.BinOp, ast.UnaryOp)) or (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id in _FRESH_CALLS):
            return fresh | {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        return fresh - _all_names(value)           # the target may see these arrays


def accumulate_in_place(lines):
    """``lines`` with each ``d = d + scatter_add(a, i, g)`` and ``assign_at(d, i, 0.0)``
    on a fresh ``d`` made in place."""
    items = line_blocks(lines)
    pass_ = _Fresh(lines)
    pass_.transfer(items, set(), True)
    out = []
    for k, line in enumerate(lines):
        if k in pass_.rewrite:
            out += [pass_._indent(k) + text for text in pass_.rewrite[k]]
        else:
            out.append(line)
    return out
