"""Loops: ``for`` over range, arrays, ``enumerate`` and ``zip``, and ``while``."""
import gast
import numpy as np

from .. import rules
from ..ir.nodes import Apply, Const, For, If, Var, atom_vars, reads
from . import jumps


class LoopLocal:
    """A name first bound inside a loop: reading it after the loop, or in the loop before
    the body binds it (the previous iteration's value), is refused.  A ``range`` loop's
    index keeps its ``last`` value for a ``return`` taken inside that loop, the one read
    after the loop that can only happen once the body ran."""

    def __init__(self, user, loc, inside=False, last=None):
        self.user, self.loc, self.inside, self.last = user, loc, inside, last


class Loops:
    """A mixin of ``Lowerer``: a loop becomes a ``For`` node whose carried names get one
    IR name, set before the loop and at the end of each iteration."""

    def loop(self, node):
        """``for`` over range, arrays, enumerate and zip, and ``while``: carried names get
        one IR name, set before the loop and at the end of each iteration."""
        start = stop = step = index = None
        body = node.body
        exit_test = body[-1].test if body and jumps.is_loop_exit(body[-1]) else None
        if exit_test is not None:
            body = body[:-1]
        counters, items = [], []   # names bound to index + first / to array[index]
        # loop targets are bound like names the body assigns: Python keeps their last value
        assigned = set(_bound_names(node.target)) if isinstance(node, gast.For) else set()
        assigned |= {name for stmt in body for n in gast.walk(stmt)
                     if isinstance(n, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.For))
                     for t in (n.targets if isinstance(n, gast.Assign) else [n.target])
                     for name in _bound_names(t)}
        loc = self.loc(node)
        carried = []
        for user in sorted(u for u in assigned & set(self.versions)
                           if not isinstance(self.versions[u], LoopLocal)):
            name = self.define(user)
            self.body.append(self.copy_to(name, self.versions[user], loc))
            self.versions[user] = Var(name)
            carried.append((user, name))
        for user in assigned - set(self.versions):
            self.versions[user] = LoopLocal(user, loc, inside=True)
        last_index = None           # a range index with no value before the loop
        if isinstance(node, gast.For):
            start, stop, step, index, counters, items = self.iteration(node)
            user = node.target.id if isinstance(node.target, gast.Name) else None
            if not items and user not in dict(carried):
                last_index = self.define(user)
                self.scalars.add(last_index)
                self.index_copies.add(last_index)
                self.body.append(self.copy_to(last_index, start, loc))
                carried.append((user, last_index))
        outer, self.body = self.body, []
        cond, test = None, []
        if isinstance(node, gast.While):
            cond = self.expr(node.test)
            test, self.body = self.body, []
        for user, first in counters:
            self.versions[user] = Var(index) if first is None else self.emit(
                rules.lookup(np.add), [Var(index), first], {}, node, self.define(user))
        for user, array in items:
            self.versions[user] = self.emit(rules.GETITEM, [array, Var(index)], {}, node,
                                            self.define(user))
        # a write into an array the loop iterates over would change the items NumPy yields
        pinned = {r for _, a in items for r in self._roots(a.name)} - set(self.iterated)
        self.iterated.update(dict.fromkeys(pinned, loc.lineno))
        self.block(body)
        exit_ = self.name(exit_test) if exit_test is not None else None
        for root in pinned:
            del self.iterated[root]
        for user, name in carried:
            if self.versions[user] != Var(name):
                self.body.append(self.copy_to(name, self.versions[user], loc))
            self.versions[user] = Var(name)
        for user in assigned - {u for u, _ in carried}:
            self.versions[user] = LoopLocal(user, loc)   # Python would keep the last value
        if last_index is not None:
            self.versions[node.target.id] = LoopLocal(node.target.id, loc, last=Var(last_index))
        body, self.body = self.body, outer
        self.body.append(For(index, start, stop, step, body, [n for _, n in carried], loc,
                             test, cond, exit_))

    def drop_unread_index_copies(self, result):
        """The copies of range indices kept for after their loops, where nothing after the
        loop reads them: most loops' (the generated code stays as the user wrote it)."""
        read = reads(self.body) | set(atom_vars(result))
        unread = self.index_copies - read
        if unread:
            _drop(self.body, unread)

    def iteration(self, node):
        """What ``for target in iterable`` loops over: range bounds, the index name, and
        the names bound to an array's item at the index in each iteration."""
        it, target = node.iter, node.target
        if isinstance(it, gast.Call) and self.resolve(it.func) is range:
            if not (1 <= len(it.args) <= 3 and not it.keywords):
                raise self.error(it, "range(...) with keyword arguments", "write range(start, stop, step)")
            if not isinstance(target, gast.Name):
                raise self.error(target, "`for` over range with an unpacking target",
                                 "loop over one index")
            bounds = [self.expr(a) for a in it.args]
            start, stop, step = ([Const(0)] + bounds + [Const(1)])[:3] if len(bounds) == 1 \
                else (bounds + [Const(1)])[:3]
            index = self.define(target.id)
            self.versions[target.id] = Var(index)
            self.scalars.add(index)
            return start, stop, step, index, [], []
        counters, items = [], []
        self.iterables(target, it, counters, items)
        lengths = [self.emit(rules.lookup(len), [array], {}, node) for _, array in items]
        stop = lengths[0]
        for n in lengths[1:]:                 # zip stops at the shortest
            stop = self.emit(rules.lookup(np.minimum), [stop, n], {}, node)
        # enumerate's counter from 0 is the loop index itself
        user_index = next((u for u, first in counters if first == Const(0)), None)
        index = self.define(user_index) if user_index else self.namer.fresh("k")
        self.scalars.add(index)
        counters = [(u, None if u == user_index else first) for u, first in counters]
        return Const(0), stop, Const(1), index, counters, items

    def iterables(self, target, it, counters, items):
        """Bindings of ``for target in it``: counters (enumerate's) and array items."""
        call = self.resolve(it.func) if isinstance(it, gast.Call) else None
        if call in (enumerate, zip):
            if not isinstance(target, (gast.Tuple, gast.List)):
                raise self.error(target, f"`for` over {call.__name__}(...) into one name",
                                 "unpack it: for i, v in enumerate(x)")
            if call is enumerate:
                kwargs = {kw.arg: kw.value for kw in it.keywords}
                if len(it.args) + len(kwargs) not in (1, 2) or set(kwargs) - {"start"} \
                        or len(target.elts) != 2:
                    raise self.error(it, "this use of enumerate", "for i, v in enumerate(x)")
                first = it.args[1] if len(it.args) == 2 else kwargs.get("start")
                if not isinstance(target.elts[0], gast.Name):
                    raise self.error(target.elts[0], "an enumerate counter that is not a name",
                                     "for i, v in enumerate(x)")
                counters.append((target.elts[0].id,
                                 Const(0) if first is None else self.expr(first)))
                self.iterables(target.elts[1], it.args[0], counters, items)
                return
            if it.keywords or len(target.elts) != len(it.args):
                raise self.error(it, "zip(...) into a different number of names",
                                 "for a, b in zip(x, y)")
            for elt, arg in zip(target.elts, it.args, strict=True):
                self.iterables(elt, arg, counters, items)
            return
        if call is range:
            raise self.error(it, "range(...) inside zip or enumerate",
                             "loop over range(len(x)) and index the arrays")
        if not isinstance(target, gast.Name):
            raise self.error(target, "`for` over an array with an unpacking target",
                             "loop over one name and index it: for row in m: a = row[0]")
        array = self.expr(it)
        if not isinstance(array, Var):
            raise self.error(it, "`for` over a literal list or tuple",
                             "make it an array first, or write the steps out")
        items.append((target.id, array))


def _drop(body, names):
    """``body`` without the statements assigning ``names``, and loops without carrying them."""
    body[:] = [s for s in body if not (isinstance(s, Apply) and s.target in names)]
    for stmt in body:
        if isinstance(stmt, If):
            _drop(stmt.then, names)
            _drop(stmt.orelse, names)
        elif isinstance(stmt, For):
            stmt.carried = [n for n in stmt.carried if n not in names]
            _drop(stmt.body, names)


def _bound_names(target):
    """The names an assignment target rebinds: ``y``, ``a, b``, and ``b`` for ``b[i]``."""
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, gast.Subscript):
        return _bound_names(target.value)
    if isinstance(target, (gast.Tuple, gast.List)):
        return [n for e in target.elts for n in _bound_names(e)]
    return []
