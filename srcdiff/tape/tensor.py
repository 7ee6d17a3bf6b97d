"""``Tensor``: a NumPy array with PyTorch's autograd attributes.

Every operation on it -- operators, ``np.sin(t)`` (``__array_ufunc__``), ``np.sum(t)``
(``__array_function__``), indexing, the methods -- goes through ``record.record``.
"""
import operator

import numpy as np

from .. import rules
from ..errors import LostGradientError
from .mode import is_grad_enabled
from .node import AccumulateGrad
from .record import record, set_item, tensors_in, unwrap, wrap

class _Storage:
    """Shared by tensors that see the same memory; counts in-place changes."""
    __slots__ = ("version",)

    def __init__(self):
        self.version = 0


class _Size(int):
    """``t.size`` is NumPy's element count and, called, PyTorch's shape."""

    def __new__(cls, shape):
        size = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        size.shape = tuple(shape)
        return size

    def __call__(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
           "pow": np.power, "matmul": np.matmul, "mod": np.mod, "floordiv": np.floor_divide}
_COMPARE = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
            "eq": np.equal, "ne": np.not_equal}


class Tensor:
    """A NumPy array with PyTorch's autograd attributes.

    Make one with ``srcdiff.tensor(data, requires_grad=...)``.  Operations on it (operators,
    NumPy functions and ufuncs, methods) are recorded while grad mode is on;
    ``backward()`` fills ``.grad`` of the leaves that require grad.

    >>> import numpy as np, srcdiff
    >>> x = srcdiff.tensor(np.ones((2, 2)), requires_grad=True)
    >>> out = ((x + 2) * (x + 2) * 3).mean()
    >>> out
    tensor(27., grad_fn=<MeanBackward0>)
    >>> out.backward()
    >>> x.grad
    tensor([[4.5, 4.5],
            [4.5, 4.5]])
    """
    __array_priority__ = 1000
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False):
        self._data = data if isinstance(data, np.ndarray) else np.asarray(data)
        self._node = None
        self._node_version = 0
        self._storage = _Storage()
        self._grad = None
        self._accumulate_node = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def _set_node(self, node):
        self._node = node
        self._node_version = self._storage.version    # the memory's version the node describes
        self._requires_grad = node is not None

    # -- autograd attributes -------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Start (or stop) recording operations on this leaf; returns the tensor."""
        if self._node is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. "
                                   "Use .detach() to get a tensor that does not require grad.")
            return self
        if requires_grad and self._data.dtype.kind not in "f":
            raise RuntimeError("only floating point tensors can require gradients (this one has "
                               f"dtype {self._data.dtype}): make it with float data, e.g. "
                               "srcdiff.tensor([1.0, 2.0, 3.0], requires_grad=True)")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        """The node that made this tensor (None for leaves)."""
        return self._node

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad(self):
        """The accumulated gradient of a leaf (a Tensor), or None before any backward."""
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = None if value is None else (value if isinstance(value, Tensor)
                                                 else Tensor(np.array(value, dtype=float)))

    def _accumulator(self):
        if not self._requires_grad:
            return None
        if self._accumulate_node is None:
            self._accumulate_node = AccumulateGrad(self)
        return self._accumulate_node

    def _accumulate_grad(self, g):
        g = np.broadcast_to(np.asarray(g, dtype=self._data.dtype), self._data.shape)
        if self._grad is None:
            self._grad = Tensor(np.array(g))
        else:
            self._grad._data += g

    @property
    def data(self):
        """The same memory as a tensor that records nothing: changing it is not tracked."""
        return Tensor(self._data)

    @data.setter
    def data(self, value):
        self._data = np.asarray(unwrap(value))

    def detach(self):
        """This tensor's values, cut from the graph (the memory and its version are shared)."""
        out = Tensor(self._data)
        out._storage = self._storage
        return out

    def backward(self, gradient=None, retain_graph=False):
        """Cotangents of everything this tensor depends on, added into the leaves' ``.grad``.

        A non-scalar tensor needs ``gradient`` (the vector of a vector-Jacobian product).
        The graph is freed afterwards unless ``retain_graph=True``.
        """
        from .engine import backward
        backward(self, gradient, retain_graph)

    # -- values ----------------------------------------------------------------------
    def numpy(self):
        """The array (shared memory); refused while it requires grad, as in PyTorch."""
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad and is_grad_enabled():
            raise LostGradientError(
                "a tensor that requires grad was turned into a NumPy array (np.array, "
                "np.asarray, or a write into a NumPy buffer such as np.zeros(3)), which would "
                "lose its gradient: build buffers as tensors (srcdiff.tensor(np.zeros(3))), "
                "join tensors with np.stack / np.concatenate, or use t.detach().numpy() "
                "for the values")
        data = self._data
        return data.astype(dtype) if dtype is not None else data

    def item(self):
        """The value of a one-element tensor as a Python number (not tracked)."""
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        if self._requires_grad and is_grad_enabled():
            raise LostGradientError(
                "float() of a tensor that requires grad would lose its gradient (NumPy calls it "
                "when a tensor is written into a NumPy array, as in b = np.zeros(3); b[0] = t): "
                "keep the tensor, make the buffer a tensor (srcdiff.tensor(np.zeros(3))), or "
                "use t.item() to read the number")
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def __index__(self):
        return operator.index(self._data.item()) if self._data.ndim == 0 else operator.index(self._data)

    def __bool__(self):
        return bool(self._data)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def size(self):
        return _Size(self._data.shape)

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        if self._node is not None:
            return f"tensor({body}, grad_fn=<{self._node.name()}>)"
        if self._requires_grad:
            return f"tensor({body}, requires_grad=True)"
        return f"tensor({body})"

    # -- NumPy protocols -------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if method != "__call__" or out is not None:
            if any(t.requires_grad for t in tensors_in(list(inputs))) and is_grad_enabled():
                raise RuntimeError(f"np.{ufunc.__name__}.{method}" + (" with out=" if out else "")
                                   + " on a tensor that requires grad is not recorded: call "
                                   f"np.{ufunc.__name__}(...) and assign the result")
            raw_out = tuple(unwrap(o) for o in out) if out else None
            result = getattr(ufunc, method)(*[unwrap(i) for i in inputs], **kwargs,
                                            **({"out": raw_out} if raw_out else {}))
            for o in out or ():
                if isinstance(o, Tensor):
                    o._storage.version += 1
            return out[0] if out and len(out) == 1 else wrap(result)
        return record(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return record(func, args, kwargs)

    # -- indexing -----------------------------------------------------------------------
    def __getitem__(self, index):
        return record(operator.getitem, (self, unwrap(index)), {}, rules.GETITEM)

    def __setitem__(self, index, value):
        set_item(self, index, value)

    # -- arithmetic ---------------------------------------------------------------------------
    def __neg__(self):
        return record(np.negative, (self,), {})

    def __pos__(self):
        return self

    def __abs__(self):
        return record(np.absolute, (self,), {})

    @property
    def T(self):  # noqa: N802
        return record(np.transpose, (self,), {})

    # -- in place -------------------------------------------------------------------------
    def _inplace(self, func, other):
        """``self op= other``: the values change in this tensor's memory."""
        if is_grad_enabled() and (self._requires_grad or
                                  (isinstance(other, Tensor) and other.requires_grad)):
            set_item(self, Ellipsis, record(func, (self.detach() if not self._requires_grad
                                                   else self, other), {}))
            return self
        func(self._data, unwrap(other), out=self._data)
        self._storage.version += 1
        return self

    def zero_(self):
        """Fill with zeros in place (as ``x.grad.zero_()`` does between backward calls)."""
        self._data[...] = 0
        self._storage.version += 1
        return self

    def fill_(self, value):
        self._data[...] = value
        self._storage.version += 1
        return self

    # -- methods (PyTorch's names and NumPy's) ---------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return record(np.sum, (self,), _reduce_kwargs(axis, keepdims, dim, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return record(np.mean, (self,), _reduce_kwargs(axis, keepdims, dim, keepdim))

    def prod(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return record(np.prod, (self,), _reduce_kwargs(axis, keepdims, dim, keepdim))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return record(np.max, (self,), _reduce_kwargs(axis, keepdims, dim, keepdim))

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return record(np.min, (self,), _reduce_kwargs(axis, keepdims, dim, keepdim))

    def norm(self):
        """The Euclidean norm of all elements."""
        return record(np.linalg.norm, (self,), {})

    def reshape(self, *shape):
        return record(np.reshape, (self, _shape(shape)), {})

    def view(self, *shape):
        return self.reshape(*shape)

    def ravel(self):
        return record(np.ravel, (self,), {})

    flatten = ravel

    def transpose(self, *axes):
        return record(np.transpose, (self,) + ((_shape(axes),) if axes else ()), {})

    def clone(self):
        return record(np.copy, (self,), {})

    copy = clone

    def dot(self, other):
        return record(np.dot, (self, other), {})

    def cumsum(self, axis=None, *, dim=None):
        return record(np.cumsum, (self,), {"axis": dim if dim is not None else axis})

    def clip(self, a_min, a_max):
        return record(np.clip, (self, a_min, a_max), {})

    clamp = clip

    def argmax(self, axis=None):
        return record(np.argmax, (self,), {"axis": axis})

    def argmin(self, axis=None):
        return record(np.argmin, (self,), {"axis": axis})

    def astype(self, dtype):
        if np.dtype(dtype).kind == "f":
            return record(np.asarray, (self,), {"dtype": dtype})
        return Tensor(self._data.astype(dtype))


def _reduce_kwargs(axis, keepdims, dim, keepdim):
    axis = dim if dim is not None else axis
    keepdims = keepdim if keepdim is not None else keepdims
    return {"axis": axis, "keepdims": keepdims} if axis is not None or keepdims else {}


def _shape(args):
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _binary(name, func):
    def forward(self, other):
        return record(func, (self, other), {})

    def reflected(self, other):
        return record(func, (other, self), {})

    def inplace(self, other):
        return self._inplace(func, other)
    return forward, reflected, inplace


for _name, _func in _BINARY.items():
    _forward, _reflected, _in_place = _binary(_name, _func)
    setattr(Tensor, f"__{_name}__", _forward)
    setattr(Tensor, f"__r{_name}__", _reflected)
    setattr(Tensor, f"__i{_name}__", _in_place)
for _name, _func in _COMPARE.items():
    setattr(Tensor, f"__{_name}__", _binary(_name, _func)[0])
    setattr(Tensor, _name, _binary(_name, _func)[0])
for _name, _func in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                     ("div", np.true_divide), ("pow", np.power), ("matmul", np.matmul)):
    setattr(Tensor, _name, _binary(_name, _func)[0])
    setattr(Tensor, f"{_name}_", _binary(_name, _func)[2])
for _func in (np.exp, np.log, np.sin, np.cos, np.tan, np.tanh, np.sqrt, np.abs, np.sinh,
              np.cosh, np.arcsin, np.arccos, np.arctan, np.log1p, np.expm1, np.square):
    setattr(Tensor, {"absolute": "abs"}.get(_func.__name__, _func.__name__),
            (lambda f: lambda self: record(f, (self,), {}))(_func))
del _name, _func, _forward, _reflected, _in_place


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf tensor holding a copy of ``data`` (as ``torch.tensor``).

    Float data stays float64 unless ``dtype`` says otherwise; integer data cannot
    require grad.

    >>> import srcdiff
    >>> a = srcdiff.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (a ** 2).sum().backward()
    >>> a.grad
    tensor([2., 4., 6.])
    """
    array = np.array(unwrap(data), dtype=dtype, copy=True)
    return Tensor(array, requires_grad=requires_grad)
