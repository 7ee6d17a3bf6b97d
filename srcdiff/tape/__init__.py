"""The runtime tape: PyTorch's autograd API over NumPy arrays.

``Tensor`` records operations (the rule table supplies each derivative), ``backward``
walks the graph, ``no_grad`` pauses recording, ``Function`` adds custom operations and
``to_dot`` draws the graph.  ``mode="tape"`` runs a user's function on tensors.
"""
from .function import Function, FunctionCtx
from .graph import render_graph, to_dot
from .mode import enable_grad, is_grad_enabled, no_grad
from .node import AccumulateGrad
from .tensor import Tensor, tensor

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "Function",
           "FunctionCtx", "AccumulateGrad", "to_dot", "render_graph"]
