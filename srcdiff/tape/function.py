"""Custom operations with their own backward, as PyTorch's ``torch.autograd.Function``."""
import numpy as np

from .mode import is_grad_enabled, no_grad
from .node import Node
from .tensor import Tensor


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: ``save_for_backward`` and any attribute."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError("Trying to backward through the graph a second time: the saved "
                               "tensors were freed; specify retain_graph=True")
        return self._saved


class BackwardFunction(Node):
    """The node of a custom Function: its ``backward`` is the user's."""

    def __init__(self, cls, ctx, args, inputs):
        super().__init__(inputs)
        self.cls, self.ctx = cls, ctx
        self.positions = [k for k, a in enumerate(args)
                          if isinstance(a, Tensor) and a.requires_grad]

    def name(self):
        return f"{self.cls.__name__}Backward"

    def apply(self, g):
        if self.freed:
            raise RuntimeError("Trying to backward through the graph a second time; specify "
                               "retain_graph=True")
        grads = self.cls.backward(self.ctx, Tensor(g))
        grads = grads if isinstance(grads, tuple) else (grads,)
        out = []
        for k, tensor in zip(self.positions, self.inputs, strict=True):
            if k >= len(grads):
                raise RuntimeError(f"function {self.name()} returned {len(grads)} gradients, "
                                   f"but forward took more inputs: return one per input "
                                   "(None for those without a gradient)")
            dx = grads[k]
            if dx is None:
                out.append(None)
                continue
            dx = np.asarray(getattr(dx, "_data", dx), dtype=tensor.dtype)
            if dx.shape != tensor.shape:
                raise RuntimeError(f"function {self.name()} returned a gradient of shape "
                                   f"{dx.shape} for input {k} of shape {tensor.shape}")
            out.append(dx)
        return out

    def release(self):
        super().release()
        self.ctx._saved = None


class Function:
    """Subclass with ``@staticmethod forward(ctx, *args)`` and ``backward(ctx, *grads)``,
    then call ``YourFunction.apply(*args)``.

    >>> import numpy as np, srcdiff
    >>> class MultiplyConstant(srcdiff.Function):
    ...     @staticmethod
    ...     def forward(ctx, tensor, constant):
    ...         ctx.constant = constant
    ...         return tensor * constant
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         return grad_output * ctx.constant, None
    >>> a = srcdiff.tensor(np.ones(2), requires_grad=True)
    >>> b = MultiplyConstant.apply(a, 10.0)
    >>> b.grad_fn  # doctest: +ELLIPSIS
    <MultiplyConstantBackward object at ...>
    >>> b.backward(np.ones(2)); a.grad
    tensor([10., 10.])
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function defines forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function defines backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        inputs = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args)
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return one tensor, got "
                            f"{type(out).__name__}")
        if inputs and is_grad_enabled():
            out = Tensor(out._data)
            out._set_node(BackwardFunction(cls, ctx, args, inputs))
            out.grad_fn.shape = out.shape
        return out
