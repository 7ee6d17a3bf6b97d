"""The rule table: import the rule modules (which register), expose the registry."""
from . import arithmetic, indexing, linalg, reductions, shape, ufuncs  # noqa: F401  (they register)
from .methods import ATTRIBUTE_FUNCTIONS, METHODS, VARARG_METHODS  # noqa: F401
from .registry import ASSIGN, GETITEM, Primitive, Rule, alias, known, lookup, nondiff, primitives, rule  # noqa: F401
from .shape import ATTRIBUTES  # noqa: F401
