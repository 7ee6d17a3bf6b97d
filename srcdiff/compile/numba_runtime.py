"""Nopython implementations of ``srcdiff.runtime``'s helpers, chosen by argument type.

Importing this module registers them with Numba.  Each returns ``None`` (Numba then
reports a typing error and srcdiff runs the generated code in Python) for argument
kinds it does not cover; it never computes something different from the Python helper.
"""
import numba
import numpy as np
from numba import types
from numba.cpython.unsafe.tuple import tuple_setitem
from numba.np.unsafe.ndarray import to_fixed_tuple
from numpy.lib.stride_tricks import as_strided

from .. import runtime
from ..errors import CarriedValueError
from . import vector_math
from .helper_cache import overload, register_jitable


_SCALARS = (types.Number, types.Boolean)


def _is_array(t):
    return isinstance(t, types.Array)


def _is_none(t):
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


def _is_basic_index(t):
    """Integers and slices, alone or in a tuple: indexing that never repeats an element."""
    parts = t.types if isinstance(t, types.BaseTuple) else (t,)
    return all(isinstance(p, (types.Integer, types.SliceType)) for p in parts)


@register_jitable
def _sum_to(g, like):
    """Sum array ``g`` into a new array of ``like``'s shape (broadcasting reversed)."""
    out = np.zeros(like.shape, dtype=np.float64)
    flat = out.reshape(-1)
    extra = g.ndim - out.ndim
    for idx in np.ndindex(g.shape):
        offset = 0
        for k in range(out.ndim):
            n = out.shape[k]
            if n != 1:
                offset = offset * n + idx[extra + k]
        flat[offset] += g[idx]
    return out


@register_jitable
def _sum_to_vector(g, like):
    """``_sum_to`` for vectors: quicker to compile than the general loop."""
    out = np.zeros(like.shape)
    one = like.shape[0] == 1
    for i in range(g.shape[0]):
        out[0 if one else i] += g[i]
    return out


@register_jitable
def _sum_to_matrix(g, like):
    """``_sum_to`` for matrices."""
    out = np.zeros(like.shape)
    one_row, one_column = like.shape[0] == 1, like.shape[1] == 1
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            out[0 if one_row else i, 0 if one_column else j] += g[i, j]
    return out


@register_jitable
def _sum_rows_to_vector(g, like):
    """``_sum_to`` of a matrix into a vector (a row broadcast down the matrix)."""
    rows = np.zeros(g.shape[1])
    for i in range(g.shape[0]):
        rows += g[i]
    return _sum_to_vector(rows, like)


@register_jitable
def _lanes(a, axis):
    """``a`` as (before, along, after): reducing the middle axis reduces ``axis``."""
    c = np.ascontiguousarray(a)
    before = 1
    for j in range(axis):
        before *= c.shape[j]
    n = c.shape[axis]
    after = 1
    for j in range(axis + 1, c.ndim):
        after *= c.shape[j]
    return c.reshape((before, n, after))


@register_jitable
def _reduced_shape(a, axis, keep):
    shape = np.empty(a.ndim if keep else a.ndim - 1, dtype=np.int64)
    k = 0
    for j in range(a.ndim):
        if j == axis:
            if keep:
                shape[k] = 1
                k += 1
        else:
            shape[k] = a.shape[j]
            k += 1
    return shape


@overload(runtime.unbroadcast)
def _unbroadcast(g, like):
    if not _is_array(like):
        if _is_array(g):
            return lambda g, like: vector_math.sum(g)
        return lambda g, like: g
    if not _is_array(g) or g.ndim < like.ndim:
        return None
    if g.ndim == 2 and like.ndim == 1 and g.dtype == types.float64:
        return lambda g, like: _sum_rows_to_vector(g, like)
    if g.ndim != like.ndim or g.dtype != types.float64:
        return lambda g, like: _sum_to(g, like)
    sum_to = {1: _sum_to_vector, 2: _sum_to_matrix}.get(g.ndim, _sum_to)

    def impl(g, like):
        if g.shape == like.shape:
            return g
        return sum_to(g, like)
    return impl


@overload(runtime.zeros_like)
def _zeros_like(x):
    if _is_array(x):
        return lambda x: np.zeros(x.shape)
    if isinstance(x, _SCALARS):
        return lambda x: 0.0
    return None


@overload(runtime.expand_reduced)
def _expand_reduced(g, x, axis, keepdims):
    if not _is_array(x):
        return lambda g, x, axis, keepdims: g
    if not _is_array(g):         # a number spread out: a zero-strided view of it, as in Python
        stand_in = _stand_in_of(x.ndim)
        return lambda g, x, axis, keepdims: stand_in(x.shape, np.full(1, np.float64(g)))
    if g.ndim == x.ndim:
        return lambda g, x, axis, keepdims: np.zeros(x.shape) + g
    if g.ndim == 1 and x.ndim == 2 and isinstance(axis, types.Integer):
        def along_matrix(g, x, axis, keepdims):      # quicker to compile than broadcasting
            out = np.empty(x.shape)
            rows = axis % 2 == 1
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    out[i, j] = g[i] if rows else g[j]
            return out
        return along_matrix
    if g.ndim == x.ndim - 1 and isinstance(axis, types.Integer):
        def impl(g, x, axis, keepdims):
            return np.zeros(x.shape) + np.expand_dims(g, axis % x.ndim)
        return impl
    return None


@overload(runtime.reduced_count)
def _reduced_count(x, ans):
    if not _is_array(x):
        return lambda x, ans: 1.0
    if _is_array(ans):
        return lambda x, ans: x.size / ans.size
    return lambda x, ans: float(x.size)


@register_jitable
def _share_lane(out, lane, values, extreme, g):
    """``out[lane]``: g split among the elements of ``values`` equal to ``extreme``,
    as NumPy computes ``g * mask / ties`` (NaN everywhere when nothing ties)."""
    ties = 0
    for j in range(values.shape[0]):
        if values[j] == extreme:
            ties += 1
    if ties == 0:                      # a NaN in the lane: 0 / 0, as NumPy divides
        hit = miss = np.nan
    else:
        hit, miss = g * 1.0 / ties, g * 0.0 / ties
    for j in range(values.shape[0]):
        out[lane, j] = hit if values[j] == extreme else miss


@register_jitable
def _only_element(x):
    return _lane_values(x)[0]


@register_jitable
def _itself(x):
    return x


@register_jitable
def _lane_values(x):
    return np.ascontiguousarray(x).reshape(-1)


@register_jitable
def _extreme_grad_spread(g, ans, a, axis, keepdims):
    mask = a == runtime.expand_reduced(ans, a, axis, keepdims)
    ties = runtime.expand_reduced(runtime.reduce_sum(mask, axis), a, axis, False)
    return runtime.expand_reduced(g, a, axis, keepdims) * mask / ties


@overload(runtime.extreme_grad)
def _extreme_grad(g, ans, a, axis, keepdims):
    # one pass to count the ties and one to share g, instead of a mask, a sum of it,
    # three arrays spread out and two products
    keep = _keepdims(keepdims)
    if keep is None:
        return lambda g, ans, a, axis, keepdims: numba.literally(keepdims)
    if not _is_array(a) or not isinstance(a.dtype, types.Float) \
            or not isinstance(getattr(g, "dtype", g), types.Float):
        return _extreme_grad_spread
    scalar_g = not _is_array(g)
    extreme_of = _only_element if _is_array(ans) else _itself
    share_of = _only_element if _is_array(g) else _itself
    if _is_none(axis) or (a.ndim == 1 and isinstance(axis, types.Integer)):
        def whole(g, ans, a, axis, keepdims):
            out = np.empty((1, a.size))
            _share_lane(out, 0, _lane_values(a), extreme_of(ans), share_of(g))
            return out.reshape(a.shape)
        return whole
    if a.ndim != 2 or not isinstance(axis, types.Integer):
        return _extreme_grad_spread

    def matrix(g, ans, a, axis, keepdims):
        k = axis % 2
        lanes = a if k == 1 else a.T
        extremes = _lane_values(ans)
        shares = np.full(lanes.shape[0], g) if scalar_g else _lane_values(g)
        out = np.empty(lanes.shape)
        for i in range(lanes.shape[0]):
            _share_lane(out, i, lanes[i], extremes[i], shares[i])
        return out if k == 1 else np.ascontiguousarray(out.T)
    return matrix


@overload(runtime.reduce_sum)
def _reduce_sum(a, axis):
    if _is_none(axis):
        return lambda a, axis: vector_math.sum(a)
    if isinstance(axis, types.Integer):
        return lambda a, axis: np.sum(a, axis=axis)
    return None


# Writes of arrays into parts of arrays.  ``a[i] = v`` and ``a[i] += v`` with an array
# ``v`` compile Numba's shape check, whose error message's formatting takes 2-3 s to
# compile: loops and in-place array expressions on the part (a view) instead, with the
# same broadcasting, and a copy of ``v`` first where it overlaps the part.
_NOT_BROADCAST = ("could not broadcast the value into the part of the array it is written "
                  "to (jit=False gives NumPy's message, with the shapes)")


def _selects_element(a, index):
    """Whether the basic ``index`` picks one element of ``a`` (not a view)."""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    return len(parts) == a.ndim and all(isinstance(p, types.Integer) for p in parts)


def _part_ndim(a, index):
    """The dimensions of the view ``a[index]`` (a basic index)."""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    return a.ndim - sum(isinstance(p, types.Integer) for p in parts)


def _into_part(a, index, value):
    """Whether ``a[index] = value`` (or ``+= value``) can go through the view ``a[index]``:
    an array ``value`` with no more dimensions than the view."""
    return _is_array(a) and _is_array(value) and _is_basic_index(index) \
        and not _selects_element(a, index) and value.ndim <= _part_ndim(a, index)


@register_jitable
def _extent(a):
    """The bytes ``a``'s elements span, [low, high); empty for an empty array."""
    low = np.int64(a.ctypes.data)
    high = low + a.itemsize
    for k in range(a.ndim):
        if a.shape[k] == 0:
            return low, low
        span = (a.shape[k] - 1) * a.strides[k]
        if span < 0:
            low += span
        else:
            high += span
    return low, high


@register_jitable
def _apart(a, b):
    """Whether ``a`` and ``b`` have no byte in common."""
    a_low, a_high = _extent(a)
    b_low, b_high = _extent(b)
    return a_high <= b_low or b_high <= a_low


@register_jitable
def _check_broadcast(part, value):
    """Raise unless ``value`` broadcasts to ``part``'s shape (Numba's in-place ``+=`` does
    not check: it reads past the end of a shorter value)."""
    lead = part.ndim - value.ndim
    for k in range(value.ndim):
        if value.shape[k] != part.shape[lead + k] and value.shape[k] != 1:
            raise ValueError(_NOT_BROADCAST)


@register_jitable
def _source(part, value):
    """``value``, checked to broadcast to ``part``, and copied first where it overlaps
    ``part`` (writing would change what is still to be read)."""
    _check_broadcast(part, value)
    return value if _apart(part, value) else value.copy()


@register_jitable
def _copy_vector(part, value):
    value = _source(part, value)
    n, m = part.shape[0], value.shape[0]
    for i in range(n):
        part[i] = value[i if m == n else 0]


@register_jitable
def _copy_rows(part, value):
    value = _source(part, value)
    rows, n = part.shape
    m = value.shape[0]
    for i in range(rows):
        for j in range(n):
            part[i, j] = value[j if m == n else 0]


@register_jitable
def _copy_matrix(part, value):
    value = _source(part, value)
    rows, n = part.shape
    value_rows, m = value.shape
    for i in range(rows):
        row = i if value_rows == rows else 0
        for j in range(n):
            part[i, j] = value[row, j if m == n else 0]


def _copy_into(part, value):
    part[...] = value


@overload(_copy_into)
def _copy_into_nopython(part, value):
    case = (part.ndim, value.ndim)
    if case == (1, 1):
        return lambda part, value: _copy_vector(part, value)
    if case == (2, 1):
        return lambda part, value: _copy_rows(part, value)
    if case == (2, 2):
        return lambda part, value: _copy_matrix(part, value)
    return _copy_into        # Numba's own assignment: other dimensions


@overload(runtime.write_at)
def _write_at(a, index, value):
    if not _is_array(a):
        return None
    if _into_part(a, index, value):
        def into_part(a, index, value):
            _copy_into(a[index], value)
        return into_part

    def element(a, index, value):
        a[index] = value
    return element


@overload(runtime.scatter_add_to)
def _scatter_add_to(out, index, g):
    if not _is_array(out):
        return None
    if _into_part(out, index, g):
        def into_part(out, index, g):
            part = out[index]
            part += _source(part, g)
            return out
        return into_part
    if isinstance(g, _SCALARS) and _is_basic_index(index) and not _selects_element(out, index):
        def fill_part(out, index, g):
            part = out[index]
            part += g
            return out
        return fill_part
    if _is_basic_index(index):
        def basic(out, index, g):
            out[index] += g
            return out
        return basic
    if _is_array(index) and index.ndim == 1 and isinstance(index.dtype, types.Integer):
        def gather(out, index, g):
            for k in range(index.size):
                out[index[k]] += g[k]
            return out
        return gather
    return None


@overload(runtime.scatter_add)
def _scatter_add(like, index, g):
    if not _is_array(like):
        return None
    return lambda like, index, g: runtime.scatter_add_to(np.zeros(like.shape), index, g)


@overload(runtime.reshape_like)
def _reshape_like(g, like):
    if _is_array(like):
        return lambda g, like: np.ascontiguousarray(g).reshape(like.shape)
    if _is_array(g):
        return lambda g, like: vector_math.sum(g)
    return lambda g, like: g


def _matmul_case(a, b):
    nd = lambda t: t.ndim if _is_array(t) else 0  # noqa: E731
    return nd(a), nd(b)


@overload(runtime.matmul_lhs)
def _matmul_lhs(g, a, b):
    case = _matmul_case(a, b)
    if case == (2, 2):
        return lambda g, a, b: g @ b.T
    if case == (2, 1):
        return lambda g, a, b: np.outer(g, b)
    if case == (1, 2):
        return lambda g, a, b: b @ g
    if case == (1, 1):
        return lambda g, a, b: g * b
    if 0 in case:
        return lambda g, a, b: runtime.unbroadcast(g * b, a)
    return None


@overload(runtime.matmul_rhs)
def _matmul_rhs(g, a, b):
    case = _matmul_case(a, b)
    if case == (2, 2):
        return lambda g, a, b: a.T @ g
    if case == (2, 1):
        return lambda g, a, b: a.T @ g
    if case == (1, 2):
        return lambda g, a, b: np.outer(a, g)
    if case == (1, 1):
        return lambda g, a, b: g * a
    if 0 in case:
        return lambda g, a, b: runtime.unbroadcast(g * a, b)
    return None


@register_jitable
def _prod_others_flat(x):
    flat = np.ascontiguousarray(x).reshape(-1)
    n = flat.size
    left = np.ones(n)
    right = np.ones(n)
    for i in range(1, n):
        left[i] = left[i - 1] * flat[i - 1]
    for i in range(n - 2, -1, -1):
        right[i] = right[i + 1] * flat[i + 1]
    return (left * right).reshape(x.shape)


@overload(runtime.prod_others)
def _prod_others(x, axis):
    if isinstance(x, _SCALARS):
        return lambda x, axis: 1.0
    if not _is_array(x):
        return None
    if _is_none(axis) or x.ndim == 1:
        return lambda x, axis: _prod_others_flat(x)
    if isinstance(axis, types.Integer):
        def along(x, axis):
            lanes = _lanes(x, axis % x.ndim)
            out = np.empty(lanes.shape)
            for i in range(lanes.shape[0]):
                for j in range(lanes.shape[2]):
                    out[i, :, j] = _prod_others_flat(lanes[i, :, j])
            return out.reshape(x.shape)
        return along
    return None


@overload(runtime.cumsum_grad)
def _cumsum_grad(g, x, axis):
    if not _is_array(g) or not _is_array(x):
        return None
    if _is_none(axis) or x.ndim == 1:
        def impl(g, x, axis):
            flat = np.ascontiguousarray(g).reshape(-1)
            return np.ascontiguousarray(np.cumsum(flat[::-1])[::-1]).reshape(x.shape)
        return impl
    if isinstance(axis, types.Integer):
        def along(g, x, axis):
            lanes = _lanes(g, axis % g.ndim)
            out = np.empty(lanes.shape)
            for i in range(lanes.shape[0]):
                for j in range(lanes.shape[2]):
                    total = 0.0
                    for m in range(lanes.shape[1] - 1, -1, -1):
                        total += lanes[i, m, j]
                        out[i, m, j] = total
            return out.reshape(x.shape)
        return along
    return None


@overload(runtime.transpose_grad)
def _transpose_grad(g, axes):
    if _is_none(axes):
        return lambda g, axes: np.transpose(g)
    return None


@overload(runtime.concat_part)
def _concat_part(g, arrays, axis, part):
    if not isinstance(arrays, types.UniTuple) or _is_none(axis):
        return None

    if _is_array(g) and g.ndim == 1:
        # one axis to slice: np.moveaxis would cost ten times the slice
        def flat(g, arrays, axis, part):
            start = 0
            for j in range(part):
                start += arrays[j].shape[0]
            return g[start:start + arrays[part].shape[0]]
        return flat

    def impl(g, arrays, axis, part):
        start = 0
        for j in range(part):
            start += arrays[j].shape[axis]
        stop = start + arrays[part].shape[axis]
        return np.moveaxis(np.moveaxis(g, axis, 0)[start:stop], 0, axis)
    return impl


@overload(runtime.stack_part)
def _stack_part(g, axis, part):
    if not _is_array(g):
        return None
    if g.ndim == 1:
        return lambda g, axis, part: g[part]
    return lambda g, axis, part: np.moveaxis(g, axis, 0)[part]


@overload(runtime.trip_count)
def _trip_count(start, stop, step):
    def impl(start, stop, step):
        if step > 0:
            return max(0, (stop - start + step - 1) // step)
        return max(0, (start - stop - step - 1) // -step)
    return impl


@overload(runtime.stack_alloc)
def _stack_alloc(n, like):
    if _is_array(like):
        return lambda n, like: np.empty((n,) + like.shape, dtype=like.dtype)
    if isinstance(like, types.Boolean):
        return lambda n, like: np.empty(n, dtype=np.bool_)
    if isinstance(like, types.Integer):
        return lambda n, like: np.empty(n, dtype=np.int64)
    if isinstance(like, _SCALARS):
        return lambda n, like: np.empty(n)
    return None


@overload(runtime.shape_of)
def _shape_of(value):
    if _is_array(value):
        return lambda value: np.array(value.shape, dtype=np.int64)
    if isinstance(value, _SCALARS):
        return lambda value: np.empty(0, dtype=np.int64)
    return None


@register_jitable
def _write_shape(stack, k, shape):
    for j in range(len(shape)):
        stack[k, j] = shape[j]


def _scalar_or_array(t, scalar, array):
    """``scalar`` for a number, ``array`` (called with the array type) for an array."""
    if isinstance(t, _SCALARS):
        return scalar
    return array(t) if _is_array(t) else None


def _push_array_shape(t):
    ndim = t.ndim

    def impl(stack, k, value):
        if k == stack.shape[0]:
            grown = np.empty((2 * k + 1, ndim), dtype=stack.dtype)
            grown[:k] = stack
            stack = grown
        _write_shape(stack, k, value.shape)
        return stack
    return impl


# A scalar's shape is never stored or read back (shape_at returns the scalar itself):
# in a loop over scalars, storing shapes costs nothing.
@overload(runtime.push_shape, inline="always")
def _push_shape(stack, k, value):
    return _scalar_or_array(value, lambda stack, k, value: stack, _push_array_shape)


@overload(runtime.store_shape, inline="always")
def _store_shape(stack, k, value):
    return _scalar_or_array(value, lambda stack, k, value: None,
                            lambda t: lambda stack, k, value: _write_shape(stack, k, value.shape))


@overload(runtime.shape_at, inline="always")
def _shape_at(stack, k, like):
    return _scalar_or_array(like, lambda stack, k, like: like,
                            lambda t: lambda stack, k, like: runtime.shape_proxy(stack[k], like))


@overload(runtime.shape_proxy)
def _shape_proxy(shape, like):
    if _is_array(like) and like.ndim == 0:
        return lambda shape, like: np.broadcast_to(np.zeros((), like.dtype), ())
    if _is_array(like):
        ndim, stand_in = like.ndim, _stand_in_of(like.ndim)
        return lambda shape, like: stand_in(to_fixed_tuple(shape, ndim), np.zeros(1, like.dtype))
    if isinstance(like, _SCALARS):
        return lambda shape, like: like
    return None


def _keepdims(t):
    """The value of a literal ``keepdims`` argument; None when Numba must be asked for it."""
    if isinstance(t, types.Omitted):
        return bool(t.value)
    if isinstance(t, types.BooleanLiteral):
        return t.literal_value
    return None


def _along(reduce_whole, reduce_lane=None):
    """The nopython implementation of a reduction along an axis, given the 1-D reduction
    of a whole array (or vector) and, where it differs, of the lanes along an axis."""
    reduce_lane = reduce_lane or reduce_whole

    def typer(a, axis, keepdims):
        keep = _keepdims(keepdims)
        if keep is None:
            return lambda a, axis, keepdims: numba.literally(keepdims)
        if not _is_array(a):
            return lambda a, axis, keepdims: reduce_whole(np.array([a]))
        nd = a.ndim
        if _is_none(axis):
            ones = (1,) * nd
            if nd == 1 and not keep:       # a vector is its own lane: no copy, no reshape
                return lambda a, axis, keepdims: reduce_whole(a)
            # a C-ordered array is one lane as it is, a Fortran-ordered one transposed
            # (its memory's order, NumPy's); ascontiguousarray copies others
            flat = {"C": lambda a: a.reshape(-1), "F": lambda a: a.T.reshape(-1)}.get(
                a.layout, lambda a: np.ascontiguousarray(a).reshape(-1))
            flat = register_jitable(flat)
            if keep:
                return lambda a, axis, keepdims: np.full(ones, reduce_whole(flat(a)))
            return lambda a, axis, keepdims: reduce_whole(flat(a))
        if not isinstance(axis, types.Integer):
            return None
        if nd == 1 and not keep:
            def vector(a, axis, keepdims):
                _check_axis(axis, 1)
                return reduce_whole(np.ascontiguousarray(a))
            return vector
        if nd == 2:
            return _along_matrix(reduce_lane, keep)
        out_nd = nd if keep else nd - 1

        def impl(a, axis, keepdims):
            _check_axis(axis, nd)
            k = axis % nd
            lanes = _lanes(a, k)
            out = np.empty((lanes.shape[0], lanes.shape[2]))
            for i in range(lanes.shape[0]):
                for j in range(lanes.shape[2]):
                    out[i, j] = reduce_lane(np.ascontiguousarray(lanes[i, :, j]))
            return out.reshape(to_fixed_tuple(_reduced_shape(a, k, keep), out_nd))
        return impl
    return typer


def _along_matrix(reduce_lane, keep):
    """A reduction along a matrix's rows or columns: its lanes as views, no copies, and
    a fraction of the general version's compile time."""
    def rows_or_columns(a, axis):
        _check_axis(axis, 2)
        k = axis % 2
        n = a.shape[1 - k]
        out = np.empty(n)
        if k == 1:
            for i in range(n):
                out[i] = reduce_lane(a[i])
        else:
            for i in range(n):
                out[i] = reduce_lane(a[:, i])
        return out, k
    rows_or_columns = register_jitable(rows_or_columns)
    if not keep:
        return lambda a, axis, keepdims: rows_or_columns(a, axis)[0]

    def kept(a, axis, keepdims):
        out, k = rows_or_columns(a, axis)
        return out.reshape((out.size, 1)) if k == 1 else out.reshape((1, out.size))
    return kept


@register_jitable
def _check_axis(axis, nd):
    if not -nd <= axis < nd:      # (a constant message: formatting one costs compile time)
        raise ValueError("axis out of range for the array (jit=False gives NumPy's message)")


@register_jitable
def _norm_lane(v):
    # NumPy's norm of a vector is sqrt(x . x), unscaled: the same sum, without an array
    total = 0.0
    for i in range(v.shape[0]):
        total += abs(v[i]) ** 2
    return np.sqrt(total)


# a sum of the whole array in NumPy's order (pairwise); along an axis, Numba's, an
# element at a time (NumPy's order across the contiguous axis; along it, pairwise, but
# a pairwise sum per short lane made the GMM's primal half as slow again)
for _helper, _reductions in ((runtime.sum_along, (vector_math.sum, np.sum)),
                             (runtime.mean_along, (vector_math.mean, np.mean)),
                             (runtime.prod_along, (np.prod,)), (runtime.max_along, (np.max,)),
                             (runtime.min_along, (np.min,))):
    overload(_helper)(_along(*_reductions))

_norm_along_float64 = _along(_norm_lane)


@overload(runtime.norm_along)
def _norm_along(a, axis, keepdims):
    # the loop sums in float64: other dtypes (int64 would wrap, float32 would come back
    # float64) keep Numba's own norm, or, with an axis, run as Python
    if _is_array(a) and a.dtype != types.float64:
        if _is_none(axis) and _keepdims(keepdims) is False:
            return lambda a, axis, keepdims: np.linalg.norm(a)
        return None
    return _norm_along_float64(a, axis, keepdims)


@overload(runtime.cumsum_along)
def _cumsum_along(a, axis):
    if not _is_array(a):
        return None
    if _is_none(axis):
        return lambda a, axis: np.cumsum(a)
    if not isinstance(axis, types.Integer):
        return None
    nd = a.ndim

    def impl(a, axis):
        _check_axis(axis, nd)
        k = axis % nd
        lanes = _lanes(a, k)
        out = np.empty(lanes.shape)
        for i in range(lanes.shape[0]):
            for j in range(lanes.shape[2]):
                total = 0.0
                for m in range(lanes.shape[1]):
                    total += lanes[i, m, j]
                    out[i, m, j] = total
        return out.reshape(a.shape)
    return impl


@overload(runtime.check_length)
def _check_length(value, n):
    def impl(value, n):
        if len(value) != n:
            raise ValueError("cannot unpack a value of another length")
        return n
    return impl


@overload(runtime.undo_alloc)
def _undo_alloc(like):
    if not _is_array(like):
        return None
    return lambda like: (np.empty(8, dtype=like.dtype), np.empty(8, dtype=np.int64))


@overload(runtime.log_write)
def _log_write(values, offsets, n, array, index):
    if not _is_array(array):
        return None
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    if array.ndim == 2 and isinstance(index, types.Integer):
        def row(values, offsets, n, array, index):      # each element of the row
            i = index % array.shape[0]
            for j in range(array.shape[1]):
                values = runtime.stack_push(values, n, array[i, j])
                offsets = runtime.stack_push(offsets, n, i * array.shape[1] + j)
                n += 1
            return values, offsets, n
        return row
    if len(parts) != array.ndim or not all(isinstance(p, types.Integer) for p in parts):
        return None
    ndim = array.ndim

    @register_jitable
    def push(values, offsets, n, array, index, offset):
        values = runtime.stack_push(values, n, array[index])
        offsets = runtime.stack_push(offsets, n, offset)
        return values, offsets, n + 1

    if isinstance(index, types.Integer):
        return lambda values, offsets, n, array, index: push(
            values, offsets, n, array, index, index % array.shape[0])

    def impl(values, offsets, n, array, index):
        offset = 0
        for j in range(ndim):
            offset = offset * array.shape[j] + index[j] % array.shape[j]
        return push(values, offsets, n, array, index, offset)
    return impl


@overload(runtime._grown)
def _grown(stack, n):
    if _is_array(stack) and stack.layout == "C":
        def grown_flat(stack, n):
            grown = np.empty((n,) + stack.shape[1:], dtype=stack.dtype)
            into, entries = grown.reshape(-1), stack.reshape(-1)
            for i in range(entries.shape[0]):
                into[i] = entries[i]
            return grown
        return grown_flat
    return None


register_jitable(runtime.undo_writes)


# Pushes are inlined into the generated code: a stack handed back by a call is counted
# in and out again (NRT's reference counts: 12 ns of a 20 ns push of a number), which
# the inlined code does only when the stack grows.
@overload(runtime.stack_push, inline="always")
def _stack_push(stack, k, value):
    if not _is_array(stack):
        return None

    def push(stack, k, value):
        if k >= stack.shape[0]:
            stack = runtime._grown(stack, 2 * k + 1)
        runtime.stack_store(stack, k, value)
        return stack
    return push


@overload(runtime.run_push, inline="always")
def _run_push(stack, k, value):
    if not _is_array(stack):
        return None
    if not (_is_array(value) and value.ndim == stack.ndim - 1):
        return lambda stack, k, value: runtime.stack_push(stack, k, value)

    def push(stack, k, value):
        if stack.shape[1:] != value.shape:
            raise runtime.RunShapeChanged("a nested loop's runs carry values of "
                                          "different shapes")
        return runtime.stack_push(stack, k, value)
    return push


@register_jitable
def _changed_shape():
    raise CarriedValueError("a value a loop carries changed shape between iterations "
                            "(jit=False gives the shapes)")


@register_jitable
def _kept_shape_changed():
    raise runtime.RunShapeChanged("a value a loop keeps for its adjoint changed shape")


@overload(runtime.stack_store)
def _stack_store(stack, k, value):
    return _store_entry(stack, value, _changed_shape)


@overload(runtime.keep_store)
def _keep_store(stack, k, value):
    return _store_entry(stack, value, _kept_shape_changed)


def _store_entry(stack, value, shape_changed):
    """``stack[k] = value`` (compiled), calling ``shape_changed`` for a value of another
    shape than the stack's entries."""
    if not _is_array(stack):
        return None
    if not _is_array(value) and stack.ndim == 1:
        if isinstance(stack.dtype, (types.Integer, types.Boolean)) and \
                isinstance(value, types.Float):
            def integer(stack, k, value):
                stack[k] = value
                if stack[k] != value:
                    raise CarriedValueError("a value a loop carries started as an integer "
                                            "and went on as a float: start it as a float "
                                            "(0.0, not 0)")
            return integer

        def number(stack, k, value):
            stack[k] = value
        return number
    if not _is_array(value) or value.ndim != stack.ndim - 1:
        return lambda stack, k, value: shape_changed()

    def entry(stack, k, value):
        if stack.shape[1:] != value.shape:
            shape_changed()
        into = stack[k]
        if value.ndim == 1:                   # (stacks own their memory: no overlap)
            for i in range(value.shape[0]):
                into[i] = value[i]
        elif value.ndim == 2:
            for i in range(value.shape[0]):
                for j in range(value.shape[1]):
                    into[i, j] = value[i, j]
        else:
            _copy_into(into, value)
    return entry
register_jitable(runtime.assign_at)
register_jitable(runtime.zero_at)


def _ndim(t):
    return t.ndim if _is_array(t) else 0


# Stand-ins are zero-strided views of one zero made with as_strided: np.broadcast_to
# and np.broadcast_shapes cost 0.4-0.8 s more to compile, for every kind of argument.
def _zero_strided(nd):
    """A function of a shape tuple (``nd`` long) and a one-element array of zero: the
    zero-strided stand-in of that shape."""
    strides = (0,) * nd

    def stand_in(shape, zero):
        return as_strided(zero, shape=shape, strides=strides)
    return register_jitable(stand_in)


_ZERO_STRIDED = {nd: _zero_strided(nd) for nd in range(1, 5)}


def _stand_in_of(nd):
    return _ZERO_STRIDED.get(nd) or _zero_strided(nd)


@register_jitable
def _broadcast_over(out, a_shape, b_shape):
    """np.broadcast_shapes of two shapes, written over ``out``, the longer of the two (a
    tuple: an array of the shape would cost an allocation, as much as a small array's
    arithmetic)."""
    nd, na, nb = len(out), len(a_shape), len(b_shape)
    for k in range(nd):
        m = a_shape[k - nd + na] if k >= nd - na else 1
        n = b_shape[k - nd + nb] if k >= nd - nb else 1
        if m != n and m != 1 and n != 1:
            raise ValueError("shape mismatch: objects cannot be broadcast to a single shape")
        out = tuple_setitem(out, k, m if n == 1 else n)
    return out


@register_jitable
def _viewed(a):
    """What a stand-in of ``a``'s values is a zero-strided view of: ``a``'s first element
    when ``a`` is small (its memory is nothing to keep alive, and a new zero would cost
    as much as the arithmetic the stand-in is for: 20 ns on the D-LSTM cell's 14
    elements), else a new zero."""
    if 0 < a.size <= 64:
        return as_strided(a, shape=(1,), strides=(0,))
    return np.zeros(1)


@register_jitable
def _viewed_first(a, b):
    return _viewed(a)


@register_jitable
def _viewed_second(a, b):
    return _viewed(b)


@register_jitable
def _new_zero(a, b):
    return np.zeros(1)


def _float_array(t):
    return _is_array(t) and t.dtype == types.float64 and t.mutable


@overload(runtime.broadcast_stand_in)
def _broadcast_stand_in(a, b):
    nd = max(_ndim(a), _ndim(b))
    if nd == 0:
        return lambda a, b: 0.0
    stand_in = _stand_in_of(nd)
    source = _viewed_first if _float_array(a) else _viewed_second if _float_array(b) \
        else _new_zero
    if _ndim(b) == 0:
        return lambda a, b: stand_in(a.shape, source(a, b))
    if _ndim(a) == 0:
        return lambda a, b: stand_in(b.shape, source(a, b))
    if _ndim(a) == nd:
        return lambda a, b: stand_in(_broadcast_over(a.shape, a.shape, b.shape), source(a, b))
    return lambda a, b: stand_in(_broadcast_over(b.shape, a.shape, b.shape), source(a, b))


@overload(runtime.reduced_stand_in)
def _reduced_stand_in(a, axis, keepdims):
    keep = _keepdims(keepdims)
    if keep is None:
        return lambda a, axis, keepdims: numba.literally(keepdims)
    nd = _ndim(a)
    if _is_none(axis):
        if keep and nd:
            ones, stand_in = (1,) * nd, _stand_in_of(nd)
            return lambda a, axis, keepdims: stand_in(ones, np.zeros(1))
        return lambda a, axis, keepdims: 0.0
    if not isinstance(axis, types.Integer) or nd == 0:
        return None
    out_nd = nd if keep else nd - 1
    stand_in = _stand_in_of(max(out_nd, 1))

    def impl(a, axis, keepdims):
        _check_axis(axis, nd)
        if out_nd == 0:
            return 0.0
        return stand_in(to_fixed_tuple(_reduced_shape(a, axis % nd, keep), out_nd),
                        np.zeros(1))
    return impl


@overload(runtime.matmul_stand_in)
def _matmul_stand_in(a, b):
    shapes = (_ndim(a), _ndim(b))
    vector, matrix = _stand_in_of(1), _stand_in_of(2)
    if shapes == (1, 1):
        def impl(a, b):
            _check_inner(a.shape[0], b.shape[0])
            return 0.0
    elif shapes == (2, 1):
        def impl(a, b):
            _check_inner(a.shape[1], b.shape[0])
            return vector((a.shape[0],), np.zeros(1))
    elif shapes == (1, 2):
        def impl(a, b):
            _check_inner(a.shape[0], b.shape[0])
            return vector((b.shape[1],), np.zeros(1))
    elif shapes == (2, 2):
        def impl(a, b):
            _check_inner(a.shape[1], b.shape[0])
            return matrix((a.shape[0], b.shape[1]), np.zeros(1))
    else:
        return None
    return impl


@register_jitable
def _check_inner(n, m):
    if n != m:          # (a constant message: formatting one costs seconds of compile)
        raise ValueError("matmul: the operands' core dimensions differ "
                         "(jit=False gives NumPy's message)")


@overload(runtime.copy_of)
def _copy_of(value):
    if _is_array(value):
        return lambda value: value.copy()
    return lambda value: value


def _numbers_vector(t):
    """Whether ``t`` is the type of a 1-D array of real numbers (``runtime.vector_length``)."""
    return _is_array(t) and t.ndim == 1 and isinstance(t.dtype, (types.Float, types.Integer))


@overload(runtime.vector_length)
def _vector_length(a):
    if _numbers_vector(a):
        return lambda a: a.shape[0]
    return lambda a: -1


@overload(runtime.vector_like)
def _vector_like(n, like):
    ndim = max((t.ndim for t in like.types if _is_array(t)), default=0)
    if ndim == 0:
        return lambda n, like: 0.0
    if ndim == 1:
        return lambda n, like: np.empty(n)
    ones = (1,) * (ndim - 1)
    return lambda n, like: np.empty((n,) + ones)


@overload(runtime.as_vector)
def _as_vector(a):
    if _is_array(a) and a.ndim == 1:
        return lambda a: a
    return lambda a: np.empty(0)


@overload(runtime.row_of)
def _row_of(a, index):
    return lambda a, index: runtime.as_vector(a[index])


@overload(runtime.slice_start)
def _slice_start(a, lo, hi, n):
    if not _numbers_vector(a):
        return lambda a, lo, hi, n: -1

    def impl(a, lo, hi, n):
        start, stop, _ = slice(lo, hi).indices(a.shape[0])
        return start if max(stop - start, 0) == n else -1
    return impl


@register_jitable
def _loop_not_taken():
    raise runtime.ElementLoopNotTaken("an element loop's arrays are not 1-D arrays of one length")


@overload(runtime.element_loop_not_taken)
def _element_loop_not_taken():
    return lambda: _loop_not_taken()

