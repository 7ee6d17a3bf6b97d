"""Which names may share memory, and refusing writes NumPy would make visible elsewhere.

NumPy writes in place (``y += e``, ``b[i] = v``); the transform makes a new version
instead.  The two agree unless another name that sees the same memory (an alias, a
view, a value merged at a branch or carried by a loop) is read after the write: then
the write is refused.  Numbers are never shared: ``pos = d; pos += 1`` rebinds.
"""
import numpy as np

from .. import rules
from ..ir.nodes import Apply, Const, Var
from .liveness import reads, rebound


class Sharing:
    """A mixin of ``Lowerer``: the memory-sharing facts and the checks that use them."""

    def copy_to(self, name, atom, loc):
        """``name = atom``: a carried or merged value, the same array as ``atom``."""
        self.share(name, atom)
        return Apply(name, rules.ASSIGN, [atom], {}, loc)

    def share(self, name, atom):
        if isinstance(atom, Var) and not self.is_number(atom):
            self.view_base.setdefault(name, set()).add(atom.name)

    def is_number(self, atom):
        """Whether ``atom`` surely holds a number: numbers are never shared or written."""
        if isinstance(atom, Const):
            return isinstance(atom.value, (bool, int, float, np.number))
        return isinstance(atom, Var) and atom.name in self.scalars

    def infer_number(self, name, prim, args):
        """Record ``name`` as a number (or a shape) when its operation says so: an entry
        of a shape, a length, or arithmetic on numbers."""
        if getattr(prim, "attribute", None) == "shape" or getattr(prim, "impl", None) is np.shape:
            self.shapes.add(name)
        elif getattr(prim, "attribute", None) in ("ndim", "size") \
                or getattr(prim, "impl", None) in (len, int, float):
            self.scalars.add(name)
        elif prim is rules.GETITEM and isinstance(args[0], Var) and args[0].name in self.shapes \
                and self.is_number(args[1]):
            self.scalars.add(name)
        elif isinstance(getattr(prim, "impl", None), np.ufunc) and args \
                and all(self.is_number(a) for a in args):
            self.scalars.add(name)

    def _roots(self, name):
        """The arrays (IR names that own their memory) ``name`` may be a view of."""
        roots, todo, seen = set(), [name], set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            if n in self.view_base:
                todo += self.view_base[n]
            else:
                roots.add(n)
        return roots

    def check_unshared(self, stmt, user):
        """A write into ``user``'s array (``y += e``, ``y[i] = v``) changes it in place in
        NumPy; the transform writes into a copy.  Refuse it when another name that sees
        that array is read afterwards, where the two would differ."""
        current = self.versions.get(user)
        if not isinstance(current, Var) or self.is_number(current):
            return                       # numbers are rebound, never changed in place
        roots = self._roots(current.name)
        iterated = sorted(self.iterated[r] for r in roots if r in self.iterated)
        if iterated:
            raise self.error(stmt, f"in-place write into `{user}`, the array the loop at line "
                             f"{iterated[0]} iterates over (NumPy would change the items it "
                             "yields)", f"copy first: {user} = np.copy({user})")
        sharing = self.sharing(roots, user)
        if sharing:
            raise self.error(stmt, f"in-place write into `{user}`, whose array `{sharing[0]}` "
                             "shares (NumPy would change both)",
                             f"write into a copy ({user} = np.copy({user})), or make "
                             f"{sharing[0]} a copy where it is made")
        caller, lowerer = self.call_site, self.parent
        while lowerer is not None:        # an inlined function writing into a caller's array
            sharing = lowerer.sharing(roots, None, caller)
            if sharing:
                raise self.error(stmt, f"in-place write into `{user}`, whose array the caller "
                                 f"{lowerer.source.fun.__name__}() reads afterwards as "
                                 f"`{sharing[0]}` (NumPy would change it there too)",
                                 f"copy first: {user} = np.copy({user})")
            caller, lowerer = lowerer.call_site, lowerer.parent

    def sharing(self, roots, user, call=None):
        """The names other than ``user`` that see ``roots`` and are read after the current
        statement (after ``call`` in it, when the statement is ``x = call`` or ``return call``)."""
        stmt = self.current
        live = set(self.liveness.after(stmt))
        if call is not None and getattr(stmt, "value", None) is call:
            live -= rebound(stmt)       # y = f(y): what is read next is the call's result
        elif call is not None:
            live |= reads(stmt)         # the rest of the statement may read them after the call
        return sorted(u for u, atom in self.versions.items() if u != user and u in live
                      and isinstance(atom, Var) and self._roots(atom.name) & roots)
