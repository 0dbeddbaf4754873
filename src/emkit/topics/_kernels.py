"""numba kernels of PLSA over a CSR document-term matrix.

Every kernel walks the non-zero entries of the documents it is given, O(nnz x K), with no
dense (documents x words x topics) array. ``phi_pow`` is the topic-word matrix P(w|z) stored
word-major (n_words x K, so that one word's K probabilities are contiguous), raised to the
tempering exponent beta; ``theta`` is P(z|d), one row per document. For the non-zero count
c of word w in document d the responsibilities are

    r_z = (P(w|z) P(z|d))^beta / sum_z' (P(w|z') P(z'|d))^beta,

computed as phi_pow[w, z] * P(z|d)^beta. When that sum underflows (below 1e-250) the word
is redone in log space, so no count ever yields NaN or -inf.

Documents are split into chunks of about equal numbers of non-zeros, run in parallel
(``prange``), each chunk with its own (n_words x K) accumulator of expected counts.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

#: Re-association and contraction let the compiler vectorise the loops over topics;
#: infinities and NaN keep their IEEE meaning.
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
#: Probabilities are kept at or above the smallest normal float64, so logs stay finite.
TINY = np.finfo(np.float64).tiny
#: A word whose weights sum below this is redone in log space.
_SMALL_SUM = 1e-250
#: Below this many non-zeros the kernels run on the calling thread.
PARALLEL_MIN_NNZ = 50_000
#: The per-chunk (n_words x K) accumulators of one E-step stay below this many bytes.
ACCUMULATOR_BUDGET = 512 * 2**20


@njit(cache=True, fastmath=FASTMATH)
def _log_space_weights(row, th_pow, p):
    """p[z] = exp(log row[z] + log th_pow[z] - top); returns (sum p, top)."""
    K = p.shape[0]
    top = -np.inf
    for z in range(K):
        v = math.log(max(row[z], TINY)) + math.log(max(th_pow[z], TINY))
        p[z] = v
        if v > top:
            top = v
    s = 0.0
    for z in range(K):
        p[z] = math.exp(p[z] - top)
        s += p[z]
    return s, top


@njit(cache=True, fastmath=FASTMATH)
def _document(indptr, indices, data, d, phi_pow, th_pow, nd, p, nwz, accumulate):
    """One pass over document d's non-zeros under the responsibilities above.

    nd[z] receives sum_w c_dw r_dwz; with ``accumulate`` the same terms are added to
    nwz[w, z]. Returns (sum_w c_dw log sum_z (P(w|z) P(z|d))^beta, sum_w c_dw).
    """
    K = nd.shape[0]
    for z in range(K):
        nd[z] = 0.0
    loglik = 0.0
    total = 0.0
    for j in range(indptr[d], indptr[d + 1]):
        c = data[j]
        if c == 0.0:
            continue
        w = indices[j]
        row = phi_pow[w]
        s = 0.0
        for z in range(K):
            v = row[z] * th_pow[z]
            p[z] = v
            s += v
        if s > _SMALL_SUM:
            log_s = math.log(s)
        else:
            s, top = _log_space_weights(row, th_pow, p)
            log_s = top + math.log(s)
        loglik += c * log_s
        total += c
        f = c / s
        if accumulate:
            acc = nwz[w]
            for z in range(K):
                r = p[z] * f
                nd[z] += r
                acc[z] += r
        else:
            for z in range(K):
                nd[z] += p[z] * f
    return loglik, total


@njit(cache=True, fastmath=FASTMATH)
def _powered(th, beta, out):
    """out = th ** beta (a copy when beta is 1)."""
    if beta == 1.0:
        for z in range(th.shape[0]):
            out[z] = th[z]
    else:
        for z in range(th.shape[0]):
            out[z] = th[z] ** beta


@njit(cache=True, fastmath=FASTMATH)
def _normalise_into(nd, total, th):
    """th = nd / total, floored at TINY; returns the summed absolute change of th."""
    change = 0.0
    for z in range(th.shape[0]):
        new = max(nd[z] / total, TINY)
        change += abs(new - th[z])
        th[z] = new
    return change


@njit(cache=True, fastmath=FASTMATH)
def _e_step_docs(indptr, indices, data, d0, d1, phi_pow, beta, theta, nwz):
    """Fused E-step of documents d0..d1: expected counts into nwz, and each document's
    P(z|d) replaced in place by its M-step value (its expected topic counts over its length;
    an empty document keeps its row). Returns (tempered log-likelihood sum, word count)."""
    K = theta.shape[1]
    th_pow, nd, p = np.empty(K), np.empty(K), np.empty(K)
    loglik = 0.0
    words = 0.0
    for d in range(d0, d1):
        th = theta[d]
        _powered(th, beta, th_pow)
        ll, total = _document(indptr, indices, data, d, phi_pow, th_pow, nd, p, nwz, True)
        if total > 0.0:
            _normalise_into(nd, total, th)
        loglik += ll
        words += total
    return loglik, words


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _e_step_chunks(indptr, indices, data, bounds, phi_pow, beta, theta, nwz):
    n_chunks = bounds.shape[0] - 1
    loglik, words = np.zeros(n_chunks), np.zeros(n_chunks)
    for c in prange(n_chunks):
        loglik[c], words[c] = _e_step_docs(indptr, indices, data, bounds[c], bounds[c + 1],
                                           phi_pow, beta, theta, nwz[c])
    return loglik.sum(), words.sum()


@njit(cache=True, fastmath=FASTMATH)
def _fold_in_docs(indptr, indices, data, d0, d1, phi_pow, beta, theta, max_iter, tol):
    """EM over P(z|d) alone (P(w|z) fixed) for documents d0..d1, each from its row of
    ``theta``, until the mean absolute change of the row is below ``tol`` or ``max_iter``
    updates (an empty document keeps its row)."""
    K = theta.shape[1]
    th_pow, nd, p = np.empty(K), np.empty(K), np.empty(K)
    dummy = np.empty((0, K))
    for d in range(d0, d1):
        th = theta[d]
        for _ in range(max_iter):
            _powered(th, beta, th_pow)
            total = _document(indptr, indices, data, d, phi_pow, th_pow, nd, p, dummy,
                              False)[1]
            if total == 0.0 or _normalise_into(nd, total, th) < tol * K:
                break


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _fold_in_chunks(indptr, indices, data, bounds, phi_pow, beta, theta, max_iter, tol):
    for c in prange(bounds.shape[0] - 1):
        _fold_in_docs(indptr, indices, data, bounds[c], bounds[c + 1], phi_pow, beta, theta,
                      max_iter, tol)


@njit(cache=True, fastmath=FASTMATH)
def _loglik_docs(indptr, indices, data, d0, d1, phi, theta, loglik):
    K = theta.shape[1]
    nd, p = np.empty(K), np.empty(K)
    dummy = np.empty((0, K))
    for d in range(d0, d1):
        loglik[d] = _document(indptr, indices, data, d, phi, theta[d], nd, p, dummy,
                              False)[0]


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _loglik_chunks(indptr, indices, data, bounds, phi, theta, loglik):
    for c in prange(bounds.shape[0] - 1):
        _loglik_docs(indptr, indices, data, bounds[c], bounds[c + 1], phi, theta, loglik)


# -- Python entry points ---------------------------------------------------------------------
def chunk_bounds(indptr: np.ndarray, n_chunks: int) -> np.ndarray:
    """Document boundaries of ``n_chunks`` chunks with about equal numbers of non-zeros."""
    n_docs = indptr.shape[0] - 1
    targets = np.linspace(0, indptr[-1], n_chunks + 1)
    bounds = np.searchsorted(indptr, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, n_docs
    return np.maximum.accumulate(np.minimum(bounds, n_docs))


def _n_chunks(nnz: int, accumulator_bytes: int = 0) -> int:
    threads = numba.get_num_threads()
    if nnz < PARALLEL_MIN_NNZ or threads == 1:
        return 1
    if accumulator_bytes:
        threads = min(threads, max(1, ACCUMULATOR_BUDGET // accumulator_bytes))
    return threads


def _csr_parts(X):
    return X.indptr, X.indices, X.data


def e_step(X, phi_pow: np.ndarray, beta: float, theta: np.ndarray):
    """The fused PLSA E-step of the documents of CSR matrix ``X``.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_docs, n_words), float64 counts
    phi_pow : ndarray of shape (n_words, K)
        P(w|z) ** beta, word-major, C-contiguous.
    beta : float
        The tempering exponent.
    theta : ndarray of shape (n_docs, K)
        P(z|d) of these documents; replaced in place by the M-step's values.

    Returns
    -------
    nwz : ndarray of shape (n_words, K)
        Expected counts sum_d c_dw r_dwz.
    loglik : float
        sum_dw c_dw (1 / beta) log sum_z (P(w|z) P(z|d))^beta at the entering parameters.
    words : float
        The total count of X.
    """
    indptr, indices, data = _csr_parts(X)
    W, K = phi_pow.shape
    n_chunks = _n_chunks(X.nnz, W * K * 8)
    if n_chunks == 1:
        nwz = np.zeros((W, K))
        loglik, words = _e_step_docs(indptr, indices, data, 0, X.shape[0], phi_pow, beta,
                                     theta, nwz)
    else:
        acc = np.zeros((n_chunks, W, K))
        loglik, words = _e_step_chunks(indptr, indices, data, chunk_bounds(indptr, n_chunks),
                                       phi_pow, beta, theta, acc)
        nwz = acc.sum(axis=0)
    return nwz, loglik / beta, words


def fold_in(X, phi_pow: np.ndarray, beta: float, theta: np.ndarray, max_iter: int,
            tol: float) -> None:
    """EM over P(z|d) with P(w|z) fixed (responsibilities tempered by ``beta``), in place on
    ``theta``, whose rows are the starting values."""
    indptr, indices, data = _csr_parts(X)
    n_chunks = _n_chunks(X.nnz)
    if n_chunks == 1:
        _fold_in_docs(indptr, indices, data, 0, X.shape[0], phi_pow, beta, theta,
                      int(max_iter), float(tol))
    else:
        _fold_in_chunks(indptr, indices, data, chunk_bounds(indptr, n_chunks), phi_pow, beta,
                        theta, int(max_iter), float(tol))


def doc_loglik(X, phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Per-document log-likelihood sum_w c_dw log sum_z P(w|z) P(z|d)."""
    indptr, indices, data = _csr_parts(X)
    loglik = np.zeros(X.shape[0])
    n_chunks = _n_chunks(X.nnz)
    if n_chunks == 1:
        _loglik_docs(indptr, indices, data, 0, X.shape[0], phi, theta, loglik)
    else:
        _loglik_chunks(indptr, indices, data, chunk_bounds(indptr, n_chunks), phi, theta,
                       loglik)
    return loglik
