"""srcdiff: reverse-mode automatic differentiation of NumPy code by source transformation.

Decorate a plain NumPy function with ``@srcdiff.grad``: srcdiff reads its source,
builds the adjoint as readable Python (``.source``) and compiles it with Numba.
"""
from . import rules
from .api import grad, jacobian, value_and_grad, vjp
from .errors import (CarriedValueError, LostGradientError, SourceUnavailableError, SrcdiffError,
                     UnsupportedError)
from .rules import rule
from .tape import Function, Tensor, enable_grad, is_grad_enabled, no_grad, render_graph, tensor, to_dot
from .testing import check_grad

__version__ = "0.1.0"
__all__ = ["grad", "value_and_grad", "vjp", "jacobian", "check_grad", "rule", "rules",
           "tensor", "Tensor", "no_grad", "enable_grad", "is_grad_enabled", "Function",
           "to_dot", "render_graph", "UnsupportedError", "SourceUnavailableError", "SrcdiffError",
           "LostGradientError", "CarriedValueError"]
