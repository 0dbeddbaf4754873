"""Compiled steps of 'diag' and 'spherical' mixtures on small data: one call instead of
some twenty array operations, which on a few hundred rows cost more than the arithmetic.

- The M-step (:func:`diag_m_step`, :func:`spherical_m_step`): the arithmetic of
  ``DiagCovariance.covariances`` / ``SphericalCovariance.covariances`` and
  ``GaussianMixtureProblem.m_step``, element by element in the same order (sums over
  features or components may differ from NumPy's in the last bit), for float64 statistics
  and ``reg_covar > 0`` (a variance is then at least ``reg_covar``: no zero-variance case
  to treat). No fastmath: NaN propagates as in NumPy.
- The E-step (:func:`diagonal_e_step`): the log-normaliser and precisions from the
  parameters, then the serial kernel of ``_kernels.estep_diag`` on every row, for float64
  rows too few to be split across threads and too narrow for the wide kernels.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._kernels import PARALLEL_MIN_ROWS, WIDE_MIN_FEATURES, _estep_diag_rows, tile_rows

#: The smallest positive normal float64, the floor of a variance before regularisation.
_TINY = np.finfo(np.float64).tiny
#: Added to every component's weight (scikit-learn's 10 * eps).
_WEIGHT_FLOOR = 10 * np.finfo(np.float64).eps
_LOG_2PI = math.log(2 * math.pi)


def small_diagonal_rows(X) -> bool:
    """Whether :func:`diagonal_e_step` takes these rows: float64, fewer than the parallel
    kernels' minimum, fewer features than the wide kernels'."""
    return (X.dtype == np.float64 and X.shape[0] < PARALLEL_MIN_ROWS
            and X.shape[1] < WIDE_MIN_FEATURES)


def diagonal_e_step(X, sample_weight, weights, means, precisions_cholesky):
    """``(weight, first, second, loglik)`` of float64 rows (see :func:`small_diagonal_rows`)
    under a 'diag' ((K, D) precisions_cholesky) or 'spherical' ((K,)) mixture; ``second``
    holds per-feature moments (the caller sums them for 'spherical'); ``sample_weight``
    an empty array when rows are unweighted."""
    K, D = means.shape
    return _diagonal_e_step(X, sample_weight, weights, means,
                            precisions_cholesky.reshape(K, -1), tile_rows(K, D, 8))


@njit(cache=True)
def _diagonal_e_step(X, w, weights, means, precisions_cholesky, tile):
    """The log-normaliser (log weight - D/2 log 2 pi + log det of the precision's factor)
    and the per-feature precisions, as ``CovarianceModel.log_normaliser`` and the
    parametrisations compute them, then the E-step kernel over all rows."""
    K, D = means.shape
    spherical = precisions_cholesky.shape[1] == 1
    log_const = np.empty(K)
    precisions = np.empty((K, D))
    for k in range(K):
        if spherical:
            log_det = D * np.log(precisions_cholesky[k, 0])
        else:
            log_det = 0.0
            for d in range(D):
                log_det += np.log(precisions_cholesky[k, d])
        log_const[k] = np.log(weights[k]) - 0.5 * D * _LOG_2PI + log_det
        for d in range(D):
            factor = precisions_cholesky[k, 0] if spherical else precisions_cholesky[k, d]
            precisions[k, d] = factor * factor
    weight = np.zeros(K)
    first = np.zeros((K, D))
    second = np.zeros((K, D))
    loglik = _estep_diag_rows(X, w, means, precisions, log_const, tile, 0, X.shape[0],
                              weight, first, second)
    return weight, first, second, loglik


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
