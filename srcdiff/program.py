"""One differentiated function: the pipeline run once, its stages kept for inspection.

source -> IR (``frontend``) -> adjoint IR (``transform``) -> Python (``emit``) -> Numba (``compile``).
"""
import weakref

import numpy as np

from .compile.jit import Compiled
from .emit.codegen import generate
from .errors import UnsupportedError
from .frontend.lower import lower
from .frontend.source import get_source
from .ir.printer import dump_adjoint, dump_function
from .tape.program import TapeProgram
from .transform.reverse import reverse

_PROGRAMS = {}      # id(user function) -> (weak reference to it, {(wrt, jit, mode): Program})


class Program:
    """The generated primal, forward, backward and grad of ``fun`` w.r.t. parameters ``wrt``."""
    mode = "source"
    fallback_reason = None

    def __init__(self, fun, wrt, jit):
        fn = lower(get_source(fun))
        adj = reverse(fn, [fn.params[i] for i in wrt])
        self.module = generate(fn, adj)
        self.ir = dump_function(fn)
        self.adjoint_ir = dump_adjoint(adj)
        self.wrt = tuple(wrt)
        self._free = list(fn.free_values.values())
        m = self.module
        self.compiled = Compiled(m.text, fn.name, [m.primal, m.forward, m.backward], jit)

    @property
    def source(self):
        return self.module.text

    def _inputs(self, values):
        # Python floats become np.float64 so that rules follow NumPy's rules for
        # x ** -0.5 and 1 / 0 (inf, nan) rather than raising or turning complex
        inputs = [np.float64(v) if type(v) is float else v for v in values]
        if self._free:
            inputs += [get() for get in self._free]
        m = self.module
        if m.constants is None:
            return inputs
        hoisted = getattr(self.compiled.python, m.constants)(*inputs)
        return [inputs[k] for k in m.kept] + list(hoisted)

    def primal(self, values):
        return self.compiled(self.module.primal, *self._inputs(values))

    def forward(self, values):
        """``(result, saved)``: the result, and what ``backward`` needs."""
        inputs = self._inputs(values)
        out = self.compiled(self.module.forward, *inputs)
        m = self.module
        read = [inputs[i] for i in m.param_reads]
        read += out[1:]
        if m.result_read:
            read.append(out[0])
        return out[0], read

    def backward(self, saved, cotangent):
        """The cotangents of the ``wrt`` parameters, given the result's cotangent."""
        return self.compiled(self.module.backward, *saved, cotangent)

def _build(fun, wrt, jit, mode):
    if mode == "tape":
        return TapeProgram(fun, wrt)
    if mode == "source":
        return Program(fun, wrt, jit)
    try:
        return program(fun, wrt, jit, "source")
    except UnsupportedError as exc:    # what the transform cannot read, the tape runs
        return TapeProgram(fun, wrt, fallback_reason=str(exc))


def program(fun, wrt, jit, mode="source"):
    """The Program of ``fun`` for ``wrt`` (a tuple of parameter indices), built once:
    the source transform's, or with ``mode`` "tape" (or "auto" when the transform
    refuses the function) a TapeProgram."""
    key = (tuple(wrt), bool(jit), mode)
    entry = _PROGRAMS.get(id(fun))         # by id: no weak reference made per call
    if entry is None or entry[0]() is not fun:
        try:
            ref = weakref.ref(fun, _forget)
        except TypeError:                  # not weak-referenceable: a builtin, say
            return _build(fun, wrt, jit, mode)
        entry = _PROGRAMS[id(fun)] = (ref, {})
    per_fun = entry[1]
    if key not in per_fun:
        per_fun[key] = _build(fun, wrt, jit, mode)
    return per_fun[key]


def _forget(ref):
    """A function is gone: its programs go with it."""
    for k, (r, _) in list(_PROGRAMS.items()):
        if r is ref:
            del _PROGRAMS[k]
