"""Compiled M-steps of 'diag' and 'spherical' mixtures: one call instead of some twenty
array operations, which on a few hundred rows cost more than the arithmetic itself.

The arithmetic is that of ``DiagCovariance.covariances`` / ``SphericalCovariance.covariances``
and ``GaussianMixtureProblem.m_step``, element by element in the same order (sums over
features or components may differ from NumPy's in the last bit), for float64 statistics and
``reg_covar > 0`` (a variance is then at least ``reg_covar``: no zero-variance case to
treat). No fastmath: NaN propagates as in NumPy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: The smallest positive normal float64, the floor of a variance before regularisation.
_TINY = np.finfo(np.float64).tiny
#: Added to every component's weight (scikit-learn's 10 * eps).
_WEIGHT_FLOOR = 10 * np.finfo(np.float64).eps


@njit(cache=True)
def _weights_means_shifts(weight, first, anchor):
    """nk (the floored weights), the mixing weights, the new means and their shifts from
    the anchor."""
    nk = weight + _WEIGHT_FLOOR
    total = 0.0
    for k in range(nk.shape[0]):
        total += nk[k]
    shift = first / nk.reshape(-1, 1)
    return nk, nk / total, anchor + shift, shift


@njit(cache=True)
def _regularised(variances, reg_covar):
    """Variances floored at the smallest normal float plus ``reg_covar`` (in place), and
    the precisions' Cholesky factors 1 / sqrt(variance)."""
    flat = variances.reshape(-1)
    for i in range(flat.shape[0]):
        if flat[i] < _TINY:  # NaN stays NaN, as np.maximum leaves it
            flat[i] = _TINY
        flat[i] += reg_covar
    return variances, 1.0 / np.sqrt(variances)


@njit(cache=True)
def diag_m_step(weight, first, second, anchor, reg_covar):
    """(weights, means, variances (K, D), precisions_cholesky) from 'diag' statistics."""
    nk, weights, means, shift = _weights_means_shifts(weight, first, anchor)
    K, D = first.shape
    variances = np.empty((K, D))
    for k in range(K):
        for d in range(D):
            variances[k, d] = (second[k, d] - 2 * first[k, d] * shift[k, d]
                               + weight[k] * (shift[k, d] * shift[k, d])) / nk[k]
    variances, precisions_cholesky = _regularised(variances, reg_covar)
    return weights, means, variances, precisions_cholesky


@njit(cache=True)
def spherical_m_step(weight, first, second, anchor, reg_covar):
    """(weights, means, variances (K,), precisions_cholesky) from 'spherical' statistics
    (second (K,): the second moments summed over the features)."""
    nk, weights, means, shift = _weights_means_shifts(weight, first, anchor)
    K, D = first.shape
    variances = np.empty(K)
    for k in range(K):
        cross = 0.0
        squares = 0.0
        for d in range(D):
            cross += first[k, d] * shift[k, d]
            squares += shift[k, d] * shift[k, d]
        variances[k] = (second[k] - 2 * cross + weight[k] * squares) / nk[k] / D
    variances, precisions_cholesky = _regularised(variances, reg_covar)
    return weights, means, variances, precisions_cholesky
