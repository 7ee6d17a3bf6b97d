"""Activity analysis: which values depend on the inputs *and* reach the output.

Only active values get cotangents: constants, shapes, integer counters and
anything off the path to the result cost nothing in the adjoint.
"""
import inspect

from ..errors import UnsupportedError
from .nodes import Opaque, applies, atom_vars


def bind(stmt):
    """The rule parameters of ``stmt``'s primitive, each bound to an IR atom."""
    rule = stmt.prim.rule
    try:
        bound = inspect.signature(rule.fn).bind_partial(None, None, *stmt.args, **stmt.kwargs)
    except TypeError as exc:
        raise unsupported(stmt.loc, f"call of {stmt.prim.name} with these arguments",
                          f"its derivative rule does not take them ({exc})") from None
    return {k: v for k, v in bound.arguments.items() if k in rule.params}


def unsupported(loc, construct, hint):
    """An UnsupportedError pointing at the source line ``loc``."""
    return UnsupportedError(construct, filename=loc.filename, lineno=loc.lineno, col=loc.col,
                            function=loc.function, hint=hint)


def differentiable_reads(stmt):
    """The variables whose cotangents ``stmt`` may send, or every read for rule-less calls."""
    prim = stmt.prim
    if isinstance(prim, Opaque) or prim.rule is None:
        return [] if getattr(prim, "nondiff", False) else stmt.reads()
    bound = bind(stmt)
    return [n for p in prim.rule.wrt if p in bound for n in atom_vars(bound[p])]


def activity(fn, wrt):
    """The names of active values of ``fn`` when differentiating with respect to ``wrt``."""
    varied = set(wrt)
    statements = list(applies(fn.body))   # loops carry values around: repeat to a fixpoint
    changed = True
    while changed:
        changed = False
        for stmt in statements:
            if stmt.target not in varied and any(n in varied for n in differentiable_reads(stmt)):
                varied.add(stmt.target)
                changed = True
    useful = set(atom_vars(fn.result))
    changed = True
    while changed:
        changed = False
        for stmt in reversed(statements):
            if stmt.target in useful and stmt.target in varied:
                prim = stmt.prim
                if isinstance(prim, Opaque) or prim.rule is None:
                    name = getattr(prim, "label", None) or prim.name
                    raise unsupported(stmt.loc, f"call to `{name}` on a differentiable value",
                                      f"{name} has no derivative rule; register one with "
                                      "@srcdiff.rule, or apply it to constants only")
                new = set(differentiable_reads(stmt)) - useful
                if new:
                    useful |= new
                    changed = True
    return varied & useful
