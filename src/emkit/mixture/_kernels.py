"""numba kernels of the Gaussian mixture E-step.

One pass over the rows computes each row's component log-densities, its log-likelihood, its
responsibilities, and accumulates the M-step statistics (:class:`GaussianStats`) about the
anchor = the current means. No (rows x components x features) temporary exists; rows are
split into chunks run in parallel, each with its own accumulators, summed at the end.
Accumulation is in float64 whatever the data's dtype.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

# Re-association and contraction let the compiler vectorise the inner loops; infinities and
# NaN keep their IEEE meaning (a zero weight has log-weight -inf).
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
_LOG_2PI = math.log(2.0 * math.pi)

#: Responsibilities below exp(LOG_RESP_FLOOR) (about 1e-152) are set to zero: they change no
#: statistic at float64 precision, and subnormal numbers they would breed slow every
#: arithmetic unit down by orders of magnitude.
LOG_RESP_FLOOR = -350.0


def flushed_exp(log_resp: np.ndarray) -> np.ndarray:
    """exp(log_resp), with values below exp(LOG_RESP_FLOOR) set to zero (no subnormals)."""
    with np.errstate(under="ignore"):
        resp = np.exp(log_resp)
    resp[log_resp < LOG_RESP_FLOOR] = 0.0
    return resp


#: Below this many rows a kernel runs on the calling thread: waking a thread pool costs more.
PARALLEL_MIN_ROWS = 20_000


def n_chunks_for(n_samples: int) -> int:
    """Independent row chunks run in parallel: 1 (serial) for small inputs, else a few per
    thread."""
    threads = numba.get_num_threads()
    if n_samples < PARALLEL_MIN_ROWS or threads == 1:
        return 1
    return 4 * threads


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _normalise_row(logp):
    """In place: logp_k -> exp(logp_k - logsumexp(logp)); returns the logsumexp."""
    top = -np.inf
    for k in range(logp.shape[0]):
        if logp[k] > top:
            top = logp[k]
    if top == -np.inf:  # every component impossible: the row's likelihood is zero
        for k in range(logp.shape[0]):
            logp[k] = 0.0
        return -np.inf
    total = 0.0
    for k in range(logp.shape[0]):
        gap = logp[k] - top
        logp[k] = math.exp(gap) if gap > LOG_RESP_FLOOR else 0.0
        total += logp[k]
    for k in range(logp.shape[0]):
        logp[k] /= total
    return top + math.log(total)


@njit(cache=True, inline="always")
def _chunk_bounds(n, n_chunks, c):
    return (n * c) // n_chunks, (n * (c + 1)) // n_chunks


# -- full and tied ------------------------------------------------------------------------
@njit(cache=True, inline="always", fastmath=FASTMATH)
def _maha_triangular(x, mean, chol, diff, y):
    """|(x - mean) @ chol|^2 for an upper-triangular chol; fills diff = x - mean."""
    D = x.shape[0]
    for j in range(D):
        diff[j] = x[j] - mean[j]
    total = 0.0
    for j in range(D):
        acc = 0.0
        for l in range(j + 1):
            acc += diff[l] * chol[l, j]
        total += acc * acc
    return total


@njit(cache=True, fastmath=FASTMATH)
def _estep_matrix_rows(X, w, means, chols, log_const, tied, start, stop, S0, S1, S2):
    """Rows start:stop of the 'full'/'tied' E-step, accumulated into S0, S1, S2 (upper
    triangles); returns their weighted log-likelihood."""
    D = X.shape[1]
    K = means.shape[0]
    logp = np.empty(K)
    diff = np.empty(D)
    y = np.empty(D)
    ll = 0.0
    for i in range(start, stop):
        x = X[i]
        for k in range(K):
            chol = chols[0] if tied else chols[k]
            logp[k] = log_const[k] - 0.5 * _maha_triangular(x, means[k], chol, diff, y)
        lse = _normalise_row(logp)
        wi = 1.0 if w.shape[0] == 0 else w[i]
        if wi == 0.0:
            continue
        ll += wi * lse
        for k in range(K):
            r = logp[k] * wi
            if r == 0.0:
                continue
            S0[k] += r
            t = 0 if tied else k
            for a in range(D):
                rda = r * (x[a] - means[k, a])
                S1[k, a] += rda
                for b in range(a, D):
                    S2[t, a, b] += rda * (x[b] - means[k, b])
    return ll


@njit(cache=True, parallel=True)
def _estep_matrix_chunks(X, w, means, chols, log_const, tied, n_chunks):
    n, D = X.shape
    K = means.shape[0]
    S0 = np.zeros((n_chunks, K))
    S1 = np.zeros((n_chunks, K, D))
    S2 = np.zeros((n_chunks, 1 if tied else K, D, D))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(n, n_chunks, c)
        ll[c] = _estep_matrix_rows(X, w, means, chols, log_const, tied, start, stop,
                                   S0[c], S1[c], S2[c])
    return S0.sum(axis=0), S1.sum(axis=0), S2.sum(axis=0), ll.sum()


def estep_matrix(X, w, means, chols, log_const, tied):
    """E-step for 'full' (chols (K, D, D)) or 'tied' (chols (1, D, D), tied=True).

    Returns weight (K,), first (K, D), second (K, D, D) (for tied, summed over components
    into second[0]) and the weighted log-likelihood.
    """
    n_chunks = n_chunks_for(X.shape[0])
    if n_chunks == 1:
        K, D = means.shape
        weight, first = np.zeros(K), np.zeros((K, D))
        second = np.zeros((1 if tied else K, D, D))
        loglik = _estep_matrix_rows(X, w, means, chols, log_const, tied, 0, X.shape[0],
                                    weight, first, second)
    else:
        weight, first, second, loglik = _estep_matrix_chunks(X, w, means, chols, log_const,
                                                             tied, n_chunks)
    # only upper triangles were accumulated: mirror them
    return weight, first, second + np.swapaxes(np.triu(second, 1), 1, 2), loglik


@njit(cache=True, fastmath=FASTMATH)
def _log_prob_matrix_rows(X, means, chols, log_const, tied, start, stop, out):
    D = X.shape[1]
    diff = np.empty(D)
    y = np.empty(D)
    for i in range(start, stop):
        for k in range(means.shape[0]):
            chol = chols[0] if tied else chols[k]
            out[i, k] = log_const[k] - 0.5 * _maha_triangular(X[i], means[k], chol, diff, y)


@njit(cache=True, parallel=True)
def _log_prob_matrix_chunks(X, means, chols, log_const, tied, n_chunks, out):
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(X.shape[0], n_chunks, c)
        _log_prob_matrix_rows(X, means, chols, log_const, tied, start, stop, out)


def log_prob_matrix(X, means, chols, log_const, tied):
    """Weighted log-densities log(w_k) + log N(x_i | k), shape (n, K), 'full' or 'tied'."""
    out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
    n_chunks = n_chunks_for(X.shape[0])
    if n_chunks == 1:
        _log_prob_matrix_rows(X, means, chols, log_const, tied, 0, X.shape[0], out)
    else:
        _log_prob_matrix_chunks(X, means, chols, log_const, tied, n_chunks, out)
    return out


# -- diag and spherical -------------------------------------------------------------------
@njit(cache=True, fastmath=FASTMATH)
def _estep_diag_rows(X, w, means, precisions, log_const, start, stop, S0, S1, S2):
    """Rows start:stop of the 'diag'/'spherical' E-step, accumulated into S0, S1, S2;
    returns their weighted log-likelihood."""
    D = X.shape[1]
    K = means.shape[0]
    logp = np.empty(K)
    ll = 0.0
    for i in range(start, stop):
        x = X[i]
        for k in range(K):
            mean = means[k]
            prec = precisions[k]
            acc = 0.0
            for d in range(D):
                t = x[d] - mean[d]
                acc += t * t * prec[d]
            logp[k] = log_const[k] - 0.5 * acc
        lse = _normalise_row(logp)
        wi = 1.0 if w.shape[0] == 0 else w[i]
        if wi == 0.0:
            continue
        ll += wi * lse
        for k in range(K):
            r = logp[k] * wi
            if r == 0.0:
                continue
            S0[k] += r
            mean = means[k]
            for d in range(D):
                t = x[d] - mean[d]
                rt = r * t
                S1[k, d] += rt
                S2[k, d] += rt * t
    return ll


@njit(cache=True, parallel=True)
def _estep_diag_chunks(X, w, means, precisions, log_const, n_chunks):
    n, D = X.shape
    K = means.shape[0]
    S0 = np.zeros((n_chunks, K))
    S1 = np.zeros((n_chunks, K, D))
    S2 = np.zeros((n_chunks, K, D))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(n, n_chunks, c)
        ll[c] = _estep_diag_rows(X, w, means, precisions, log_const, start, stop,
                                 S0[c], S1[c], S2[c])
    return S0.sum(axis=0), S1.sum(axis=0), S2.sum(axis=0), ll.sum()


def estep_diag(X, w, means, precisions, log_const):
    """E-step for 'diag' (precisions (K, D)) or 'spherical' (the same, columns equal).

    Returns weight (K,), first (K, D), second (K, D) (diagonal second moments; the caller
    sums them for 'spherical') and the weighted log-likelihood.
    """
    n_chunks = n_chunks_for(X.shape[0])
    if n_chunks == 1:
        K, D = means.shape
        weight, first, second = np.zeros(K), np.zeros((K, D)), np.zeros((K, D))
        loglik = _estep_diag_rows(X, w, means, precisions, log_const, 0, X.shape[0],
                                  weight, first, second)
        return weight, first, second, loglik
    return _estep_diag_chunks(X, w, means, precisions, log_const, n_chunks)


@njit(cache=True, fastmath=FASTMATH)
def _log_prob_diag_rows(X, means, precisions, log_const, start, stop, out):
    for i in range(start, stop):
        for k in range(means.shape[0]):
            acc = 0.0
            for d in range(X.shape[1]):
                t = X[i, d] - means[k, d]
                acc += t * t * precisions[k, d]
            out[i, k] = log_const[k] - 0.5 * acc


@njit(cache=True, parallel=True)
def _log_prob_diag_chunks(X, means, precisions, log_const, n_chunks, out):
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(X.shape[0], n_chunks, c)
        _log_prob_diag_rows(X, means, precisions, log_const, start, stop, out)


def log_prob_diag(X, means, precisions, log_const):
    """Weighted log-densities, shape (n, K), 'diag' or 'spherical'."""
    out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
    n_chunks = n_chunks_for(X.shape[0])
    if n_chunks == 1:
        _log_prob_diag_rows(X, means, precisions, log_const, 0, X.shape[0], out)
    else:
        _log_prob_diag_chunks(X, means, precisions, log_const, n_chunks, out)
    return out
