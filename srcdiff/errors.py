"""Errors srcdiff raises on purpose, each saying where and what to do."""


class SrcdiffError(Exception):
    """Base class of the errors srcdiff raises on purpose."""


class UnsupportedError(SrcdiffError):
    """The source transform cannot handle a construct.

    Carries ``filename``, ``lineno``, ``col``, ``construct`` and ``hint``; the
    message reads ``file:line:col: unsupported <construct> in <function>: <hint>``.
    In ``mode="auto"`` this error is what makes srcdiff fall back on the tape.
    """

    def __init__(self, construct, *, filename="<unknown>", lineno=0, col=0,
                 function="?", hint=""):
        self.construct = construct
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.function = function
        self.hint = hint
        where = f"{filename}:{lineno}:{col}"
        message = f"{where}: unsupported {construct} in {function}()"
        if hint:
            message += f": {hint}"
        super().__init__(message)


class CarriedValueError(SrcdiffError, ValueError):
    """A value a loop carries changed shape, or went from an integer to a float, between
    iterations (``s = 0.0`` then ``s = s + x`` with an array ``x``): the generated adjoint
    stacks one shape and one type per carried value.  Found while the function runs; in
    ``mode="auto"`` srcdiff then differentiates the function on the tape."""


class SourceUnavailableError(UnsupportedError):
    """The function's Python source cannot be read (builtins, exec, the REPL)."""


class LostGradientError(SrcdiffError, RuntimeError):
    """The tape was asked for something that would drop a gradient path without a word:
    a tensor that requires grad turned into a NumPy array or a float (``np.array``,
    ``float(t)``, a write into a NumPy buffer).  A ``RuntimeError``, as PyTorch's are."""
