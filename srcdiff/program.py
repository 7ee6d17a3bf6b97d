"""One differentiated function: the pipeline run once, its stages kept for inspection.

source -> IR (``frontend``) -> adjoint IR (``transform``) -> Python (``emit``) -> Numba (``compile``).
"""
import copy
import weakref

import numpy as np

from .compile.jit import Compiled, NotCompiled, python_values
from .emit.codegen import generate
from .errors import UnsupportedError
from .frontend.lower import lower
from .frontend.source import get_source
from .runtime import RunShapeChanged
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
        self.ir = dump_function(fn)
        self.adjoint_ir = dump_adjoint(adj)
        self.wrt = tuple(wrt)
        self._free = list(fn.free_values.values())
        self._earlier = {}          # generation -> (Compiled, its backward's name)
        self.arity = len(fn.params)          # the user's parameters, defaults included
        self._generate(fn, adj, jit, take_back=True)

    def _generate(self, fn, adj, jit, take_back):
        # a new module reads other saved values: what the one before saved goes to its
        # own backward (a pullback made before, see earlier_backward)
        if hasattr(self, "compiled"):
            self._earlier[self.generation] = (self.compiled, self._backward)
        self.generation = getattr(self, "generation", -1) + 1
        names = copy.deepcopy(fn.namer.__dict__)
        self.module = m = generate(fn, adj, take_back)
        plainer = None if not m.element_loops else \
            lambda: _without_element_loops(fn, adj, take_back, names, m)
        self.compiled = Compiled(m.text, fn.name, [m.primal, m.forward, m.backward], jit,
                                 optional=[m.grad], plainer=plainer)
        # a nested loop whose runs turn out to carry values of different shapes: the
        # program again, with the backward rerunning nested loops (RunShapeChanged)
        self._rerunning = None if not take_back else \
            lambda: self._generate(fn, adj, jit, take_back=False)
        # the common case, an input list handed over as it is: no globals, nothing hoisted
        self._plain_inputs = not self._free and m.constants is None
        # and backward reads only what forward returns after the result
        self._saved_returned = not m.param_reads and not m.result_read
        self._forward, self._backward = m.forward, m.backward
        self._one_pass = True            # until the one-pass gradient fails to compile
        self._compiled_passes = None     # (forward, backward, their module's dispatchers) once compiled

    @property
    def source(self):
        return self.compiled.text

    def _inputs(self, values):
        """The compiled functions' arguments: ``values``, the globals the function
        reads, then what the constants function computes in Python."""
        if self._plain_inputs:
            return values
        inputs = python_values(values)
        if self._free:
            inputs += [get() for get in self._free]
        m = self.module
        if m.constants is None:
            return inputs
        hoisted = getattr(self.compiled.python, m.constants)(*inputs)
        return [inputs[k] for k in m.kept] + list(hoisted)

    def primal(self, values):
        return self.compiled(self.module.primal, *self._inputs(values))

    def _direct(self):
        """The compiled forward and backward, called past ``Compiled`` (0.3 us a call
        pair: the norm-doubling vjp's budget is 5 us), once both have compiled."""
        forward, backward = (self.compiled.dispatcher(n) for n in (self._forward, self._backward))
        if forward is not None and backward is not None:
            self._compiled_passes = (forward, backward, self.compiled._dispatchers)

    def forward(self, values):
        """``(result, saved)``: the result, and what ``backward`` needs."""
        inputs = values if self._plain_inputs else self._inputs(values)
        direct = self._compiled_passes
        try:
            if direct is not None and direct[2] is self.compiled._dispatchers:
                try:
                    out = direct[0](*inputs)
                except Exception as exc:     # Numba's failure or the user's error
                    out = self.compiled.failed(self._forward, direct[0], inputs, exc)
            else:
                out = self.compiled(self._forward, *inputs)
        except RunShapeChanged:
            if self._rerunning is None:
                raise
            self._rerunning()
            return self.forward(values)
        if self._saved_returned:
            return out[0], out[1:]
        read = [inputs[i] for i in self.module.param_reads]
        read += out[1:]
        if self.module.result_read:
            read.append(out[0])
        return out[0], read

    def backward(self, saved, cotangent):
        """The cotangents of the ``wrt`` parameters, given the result's cotangent."""
        direct = self._compiled_passes
        if direct is not None and direct[2] is self.compiled._dispatchers:
            try:
                return direct[1](*saved, cotangent)
            except Exception as exc:
                return self.compiled.failed(self._backward, direct[1], (*saved, cotangent), exc)
        if (direct is None or direct[2] is not self.compiled._dispatchers) and self.compiled.jitted:
            self._direct()
        return self.compiled(self._backward, *saved, cotangent)

    def earlier_backward(self, generation, saved, cotangent):
        """``backward`` by the module of an earlier ``generation``, for what its forward
        saved: a pullback made before the program was generated again."""
        compiled, name = self._earlier[generation]
        return compiled(name, *saved, cotangent)

    def gradient(self, values):
        """``(result, cotangents)`` for the cotangent 1.0, in one pass (the generated
        ``grad`` function), the result maybe a stand-in with only its shape; by
        ``forward`` then ``backward`` where that function does not compile."""
        if self._one_pass:
            try:
                return self.compiled(self.module.grad, *self._inputs(values), 1.0)
            except NotCompiled:
                self._one_pass = False
            except RunShapeChanged:
                if self._rerunning is None:
                    raise
                self._rerunning()
                return self.gradient(values)
        return forward_then_backward(self, values)


def _without_element_loops(fn, adj, take_back, names, module):
    """The text of ``module`` generated again without element loops, its names the same
    (the namer as it was before ``module``); None if they are not."""
    fn.namer.__dict__.update(copy.deepcopy(names))
    plain = generate(fn, adj, take_back, element_loops=False)
    same = (plain.primal, plain.forward, plain.backward, plain.grad) == \
        (module.primal, module.forward, module.backward, module.grad)
    return plain.text if same else None


def forward_then_backward(prog, values):
    """``(result, cotangents)`` for the cotangent 1.0 by ``prog``'s two passes; no
    cotangents (None) for a result that is not a number."""
    out, saved = prog.forward(values)
    return out, prog.backward(saved, 1.0) if np.ndim(out) == 0 else None


def _build(fun, wrt, jit, mode):
    if mode == "tape":
        return TapeProgram(fun, wrt)
    if mode == "source":
        return Program(fun, wrt, jit)
    try:
        return program(fun, wrt, jit, "source")
    except UnsupportedError as exc:    # what the transform cannot read, the tape runs
        return TapeProgram(fun, wrt, fallback_reason=str(exc))


def _key(wrt, jit, mode):
    return wrt if type(wrt) is tuple else tuple(wrt), bool(jit), mode


def program(fun, wrt, jit, mode="source"):
    """The Program of ``fun`` for ``wrt`` (a tuple of parameter indices), built once:
    the source transform's, or with ``mode`` "tape" (or "auto" when the transform
    refuses the function) a TapeProgram."""
    key = _key(wrt, jit, mode)
    entry = _PROGRAMS.get(id(fun))         # by id: no weak reference made per call
    if entry is None or entry[0]() is not fun:
        try:
            ref = weakref.ref(fun, _forget)
        except TypeError:                  # not weak-referenceable: a builtin, say
            return _build(fun, wrt, jit, mode)
        entry = _PROGRAMS[id(fun)] = (ref, {})
    built = entry[1].get(key)
    if built is None:
        built = entry[1][key] = _build(fun, wrt, jit, mode)
    return built


def fall_back_to_tape(fun, wrt, jit, error):
    """The program of ``fun`` in mode "auto" from now on: the tape's, the generated code
    having refused a value it met while running (``error``, a CarriedValueError)."""
    built = TapeProgram(fun, wrt, fallback_reason=f"the generated code refused it at run "
                                                  f"time ({error})")
    entry = _PROGRAMS.get(id(fun))
    if entry is not None and entry[0]() is fun:
        entry[1][_key(wrt, jit, "auto")] = built
    return built


def _forget(ref):
    """A function is gone: its programs go with it."""
    for k, (r, _) in list(_PROGRAMS.items()):
        if r is ref:
            del _PROGRAMS[k]
