"""E-step for full covariances at large D, through BLAS.

Each row is whitened once per component, y_k = (x - mu_k) U_k (U_k the precision's
Cholesky factor), with one GEMM for all components. The Mahalanobis distances are |y_k|^2, and
the M-step statistics are accumulated in the whitened coordinates (a SYRK per component,
half the work of a general product) and mapped back with U_k^{-1} once per block:

    first_k  = (sum_i r_ik y_ik) U_k^{-1}
    second_k = U_k^{-T} (sum_i r_ik y_ik y_ik^T) U_k^{-1}

Rows go in blocks so temporaries stay bounded (rows x components x features per block).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._kernels import flushed_exp


#: Bytes of whitened rows held at once.
BLOCK_BYTES = 16 * 2**20


def whitened_e_step(X, sample_weight, means, chols, log_normaliser):
    """``(weight, first, second, loglik)`` for 'full' covariances (chols (K, D, D))."""
    n, D = X.shape
    K = means.shape[0]
    inverse = np.linalg.inv(chols.astype(np.float64))  # U_k^{-1}, upper triangular
    # All components in one product: (x - c) [U_1 .. U_K] - (mu_k - c) U_k, c a centre.
    centre = means.mean(axis=0)
    stacked = np.ascontiguousarray(chols.transpose(1, 0, 2).reshape(D, K * D))
    offsets = np.einsum("kd,kde->ke", means - centre, chols).astype(X.dtype)
    weight = np.zeros(K)
    white_first = np.zeros((K, D))
    white_second = np.zeros((K, D, D))
    loglik = 0.0
    rows = max(64, BLOCK_BYTES // (K * D * X.itemsize))
    for start in range(0, n, rows):
        block = X[start:start + rows] - centre
        Y = (block @ stacked).reshape(-1, K, D)
        Y -= offsets
        log_prob = log_normaliser - 0.5 * np.einsum("bkd,bkd->bk", Y, Y)
        log_norm = logsumexp(log_prob, axis=1)
        resp = flushed_exp(log_prob - log_norm[:, None])
        if sample_weight is not None:
            w = sample_weight[start:start + rows]
            resp *= w[:, None]
            loglik += float(w @ log_norm)
        else:
            loglik += float(log_norm.sum())
        weight += resp.sum(axis=0)
        white_first += np.einsum("bk,bkd->kd", resp, Y)
        root = np.sqrt(resp)
        for k in range(K):
            Z = Y[:, k, :] * root[:, k:k + 1]
            white_second[k] += Z.T @ Z  # numpy runs A^T A as SYRK
    first = np.einsum("kd,kde->ke", white_first, inverse)
    second = np.swapaxes(inverse, 1, 2) @ white_second @ inverse
    return weight, first, second, loglik


def whitened_log_prob(X, means, chols, log_normaliser):
    """Weighted log-densities, shape (n, K), for 'full' covariances at large D."""
    n, D = X.shape
    K = means.shape[0]
    centre = means.mean(axis=0)
    stacked = np.ascontiguousarray(chols.transpose(1, 0, 2).reshape(D, K * D))
    offsets = np.einsum("kd,kde->ke", means - centre, chols).astype(X.dtype)
    out = np.empty((n, K), dtype=X.dtype)
    rows = max(64, BLOCK_BYTES // (K * D * X.itemsize))
    for start in range(0, n, rows):
        Y = ((X[start:start + rows] - centre) @ stacked).reshape(-1, K, D)
        Y -= offsets
        out[start:start + rows] = log_normaliser - 0.5 * np.einsum("bkd,bkd->bk", Y, Y)
    return out
