"""The one rule table: every primitive srcdiff knows, with its derivative written once.

A derivative rule is a small Python function over NumPy values::

    @rule(np.sin)
    def sin(g, ans, x):
        return g * np.cos(x)

``g`` is the cotangent of the result, ``ans`` the result, the other parameters
mirror the primitive's own.  It returns one cotangent per differentiable parameter
(``wrt``, by default the parameters without defaults), a tuple when there are
several.  The tape calls the function; the source transform reads its body as a
template and inlines it into generated code, so a rule body may use only its
parameters, local names it assigns, ``np`` and the helpers of ``srcdiff.runtime``.
"""
import builtins
import inspect
import operator
from dataclasses import dataclass, field

import numpy as np

from ..emit.templates import template


@dataclass
class Rule:
    """A derivative rule: the function, and which of its parameters get cotangents."""
    fn: object
    params: tuple          # primal parameter names, after (g, ans)
    wrt: tuple             # differentiable parameters, in the order the rule returns them
    sequence: str = None   # a parameter holding a sequence; the rule then takes ``part``
    require: dict = field(default_factory=dict)  # parameter -> the constant values supported


@dataclass
class Primitive:
    """An operation the IR can hold: how to print it, and how to differentiate it."""
    name: str              # readable name in IR dumps: "add", "np.sin", "getitem"
    impl: object           # the Python callable (np.add, operator.getitem, ...)
    path: str = None       # how generated code calls it: "np.sin"
    infix: str = None      # or as an operator: "+", "-" (unary when it takes one operand)
    rule: Rule = None
    nondiff: bool = False  # result carries no derivative (comparisons, np.zeros, len)
    attribute: str = None  # or as an attribute read: "shape"

    @property
    def differentiable_params(self):
        return () if self.rule is None else self.rule.wrt


_BY_ID = {}
_KEEP = []                 # objects keyed by id() stay alive


def numpy_path(obj):
    name = getattr(obj, "__name__", None)
    for prefix, namespace in (("np", np), ("np.linalg", np.linalg)):
        if name and getattr(namespace, name, None) is obj:
            return f"{prefix}.{name}"
    if name and getattr(builtins, name, None) is obj:
        return name
    return None


def _primitive_for(obj):
    prim = _BY_ID.get(id(obj))
    if prim is None:
        path = numpy_path(obj)
        name = path or getattr(obj, "__name__", repr(obj))
        prim = Primitive(name=name, impl=obj, path=path)
        _BY_ID[id(obj)] = prim
        _KEEP.append(obj)
    return prim


def lookup(obj):
    """The primitive registered for ``obj`` (a function, ufunc or operator), or None."""
    return _BY_ID.get(id(obj))


def primitives():
    """Every registered primitive, once (aliases share their target's)."""
    return list({id(p): p for p in _BY_ID.values()}.values())


def define(obj, *, name=None, infix=None, attribute=None):
    """Declare how generated code writes ``obj``: as an operator or attribute, not a call."""
    prim = _primitive_for(obj)
    if name:
        prim.name = name
    prim.infix = infix
    prim.attribute = attribute
    return prim


def rule(obj, *, wrt=None, sequence=None, require=None):
    """Register the decorated function as the derivative rule of ``obj``."""
    def register(fn):
        names = list(inspect.signature(fn).parameters)
        if names[:2] != ["g", "ans"]:
            raise TypeError(f"rule {fn.__name__}: parameters must start with (g, ans)")
        params = tuple(n for n in names[2:] if n != "part")
        if wrt is None:
            sig = inspect.signature(fn).parameters
            chosen = tuple(n for n in params if sig[n].default is inspect.Parameter.empty)
        else:
            chosen = (wrt,) if isinstance(wrt, str) else tuple(wrt)
        template(fn, len(chosen))        # a body the transform cannot inline fails here
        prim = _primitive_for(obj)
        prim.rule = Rule(fn=fn, params=params, wrt=chosen, sequence=sequence,
                         require=dict(require or {}))
        return fn
    return register


def alias(obj, target):
    """Make ``obj`` (``abs``, ``pow``) behave exactly as the registered ``target``."""
    _BY_ID[id(obj)] = lookup(target)
    _KEEP.append(obj)


def known(*objs):
    """Declare functions generated code may call, with no rule: active arguments raise."""
    for obj in objs:
        _primitive_for(obj)


def nondiff(*objs):
    """Declare functions whose results carry no derivative (comparisons, np.zeros)."""
    for obj in objs:
        _primitive_for(obj).nondiff = True


GETITEM = define(operator.getitem, name="getitem")


def _assign(x):
    return x


ASSIGN = define(_assign, name="assign")   # y = x, where branches merge
