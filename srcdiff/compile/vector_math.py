"""``np.exp`` and ``np.tanh`` for compiled code, written so that LLVM vectorises them.

Numba computes ``np.exp(a)`` and ``np.tanh(a)`` one element at a time with the C
library's ``exp`` and ``tanh``, which no compiler can vectorise: on a 32 x 64 array
``np.tanh`` takes 20 us compiled against NumPy's 4 us (NumPy and XLA use SIMD
versions).  The functions here are plain arithmetic (a polynomial, a rational
function, a power of two made from its bits), so the loop Numba writes for an array
expression runs 4 or 8 elements at a time: 5 us for that tanh.  They are Numba
ufuncs, so ``1.0 / (1.0 + np.exp(-x))`` still fuses into one loop.

The generated module's compiled copy sees ``np`` as ``NUMPY``: NumPy with these two
in place of its own (the Python copy, and everything else, is NumPy's).  Results are
within 3 units in the last place of NumPy's for float64 (NumPy's own SIMD versions
differ from the correctly rounded values by about 1); NaN, infinities, overflow to
inf, underflow through the subnormals to 0 and the sign of zero are NumPy's.  Complex
arguments get ``cmath``'s functions; float32 ones are computed in float64.
"""
import cmath
import math
import types as pytypes

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

_64_OVER_LN2 = 64 / math.log(2)
_LN2_HI_64 = 6.93147180369123816490e-01 / 64    # ln 2 / 64 in two parts (Cody and Waite):
_LN2_LO_64 = 1.90821492927058770002e-10 / 64    # k * _LN2_HI_64 is exact for the k used
_TWO_TO_J_64 = np.array([2.0 ** (j / 64) for j in range(64)])   # C pow: within 0.52 ulp
_EXP_MAX, _EXP_MIN = 709.79, -745.14            # exp(x) is inf above, 0 below
# tanh on |x| < 0.625: x + x^3 P(x^2) / Q(x^2) (Cephes), relative error < 2.5e-16
_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_Q = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)


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
    ax = min(abs(x), 22.0)                      # tanh is 1 to the last bit beyond 19.1
    s = _exp(2.0 * ax)
    large = 1.0 - 2.0 / (s + 1.0)
    q = x * x
    small = x + x * q * (((_P[0] * q + _P[1]) * q + _P[2]) / (((q + _Q[0]) * q + _Q[1]) * q + _Q[2]))
    # one select after another, not branches or copysign: LLVM vectorises only these
    signed = large if x > 0 else -large
    out = small if ax < 0.625 else signed
    return x if (x != x or x == 0.0) else out   # NaN, and the sign of a zero, as given


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


@numba.vectorize(cache=True)
def exp(x):
    return _exp_of(x)


@numba.vectorize(cache=True)
def tanh(x):
    return _tanh_of(x)


NUMPY = pytypes.ModuleType("numpy", "NumPy, with srcdiff's vectorised exp and tanh")
NUMPY.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
NUMPY.exp, NUMPY.tanh = exp, tanh
