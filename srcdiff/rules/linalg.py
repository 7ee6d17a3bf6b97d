"""Linear algebra beyond the ``@`` operator."""
import numpy as np

from ..runtime import expand_reduced
from .registry import rule


@rule(np.linalg.norm, wrt="x", require={"ord": (None,)})
def norm(g, ans, x, ord=None, axis=None, keepdims=False):
    return expand_reduced(g / ans, x, axis, keepdims) * x
