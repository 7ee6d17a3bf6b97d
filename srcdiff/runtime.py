"""Helpers that derivative rules call, in plain Python and in Numba's nopython mode.

Each helper here is ordinary NumPy code: the tape calls it at run time, generated
adjoints call it from Python or from Numba-compiled code.  Numba cannot run every
NumPy form these use (``keepdims``, ``np.add.at``, tuple ``axis``), so
``srcdiff.compile.numba_runtime`` gives each helper a nopython implementation picked
by argument type; the tests run both and compare.

Helpers take every argument explicitly (no defaults): rules always pass them all.
"""
import numpy as np

from .errors import CarriedValueError

__all__ = [
    "unbroadcast", "zeros_like", "expand_reduced", "reduced_count", "reduce_sum",
    "scatter_add", "scatter_add_to", "reshape_like", "matmul_lhs", "matmul_rhs", "prod_others",
    "cumsum_grad", "transpose_grad", "concat_part", "stack_part", "trip_count", "stack_alloc",
    "stack_push", "stack_store", "run_push", "keep_store", "assign_at", "write_at", "zero_at", "copy_of", "broadcast_stand_in",
    "matmul_stand_in", "reduced_stand_in", "extreme_grad",
    "shape_of", "push_shape", "store_shape", "shape_proxy", "shape_at",
    "check_length", "undo_alloc", "log_write", "undo_writes", "sum_along", "mean_along", "prod_along", "max_along", "min_along", "norm_along",
    "cumsum_along", "vector_length", "vector_like", "as_vector", "row_of",
    "slice_start", "element_loop_not_taken", "PYTHON",
]

_AXIS_ERROR = np.exceptions.AxisError if hasattr(np, "exceptions") else np.AxisError  # NumPy 1.24

# True where the generated code runs as Python; the compiled copy of a generated module
# has it False, and Numba drops what ``if PYTHON:`` guards (see ``compile/jit.py``)
PYTHON = True

# (helper, argument position) where a helper reads only the argument's shape and dtype:
# a value read only there need not be kept for the adjoint, its shape will do
# the helpers that write into an argument (each of the others only reads its arguments)
WRITES_INTO_ARGUMENT = {"scatter_add_to", "write_at", "zero_at", "stack_push", "run_push",
                        "stack_store", "keep_store", "store_shape", "push_shape", "log_write", "undo_writes"}
# of those, the ones that write only into a loop's stack (their first argument): a loop
# records into its stacks, made by its recording, and its reversed iterations read
# them only once it has run; no value the generated code computes reads one meanwhile
WRITES_INTO_STACK = {"stack_push", "run_push", "stack_store", "keep_store", "store_shape",
                     "push_shape"}
SHAPE_ONLY = {("unbroadcast", 1), ("reshape_like", 1), ("expand_reduced", 1),
              ("scatter_add", 0), ("reduced_count", 0), ("reduced_count", 1),
              ("zeros_like", 0), ("shape_proxy", 1), ("shape_at", 2),
              ("broadcast_stand_in", 0), ("broadcast_stand_in", 1),
              ("matmul_stand_in", 0), ("matmul_stand_in", 1), ("reduced_stand_in", 0),
              ("vector_length", 0), ("slice_start", 0)}


def _axes(axis, ndim):
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim for a in axis))
    return (axis % ndim,)


def unbroadcast(g, like):
    """Sum ``g`` down to the shape of ``like``: the adjoint of NumPy broadcasting.

    >>> unbroadcast(np.ones((2, 3)), np.ones(3))
    array([2., 2., 2.])
    """
    shape = np.shape(like)
    if np.shape(g) == shape:
        return g
    if shape == ():
        return np.sum(g)
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"unbroadcast: cotangent of shape {g.shape} is smaller than {shape}")
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g


def zeros_like(x):
    """A float zero of ``x``'s shape: ``0.0`` for a scalar, an array otherwise."""
    if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        return 0.0
    return np.zeros(np.shape(x))


def expand_reduced(g, x, axis, keepdims):
    """Broadcast ``g``, the cotangent of a reduction of ``x`` over ``axis``, back to ``x``'s shape."""
    shape = np.shape(x)
    if shape == ():
        return g
    g = np.asarray(g)
    if axis is not None and not keepdims:
        g = np.expand_dims(g, _axes(axis, len(shape)))
    return np.broadcast_to(g, shape)


def reduced_count(x, ans):
    """How many elements of ``x`` were reduced into each element of ``ans``."""
    return np.size(x) / np.size(ans)


def extreme_grad(g, ans, a, axis, keepdims):
    """The cotangent of ``np.max`` or ``np.min`` of ``a`` along ``axis``: ``g`` shared
    equally among the elements equal to the result (ties split it, as in JAX).

    >>> extreme_grad(1.0, 3.0, np.array([3.0, 1.0, 3.0]), None, False)
    array([0.5, 0. , 0.5])
    """
    mask = a == expand_reduced(ans, a, axis, keepdims)
    ties = expand_reduced(reduce_sum(mask, axis), a, axis, False)
    return expand_reduced(g, a, axis, keepdims) * mask / ties


def reduce_sum(a, axis):
    """``np.sum(a, axis)``, spelled so that Numba can compile it for ``axis=None`` too."""
    return np.sum(a, axis=axis)


def scatter_add(like, index, g):
    """Zeros shaped like ``like`` with ``g`` added at ``like[index]``: the adjoint of a read.

    Repeated indices add up (``np.add.at`` semantics), so ``x[[0, 0]]`` counts twice.
    """
    return scatter_add_to(np.zeros(np.shape(like)), index, g)


def scatter_add_to(out, index, g):
    """``out[index] += g`` in place, repeated indices adding up; returns ``out``."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, (np.ndarray, list)) for p in parts):
        np.add.at(out, index, g)
    else:
        out[index] += g
    return out


def reshape_like(g, like):
    """``g`` reshaped to ``like``'s shape (a scalar when ``like`` is one)."""
    shape = np.shape(like)
    if shape == ():
        if np.size(g) != 1:
            raise ValueError(f"reshape_like: cannot make a scalar from shape {np.shape(g)}")
        return np.sum(g)
    return np.reshape(g, shape)


def matmul_lhs(g, a, b):
    """Cotangent of ``a`` in ``a @ b`` (and ``np.dot`` with a scalar operand)."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    if b_nd == 1:
        if a_nd == 1:
            return g * b
        return unbroadcast(np.multiply.outer(g, b), a)
    if a_nd == 1:
        return unbroadcast(np.matmul(b, g[..., None])[..., 0], a)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


def matmul_rhs(g, a, b):
    """Cotangent of ``b`` in ``a @ b`` (and ``np.dot`` with a scalar operand)."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    if a_nd == 1:
        if b_nd == 1:
            return g * a
        return unbroadcast(np.multiply.outer(a, g), b)
    if b_nd == 1:
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def prod_others(x, axis):
    """For each element of ``x``, the product of the others along ``axis``.

    Exact when ``x`` holds zeros, unlike ``prod / x``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return 1.0
    if axis is None:
        return prod_others(x.reshape(-1), 0).reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        raise NotImplementedError("np.prod over a tuple of axes has no derivative rule yet")
    moved = np.moveaxis(x, axis, -1)
    ones = np.ones(moved.shape[:-1] + (1,))
    left = np.concatenate([ones, np.cumprod(moved[..., :-1], axis=-1)], axis=-1)
    flipped = np.flip(moved, axis=-1)
    right = np.flip(np.concatenate([ones, np.cumprod(flipped[..., :-1], axis=-1)], axis=-1), axis=-1)
    return np.moveaxis(left * right, -1, axis)


def cumsum_grad(g, x, axis):
    """Cotangent of ``x`` in ``np.cumsum(x, axis)``: a reversed cumulative sum."""
    if axis is None:
        return np.reshape(np.flip(np.cumsum(np.flip(g))), np.shape(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def transpose_grad(g, axes):
    """Cotangent of ``x`` in ``np.transpose(x, axes)``: the inverse permutation."""
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % np.ndim(g) for a in axes]))


def concat_part(g, arrays, axis, part):
    """The slice of ``g`` that came from ``arrays[part]`` in ``np.concatenate(arrays, axis)``."""
    if axis is None:                       # the arrays were flattened first
        sizes = [np.size(a) for a in arrays]
        start = sum(sizes[:part])
        return np.reshape(g[start:start + sizes[part]], np.shape(arrays[part]))
    start = 0
    for j in range(part):
        start += np.shape(arrays[j])[axis]
    stop = start + np.shape(arrays[part])[axis]
    return np.moveaxis(np.moveaxis(g, axis, 0)[start:stop], 0, axis)


def stack_part(g, axis, part):
    """The slice of ``g`` that came from element ``part`` in ``np.stack(arrays, axis)``."""
    return np.moveaxis(g, axis, 0)[part]


def trip_count(start, stop, step):
    """How many times ``for i in range(start, stop, step)`` runs."""
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // -step)


def stack_alloc(n, like):
    """Room for ``n`` values shaped and typed like ``like``: one per loop iteration."""
    return np.empty((n,) + np.shape(like), dtype=np.result_type(like))


def stack_push(stack, k, value):
    """``stack_store(stack, k, value)``, doubling the stack first when ``k`` is past
    its end; returns the stack.  (A nested loop's runs may leave an entry out: the one
    of the value a run ends with, which its kept values do not have.)"""
    if k >= stack.shape[0]:
        stack = _grown(stack, 2 * k + 1)
    stack_store(stack, k, value)
    return stack


class RunShapeChanged(ValueError):
    """A run of a nested loop started with a value of another shape than the runs before
    it (``v = x[i:]`` before the inner loop): its runs cannot share stacks; or a value
    a loop keeps for its adjoint (``np.exp(x[:i])``) changed shape between iterations.
    srcdiff then generates the program again with the backward rerunning nested loops
    and recomputing what it read from those stacks."""


class ElementLoopNotTaken(Exception):
    """Compiled code reached an element loop whose test failed (its arrays are not 1-D,
    or not of one length): the compiled copy has no other way (``emit/scalarize.py``),
    and srcdiff compiles the module generated without element loops instead."""


def element_loop_not_taken():
    """Raise ``ElementLoopNotTaken`` (compiled code only: Python runs the lines)."""
    raise ElementLoopNotTaken("an element loop's arrays are not 1-D arrays of one length")


def run_push(stack, k, value):
    """``stack_push`` for the stacks all runs of a nested loop share, and for the values
    a loop keeps for its adjoint (see ``RunShapeChanged``)."""
    if np.shape(value) != stack.shape[1:]:
        raise RunShapeChanged("a nested loop's runs carry values of different shapes")
    return stack_push(stack, k, value)


def keep_store(stack, k, value):
    """``stack[k] = value`` for a value a loop keeps for its adjoint, in a stack with
    room for every iteration (see ``RunShapeChanged``): no check for room, and the
    stack is not handed back (``run_push`` is for stacks that grow)."""
    if np.shape(value) != stack.shape[1:]:
        raise RunShapeChanged("a value a loop keeps for its adjoint changed shape")
    stack[k] = value


def stack_store(stack, k, value):
    """``stack[k] = value``, where ``value`` has the shape of the stack's entries.

    A loop's stack holds one shape per carried value; a value whose shape changes from
    one iteration to the next (``h = np.sum(h * h, keepdims=True)``) would be broadcast
    into its entry and read back with the wrong shape: it is refused."""
    if np.shape(value) != stack.shape[1:]:
        _changed_shape(stack.shape[1:], np.shape(value))
    stack[k] = value
    if stack.dtype.kind in "iub" and np.any(stack[k] != value):
        raise CarriedValueError("a value a loop carries started as an integer and went on "
                                "as a float: its stack holds integers; start it as a float "
                                "(0.0, not 0), or differentiate with mode='tape'")


def _changed_shape(before, after):
    raise CarriedValueError(f"a value a loop carries changed shape between iterations, from "
                            f"{before} to {after}: srcdiff stacks one shape per carried "
                            "value; give it its final shape before the loop (s = "
                            "np.zeros_like(x), not s = 0.0), or differentiate with "
                            "mode='tape'")


def _grown(stack, n):
    """A stack with room for ``n`` entries, ``stack``'s copied into the first ones
    (compiled: one flat loop, whatever the entries' shape)."""
    grown = np.empty((n,) + stack.shape[1:], dtype=stack.dtype)
    grown[:stack.shape[0]] = stack
    return grown


def assign_at(a, index, value):
    """A copy of ``a`` with ``value`` written at ``index``: ``b[i] = v`` as a value."""
    out = a.copy()
    write_at(out, index, value)
    return out


def write_at(a, index, value):
    """``a[index] = value``, in ``a`` itself.

    Compiled, an array ``value`` is copied by a loop: Numba's own assignment of an
    array into a slice takes seconds to compile (its error message's formatting).

    >>> a = np.zeros((2, 3)); write_at(a, 1, np.arange(3.0)); a[1]
    array([0., 1., 2.])
    """
    a[index] = value


def zero_at(a, index):
    """``a[index] = 0.0`` in ``a`` itself, and ``a``: the adjoint of a write, in place."""
    a[index] = 0.0
    return a


def copy_of(value):
    """``value``, copied if it is an array (a part of an array about to be zeroed)."""
    return value.copy() if isinstance(value, np.ndarray) else value


def vector_length(a):
    """The length of ``a`` if it is a 1-D array of numbers (not complex), else -1: how
    many times a run of elementwise lines turned into one loop goes round
    (``srcdiff/emit/scalarize.py``).

    >>> vector_length(np.ones(3)), vector_length(np.ones((2, 3))), vector_length(2.0)
    (3, -1, -1)
    """
    if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "fiu":
        return a.shape[0]
    return -1


def vector_like(n, like):
    """A new float array for ``n`` elements of a value computed from ``like`` (compiled,
    it has the number of dimensions the value has where ``like`` is not all 1-D, so that
    both ways of computing it give it one type; a number if none of ``like`` is an array)."""
    ndim = max((v.ndim for v in like if isinstance(v, np.ndarray)), default=0)
    return np.empty((n,) + (1,) * (ndim - 1)) if ndim else 0.0


def as_vector(a):
    """``a`` if it is a 1-D array, else an empty one: what the loop reads elements of
    (compiled, a 1-D array whatever ``a`` is, so that the loop compiles even where
    ``a`` turns out to be a number and the loop is never run)."""
    return a if isinstance(a, np.ndarray) and a.ndim == 1 else np.empty(0)


def row_of(a, index):
    """``a[index]`` if that is a 1-D array, else an empty one (see ``as_vector``)."""
    return as_vector(a[index])


def slice_start(a, lo, hi, n):
    """Where ``a[lo:hi]`` starts if ``a`` is a 1-D array and the slice has ``n``
    elements, else -1.

    >>> slice_start(np.zeros(8), 2, 6, 4), slice_start(np.zeros(8), 2, None, 4)
    (2, -1)
    """
    if vector_length(a) < 0:
        return -1
    start, stop, _ = slice(lo, hi).indices(a.shape[0])
    return start if max(stop - start, 0) == n else -1


def broadcast_stand_in(a, b):
    """A zero-strided stand-in shaped like ``a`` and ``b`` broadcast together, computing
    nothing (0.0 for two scalars): an elementwise result a loop's adjoint reads only for
    its shape, as its backward rebuilds it.

    >>> broadcast_stand_in(np.ones((4, 1)), np.ones(3)).shape
    (4, 3)
    """
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.broadcast_to(np.zeros(()), shape) if shape else 0.0


def reduced_stand_in(a, axis, keepdims):
    """A zero-strided stand-in shaped like a reduction of ``a`` over ``axis`` (None, an
    int or a tuple), computing nothing (0.0 where the result is a number).

    >>> reduced_stand_in(np.ones((4, 3)), 1, True).shape
    (4, 1)
    """
    ndim = np.ndim(a)
    for k in (() if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)):
        if not -ndim <= k < ndim:        # as the reduction itself would
            raise _AXIS_ERROR(k, ndim)
    reduced = _axes(axis, ndim)
    shape = tuple(1 if k in reduced else n for k, n in enumerate(np.shape(a))
                  if keepdims or k not in reduced)
    return np.broadcast_to(np.zeros(()), shape) if shape else 0.0


def matmul_stand_in(a, b):
    """A zero-strided stand-in shaped like ``a @ b``, computing nothing (0.0 for two
    vectors): ``broadcast_stand_in`` for a matrix product."""
    sa, sb = np.shape(a), np.shape(b)
    inner = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner:                  # as the product itself would
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {inner} is "
                         f"different from {sa[-1]})")
    if len(sa) == 1 and len(sb) == 1:
        return 0.0
    if len(sb) == 1:
        shape = sa[:-1]
    elif len(sa) == 1:
        shape = sb[:-2] + sb[-1:]
    else:
        shape = np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    return np.broadcast_to(np.zeros(()), shape)


def shape_of(value):
    """``value``'s shape as an int64 array (``()`` for a scalar: nothing to store)."""
    return np.array(np.shape(value), dtype=np.int64)


def push_shape(stack, k, value):
    """``stack_push(stack, k, shape_of(value))``, without making the shape an array first."""
    return stack_push(stack, k, _shape_entry(stack, value))


def store_shape(stack, k, value):
    """``stack[k] = value's shape``, in a stack with room for it (a ``range`` loop's).

    Under Numba, a scalar's shape is not stored: ``shape_at`` does not read it back."""
    stack[k] = _shape_entry(stack, value)


def _shape_entry(stack, value):
    """``value``'s shape, to go into a stack of shapes with a row of ``stack.shape[1]``
    dimensions: a value that changed its number of dimensions is refused (NumPy would
    broadcast a (1,) shape into a row of none)."""
    shape = np.shape(value)
    if len(shape) != stack.shape[1]:
        _changed_shape(f"{stack.shape[1]} dimensions", shape)
    return shape


def shape_at(stack, k, like):
    """``shape_proxy(stack[k], like)``: the stand-in for iteration ``k``'s value.

    Under Numba, a scalar ``like`` is its own stand-in and the stack is not read."""
    return shape_proxy(stack[k], like)


def shape_proxy(shape, like):
    """A read-only stand-in with the stored ``shape`` and ``like``'s type, taking no memory:
    what a loop's adjoint gets for a value it reads only for its shape.

    >>> shape_proxy(np.array([2, 3]), np.ones((4, 4))).shape
    (2, 3)
    """
    if np.ndim(like) == 0 and len(shape) == 0:
        return like
    return np.broadcast_to(np.zeros((), np.result_type(like)), tuple(int(d) for d in shape))


# Reductions along an axis, as generated code calls them: NumPy's own functions here;
# srcdiff.compile.numba_runtime gives them loops Numba compiles (its np.max and np.mean
# take no axis, and no NumPy reduction there takes keepdims).
def sum_along(a, axis, keepdims):
    return np.sum(a, axis=axis, keepdims=keepdims)


def mean_along(a, axis, keepdims):
    return np.mean(a, axis=axis, keepdims=keepdims)


def prod_along(a, axis, keepdims):
    return np.prod(a, axis=axis, keepdims=keepdims)


def max_along(a, axis, keepdims):
    return np.max(a, axis=axis, keepdims=keepdims)


def min_along(a, axis, keepdims):
    return np.min(a, axis=axis, keepdims=keepdims)


def norm_along(x, axis, keepdims):
    return np.linalg.norm(x, axis=axis, keepdims=keepdims)


def cumsum_along(a, axis):
    return np.cumsum(a, axis=axis)


def check_length(value, n):
    """Raise as Python does when ``a, b = value`` unpacks a value of another length."""
    if len(value) != n:
        raise ValueError(f"cannot unpack {len(value)} values into {n} names")
    return n


# An undo log for writes into one element of an array in a loop: the forward pass logs
# each element's old value before it writes; the reversed loop writes them back, so one
# array goes back in time instead of a copy of it being stored per iteration.
def undo_alloc(like):
    """An empty undo log for writes into ``like``: old values, and their flat offsets."""
    return np.empty(8, dtype=np.asarray(like).dtype), np.empty(8, dtype=np.int64)


def log_write(values, offsets, n, array, index):
    """Log ``array[index]``'s value (before a write there) as entry ``n``; returns the log
    (grown when full) and ``n + 1``."""
    parts = index if isinstance(index, tuple) else (index,)
    if len(parts) < np.ndim(array):        # a row (a block): each of its elements
        block = np.arange(array.size).reshape(array.shape)[index].reshape(-1)
        for offset, value in zip(block, np.asarray(array[index]).reshape(-1), strict=True):
            values = stack_push(values, n, value)
            offsets = stack_push(offsets, n, int(offset))
            n += 1
        return values, offsets, n
    offset = int(np.ravel_multi_index(tuple(int(p) % d for p, d in zip(parts, array.shape)),
                                      array.shape))
    values = stack_push(values, n, array[index])
    offsets = stack_push(offsets, n, offset)
    return values, offsets, n + 1


def undo_writes(array, values, offsets, mark, n):
    """Write back the logged old values from entry ``n - 1`` down to ``mark``; returns
    ``mark`` (the log's new length)."""
    flat = array.reshape(-1)
    while n > mark:
        n -= 1
        flat[offsets[n]] = values[n]
    return n
