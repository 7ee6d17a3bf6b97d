"""Which user names may still be read after each statement (backward liveness on the
syntax tree, after jumps are rewritten, so control flow is structured).

The lowerer asks it one question: when a write goes into an array in place, is another
name that sees the same memory read afterwards?  Only then would NumPy's in-place
semantics and the transform's copy-on-write differ.
"""
import gast


def reads(node):
    """The names ``node`` reads."""
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)}


def _stores(target):
    """Names a target rebinds (``b[i] = v`` rebinds none: it reads b)."""
    if isinstance(target, gast.Name):
        return {target.id}
    if isinstance(target, (gast.Tuple, gast.List)):
        return {n for e in target.elts for n in _stores(e)}
    return set()


def _target_reads(target):
    if isinstance(target, gast.Subscript):
        return reads(target.value) | reads(target.slice)
    if isinstance(target, (gast.Tuple, gast.List)):
        return {n for e in target.elts for n in _target_reads(e)}
    return set()


def rebound(stmt):
    """The names an assignment statement rebinds."""
    if isinstance(stmt, gast.Assign):
        return set().union(*(_stores(t) for t in stmt.targets))
    if isinstance(stmt, (gast.AugAssign, gast.AnnAssign)):
        return _stores(stmt.target)
    return set()


class Liveness:
    """``after(stmt)``: the names that may be read after ``stmt`` runs."""

    def __init__(self, fn):
        self._after = {}
        self._block(fn.body, set())

    def after(self, stmt):
        return self._after.get(id(stmt), set())

    def _block(self, stmts, live):
        for stmt in reversed(stmts):
            self._after[id(stmt)] = set(live)
            live = self._statement(stmt, live)
        return live

    def _statement(self, stmt, live):
        if isinstance(stmt, gast.If):
            return reads(stmt.test) | self._block(stmt.body, live) | self._block(stmt.orelse, live)
        if isinstance(stmt, (gast.For, gast.While)):
            head = reads(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            bound = _stores(stmt.target) if isinstance(stmt, gast.For) else set()
            entry = set()
            while True:     # the body's start follows its end: iterate to a fixpoint
                start = self._block(stmt.body, live | head | entry)
                new = (start - bound) | head
                if new <= entry:
                    return live | entry
                entry |= new
        if isinstance(stmt, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
            used = reads(stmt.value).union(*(_target_reads(t) for t in targets))
            if isinstance(stmt, gast.AugAssign):
                used |= _stores(stmt.target)            # y += e reads y
            return (live - rebound(stmt)) | used
        return live | reads(stmt)
