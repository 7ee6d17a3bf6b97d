"""Python source from the IR and the adjoint IR: the module a user can read and step through.

The module holds four functions for a user function ``f``:

- ``f``: the primal, one operation per line;
- ``f_forward``: the primal, returning its result and the values the adjoint reads;
- ``f_backward``: the adjoint, taking those values and the result's cotangent,
  returning one cotangent per differentiated parameter;
- ``f_grad``: forward then backward.

Each block is headed by a comment quoting the source line it comes from.
"""
import ast
import os
import textwrap
from dataclasses import dataclass

import numpy as np

from .. import runtime
from ..ir.nodes import Const, If, Opaque, Seq, Slice, Var, applies
from ..ir.nodes import atom_vars as _atom_names
from ..transform.reverse import BranchBlock
from . import templates
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
        func = _path(prim.path or prim.name)
    keywords = [ast.keyword(k, to_ast(v)) for k, v in stmt.kwargs.items()]
    return ast.Call(func, [to_ast(a) for a in args], keywords)


class _Lines:
    """Indented lines with a comment each time the source line changes."""

    def __init__(self):
        self.lines = []
        self.assigned = set()
        self.depth = 1
        self._last = None

    def _put(self, text):
        self.lines.append("    " * self.depth + text)

    def header(self, loc, prefix=""):
        key = (loc.filename, loc.lineno)
        if key != self._last:
            self._last = key
            self._put(f"# {prefix}{os.path.basename(loc.filename)}:{loc.lineno}: {loc.text}")

    def add(self, node):
        if isinstance(node, ast.Assign):
            self.assigned.update(t.id for t in node.targets if isinstance(t, ast.Name))
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


def _emit_forward(body, out, skip=()):
    """The primal statements of ``body`` (leaving out the assigns to names in ``skip``)."""
    for stmt in body:
        if isinstance(stmt, If):
            out.header(stmt.loc)
            cond = ast.unparse(to_ast(stmt.cond))
            out.block(f"if {cond}:", lambda s=stmt: _emit_forward(s.then, out))
            if stmt.orelse:
                out.block("else:", lambda s=stmt: _emit_forward(s.orelse, out))
        elif stmt.target not in skip:
            out.header(stmt.loc)
            out.add(_assign(stmt.target, primal_expr(stmt)))


def _primal_body(fn):
    out = _Lines()
    _emit_forward(fn.body, out)
    out.header(fn.result_loc)
    return out


def _needed(body, names):
    """The statements of ``body`` that compute ``names``, with what they read in turn."""
    names, kept = set(names), []
    for stmt in reversed(body):
        targets = {s.target for s in applies([stmt])}
        if targets & names:
            names |= {n for s in applies([stmt]) for n in s.reads()}
            if isinstance(stmt, If):
                names |= set(_atom_names(stmt.cond))
            kept.append(stmt)
    return kept[::-1]


def _contributions(blocks):
    for block in blocks:
        if isinstance(block, BranchBlock):
            yield from _contributions(block.then)
            yield from _contributions(block.orelse)
        else:
            yield from block.contributions


class _Backward:
    """Writes the adjoint: blocks in reverse order, branches re-taken as in the forward pass."""

    def __init__(self, adj):
        self.adj = adj
        self.names = adj.adjoint_names
        self.out = _Lines()

    def blocks(self, blocks, started, recompute):
        for block in blocks:
            if isinstance(block, BranchBlock):
                self.branch(block, started, recompute)
            else:
                self.block(block, started)

    def branch(self, block, started, recompute):
        stmt, out = block.stmt, self.out
        inner = {s.target for s in applies(stmt.then + stmt.orelse)}
        # values from outside the if that an arm sends cotangents to start at zero, so that
        # either arm may add to them
        for c in _contributions([block]):
            target = self.names[c.var]
            if c.var not in inner and target not in started:
                out.add(_assign(target, ast.Call(_load("zeros_like"), [_load(c.var)], [])))
                started.add(target)
        out.header(stmt.loc, "adjoint of ")
        cond = ast.unparse(to_ast(stmt.cond))
        for opener, arm, reverse in ((f"if {cond}:", stmt.then, block.then),
                                     ("else:", stmt.orelse, block.orelse)):
            def emit(arm=arm, reverse=reverse):
                mark = len(out.lines)
                self.blocks(reverse, set(started), recompute=False)
                if recompute:    # the arm's values the adjoint reads: recomputed, not stored
                    adjoint_lines = out.lines[mark:]
                    del out.lines[mark:]
                    out._last = None
                    needed = _reads(adjoint_lines) if adjoint_lines else set()
                    _emit_forward(_needed(arm, needed), out)
                    out.lines += adjoint_lines
            if reverse or opener.startswith("if"):
                out.block(opener, emit)

    def block(self, block, started):
        stmt, out, names = block.stmt, self.out, self.names
        g = names.get(stmt.target)
        if g not in started or not block.contributions:
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
            if target in started:
                value = ast.BinOp(_load(target), ast.Add(), value)
            started.add(target)
            out.add(_assign(target, value))


def _backward_body(adj):
    """The adjoint's lines, and each wrt parameter's cotangent name (None when it got none)."""
    writer = _Backward(adj)
    result = adj.fn.result
    started = {adj.seed} if isinstance(result, Var) and result.name in adj.adjoint_names else set()
    writer.blocks(adj.blocks, started, recompute=True)
    names = adj.adjoint_names
    return writer.out, [names[p] if names.get(p) in started else None for p in adj.wrt]


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


def generate(fn, adj):
    """The generated module for ``fn`` and its adjoint ``adj``."""
    params = list(fn.params) + list(fn.free_values)
    signature = ", ".join(params)
    primal = _primal_body(fn)
    result = ast.unparse(to_ast(fn.result))
    backward, results = _backward_body(adj)
    for p, r in zip(adj.wrt, results, strict=True):
        if r is None:
            backward.add(_assign(adj.adjoint_names.setdefault(p, adj.fn.namer.adjoint(p)),
                                 ast.Call(_load("zeros_like"), [_load(p)], [])))
    grads = [adj.adjoint_names[p] for p in adj.wrt]
    read = _reads(backward.lines) - backward.assigned - {adj.seed}
    param_reads = [p for p in params if p in read]
    saved = list(dict.fromkeys(s.target for s in applies(fn.body)
                               if s.target in read and s.target != result))
    result_read = result in read and result not in params
    helpers = sorted(set(runtime.__all__) & read)
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
    text += ["", "", f"def {name}({signature}):",
             f'    """The primal of {fn.name} ({loc}), one operation a line."""']
    text += primal.lines + [f"    return {result}"]
    text += ["", "", f"def {fwd}({signature}):",
             f'    """{fn.name}: its result, then the values {bwd} reads."""']
    text += primal.lines + [f"    return {_tuple([result] + saved)}"]
    text += ["", "", f"def {bwd}({', '.join(backward_params)}):",
             f'    """Cotangents of ({wrt}), given {adj.seed}, the cotangent of the result."""']
    text += backward.lines + [f"    return {_tuple(grads)}"]
    text += ["", "", f"def {grd}({', '.join(params + [adj.seed])}):",
             f'    """The result of {fn.name} and the cotangents of ({wrt})."""',
             f"    {_tuple([out] + saved)} = {fwd}({signature})",
             f"    return {out}, {bwd}({', '.join(backward_params)})", ""]
    return Module(text="\n".join(text), primal=name, forward=fwd, backward=bwd, grad=grd,
                  param_reads=[params.index(p) for p in param_reads], result_read=result_read)
