"""Derivative rules as templates: a rule's body, inlined with the caller's names.

``def multiply(g, ans, x, y): return unbroadcast(g * y, x), unbroadcast(g * x, y)``
becomes, for the statement ``z = a * b`` with only ``a`` active,
``da = unbroadcast(dz * b, a)``.  Local names of the rule get fresh names; local
statements that no selected output needs are left out.
"""
import ast
import copy
import functools
import inspect
import textwrap
from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..errors import SrcdiffError

ALLOWED_GLOBALS = {"np"} | set(runtime.__all__) | {"float", "abs"}


@dataclass
class Template:
    params: list               # every parameter, g and ans included
    locals: list               # (name, ast.expr) in order
    outputs: list              # one ast.expr per differentiable parameter


class TemplateError(SrcdiffError):
    """A rule cannot be inlined: its body is not ``locals...; return outputs``."""


@functools.lru_cache(maxsize=None)
def template(rule_fn, n_outputs):
    """Parse ``rule_fn`` into a Template (raises TemplateError if it is not inlinable)."""
    where = f"rule {rule_fn.__module__}.{rule_fn.__name__}"
    tree = ast.parse(textwrap.dedent(inspect.getsource(rule_fn)))
    fn = tree.body[0]
    params = [a.arg for a in fn.args.args + fn.args.kwonlyargs]
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    local_defs = []
    for stmt in body[:-1]:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise TemplateError(f"{where}: only `name = expression` lines may precede the return")
        local_defs.append((stmt.targets[0].id, stmt.value))
    if not body or not isinstance(body[-1], ast.Return):
        raise TemplateError(f"{where}: must end with a return")
    value = body[-1].value
    outputs = list(value.elts) if isinstance(value, ast.Tuple) and n_outputs > 1 else [value]
    if len(outputs) != n_outputs:
        raise TemplateError(f"{where}: returns {len(outputs)} values for {n_outputs} parameters")
    known = set(params) | {name for name, _ in local_defs} | ALLOWED_GLOBALS
    for node in (n for stmt in fn.body for n in ast.walk(stmt)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in known:
            raise TemplateError(f"{where}: reads `{node.id}`; rules may read their parameters, "
                                "their locals, np and srcdiff.runtime helpers")
    return Template(params, local_defs, outputs)


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class Substitute(ast.NodeTransformer):
    """Each name of ``mapping`` replaced by a copy of its expression."""

    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            return copy.deepcopy(self.mapping[node.id])
        return node


def expand(rule, bindings, selected, fresh):
    """Inline ``rule`` for the outputs ``selected`` (indices into ``rule.wrt``).

    ``bindings`` maps each rule parameter to an ``ast.expr``; ``fresh(base)`` names
    the rule's locals.  Returns ``(statements, {index: ast.expr})``.
    """
    tpl = template(rule.fn, len(rule.wrt))
    wanted = [tpl.outputs[k] for k in selected]
    needed, frontier = set(), set().union(*(_names(e) for e in wanted))
    local_names = {name for name, _ in tpl.locals}
    for name, value in reversed(tpl.locals):
        if name in frontier & local_names:
            needed.add(name)
            frontier |= _names(value)
    mapping = {p: bindings[p] for p in tpl.params if p in bindings}
    for p in tpl.params:
        if p not in mapping:
            default = inspect.signature(rule.fn).parameters[p].default
            mapping[p] = ast.Constant(default.item() if isinstance(default, np.generic) else default)
    statements = []
    for name, value in tpl.locals:
        if name in needed:
            new = fresh(name)
            statements.append(ast.Assign(targets=[ast.Name(new, ast.Store())],
                                         value=_inline(value, mapping), lineno=0))
            mapping[name] = ast.Name(new, ast.Load())
    outputs = {k: _inline(tpl.outputs[k], mapping) for k in selected}
    return statements, outputs


def _inline(expr, mapping):
    return _Fold().visit(Substitute(mapping).visit(copy.deepcopy(expr)))


class _Fold(ast.NodeTransformer):
    """Arithmetic on literals done once, and ``x ** 1`` as ``x``: a rule written for any
    ``y`` reads as the user's constant made it (``x ** (2 - 1 + (2 == 0))`` is ``x``)."""

    def generic_visit(self, node):
        node = super().generic_visit(node)
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)) and all(
                isinstance(n, ast.Constant) and type(n.value) in (int, float, bool)
                for n in ast.iter_child_nodes(node) if isinstance(n, ast.expr)):
            folded = ast.fix_missing_locations(ast.Expression(copy.deepcopy(node)))
            try:
                value = eval(compile(folded, "<fold>", "eval"), {"__builtins__": {}})
            except (ArithmeticError, ValueError):
                return node                     # left for run time, to fail as Python would
            return ast.copy_location(ast.Constant(value), node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) \
                and isinstance(node.right, ast.Constant) and node.right.value == 1 \
                and type(node.right.value) is int:
            return node.left
        return node


def reads_by_value(tree):
    """The names ``tree`` (any AST) reads for their values: every name read, except where
    a runtime helper reads only its argument's shape (``unbroadcast(g, x)`` reads x's)."""
    shape_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            for k, arg in enumerate(node.args):
                if (node.func.id, k) in runtime.SHAPE_ONLY and isinstance(arg, ast.Name):
                    shape_only.add(id(arg))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and id(n) not in shape_only}
