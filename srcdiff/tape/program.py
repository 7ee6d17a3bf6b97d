"""A user's function run on tensors, with the interface of the source transform's Program:
``mode="tape"``, and what ``mode="auto"`` falls back on."""
import inspect

import numpy as np

from ..errors import LostGradientError
from .mode import enable_grad
from .tensor import Tensor, tensor


class _Jit:
    """What ``.jitted`` and ``.jit_reason`` read: the tape always runs as Python."""
    jitted = False

    def __init__(self, reason):
        self.jit_reason = reason


class TapeProgram:
    """``fun`` differentiated with respect to the parameters at ``wrt`` by recording it."""
    mode = "tape"
    arity = None            # any number of arguments: the call fills in the defaults
    generation = 0          # what it records never changes meaning

    def __init__(self, fun, wrt, fallback_reason=None):
        self.fun, self.wrt = fun, tuple(wrt)
        self.fallback_reason = fallback_reason
        self.compiled = _Jit("the tape runs as Python" + (f": the source transform refused "
                                                          f"the function ({fallback_reason})"
                                                          if fallback_reason else ""))

    def primal(self, values):
        copies = [np.array(v) if isinstance(v, np.ndarray) else v for v in values]
        return _value(self._call(copies), self.fun)      # the user's inputs stay as given

    def _call(self, values):
        """``fun`` on ``values`` (one per parameter, defaults filled in), passing the
        defaults it can leave out as left out: NumPy's ufuncs take keyword-only options."""
        try:
            params = list(inspect.signature(self.fun).parameters.values())
        except (TypeError, ValueError):
            return self.fun(*values)
        if len(params) != len(values):
            return self.fun(*values)
        given = [v is not p.default for p, v in zip(params, values, strict=True)]
        positional = [k for k, p in enumerate(params) if p.kind in (p.POSITIONAL_ONLY,
                                                                   p.POSITIONAL_OR_KEYWORD)]
        last = max([k for k in positional if given[k]], default=-1)
        args = [values[k] for k in positional if k <= last]
        kwargs = {p.name: v for k, (p, v) in enumerate(zip(params, values, strict=True))
                  if p.kind == p.KEYWORD_ONLY and given[k]}
        return self.fun(*args, **kwargs)

    def forward(self, values):
        """``(result, saved)``: the result and the recorded graph ``backward`` walks."""
        args = list(values)
        leaves = []
        for i in self.wrt:
            leaves.append(tensor(values[i], requires_grad=True))   # a copy: inputs stay as given
            args[i] = leaves[-1]
        with enable_grad():
            try:
                out = self._call(args)
            except ValueError as exc:      # NumPy wraps the refusal of b[0] = t in its own words
                if isinstance(exc.__cause__, LostGradientError):
                    raise exc.__cause__ from None
                raise
        return _value(out, self.fun), (out, leaves)

    def gradient(self, values):
        """``(result, cotangents)`` for the cotangent 1.0 (None for a result that is
        not a number)."""
        from ..program import forward_then_backward
        return forward_then_backward(self, values)

    def backward(self, saved, cotangent, retain_graph=True):
        """The cotangents of the ``wrt`` parameters, given the result's."""
        out, leaves = saved
        for leaf in leaves:
            leaf.grad = None
        if isinstance(out, Tensor) and out.requires_grad:
            out.backward(np.asarray(cotangent, dtype=out.dtype), retain_graph=retain_graph)
        return tuple(np.zeros_like(leaf._data) if leaf.grad is None else leaf.grad._data
                     for leaf in leaves)


def _value(out, fun):
    if isinstance(out, tuple):
        raise TypeError(f"{getattr(fun, '__name__', fun)} returned a tuple: differentiate one "
                        "array (return it alone, or stack the outputs)")
    return out._data if isinstance(out, Tensor) else out
