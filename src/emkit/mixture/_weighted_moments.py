"""Moments of rows under weights computed elsewhere (HMM state posteriors, say).

One pass over the rows accumulates, per component k, sum_i r_ik (x_i - a_k) and the second
moments sum_i r_ik (x_i - a_k)(x_i - a_k)^T (the upper triangle, or the diagonal only),
about anchors a_k, in float64, rows split into chunks run in parallel. No (rows x components
x features) temporary exists.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .._thread_choice import run_fastest_way

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
#: Below this many rows the kernel runs on the calling thread.
PARALLEL_MIN_ROWS = 20_000


@njit(cache=True, fastmath=FASTMATH)
def _moments_rows(X, resp, anchor, start, stop, full, S1, S2):
    K, D = anchor.shape
    diff = np.empty(D)
    for t in range(start, stop):
        x = X[t]
        for k in range(K):
            g = resp[t, k]
            if g == 0.0:
                continue
            a = anchor[k]
            s1 = S1[k]
            s2 = S2[k]
            for d in range(D):
                diff[d] = x[d] - a[d]
            if full:
                for p in range(D):
                    gp = g * diff[p]
                    s1[p] += gp
                    row = s2[p]
                    for q in range(p, D):
                        row[q] += gp * diff[q]
            else:
                for d in range(D):
                    gd = g * diff[d]
                    s1[d] += gd
                    s2[d, 0] += gd * diff[d]


@njit(cache=True, parallel=True)
def _moments_chunks(X, resp, anchor, full, n_chunks):
    n = X.shape[0]
    K, D = anchor.shape
    width = D if full else 1
    S1 = np.zeros((n_chunks, K, D))
    S2 = np.zeros((n_chunks, K, D, width))
    for c in prange(n_chunks):
        _moments_rows(X, resp, anchor, (n * c) // n_chunks, (n * (c + 1)) // n_chunks, full,
                      S1[c], S2[c])
    return S1, S2


def weighted_moments(X, resp, anchor, full: bool):
    """``(first, second)`` about ``anchor`` under weights ``resp`` (n_samples, K):
    first (K, D); second (K, D, D) when ``full``, else the diagonals (K, D)."""
    threads = numba.get_num_threads()
    n_chunks = 1 if X.shape[0] < PARALLEL_MIN_ROWS or threads == 1 else 4 * threads
    X = np.ascontiguousarray(X, dtype=np.float64)
    resp = np.ascontiguousarray(resp, dtype=np.float64)
    anchor = np.ascontiguousarray(anchor, dtype=np.float64)
    if n_chunks == 1:  # on the calling thread: no parallel region to wake
        K, D = anchor.shape
        first, second = np.zeros((K, D)), np.zeros((K, D, D if full else 1))
        _moments_rows(X, resp, anchor, 0, X.shape[0], full, first, second)
    else:
        # summed here: a sum inside the parallel kernel would depend on the thread count
        first, second = (part.sum(axis=0) for part in run_fastest_way(
            _moments_chunks, ("moments", full, *anchor.shape), X.shape[0],
            X, resp, anchor, full, n_chunks))
    if not full:
        return first, second[:, :, 0]
    return first, second + np.swapaxes(np.triu(second, 1), 1, 2)
