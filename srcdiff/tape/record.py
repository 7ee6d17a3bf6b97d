"""Recording: an operation on tensors, run on their arrays, and its graph node.

``record`` runs the NumPy function on the arrays inside the tensors and, when an input
requires grad and recording is on, attaches a ``RuleNode`` whose rule comes from the
one rule table, keeping only what the rule reads.  ``set_item`` records a write.
"""
import inspect
import os

import numpy as np

from .. import rules
from ..errors import UnsupportedError
from ..rules.registry import numpy_path
from ..runtime import assign_at
from . import tensor as tensors      # Tensor, looked up when called (the modules import each other)
from .mode import is_grad_enabled, no_grad
from .node import RuleNode
from .vjps import value_reads

_SRCDIFF = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))


def _user_location():
    """File, line, column and function of the innermost frame outside srcdiff and NumPy."""
    frame = inspect.currentframe()
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith((_SRCDIFF, _NUMPY)) and not filename.startswith("<__array"):
            positions = getattr(inspect.getframeinfo(frame, context=0), "positions", None)
            col = positions.col_offset + 1 if positions and positions.col_offset is not None else 1
            return filename, frame.f_lineno, col, frame.f_code.co_name
        frame = frame.f_back
    return "<unknown>", 0, 1, "?"


def _no_rule_error(label):
    filename, lineno, col, function = _user_location()
    return UnsupportedError(f"call to `{label}` on a differentiable value", filename=filename,
                            lineno=lineno, col=col, function=function,
                            hint=f"{label} has no derivative rule; register one with "
                                 "@srcdiff.rule, or apply it to constants only (values "
                                 "that do not require grad)")


def _label(func):
    """How the user wrote ``func``: ``np.sinc``, ``np.linalg.det``, or its name."""
    return numpy_path(func) or getattr(func, "__name__", repr(func))


def unwrap(value):
    if isinstance(value, tensors.Tensor):
        return value._data
    if isinstance(value, (list, tuple)) and any(isinstance(v, tensors.Tensor) for v in value):
        return type(value)(unwrap(v) for v in value)
    return value


def tensors_in(value):
    if isinstance(value, tensors.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    return []


def wrap(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return tensors.Tensor(value)
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    return value


_SIGNATURES = {}    # id of a rule function -> its signature


def _bind(rule, args, kwargs):
    """The rule's primal parameters bound to ``args`` and ``kwargs`` (no defaults)."""
    if not kwargs and len(args) <= len(rule.params):
        return dict(zip(rule.params, args))            # the common case, without inspect
    sig = _SIGNATURES.get(id(rule.fn))
    if sig is None:
        sig = _SIGNATURES[id(rule.fn)] = inspect.signature(rule.fn)
    try:
        bound = sig.bind_partial(None, None, *args, **kwargs).arguments
    except TypeError as exc:
        raise TypeError(f"srcdiff tape: these arguments do not fit the rule "
                        f"{rule.fn.__name__}: {exc}") from None
    return {k: v for k, v in bound.items() if k not in ("g", "ans")}


def record(func, args, kwargs, prim=None):
    """``func(*args, **kwargs)`` on the arrays inside tensors; recorded when an input
    requires grad and grad mode is on."""
    prim = prim or rules.lookup(func)
    raw_args, raw_kwargs = [unwrap(a) for a in args], {k: unwrap(v) for k, v in kwargs.items()}
    inputs = [t for a in list(args) + list(kwargs.values()) for t in tensors_in(a)]
    active = is_grad_enabled() and any(t.requires_grad for t in inputs)
    if active:
        _check_current(inputs)
    if not active or (prim is not None and prim.nondiff):
        with no_grad():
            return wrap(func(*raw_args, **raw_kwargs))
    if prim is None or prim.rule is None:
        raise _no_rule_error(prim.name if prim is not None else _label(func))
    ans = np.asarray(func(*raw_args, **raw_kwargs))
    if ans.dtype.kind != "f":
        return wrap(ans)                          # integer or boolean results carry no grad
    out = tensors.Tensor(ans)
    for t in inputs:            # a view shares its base's memory, and so its version
        if np.may_share_memory(ans, t._data):
            out._storage = t._storage
            break
    out._set_node(_node(prim, args, kwargs, ans, out._storage))
    return out


def _check_current(tensors):
    """Refuse a tensor whose memory changed in place through another tensor (a view, or
    the array it views) after its graph was recorded: its graph no longer says how its
    values came about."""
    for t in tensors:
        if t._node is not None and t._node_version != t._storage.version:
            raise RuntimeError(
                "a tensor was changed in place through a view of the same memory after it was "
                "computed, and then used: the tape cannot follow writes through views. Copy "
                "the view before writing (row = m[0].clone()), or write into the tensor itself")


def _node(prim, args, kwargs, ans, ans_storage):
    """The RuleNode of ``ans = prim(*args, **kwargs)``, keeping what its rule reads."""
    rule = prim.rule
    bound = _bind(rule, args, kwargs)
    for param, requirement in rule.require.items():
        value = unwrap(bound.get(param))
        if value not in requirement:
            filename, lineno, col, function = _user_location()
            raise UnsupportedError(f"{prim.name} with {param}={value!r}", filename=filename,
                                   lineno=lineno, col=col, function=function,
                                   hint=f"its derivative rule supports {param} in {requirement} only")
    slots, grad_inputs = [], []
    for param, value in bound.items():
        if param not in rule.params:
            continue
        if param == rule.sequence and isinstance(value, (list, tuple)):
            pairs = [(k, v) for k, v in enumerate(value) if isinstance(v, tensors.Tensor)]
        else:
            pairs = [(None, value)] if isinstance(value, tensors.Tensor) else []
            if not pairs and any(t.requires_grad for t in tensors_in(value)):
                raise _no_rule_error(f"{prim.name} with tensors inside `{param}`")
        for part, tensor in pairs:
            if tensor.requires_grad:
                if param not in rule.wrt:
                    raise _no_rule_error(f"{prim.name} with a tensor that requires grad as `{param}`")
                slots.append((param, part))
                grad_inputs.append(tensor)
    reads = value_reads(rule, slots)
    saved = [(ans_storage, ans_storage.version)] if "ans" in reads else []
    kept = {}
    for param, value in bound.items():
        if param in reads:
            saved += [(t._storage, t._storage.version) for t in tensors_in(value)]
        kept[param] = _keep(unwrap(value), param in reads, isinstance(value, tensors.Tensor))
    names = list(bound)
    kept_args = [kept[names[k]] for k in range(len(args))]
    kept_kwargs = {k: kept[k] for k in names[len(args):]}
    kept_ans = ans if "ans" in reads else _placeholder(ans)
    return RuleNode(prim, kept_args, kept_kwargs, kept_ans, grad_inputs, slots, saved)


def _placeholder(value):
    """An array of ``value``'s shape and dtype that takes no memory: for shape-only reads."""
    if value.ndim == 0:
        return value
    return np.broadcast_to(np.zeros((), value.dtype), value.shape)


def _keep(value, read, from_tensor):
    """What a node keeps of an argument: a placeholder when its rule reads only the shape,
    a copy of a plain writeable array it reads by value (a later in-place change to it
    must not reach backward; tensors are guarded by their version instead)."""
    if not isinstance(value, np.ndarray):
        return value
    if not read:
        return _placeholder(value)
    if not from_tensor and value.flags.writeable:
        return value.copy()
    return value


def set_item(target, index, value):
    """``target[index] = value`` in place; recorded as CopySlices when it carries grad."""
    index = unwrap(index)
    recording = is_grad_enabled() and (target.requires_grad or
                                       (isinstance(value, tensors.Tensor) and value.requires_grad))
    if recording:
        _check_current([target] + tensors_in(value))
    if recording and target.is_leaf and target.requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if not recording:
        target._data[index] = unwrap(value)
        target._storage.version += 1
        return
    before = tensors.Tensor(target._data)         # the written tensor's graph before the write
    before._node, before._requires_grad = target._node, target._requires_grad
    prim = rules.lookup(assign_at)
    node = _node(prim, (before, index, value), {}, target._data, target._storage)
    target._data[index] = unwrap(value)
    target._storage.version += 1
    target._set_node(node)
