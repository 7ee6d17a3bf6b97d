"""Rewrite ``return``, ``break`` and ``continue`` into structured code, before lowering.

The lowerer knows one shape of control flow: branches that join, and loops that run
their whole body.  Jumps are brought to that shape here, on the syntax tree:

- What follows a statement that may jump moves into the arms of that statement that
  fall through (the continuation, copied into each), so no flag guards the rest.
- ``return v`` becomes ``result = v`` at the end of its path; one ``return result``
  ends the function.
- ``break`` sets a flag; a loop that may break ends its body with ``if stop: break``,
  the one exit the lowerer reads (the loop's ``exit``).  ``continue`` ends its path.
- ``return v`` inside a loop records which return it was and breaks; after the loop,
  ``if returned == k: return v`` takes over, evaluated with the values of the iteration
  that returned (nothing runs between the return and the loop's exit).

A function with one final ``return`` and loops without jumps is left as it is.
"""
import copy

import gast

_LOOPS = (gast.For, gast.While)


def _name(id_, ctx=gast.Load):
    return gast.Name(id=id_, ctx=ctx(), annotation=None, type_comment=None)


def _assign(name, value, where):
    return gast.copy_location(gast.Assign(targets=[_name(name, gast.Store)], value=value,
                                          type_comment=None), where)


def _constant(value):
    return gast.Constant(value=value, kind=None)


def _contains(stmts, kinds, into_loops):
    """Whether ``stmts`` hold one of ``kinds``, looking into nested loops or not."""
    for stmt in stmts:
        if isinstance(stmt, kinds):
            return True
        if isinstance(stmt, gast.If) and _contains(stmt.body + stmt.orelse, kinds, into_loops):
            return True
        if isinstance(stmt, _LOOPS) and into_loops and _contains(stmt.body, kinds, into_loops):
            return True
    return False


def _always_exits(stmts, kinds):
    """Whether every path through ``stmts`` ends in one of ``kinds``."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, kinds):
        return True
    return isinstance(last, gast.If) and _always_exits(last.body, kinds) \
        and _always_exits(last.orelse, kinds)


def always_returns(stmts):
    return _always_exits(stmts, gast.Return)


def needs_rewrite(fn):
    body = fn.body
    early = any(isinstance(node, gast.Return) and node is not body[-1] for node in gast.walk(fn))
    return early or any(isinstance(node, _LOOPS) and _contains(node.body, (gast.Break, gast.Continue), False)
                         for node in gast.walk(fn))


class _Rewriter:
    def __init__(self, fn):
        self.used = {n.id for n in gast.walk(fn) if isinstance(n, gast.Name)}
        self.used |= {a.id for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs}

    def fresh(self, base):
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def _split(self, stmts, k, exits, handle):
        """``stmts[k]`` is an If that may jump: the rest moves into the arms that fall through."""
        stmt, rest = stmts[k], stmts[k + 1:]
        for arm in ("body", "orelse"):
            lines = getattr(stmt, arm)
            follow = [] if _always_exits(lines, exits) else copy.deepcopy(rest)
            setattr(stmt, arm, handle(lines + follow))
        return stmts[:k] + [stmt]

    # -- returns ----------------------------------------------------------------
    def returns(self, stmts, result):
        """Top level: every ``return v`` becomes ``result = v`` ending its path."""
        for k, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Return):
                return stmts[:k] + [_assign(result, stmt.value, stmt)]
            if isinstance(stmt, gast.If) and _contains([stmt], gast.Return, True):
                return self._split(stmts, k, gast.Return, lambda s: self.returns(s, result))
            if isinstance(stmt, _LOOPS) and _contains(stmt.body, gast.Return, True):
                lifted = self.loop_returns(stmt)
                return stmts[:k] + self.returns(lifted + stmts[k + 1:], result)
        return stmts

    def loop_returns(self, loop):
        """A loop that may return: each return records its number and breaks; after the
        loop, the recorded return is taken."""
        flag = self.fresh("returned")
        values = []
        loop.body = self._to_breaks(loop.body, flag, values)
        dispatch = []
        for k in range(len(values), 0, -1):
            ret = values[k - 1]
            ret.value.returned_after_loop = loop     # for the lowerer: read after this loop
            test = gast.copy_location(gast.Compare(left=_name(flag), ops=[gast.Eq()],
                                                   comparators=[_constant(k)]), ret)
            dispatch = [gast.copy_location(gast.If(test=test, body=[ret], orelse=dispatch), ret)]
        return [_assign(flag, _constant(0), loop), loop] + dispatch

    def _to_breaks(self, stmts, flag, values):
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Return):
                values.append(stmt)
                return out + [_assign(flag, _constant(len(values)), stmt),
                              gast.copy_location(gast.Break(), stmt)]
            if isinstance(stmt, gast.If):
                stmt.body = self._to_breaks(stmt.body, flag, values)
                stmt.orelse = self._to_breaks(stmt.orelse, flag, values)
            elif isinstance(stmt, _LOOPS) and _contains(stmt.body, gast.Return, True):
                # the inner loop's returns, taken after it, are returns of this loop
                out += self._to_breaks(self.loop_returns(stmt), flag, values)
                continue
            out.append(stmt)
        return out

    # -- break and continue -----------------------------------------------------
    def loops(self, stmts):
        """Every loop in ``stmts`` (innermost first) without break or continue in its body."""
        for stmt in stmts:
            if isinstance(stmt, gast.If):
                self.loops(stmt.body)
                self.loops(stmt.orelse)
            elif isinstance(stmt, _LOOPS):
                self.loops(stmt.body)
                self.loop(stmt)

    def loop(self, loop):
        jumps = (gast.Break, gast.Continue)
        if not _contains(loop.body, jumps, False):
            return
        if not _contains(loop.body, gast.Break, False):
            loop.body = self._jumps(loop.body, None)
            return
        stop = self.fresh("stop")
        exit_ = gast.copy_location(gast.If(test=_name(stop), body=[gast.Break()], orelse=[]), loop)
        loop.body = [_assign(stop, _constant(False), loop)] + self._jumps(loop.body, stop) \
            + [exit_]

    def _jumps(self, stmts, stop):
        jumps = (gast.Break, gast.Continue)
        for k, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Break):
                return stmts[:k] + [_assign(stop, _constant(True), stmt)]
            if isinstance(stmt, gast.Continue):
                return stmts[:k]
            if isinstance(stmt, gast.If) and _contains([stmt], jumps, False):
                return self._split(stmts, k, jumps, lambda s: self._jumps(s, stop))
        return stmts


def is_loop_exit(stmt):
    """The ``if stop: break`` that ends the body of a loop that may break."""
    return isinstance(stmt, gast.If) and isinstance(stmt.test, gast.Name) and not stmt.orelse \
        and len(stmt.body) == 1 and isinstance(stmt.body[0], gast.Break)


def rewrite(fn):
    """``fn`` (a gast FunctionDef) with one final return and jump-free loops, or ``fn`` itself
    when it has no jumps to rewrite."""
    if not needs_rewrite(fn):
        return fn
    fn = copy.deepcopy(fn)
    rewriter = _Rewriter(fn)
    last = fn.body[-1]
    if any(isinstance(node, gast.Return) and node is not last for node in gast.walk(fn)):
        result = rewriter.fresh("result")
        fn.body = rewriter.returns(fn.body, result)
        fn.body.append(gast.copy_location(gast.Return(value=_name(result)), last))
    rewriter.loops(fn.body)
    return fn
