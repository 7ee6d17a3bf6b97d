"""Which writes into arrays the forward pass may make in place.

In the IR a write ``b[i] = v`` is a new version, ``b_1 = assign_at(b, i, v)``: a copy
with ``v`` written, O(size) per write.  Inside a loop, the forward pass can instead write
into the array itself when nothing reads the old version afterwards.  It is safe when:

- the loop owns the array: the carried value is copied once as the loop starts (so the
  caller's arrays and any value from before the loop are never touched), and each
  iteration's versions are that same array or fresh copies;
- no statement after the write, on any path to the end of the iteration, reads the old
  version or a view of it (later iterations read the carried name, which the end of the
  iteration rebinds to the new version);
- the written value is not a view of the array (overlapping copies).

The adjoint is unaffected: a loop's stacks copy values at the start of each iteration,
and the backward pass recomputes with copying writes.
"""
from .nodes import Apply, Const, For, If, Seq, Var, atom_vars, reads

_VIEW_NAMES = {"getitem", "assign", "np.reshape", "np.transpose", "np.ravel", "np.asarray"}


def _is_write(stmt):
    return isinstance(stmt, Apply) and getattr(stmt.prim, "name", None) == "assign_at"


class _Loop:
    """The walk over one loop body: versions the loop owns, and what may alias what."""

    def __init__(self, loop, writes):
        self.writes = writes                  # ids of writes found safe, shared by all loops
        self.owned = set(loop.carried)        # valid once the carried arrays are copied in
        self.root = {c: c for c in loop.carried}
        self.aliases = {}                     # name -> the names whose memory it may share
        self.copied = set()                   # carried names some write relies on owning
        self.exit_reads = set(atom_vars(loop.exit)) if loop.exit is not None else set()

    def walk(self, stmts, after_block):
        for k, stmt in enumerate(stmts):
            after = reads(stmts[k + 1:]) | after_block
            if isinstance(stmt, If):
                self.walk(stmt.then, after)
                self.walk(stmt.orelse, after)
            elif _is_write(stmt):
                self.write(stmt, after)
            elif isinstance(stmt, Apply) and getattr(stmt.prim, "name", None) in _VIEW_NAMES \
                    and stmt.args and atom_vars(stmt.args[0]):
                base = atom_vars(stmt.args[0])[0]
                self.aliases[stmt.target] = {base} | self.aliases.get(base, set())

    def write(self, stmt, after):
        old = stmt.args[0].name if isinstance(stmt.args[0], Var) else None
        sharing = {n for n, bases in self.aliases.items() if old in bases} | {old}
        value_views = {b for a in stmt.args[1:] for n in atom_vars(a)
                       for b in self.aliases.get(n, set()) | {n}}
        if old in self.owned and not (sharing & after) and old not in value_views:
            self.writes.add(id(stmt))
            self.root[stmt.target] = self.root.get(old)
            if self.root[stmt.target] is not None:
                self.copied.add(self.root[stmt.target])
        else:
            self.root[stmt.target] = None     # a fresh copy: owned, rooted nowhere
        self.owned.add(stmt.target)


def in_place(body, numbers=frozenset()):
    """``(writes, copies, undoable)``: the ids of the writes (``assign_at`` statements) the
    forward pass may do in place; the ids of the loops' carried-value assigns that must
    copy the array as the loop starts for that to be safe; and, per loop (by id), the
    carried arrays whose every write in the loop is in place, into one element (indices
    in ``numbers``), outside nested loops, for the loops of ``body`` itself: {carried
    name: [write statements]}.  Their adjoint can undo those writes, one element each,
    instead of storing the array."""
    writes, copies, undoable = set(), set(), {}
    _scan(body, writes, copies, undoable, numbers, top=True)
    return writes, copies, undoable


def _element(index, numbers):
    parts = index.items if isinstance(index, Seq) else (index,)
    return all((isinstance(p, Const) and type(p.value) is int)
               or (isinstance(p, Var) and p.name in numbers) for p in parts)


def _undoable(loop, walk, writes, numbers):
    found = {}
    nested_reads = set()
    for stmt in loop.body:
        if isinstance(stmt, For):
            nested_reads |= reads([stmt])
    for stmt in _applies_outside_loops(loop.body):
        if _is_write(stmt) and walk.root.get(stmt.target) is not None:
            found.setdefault(walk.root[stmt.target], []).append(stmt)
    # what each carried name is given at the end of an iteration: undoing the writes of
    # an iteration from the next one's start is right only if that is the written array
    ends = {s.target: s.args[0].name for s in loop.body if isinstance(s, Apply)
            and s.target in loop.carried and getattr(s.prim, "name", None) == "assign"
            and isinstance(s.args[0], Var)}
    result = {}
    for carried, stmts in found.items():
        if walk.root.get(ends.get(carried)) != carried:
            continue
        chain = {carried} | {s.target for s in stmts} | {s.args[0].name for s in stmts}
        every_write = [s for s in _applies_outside_loops(loop.body) if _is_write(s)
                       and isinstance(s.args[0], Var) and s.args[0].name in chain]
        if all(id(s) in writes and _element(s.args[1], numbers) for s in every_write) \
                and not chain & nested_reads:
            result[carried] = stmts
    return result


def _applies_outside_loops(stmts):
    for stmt in stmts:
        if isinstance(stmt, If):
            yield from _applies_outside_loops(stmt.then)
            yield from _applies_outside_loops(stmt.orelse)
        elif isinstance(stmt, Apply):
            yield stmt


def _scan(body, writes, copies, undoable, numbers, top=False):
    for k, stmt in enumerate(body):
        if isinstance(stmt, If):
            _scan(stmt.then, writes, copies, undoable, numbers)
            _scan(stmt.orelse, writes, copies, undoable, numbers)
        elif isinstance(stmt, For):
            _scan(stmt.body, writes, copies, undoable, numbers)
            walk = _Loop(stmt, writes)
            walk.walk(stmt.body, walk.exit_reads)
            for init in body[:k]:              # the carried values' assigns before the loop
                if isinstance(init, Apply) and init.target in walk.copied:
                    copies.add(id(init))
            # only a loop of the function's own body: one the backward pass re-runs (in a
            # branch, or in another loop) re-runs with copying writes and no log
            undo = _undoable(stmt, walk, writes, numbers) if top else {}
            if undo:
                undoable[id(stmt)] = undo
