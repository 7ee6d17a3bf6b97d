"""The backward engine: walk the graph from a tensor, last node first, without recursion.

Nodes are ordered once (an iterative depth-first search), then each node's cotangent,
summed over its uses, goes through its rule to its inputs.  What a node kept is
dropped as soon as it has run, unless ``retain_graph``.
"""
import numpy as np

from .mode import no_grad
from .node import AccumulateGrad


def _order(root):
    """The nodes reachable from ``root``, each after every node that feeds into it."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend((nxt, False) for nxt, _ in node.next_functions
                     if nxt is not None and nxt not in visited)
    return order[::-1]


def _seed(tensor, gradient):
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs: this "
                               f"tensor has shape {tensor.shape}; pass backward(gradient), a "
                               "tensor of that shape (the v of a vector-Jacobian product)")
        return np.ones(tensor.shape, dtype=tensor.dtype)
    seed = np.asarray(getattr(gradient, "_data", gradient), dtype=tensor.dtype)
    if seed.shape != tensor.shape:
        raise RuntimeError(f"Mismatch in shape: gradient has a shape of {seed.shape} and the "
                           f"output has a shape of {tensor.shape}")
    return seed


def backward(tensor, gradient=None, retain_graph=False):
    """Send ``gradient`` (1 for a scalar) back from ``tensor`` to the leaves' ``.grad``."""
    if not tensor.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn: make the inputs with requires_grad=True, and compute "
                           "outside srcdiff.no_grad()")
    seed = _seed(tensor, gradient)
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor._accumulator()
    grads = {root: seed}
    with no_grad():
        for node in _order(root):
            g = grads.pop(node, None)
            if g is None:
                continue
            if isinstance(node, AccumulateGrad):
                node.accumulate(g)
                continue
            for (nxt, _), dx in zip(node.next_functions, node.apply(g), strict=True):
                if nxt is None or dx is None:
                    continue
                grads[nxt] = dx if nxt not in grads else grads[nxt] + dx
            if not retain_graph:
                node.release()
