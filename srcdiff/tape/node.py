"""Graph nodes: what ``tensor.grad_fn`` is.

A node holds what its rule needs and points, through ``next_functions``, at the nodes
of its inputs: another node, an ``AccumulateGrad`` for a leaf that requires grad, or
None.  Names follow PyTorch's (``MulBackward0``), so tutorials read the same.
"""
import numpy as np

from .vjps import vjp_function

# PyTorch's node names for the primitives whose names differ from "<Name>Backward0"
_TORCH_NAMES = {
    "add": "AddBackward0", "subtract": "SubBackward0", "multiply": "MulBackward0",
    "divide": "DivBackward0", "power": "PowBackward0", "negative": "NegBackward0",
    "np.sum": "SumBackward0", "np.mean": "MeanBackward0", "np.prod": "ProdBackward0",
    "np.max": "MaxBackward1", "np.min": "MinBackward1", "np.absolute": "AbsBackward0",
    "np.linalg.norm": "LinalgVectorNormBackward0", "np.concatenate": "CatBackward0",
    "np.reshape": "ViewBackward0", "np.ravel": "ViewBackward0", "np.transpose": "PermuteBackward0",
    "np.copy": "CloneBackward0", "np.asarray": "CloneBackward0", "assign_at": "CopySlices",
    "np.clip": "ClampBackward1", "np.maximum": "MaximumBackward0", "np.minimum": "MinimumBackward0",
    "np.dot": "DotBackward0", "np.outer": "OuterBackward0", "np.where": "WhereBackward0",
}


def torch_name(prim, args):
    """PyTorch's name for the node of ``prim`` applied to ``args``."""
    if prim.name == "matmul":
        ndims = tuple(np.ndim(a) for a in args[:2])
        return {(1, 1): "DotBackward0", (2, 1): "MvBackward0"}.get(ndims, "MmBackward0" if ndims == (2, 2)
                                                                  else "MatmulBackward0")
    if prim.name == "getitem":
        index = args[1] if isinstance(args[1], tuple) else (args[1],)
        if all(isinstance(i, (int, np.integer)) for i in index):
            return "SelectBackward0"
        if all(isinstance(i, (int, np.integer, slice)) for i in index):
            return "SliceBackward0"
        return "IndexBackward0"
    if prim.name in _TORCH_NAMES:
        return _TORCH_NAMES[prim.name]
    base = prim.name.rsplit(".", 1)[-1].strip("_")
    return "".join(part.capitalize() for part in base.split("_")) + "Backward0"


class Node:
    """A step of the recorded computation; ``apply(g)`` gives its inputs' cotangents."""
    freed = False

    def __init__(self, inputs):
        self.inputs = inputs                 # the input tensors that require grad
        self.next_functions = tuple((_edge(t), 0) for t in inputs)

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    def release(self):
        """Drop what backward needed: a second backward through here raises."""
        self.freed = True


def _edge(tensor):
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    return tensor._accumulator()


class AccumulateGrad:
    """The end of a path: adds the cotangent into its leaf's ``.grad``."""
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"

    def accumulate(self, g):
        self.variable._accumulate_grad(g)


class RuleNode(Node):
    """A primitive applied to arrays, differentiated by its rule from the rule table.

    ``slots`` lists, for each input tensor, the rule parameter it was passed as and, for
    a sequence parameter (``np.stack([a, b])``), its position in the sequence.
    """

    def __init__(self, prim, args, kwargs, ans, inputs, slots, saved):
        super().__init__(inputs)
        self.prim, self.args, self.kwargs, self.ans = prim, args, kwargs, ans
        self.slots = slots
        self.shape = np.shape(ans)           # kept after release, for pictures of the graph
        self._name = torch_name(prim, args)
        self.saved = saved                   # (tensor storage, version) read by value

    def name(self):
        return self._name

    def apply(self, g):
        if self.freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward(). Specify retain_graph=True if you "
                "need to backward through the graph a second time.")
        for storage, version in self.saved:
            if storage.version != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: the input of {self.name()} is at version "
                    f"{storage.version}; expected version {version} instead. Write into a copy "
                    "(y = y.clone()) before changing it in place.")
        rule = self.prim.rule
        wrt = rule.wrt
        plain = sorted({wrt.index(param) for param, part in self.slots if part is None})
        grads = {}
        if plain:
            outputs = vjp_function(rule, plain)(g, self.ans, *self.args, **self.kwargs)
            grads.update(zip(((wrt[k], None) for k in plain), outputs, strict=True))
        for param, part in self.slots:
            if part is not None:
                (grads[param, part],) = vjp_function(rule, [wrt.index(param)])(
                    g, self.ans, *self.args, **self.kwargs, part=part)
        return [grads[slot] for slot in self.slots]

    def release(self):
        super().release()
        self.args = self.kwargs = self.ans = None
