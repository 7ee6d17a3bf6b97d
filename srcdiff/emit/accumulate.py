"""Cotangents of array reads added in place, where no other name sees the array.

The adjoint of a read ``t = x[i]`` is ``dx = dx + scatter_add(x, i, dt)``: zeros the size
of ``x``, one element set, then a whole-array add.  In a loop that reads one element per
iteration that is O(size) work per iteration.  When ``dx`` holds an array that only
``dx`` refers to, the same sum can be made in place, ``dx = scatter_add_to(dx, i, dt)``
(``dx[i] += dt``), O(1).

Which names hold such an array is followed through the generated backward function's
lines (straight-line code, ``if``/``else``, ``for`` and ``while`` blocks): an array is fresh when a
line makes it (``zeros_like``, ``scatter_add``, arithmetic); it stops being fresh when
another name may see it (``a = b``, ``a = f(b)`` that may return ``b`` or a view of it,
``a = b[i]``).  At a join, a name is fresh if it is on every path; a loop's body starts
with what holds both before the loop and after a pass through the body.
"""
import ast

from .lines import line_blocks

_FRESH_CALLS = {"zeros_like", "scatter_add", "scatter_add_to", "assign_at"}


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _scatter_into_itself(stmt):
    """``d = d + scatter_add(a, i, g)``: the names (d, i, g) as text, or None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.BinOp)
            and isinstance(stmt.value.op, ast.Add)):
        return None
    target, left, right = stmt.targets[0].id, stmt.value.left, stmt.value.right
    if not (isinstance(left, ast.Name) and left.id == target and isinstance(right, ast.Call)
            and isinstance(right.func, ast.Name) and right.func.id == "scatter_add"
            and len(right.args) == 3):
        return None
    return target, ast.unparse(right.args[1]), ast.unparse(right.args[2])


class _Fresh:
    """The names holding an array no other name sees, line by line."""

    def __init__(self, lines):
        self.lines = lines
        self.rewrite = {}          # line index -> new text

    def transfer(self, items, fresh, record):
        before_if = arm = None
        for index, stmt, children, is_else in items:
            if children is None:
                fresh = self.assign(index, stmt, fresh, record)
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

    def assign(self, index, stmt, fresh, record):
        scatter = _scatter_into_itself(stmt)
        if scatter and scatter[0] in fresh:
            if record:
                target, where, g = scatter
                line = self.lines[index]
                indent = line[:len(line) - len(line.lstrip())]
                self.rewrite[index] = f"{indent}{target} = scatter_add_to({target}, {where}, {g})"
            return fresh
        if not isinstance(stmt, ast.Assign):
            return fresh - _names(stmt)
        targets = {n for t in stmt.targets for n in _names(t)}
        fresh = fresh - targets
        value = stmt.value
        if isinstance(value, (ast.BinOp, ast.UnaryOp)) or (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id in _FRESH_CALLS):
            return fresh | {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        return fresh - _names(value)               # the target may see these arrays


def accumulate_in_place(lines):
    """``lines`` with each ``d = d + scatter_add(a, i, g)`` on a fresh ``d`` made in place."""
    items = line_blocks(lines)
    pass_ = _Fresh(lines)
    pass_.transfer(items, set(), True)
    return [pass_.rewrite.get(k, line) for k, line in enumerate(lines)]
