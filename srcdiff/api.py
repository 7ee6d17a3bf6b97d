"""The public transforms: grad, value_and_grad, vjp, jacobian.

Options are checked when a transform is made; the source transform runs once per
function and ``wrt`` on first use; Numba compiles per argument types on first call.
"""
import functools
import inspect
import numbers
import weakref

import numpy as np

from .compile.jit import NUMBA_MEMORY
from .errors import CarriedValueError, SrcdiffError
from .program import fall_back_to_tape, program

MODES = ("auto", "source", "tape")


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


_SIGNATURES = weakref.WeakKeyDictionary()     # function -> (signature, parameter names)


def _params(fun):
    try:
        return _SIGNATURES[fun]
    except (KeyError, TypeError):
        pass
    try:
        sig = inspect.signature(fun)
        found = sig, list(sig.parameters)
    except (TypeError, ValueError):
        found = None, []
    try:
        _SIGNATURES[fun] = found
    except TypeError:                      # not weak-referenceable (a builtin): not cached
        pass
    return found


def _all_positional(sig):
    return sig is not None and all(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values())


def _unwrap(fun):
    """The user's function behind a srcdiff transform (``grad(loss)`` -> ``loss``)."""
    while isinstance(fun, _Transformed):
        fun = fun.fun
    return fun


def _wrt_indices(fun, wrt):
    """``wrt`` (index, name, or a tuple of them) as a tuple of parameter indices."""
    _, names = _params(fun)
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    if not items:
        raise ValueError("wrt is empty: name at least one parameter to differentiate")
    indices = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"wrt={item!r}: {_name(fun)} has no parameter {item!r} "
                                 f"(its parameters: {', '.join(names)})")
            indices.append(names.index(item))
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if names and not -len(names) <= item < len(names):
                raise ValueError(f"wrt={item}: {_name(fun)} takes {len(names)} parameter(s) "
                                 f"({', '.join(names)})")
            indices.append(item % len(names) if names else item)
        else:
            raise TypeError(f"wrt entries must be parameter indices or names, got {item!r}")
    if len(set(indices)) != len(indices):
        raise ValueError(f"wrt={wrt!r} names a parameter twice")
    return tuple(indices)


def _name(fun):
    return getattr(fun, "__name__", repr(fun))


def _bind(fun, args, kwargs, sig=None, names=None):
    """The arguments as a positional list (defaults applied), and the parameter names."""
    if sig is None:
        sig, names = _params(fun)
        if sig is None:
            return list(args), []
    if not kwargs and len(args) == len(names) and _all_positional(sig):
        return list(args), names           # the common case, without inspect's bind
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return list(bound.arguments.values()), list(bound.arguments)


def _check_differentiable(value, name, index, what="grad"):
    """Raise a TypeError saying what to do if ``value`` cannot be differentiated."""
    if type(value) is float or (type(value) is np.ndarray and value.dtype.kind == "f"):
        return
    if isinstance(value, (list, tuple)):
        raise TypeError(f"{what}: argument {name!r} (position {index}) is a {type(value).__name__}; "
                        "pass a NumPy array (np.asarray(...)) or a float")
    dtype = np.result_type(value) if isinstance(value, (np.ndarray, np.generic, numbers.Number)) else None
    if dtype is None:
        raise TypeError(f"{what}: argument {name!r} (position {index}) is a {type(value).__name__}; "
                        "srcdiff differentiates floats and float arrays")
    if dtype.kind == "c":
        raise TypeError(f"{what}: argument {name!r} (position {index}) is complex; srcdiff "
                        "differentiates real floating-point values only")
    if dtype.kind != "f":
        raise TypeError(f"{what} requires floating-point inputs, but argument {name!r} "
                        f"(position {index}) has dtype {dtype}: pass {name}.astype(float) "
                        "(or a float such as 3.0), or leave it out of wrt")


def _like(grad, value, inputs, cotangent=None):
    """A cotangent shaped, typed and owned like the argument ``value``: never one of
    ``inputs`` (the arguments) or ``cotangent`` (the result's), nor a view of them."""
    if isinstance(value, np.ndarray):
        if type(grad) is np.ndarray and grad.dtype == value.dtype:
            g = grad                       # what compiled code returns: no conversion
        else:
            g = np.asarray(grad, dtype=value.dtype)
        if g.shape != value.shape:
            raise AssertionError(f"srcdiff internal error: cotangent of shape {g.shape} for an "
                                 f"argument of shape {value.shape}; please report this")
        return g if _handed_over(g, inputs, cotangent) else g.copy()
    if np.ndim(grad) != 0:
        raise AssertionError(f"srcdiff internal error: cotangent of shape {np.shape(grad)} "
                             "for a scalar argument; please report this")
    if isinstance(value, np.generic):
        return value.dtype.type(grad)
    return float(grad)


def _handed_over(g, inputs, cotangent):
    """Whether the array ``g`` can be handed to the user as it is: writeable, and sharing
    no memory with an argument or the cotangent."""
    base = g.base
    # g owns memory allocated by this call (NumPy's, or Numba's with no Python owner):
    # only an argument that is g or does not own its memory can overlap it; the rest
    # are checked in full (a few hundred ns each)
    owner = base is None or (type(base) is NUMBA_MEMORY and base.parent is None)
    if not g.flags.writeable:          # (compiled code can return read-only arrays it owns)
        return False
    if 0 in g.strides and g.size > 1:  # one number spread out (a mean's cotangent)
        return False
    for a in inputs:
        if a is g or isinstance(a, np.ndarray) and not (owner and a.base is None) \
                and np.may_share_memory(g, a):
            return False
    # the cotangent the same way, spelled out: a tuple of both costs 0.1 us a call
    return not (cotangent is g or isinstance(cotangent, np.ndarray) and not (
        owner and cotangent.base is None) and np.may_share_memory(g, cotangent))


def _value(out):
    """A real scalar result as a Python float, whichever mode computed it (the tape's is
    a 0-d array, Numba's a float, NumPy's an np.float64); arrays unchanged."""
    kind = type(out)
    if kind is float or (kind is np.ndarray and out.ndim):
        return out
    return float(out) if np.ndim(out) == 0 and not np.iscomplexobj(out) else out


def _shape(value):
    return value.shape if type(value) is np.ndarray else np.shape(value)


class _Transformed:
    """What grad and value_and_grad return: the gradient function and its inspectable stages."""

    def __init__(self, fun, wrt, mode, jit, with_value):
        _check_mode(mode)
        fun = _unwrap(fun)
        if not callable(fun):
            raise TypeError(f"grad expects a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self._wrt = wrt
        self._indices = _wrt_indices(fun, wrt)
        self._signature, self._names = _params(fun)
        # positional calls with every parameter bind as they are
        self._arity = len(self._names) if _all_positional(self._signature) else -1
        self._built = None
        self._jit = jit
        self._requested_mode = mode
        self._with_value = with_value

    # -- the stages, for people reading what was built --------------------------
    @property
    def _program(self):
        if self._built is None:
            self._built = program(self.fun, self._indices, self._jit, self._requested_mode)
        return self._built

    def _stage(self, what):
        prog = self._program
        if prog.mode == "tape":
            why = f" because {prog.fallback_reason}" if prog.fallback_reason else ""
            raise SrcdiffError(f"{_name(self.fun)} is differentiated on the tape{why}: there "
                               f"is no generated {what} to show")
        return getattr(prog, what)

    @property
    def source(self):
        """The generated module: primal, forward, backward and grad, as Python source."""
        return self._stage("source")

    @property
    def ir(self):
        """The function's IR, one operation a line with its source line."""
        return self._stage("ir")

    @property
    def adjoint_ir(self):
        """The adjoint IR: which rule sends which cotangent where."""
        return self._stage("adjoint_ir")

    @property
    def mode(self):
        """How the gradient is computed: "source" (the generated adjoint) or "tape"."""
        return self._program.mode

    @property
    def fallback_reason(self):
        """Why ``mode="auto"`` runs this function on the tape (None when it does not):
        the construct the source transform refused, with file and line."""
        return self._program.fallback_reason

    @property
    def jitted(self):
        """True once Numba has compiled and run the generated code."""
        return self._program.compiled.jitted

    @property
    def jit_reason(self):
        """Why the generated code runs as Python (None while compiled, or before a call)."""
        return self._program.compiled.jit_reason

    # -- calling -------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if not kwargs and len(args) == self._arity:    # the common case, bound at once
            values, names = list(args), self._names
        else:
            values, names = _bind(self.fun, args, kwargs, self._signature, self._names)
        what = "value_and_grad" if self._with_value else "grad"
        for i in self._indices:
            _check_differentiable(values[i], names[i] if names else str(i), i, what)
        prog = self._built if self._built is not None else self._program
        try:
            out, grads = self._run(prog, values, what)
        except CarriedValueError as exc:
            self._built = _taped(prog, exc, self.fun, self._indices, self._jit,
                                 self._requested_mode)
            out, grads = self._run(self._built, values, what)
        handed = []                        # nor another cotangent handed out with it
        for g, i in zip(grads, self._indices, strict=True):
            handed.append(_like(g, values[i], (*values, *handed)))
        grads = tuple(handed)
        result = grads if isinstance(self._wrt, (tuple, list)) else grads[0]
        return (_value(out), result) if self._with_value else result

    def _run(self, prog, values, what):
        if self._with_value:
            out, saved = prog.forward(values)
            self._check_scalar(out, what)
            return out, prog.backward(saved, 1.0)
        try:                # one pass: what only the backward's shapes need is not computed
            out, grads = prog.gradient(values)
        except Exception:
            # the primal's own error, or a result that is not a number, said as such
            try:
                out = prog.forward(values)[0]
            except Exception as primal_error:
                raise primal_error from None
            self._check_scalar(out, what)
            raise
        self._check_scalar(out, what)
        return out, grads

    def _check_scalar(self, out, what):
        if np.ndim(out) != 0:
            raise TypeError(f"{what} requires a scalar output, but {_name(self.fun)} returned an "
                            f"array of shape {np.shape(out)}: use srcdiff.vjp for a "
                            "vector-Jacobian product, srcdiff.jacobian for the full matrix, or "
                            "reduce the output to a scalar (e.g. .sum())")

    def __repr__(self):
        return f"<srcdiff.{'value_and_grad' if self._with_value else 'grad'} of {_name(self.fun)}>"


def grad(fun=None, *, wrt=0, mode="auto", jit=True):
    """The gradient of a scalar-valued NumPy function, from a generated, compiled adjoint.

    ``wrt`` is a parameter index, a parameter name, or a tuple of them (then a tuple
    of gradients is returned).  Each gradient has its argument's shape and dtype
    (a Python float for a float argument).  Usable as ``@grad``, ``@grad(wrt=...)``
    and ``grad(f, wrt=...)``.  The result carries ``.source`` (the generated code),
    ``.ir``, ``.adjoint_ir``, ``.mode``, ``.jitted``, ``.jit_reason``,
    ``.fallback_reason`` and ``.fun``.  It runs the generated ``f_grad``: forward and
    backward in one compiled function that computes only what the gradient reads.

    >>> import numpy as np, srcdiff
    >>> @srcdiff.grad
    ... def loss(x):
    ...     y = x + 2
    ...     return (y * y * 3).mean()
    >>> loss(np.ones((2, 2)))
    array([[4.5, 4.5],
           [4.5, 4.5]])
    """
    if fun is None:
        return lambda f: _Transformed(f, wrt, mode, jit, with_value=False)
    return _Transformed(fun, wrt, mode, jit, with_value=False)


def value_and_grad(fun=None, *, wrt=0, mode="auto", jit=True):
    """Like ``grad``, returning ``(value, gradient)``: the forward pass, then the backward.

    >>> import numpy as np, srcdiff
    >>> def f(x):
    ...     return np.sum(x * x)
    >>> srcdiff.value_and_grad(f)(np.array([1.0, 2.0]))
    (5.0, array([2., 4.]))
    """
    if fun is None:
        return lambda f: _Transformed(f, wrt, mode, jit, with_value=True)
    return _Transformed(fun, wrt, mode, jit, with_value=True)


def _float_positions(fun, values, what):
    """The positions of the floating-point arguments: the ones ``vjp`` differentiates."""
    positions = []
    for i, value in enumerate(values):
        if type(value) is np.ndarray and value.dtype.kind == "f" or type(value) is float:
            positions.append(i)                # the common cases, decided at once
            continue
        if isinstance(value, (list, tuple)):
            names = _params(fun)[1]
            _check_differentiable(value, names[i] if i < len(names) else str(i), i, what)
        numeric = isinstance(value, (np.ndarray, np.generic, numbers.Number))
        if numeric and not isinstance(value, (bool, np.bool_)) and np.result_type(value).kind == "f":
            positions.append(i)
    if not positions:
        raise TypeError(f"{what}: {_name(fun)} has no floating-point argument to differentiate")
    return tuple(positions)


def vjp(fun, *args, mode="auto", jit=True):
    """``(value, pullback)``: ``pullback(v)`` is the vector-Jacobian product at ``args``.

    ``pullback(v)`` returns one cotangent per positional argument (``None`` for
    integer and boolean ones), as ``jax.vjp`` does; it is PyTorch's ``y.backward(v)``.
    The forward pass runs once; each ``pullback`` call runs only the adjoint.

    >>> import numpy as np, srcdiff
    >>> def f(x):
    ...     return x * 2
    >>> y, pullback = srcdiff.vjp(f, np.array([1.0, 2.0]))
    >>> pullback(np.array([1.0, 10.0]))
    (array([ 2., 20.]),)
    """
    if mode not in MODES:
        _check_mode(mode)
    if isinstance(fun, _Transformed):
        fun = _unwrap(fun)
    wrt = _float_positions(fun, args, "vjp")
    prog = program(fun, wrt, jit, mode)
    # the parameters left out take their defaults (their cotangents are not asked for)
    values = args if len(args) == prog.arity or prog.arity is None else _bind(fun, args, {})[0]
    try:
        out, saved = prog.forward(values)
    except CarriedValueError as exc:
        prog = _taped(prog, exc, fun, wrt, jit, mode)
        out, saved = prog.forward(values)
    out_shape = _shape(out)
    generation = prog.generation

    def pullback(v):
        v_shape = v.shape if type(v) is np.ndarray else np.shape(v)
        if v_shape != out_shape:
            raise ValueError(f"pullback: cotangent of shape {v_shape} does not match the "
                             f"output's shape {out_shape}")
        if prog.generation == generation:
            grads = prog.backward(saved, v if v_shape else float(v))
        else:            # the program was generated again since (RunShapeChanged)
            grads = prog.earlier_backward(generation, saved, v if v_shape else float(v))
        if len(grads) != len(wrt):
            raise AssertionError(f"srcdiff internal error: {len(grads)} cotangents for "
                                 f"{len(wrt)} arguments; please report this")
        cotangents = [None] * len(args)
        k = 0                  # a counter, not zip(strict=True): this is per call, 0.2 us
        for i in wrt:
            # never one another either: (x + y)[::-1] sends one array to both
            seen = args if k == 0 else (*args, *[cotangents[j] for j in wrt[:k]])
            cotangents[i] = _like(grads[k], args[i], seen, v)
            k += 1
        return tuple(cotangents)

    return _value(out), pullback


def _taped(prog, error, fun, wrt, jit, mode):
    """The tape's program for ``fun``, which ``prog`` refused at run time with ``error``
    (a CarriedValueError), in mode "auto"; elsewhere the error is raised."""
    if mode != "auto" or prog.mode != "source":
        raise error
    return fall_back_to_tape(fun, wrt, jit, error)


def jacobian(fun, wrt=0, *, mode="auto", jit=True):
    """A function computing the Jacobian, of shape ``out.shape + arg.shape``, row by row.

    The forward pass runs once, then one adjoint pass per output element.

    >>> import numpy as np, srcdiff
    >>> def f(a):
    ...     return a * a
    >>> srcdiff.jacobian(f)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    _check_mode(mode)
    fun = _unwrap(fun)
    indices = _wrt_indices(fun, wrt)

    @functools.wraps(fun)
    def jac(*args, **kwargs):
        values, names = _bind(fun, args, kwargs)
        for i in indices:
            _check_differentiable(values[i], names[i] if names else str(i), i, "jacobian")
        prog = program(fun, indices, jit, mode)
        try:
            out, saved = prog.forward(values)
        except CarriedValueError as exc:
            prog = _taped(prog, exc, fun, indices, jit, mode)
            out, saved = prog.forward(values)
        out_shape = np.shape(out)
        rows = [[] for _ in indices]
        for position in np.ndindex(out_shape):
            seed = np.zeros(out_shape)
            seed[position] = 1.0
            grads = prog.backward(saved, seed if out_shape else 1.0)
            for k, g in enumerate(grads):
                rows[k].append(np.asarray(g, dtype=float))
        jacs = tuple(np.stack(r).reshape(out_shape + np.shape(values[i]))
                     .astype(np.result_type(values[i]), copy=False)
                     for r, i in zip(rows, indices, strict=True))
        return jacs if isinstance(wrt, (tuple, list)) else jacs[0]

    return jac
