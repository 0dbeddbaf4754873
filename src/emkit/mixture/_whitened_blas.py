"""E-step for full covariances at large D, through BLAS.

Each row is whitened once per component, y_k = (x - mu_k) U_k (U_k the precision's
Cholesky factor), a GEMM per component; the Mahalanobis distances are |y_k|^2.
The M-step statistics are accumulated in the data's own coordinates, about the means (a
SYRK per component, half the work of a general product):

    first_k  = sum_i r_ik (x_i - mu_k)
    second_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T

not in the whitened ones mapped back by U_k^{-1}: that map multiplies the round-off of
the whitened sums by the covariance's condition number (1e10 and more when features
outnumber a component's rows and only ``reg_covar`` keeps it positive-definite), enough to
swamp ``reg_covar`` in the directions the rows do not span, and then EM is no longer
monotone.

Rows go in blocks so temporaries stay bounded (rows x components x features per block).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._kernels import flushed_exp


#: Bytes of whitened rows held at once.
BLOCK_BYTES = 16 * 2**20


def _distances(block, means, chols):
    """``(diffs, maha)``: each row minus each mean, (K, rows, D), and the squared
    Mahalanobis distances |(x - mu_k) U_k|^2, (rows, K): one GEMM per component on the
    differences themselves (whitening x and mu_k separately would cancel)."""
    diffs = block[None, :, :] - means[:, None, :]
    maha = np.empty((block.shape[0], means.shape[0]), dtype=block.dtype)
    for k, chol in enumerate(chols):
        Y = diffs[k] @ chol
        maha[:, k] = np.einsum("bd,bd->b", Y, Y)
    return diffs, maha


def _block_rows(n_components, n_features, itemsize):
    return max(64, BLOCK_BYTES // (n_components * n_features * itemsize))


def whitened_e_step(X, sample_weight, means, chols, log_normaliser):
    """``(weight, first, second, loglik)`` for 'full' covariances (chols (K, D, D))."""
    n, D = X.shape
    K = means.shape[0]
    weight = np.zeros(K)
    first = np.zeros((K, D))
    second = np.zeros((K, D, D))
    loglik = 0.0
    rows = _block_rows(K, D, X.itemsize)
    for start in range(0, n, rows):
        diffs, maha = _distances(X[start:start + rows], means, chols)
        log_prob = log_normaliser - 0.5 * maha
        log_norm = logsumexp(log_prob, axis=1)
        resp = flushed_exp(log_prob - log_norm[:, None])
        if sample_weight is not None:
            w = sample_weight[start:start + rows]
            resp *= w[:, None]
            loglik += float(w @ log_norm)
        else:
            loglik += float(log_norm.sum())
        weight += resp.sum(axis=0)
        root = np.sqrt(resp)
        for k in range(K):
            diff = diffs[k].astype(np.float64, copy=False)
            first[k] += resp[:, k] @ diff
            Z = diff * root[:, k:k + 1]
            second[k] += Z.T @ Z  # numpy runs A^T A as SYRK
    return weight, first, second, loglik


def whitened_log_prob(X, means, chols, log_normaliser):
    """Weighted log-densities, shape (n, K), for 'full' covariances at large D."""
    n, D = X.shape
    K = means.shape[0]
    out = np.empty((n, K), dtype=X.dtype)
    rows = _block_rows(K, D, X.itemsize)
    for start in range(0, n, rows):
        _, maha = _distances(X[start:start + rows], means, chols)
        out[start:start + rows] = log_normaliser - 0.5 * maha
    return out
