"""``np.exp``, ``np.tanh``, ``np.log`` and ``np.log1p`` for compiled code, written so
that LLVM vectorises them.

Numba computes ``np.exp(a)`` and the others one element at a time with the C
library's functions, which no compiler can vectorise: on a 32 x 64 array ``np.tanh``
takes 20 us compiled against NumPy's 4 us (NumPy and XLA use SIMD versions).  The
functions here are plain arithmetic: ``exp`` from a table of ``2^(j/64)``, a short
polynomial and a power of two made from its bits, ``tanh`` as ``e / (e + 2)`` with
``e = expm1(2|x|)`` computed the same way, ``log`` as fdlibm's (the exponent from the
bits, a polynomial in ``s = f / (2 + f)`` for the mantissa ``1 + f``), ``log1p(x)`` as
``log(u) x / (u - 1)`` with ``u = 1 + x``.  The loop Numba writes for an array
expression then runs 4 or 8 elements at a time: 4 us for that tanh.  They are Numba
ufuncs, so ``1.0 / (1.0 + np.exp(-x))`` still fuses into one loop (but not two of them
into one loop: see ``srcdiff/emit/fuse.py``).  All are written without branches
(selects only): with a branch LLVM keeps the loop scalar.

The generated module's compiled copy sees ``np`` as ``NUMPY``: NumPy with these four
in place of its own (the Python copy, and everything else, is NumPy's).  Results are
within 1 (exp, log), 2 (log1p) and 3 (tanh) units in the last place of NumPy's for
float64; NaN, infinities, overflow to inf, underflow through the subnormals to 0, the
logarithms of 0, of negative numbers and of subnormals, and the sign of zero are
NumPy's.  Complex arguments get ``cmath``'s functions (``log1p(z)``: ``log(1 + z)``);
float32 ones are computed in float64.
"""
import cmath
import decimal
import math
import types as pytypes

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ..emit.fuse import VECTORISED
from .helper_cache import overload      # first: its cache locator serves the ufuncs below

_64_OVER_LN2 = 64 / math.log(2)
_LN2_HI_64 = 6.93147180369123816490e-01 / 64    # ln 2 / 64 in two parts (Cody and Waite):
_LN2_LO_64 = 1.90821492927058770002e-10 / 64    # k * _LN2_HI_64 is exact for the k used


def _powers_of_two_64ths():
    """2^(j/64) for j < 64 as the nearest doubles, and what each misses by (to 40 digits)."""
    with decimal.localcontext() as context:
        context.prec = 40
        exact = [decimal.Decimal(2) ** (decimal.Decimal(j) / 64) for j in range(64)]
        nearest = [float(v) for v in exact]
        return np.array(nearest), np.array([float(v - decimal.Decimal(f))
                                            for v, f in zip(exact, nearest, strict=True)])


_TWO_TO_J_64, _TWO_TO_J_64_LOW = _powers_of_two_64ths()
_EXP_MAX, _EXP_MIN = 709.79, -745.14            # exp(x) is inf above, 0 below


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (a register move)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@numba.njit(inline="always", error_model="numpy")
def _exp(x):
    xc = min(max(x, _EXP_MIN), _EXP_MAX)
    k = np.floor(xc * _64_OVER_LN2 + 0.5)       # x = (64 m + j) ln 2 / 64 + r, |r| <= ln 2 / 128
    r = (xc - k * _LN2_HI_64) - k * _LN2_LO_64
    n = np.int64(k)
    m, j = n >> 6, n & 63
    # exp(r) - 1 to r^5 / 5!: the rest is below a third of an ulp on |r| <= 0.0055
    p = r + r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))))
    t = _TWO_TO_J_64[j]
    half = m >> 1                               # 2^m in two factors: each a normal number,
    scaled = ((t + t * p) * _float_from_bits((half + 1023) << 52)   # subnormals round once
              * _float_from_bits((m - half + 1023) << 52))
    if x != x:
        return x
    if x > _EXP_MAX:
        return np.inf
    return 0.0 if x < _EXP_MIN else scaled


@numba.njit(inline="always", error_model="numpy")
def _tanh(x):
    # tanh |x| = e / (e + 2) with e = expm1(2 |x|), for every |x|: one path, no branch
    y = min(abs(x), 22.0) * 2.0                 # tanh is 1 to the last bit beyond 19.1
    k = np.floor(y * _64_OVER_LN2 + 0.5)
    r = (y - k * _LN2_HI_64) - k * _LN2_LO_64
    n = np.int64(k)
    # exp(r) - 1 to r^7 / 7!: tanh near 0 needs it to a fraction of an ulp of itself
    p = r + r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120
                                                       + r * (1 / 720 + r * (1 / 5040))))))
    t, low = _TWO_TO_J_64[n & 63], _TWO_TO_J_64_LOW[n & 63]
    power = _float_from_bits(((n >> 6) + 1023) << 52)
    # expm1(y) = 2^m (t - 1 + low + (t + low) p) + (2^m - 1): t - 1 is exact, low carries
    # the table's rounding, and for y >= 0 nothing cancels (exp(y) - 1 would lose
    # digits near 0)
    e = power * ((t - 1.0) + (low + t * p)) + (power - 1.0)
    q = e / (e + 2.0)
    # one select after another, not branches or copysign: LLVM vectorises only these
    signed = q if x > 0 else -q
    return x if (x != x or x == 0.0) else signed   # NaN, and the sign of a zero, as given


@intrinsic
def _bits_from_float(typingctx, x):
    """The IEEE bits of the float64 ``x`` as an int64 (a register move)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


# log(1 + f) = 2s + s R(s^2) with s = f / (2 + f), R to within 2^-58 (fdlibm's e_log.c)
_LG1, _LG2, _LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_LG4, _LG5, _LG6 = 2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_TINY = 2.2250738585072014e-308                 # the smallest normal number
_MANTISSA, _ONE_BITS = (1 << 52) - 1, 1023 << 52


@numba.njit(inline="always", error_model="numpy")
def _log(x):
    # x = 2^k m with sqrt(2)/2 <= m < sqrt(2); a subnormal x is scaled by 2^54 first
    sub = x < _TINY
    bits = _bits_from_float(x * 18014398509481984.0 if sub else x)
    k = (bits >> 52) - (1023 + 54 if sub else 1023)
    m = _float_from_bits((bits & _MANTISSA) | _ONE_BITS)      # in [1, 2)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    k = k + 1 if big else k
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    half_f2 = 0.5 * f * f
    fk = np.float64(k)
    y = fk * _LN2_HI - ((half_f2 - (s * (half_f2 + r) + fk * _LN2_LO)) - f)
    # NaN, and x <= 0 or inf, as NumPy: one select after another
    y = x if x == np.inf else y
    y = -np.inf if x == 0.0 else y
    return np.nan if (x < 0.0 or x != x) else y


@numba.njit(inline="always", error_model="numpy")
def _log1p(x):
    # log(u) x / (u - 1) with u = 1 + x: the rounding of u cancels (Goldberg, Kahan)
    u = 1.0 + x
    log_u = _log(u)
    y = log_u * (x / (u - 1.0))
    y = x if (u == 1.0 or x == np.inf) else y   # tiny x (and its sign of zero), inf
    return log_u if u == 0.0 else y


@numba.njit(inline="always")
def _complex_log1p(z):
    return cmath.log(1.0 + z)          # as NumPy computes it


def _by_kind(real, complex_):
    """A scalar function taking real arguments to ``real`` (in float64) and complex ones
    to ``complex_``: the kernel of one of the ufuncs below."""
    def scalar(x):
        raise NotImplementedError("runs compiled only")

    @overload(scalar, inline="always")
    def _scalar(x):
        if isinstance(x, types.Complex) and x.bitwidth == 64:
            return lambda x: np.complex64(complex_(x))
        if isinstance(x, types.Complex):
            return lambda x: complex_(x)
        if isinstance(x, types.Float) and x.bitwidth == 32:
            return lambda x: np.float32(real(np.float64(x)))
        return lambda x: real(np.float64(x))
    return scalar


# compiled for each argument type the first time compiled code calls them, and cached
_exp_of, _tanh_of = _by_kind(_exp, cmath.exp), _by_kind(_tanh, cmath.tanh)
_log_of, _log1p_of = _by_kind(_log, cmath.log), _by_kind(_log1p, _complex_log1p)


@numba.vectorize(cache=True)
def exp(x):
    return _exp_of(x)


@numba.vectorize(cache=True)
def tanh(x):
    return _tanh_of(x)


@numba.vectorize(cache=True)
def log(x):
    return _log_of(x)


@numba.vectorize(cache=True)
def log1p(x):
    return _log1p_of(x)


# ------------------------------------------------------- sums in NumPy's order
# Numba sums an array with one accumulator, an element after another: half as fast as
# this, and not NumPy's result.  NumPy sums a float64 vector (and a C- or Fortran-
# ordered array as one, in its memory's order) pairwise: halves (a multiple of 8
# elements long) down to blocks of 128 or fewer, each summed with 8 accumulators;
# written the same way, compiled sums are NumPy's to the last bit.

def _block_sum(a, start, n):
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    whole = n - n % 8
    for i in range(start + 8, start + whole, 8):
        r0, r1, r2, r3 = r0 + a[i], r1 + a[i + 1], r2 + a[i + 2], r3 + a[i + 3]
        r4, r5, r6, r7 = r4 + a[i + 4], r5 + a[i + 5], r6 + a[i + 6], r7 + a[i + 7]
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(start + whole, start + n):
        total += a[i]
    return total


# a block written into each sum (a call per sum of a short lane costs more than the
# sum), the halving compiled on first use and cached, as the ufuncs above
_block_inline = numba.njit(inline="always")(_block_sum)
_sum_block = numba.njit(cache=True)(_block_sum)


@numba.njit(cache=True)
def _pairwise(a):
    """NumPy's ``pairwise(a) = pairwise(first half) + pairwise(rest)``, with a stack of
    its own (Numba's disk cache breaks code that calls a recursive function: it crashes
    when loaded)."""
    n = a.shape[0]
    frames = np.empty((64, 3), np.int64)      # start, length, halves summed so far
    firsts = np.empty(64)                     # the first half's sum, once known
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, n, 0
    depth, value = 1, 0.0                     # value: what the frame last ended gave
    while depth:
        top = depth - 1
        first, length, done = frames[top, 0], frames[top, 1], frames[top, 2]
        if length <= 128:
            value = _sum_block(a, first, length)
            depth -= 1
            continue
        half = length // 2
        half -= half % 8
        if done == 2:
            value = firsts[top] + value
            depth -= 1
            continue
        if done == 1:
            firsts[top] = value
        frames[top, 2] = done + 1
        frames[depth, 0] = first if done == 0 else first + half
        frames[depth, 1] = half if done == 0 else length - half
        frames[depth, 2] = 0
        depth += 1
    return value


@numba.njit(inline="always")
def _vector_sum(v):
    # a vector's view [::1] has any layout's type: _pairwise compiles once a process
    # (each layout's own took 0.4 s of a cold first call)
    n = v.shape[0]
    return _block_inline(v, 0, n) if n <= 128 else _pairwise(v[::1])


def _whole(axis, dtype):
    """Whether neither ``axis`` nor ``dtype`` is given."""
    return all(t is None or isinstance(t, (types.NoneType, types.Omitted)) for t in (axis, dtype))


def _in_numpys_order(a, axis, dtype):
    """Whether np.sum(a) sums ``a`` pairwise: a float64 vector or a C- or Fortran-ordered
    array, whole."""
    return (_whole(axis, dtype) and isinstance(a, types.Array) and a.dtype == types.float64
            and (a.ndim == 1 or a.layout in "CF"))


def sum(a, axis=None, dtype=None):   # noqa: A001  (NUMPY.sum)
    """``np.sum`` for compiled code: a float64 array summed whole in NumPy's order."""
    return np.sum(a, axis=axis, dtype=dtype)


def mean(a, axis=None, dtype=None):
    """``np.mean`` for compiled code: NumPy's sum, divided by the count."""
    return np.mean(a, axis=axis, dtype=dtype)


@overload(sum)
def _sum(a, axis=None, dtype=None):
    if not _in_numpys_order(a, axis, dtype):
        return lambda a, axis=None, dtype=None: np.sum(a, axis=axis, dtype=dtype)
    if a.ndim == 1:
        return lambda a, axis=None, dtype=None: _vector_sum(a)
    if a.layout == "F":
        return lambda a, axis=None, dtype=None: _vector_sum(a.T.reshape(-1))
    return lambda a, axis=None, dtype=None: _vector_sum(a.reshape(-1))


@overload(mean)
def _mean(a, axis=None, dtype=None):
    if not _in_numpys_order(a, axis, dtype):
        plain = isinstance(a, types.Array) and _whole(axis, dtype)     # (Numba's has no axis)
        return (lambda a, axis=None, dtype=None: np.mean(a)) if plain else None
    return lambda a, axis=None, dtype=None: sum(a) / a.size if a.size else np.nan


NUMPY = pytypes.ModuleType("numpy", "NumPy, with srcdiff's vectorised exp, tanh, log, log1p "
                                    "and sums in NumPy's order")
NUMPY.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
NUMPY.__dict__.update({name: globals()[name] for name in VECTORISED})
NUMPY.sum, NUMPY.mean = sum, mean
