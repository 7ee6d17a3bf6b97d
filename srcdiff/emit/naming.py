"""Every generated name comes from here, derived from the user's names.

``y`` reassigned becomes ``y_1``, ``y_2``; the adjoint of ``y`` is ``dy`` (``y_bar``
when the user already has a ``dy``); temporaries are ``_t1``, ``_t2``; nothing
generated can collide with a name the user's code or the generated module uses.
"""
import builtins
import keyword

from .. import runtime

RESERVED = {"np"} | set(runtime.__all__) | set(keyword.kwlist) | set(dir(builtins))


class Namer:
    """Hands out names that are unique within one generated module.

    ``user_names`` are every name in the user's function: generated names avoid
    them, and ``claim`` gives a user's name back unchanged the first time.
    """

    def __init__(self, user_names=()):
        self.user_names = set(user_names)
        self.taken = set(RESERVED)
        self._temps = 0

    def _free(self, name):
        return name not in self.taken and name not in self.user_names

    def claim(self, name):
        """``name`` itself the first time it is claimed, a fresh variant after that."""
        if name not in self.taken:
            self.taken.add(name)
            return name
        return self.fresh(name)

    def fresh(self, base):
        """``base`` if nobody uses it, else ``base_1``, ``base_2``, ..."""
        name, k = base, 0
        while not self._free(name):
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def temp(self):
        """A temporary for an intermediate value: ``_t1``, ``_t2``, ..."""
        while True:
            self._temps += 1
            name = f"_t{self._temps}"
            if self._free(name):
                self.taken.add(name)
                return name

    def adjoint(self, var):
        """The name of ``var``'s cotangent: ``dy``, or ``y_bar`` if ``dy`` is used."""
        base = var.lstrip("_") if var.startswith("_t") else var
        for candidate in (f"d{var}" if not var.startswith("_") else f"d_{base}", f"{var}_bar"):
            if self._free(candidate):
                self.taken.add(candidate)
                return candidate
        return self.fresh(f"{var}_bar")
