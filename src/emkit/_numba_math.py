"""Vectorisable elementary functions for numba kernels.

numba compiles ``math.exp`` to a scalar library call, which keeps the loops around it from
vectorising. The E-steps of every model exponentiate log-probabilities by the million, so
this module supplies an exp built from arithmetic that LLVM turns into SIMD code: Cody-Waite
range reduction, a degree-12 Taylor polynomial evaluated by Estrin's scheme (relative error
below 4e-16), and the power of two assembled from its IEEE-754 bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: 1.5 * 2**52: adding it to an integral float puts the integer in the low mantissa bits.
_MAGIC = 6755399441055744.0
_MAGIC_BITS = int(np.array(_MAGIC).view(np.int64))
#: Below this the result is treated as exactly zero (exp(-700) ~ 1e-304).
EXP_MIN_ARG = -700.0


@njit(cache=True, inline="always", fastmath={"contract"})
def exp_nonpositive(x, out, scratch, n):
    """``out[:n] = exp(x[:n])`` for ``x <= 0`` (below EXP_MIN_ARG gives 0), vectorised.

    ``scratch`` is a float64 array of length >= n. Only FMA contraction is allowed: re-association
    would undo the range reduction.
    """
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
