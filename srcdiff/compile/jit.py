"""Numba compilation of a generated module, with the same source in Python as the fallback.

Numba compiles lazily, per argument types, at the first call.  If it cannot type
the code, srcdiff records why (``jit_reason``) and runs the module as Python from
then on: a missing compiled path costs speed, never a crash or a wrong number.
"""
import functools
import hashlib
import pathlib
import warnings

import numpy as np

from numba.core.errors import NumbaError, NumbaWarning

from ..runtime import ElementLoopNotTaken
from .cache import import_path, write_module

try:     # what owns an array Numba's compiled code made and handed back
    from numba.core.runtime._nrt_python import _MemInfo as NUMBA_MEMORY
except ImportError:         # another Numba: every returned array is checked for aliasing
    NUMBA_MEMORY = type("NoSuchOwner", (), {})


# boundscheck: an index out of range raises IndexError instead of reading garbage;
# error_model="numpy": 1 / 0.0 is inf, as NumPy (and the Python mode) give
JIT_OPTIONS = {"cache": True, "boundscheck": True, "error_model": "numpy"}


# the code compiled with the generated module: Numba's disk cache does not see it change
# (stale cached code of an older helper can even crash when loaded)
_COMPILED_WITH = ("runtime.py", "compile/numba_runtime.py", "compile/vector_math.py")


def compiled_with():
    """The files of srcdiff's code compiled into every generated module."""
    package = pathlib.Path(__file__).resolve().parent.parent
    return [package / name for name in _COMPILED_WITH]


@functools.cache
def helpers_digest():
    """A digest of the source of the helpers compiled into every generated module."""
    return hashlib.sha256(b"".join(path.read_bytes() for path in compiled_with())).hexdigest()[:16]


def compile_salt():
    """What a compiled module depends on besides its text: versions, helpers, options."""
    import numba

    from .. import __version__
    return (f"srcdiff {__version__} helpers {helpers_digest()} numba {numba.__version__} "
            f"{sorted(JIT_OPTIONS.items())}")


class NotCompiled(Exception):
    """An optional function of the module did not compile: call the others instead."""


class Compiled:
    """The functions of one generated module, called compiled when possible.

    A function named in ``optional`` that Numba cannot compile raises ``NotCompiled``
    (its reason in ``optional_reasons``), leaving the others compiled: the caller has
    another way to the same numbers.  ``plainer``, if given, makes the module's text
    without its element loops (``emit/scalarize.py``): where Numba cannot compile the
    module, or an element loop's test fails (its compiled copy holds only the loop),
    that text is compiled instead before anything runs as Python (the reason in
    ``element_loops_reason``)."""

    def __init__(self, text, stem, names, jit=True, optional=(), plainer=None):
        self.stem, self.plainer = stem, plainer
        self.names = list(names) + list(optional)
        self.optional = set(optional)
        self.optional_reasons = {}
        self.element_loops_reason = None
        self.jitted = False
        self.jit_reason = None if jit else "jit=False was asked for"
        self._dispatchers = None
        self._build(text, jit)

    def _build(self, text, jit):
        self.text = text
        self.path = write_module(text, self.stem, compile_salt())
        module_name = self.path.stem
        self.python = import_path(self.path, module_name)
        if jit:
            self._dispatchers = self._njit(module_name)

    def _njit(self, module_name):
        import numba

        from . import numba_runtime  # noqa: F401  (registers the helpers' nopython versions)
        from .vector_math import NUMPY
        # a second copy of the module, whose functions call each other compiled, whose
        # np.exp and np.tanh are the vectorised ones, and whose PYTHON is False
        module = import_path(self.path, module_name + "_jit")
        module.np = NUMPY
        module.PYTHON = False      # a constant to Numba: what it guards is not compiled
        dispatchers = {}
        for name in self.names:
            dispatchers[name] = numba.njit(**JIT_OPTIONS)(getattr(module, name))
            setattr(module, name, dispatchers[name])
        return dispatchers

    def dispatcher(self, name):
        """Numba's dispatcher of ``name`` once it has compiled something (None before, and
        when the module runs as Python): a caller may call it directly, and hand what it
        raises to ``failed``."""
        if self._dispatchers is None:
            return None
        dispatcher = self._dispatchers.get(name)
        return dispatcher if dispatcher is not None and dispatcher.overloads else None

    def __call__(self, name, *args):
        if self._dispatchers is not None:
            try:
                dispatcher = self._dispatchers[name]
            except KeyError:                       # an optional function that failed
                raise NotCompiled(name) from None
            compiled = len(dispatcher.overloads)
            try:
                if compiled:                       # the fast path, once something compiled
                    return dispatcher(*args)
                with warnings.catch_warnings():    # Numba's advice is not the user's business
                    warnings.simplefilter("ignore", NumbaWarning)
                    result = dispatcher(*args)
                self.jitted = True
                return result
            except Exception as exc:
                return self.failed(name, dispatcher, args, exc, compiled)
        return getattr(self.python, name)(*python_values(args))

    def failed(self, name, dispatcher, args, exc, compiled=None):
        """After ``dispatcher(*args)`` raised ``exc`` (``compiled``: its number of
        overloads before): an exception raised by compiled code is the user's, as in
        Python, and raised again; a failure while compiling means "run it as Python",
        from now on (an optional function raises ``NotCompiled``)."""
        missed = isinstance(exc, ElementLoopNotTaken)
        if not missed and not isinstance(exc, NumbaError) and (
                compiled is not None and len(dispatcher.overloads) > compiled
                or _ran_compiled(dispatcher, args)):
            raise exc
        message = _first_lines(str(exc)) or "raised inside Numba's compiler, no message"
        text, self.plainer = self.plainer and self.plainer(), None
        if text is not None:
            self.element_loops_reason = f"{type(exc).__name__}: {message}"
            self._build(text, jit=True)
            return self(name, *args)
        if missed:                    # (no module without them: these arguments in Python)
            return getattr(self.python, name)(*python_values(args))
        if name in self.optional:
            self.optional_reasons[name] = f"{type(exc).__name__}: {message}"
            self.optional.discard(name)
            del self._dispatchers[name]
            raise NotCompiled(name) from exc
        self._dispatchers = None
        self.jitted = False
        self.jit_reason = f"{type(exc).__name__}: {message}"
        return getattr(self.python, name)(*python_values(args))


def _ran_compiled(dispatcher, args):
    """Whether ``dispatcher`` has code compiled for ``args``' types (so an exception
    from calling it came from running that code)."""
    try:
        types = tuple(dispatcher.typeof_pyval(a) for a in args)
    except Exception:
        return False
    return types in dispatcher.overloads


def python_values(values):
    """``values`` for the generated code run as Python: floats become np.float64, as
    Numba types them, so that rules follow NumPy's rules for ``x ** -0.5`` and
    ``1 / 0`` (inf, nan) rather than raising or turning complex."""
    return [np.float64(v) if type(v) is float else v for v in values]

def _first_lines(message, n=12):
    lines = [line for line in message.splitlines() if line.strip()]
    return "\n".join(lines[:n])
