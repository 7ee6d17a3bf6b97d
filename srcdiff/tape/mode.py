"""Whether operations on tensors are recorded: ``no_grad`` and ``enable_grad``."""
import contextlib
import threading

_state = threading.local()


def is_grad_enabled():
    """True when operations on tensors that require grad are recorded."""
    return getattr(_state, "enabled", True)


class _GradMode(contextlib.ContextDecorator):
    enabled = True

    def __enter__(self):
        self._before = is_grad_enabled()
        _state.enabled = self.enabled

    def __exit__(self, *exc):
        _state.enabled = self._before
        return False


class no_grad(_GradMode):  # noqa: N801  (PyTorch's name)
    """Operations inside are not recorded: results do not require grad.

    A context manager and a decorator, as in PyTorch.

    >>> import srcdiff
    >>> x = srcdiff.tensor(1.0, requires_grad=True)
    >>> with srcdiff.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    enabled = False


class enable_grad(_GradMode):  # noqa: N801
    """Record operations again inside a ``no_grad`` block (the backward of a custom
    Function that differentiates something itself, say)."""
    enabled = True
