"""Vectorisable elementary functions for numba kernels.

numba compiles ``math.exp`` to a scalar library call, which keeps the loops around it from
vectorising. The E-steps of every model exponentiate log-probabilities by the million, so
this module supplies an exp built from arithmetic that LLVM turns into SIMD code: Cody-Waite
range reduction, a degree-12 Taylor polynomial evaluated by Estrin's scheme (relative error
below 4e-16), and the power of two assembled from its IEEE-754 bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: 1.5 * 2**52: adding it to an integral float puts the integer in the low mantissa bits.
_MAGIC = 6755399441055744.0
_MAGIC_BITS = int(np.array(_MAGIC).view(np.int64))
#: Below this the result is treated as exactly zero (exp(-700) ~ 1e-304).
EXP_MIN_ARG = -700.0


def exp_nonpositive(x, out, scratch, n):
    """``out[:n] = exp(x[:n])`` for ``x <= 0``, vectorised, in the arrays' precision.

    ``scratch`` is an array of x's dtype and length >= n. Results below the smallest normal
    number are 0. Only FMA contraction is allowed: re-association would undo the range
    reduction. (A numba overload: the float64 or float32 body is chosen at compile time.)
    """
    raise NotImplementedError("exp_nonpositive is called from numba-compiled code")


#: log of the smallest responsibility kept, per precision: below it a responsibility is set
#: to zero. In float32, exp(-50) ~ 2e-22 keeps every product of a kept responsibility with
#: squared deviations clear of the subnormal range, whose arithmetic is many times slower;
#: such a responsibility changes no float32 sum it enters.
LOG_RESP_FLOOR_F64 = -350.0
LOG_RESP_FLOOR_F32 = -50.0


def log_resp_floor(x):
    """The log-responsibility floor for ``x``'s precision (numba-compiled code only)."""
    raise NotImplementedError("log_resp_floor is called from numba-compiled code")


@overload(log_resp_floor, inline="always")
def _log_resp_floor_overload(x):
    if x.dtype == types.float32:
        return lambda x: LOG_RESP_FLOOR_F32
    return lambda x: LOG_RESP_FLOOR_F64


@overload(exp_nonpositive, inline="always", jit_options={"fastmath": {"contract"}})
def _exp_nonpositive_overload(x, out, scratch, n):
    if x.dtype == types.float32:
        return _exp_nonpositive_f32
    return _exp_nonpositive_f64


def _exp_nonpositive_f64(x, out, scratch, n):
    bits = scratch.view(np.int64)
    for t in range(n):
        v = max(x[t], EXP_MIN_ARG)
        k = np.floor(v * _LOG2E + 0.5)
        r = (v - k * _LN2_HI) - k * _LN2_LO
        # Estrin's scheme: a shallow dependency tree instead of a 12-deep Horner chain
        r2 = r * r
        r4 = r2 * r2
        s0 = (1.0 + r) + r2 * (0.5 + r * (1.0 / 6.0))
        s1 = (1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0 + r * (1.0 / 5040.0))
        s2 = ((1.0 / 40320.0 + r * (1.0 / 362880.0))
              + r2 * (1.0 / 3628800.0 + r * (1.0 / 39916800.0)))
        p = s0 + r4 * (s1 + r4 * (s2 + r4 * (1.0 / 479001600.0)))
        out[t] = p
        scratch[t] = k + _MAGIC
    for t in range(n):
        bits[t] = (bits[t] - _MAGIC_BITS + 1023) << 52
    for t in range(n):
        out[t] = out[t] * scratch[t] if x[t] > EXP_MIN_ARG else 0.0


_F = np.float32
_LOG2E_F = _F(_LOG2E)
_LN2_HI_F = _F(0.693359375)
_LN2_LO_F = _F(-2.12194440e-4)
_MAGIC_F = _F(12582912.0)  # 1.5 * 2**23
_MAGIC_BITS_F = int(np.array(_MAGIC_F).view(np.int32))
EXP_MIN_ARG_F32 = _F(-87.0)
_C = [_F(1.0 / math.factorial(i)) for i in range(8)]
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = _C


def _exp_nonpositive_f32(x, out, scratch, n):
    """float32 twin of _exp_nonpositive_f64: degree-7 polynomial (error below 2e-7), eight
    lanes per AVX register."""
    bits = scratch.view(np.int32)
    for t in range(n):
        v = max(x[t], EXP_MIN_ARG_F32)
        k = np.floor(v * _LOG2E_F + _F(0.5))
        r = (v - k * _LN2_HI_F) - k * _LN2_LO_F
        r2 = r * r
        r4 = r2 * r2
        p = ((_C0 + r * _C1) + r2 * (_C2 + r * _C3)) + r4 * ((_C4 + r * _C5)
                                                           + r2 * (_C6 + r * _C7))
        out[t] = p
        scratch[t] = k + _MAGIC_F
    for t in range(n):
        bits[t] = (bits[t] - _MAGIC_BITS_F + 127) << 23
    for t in range(n):
        out[t] = out[t] * scratch[t] if x[t] > EXP_MIN_ARG_F32 else _F(0.0)
