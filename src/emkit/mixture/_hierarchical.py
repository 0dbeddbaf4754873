"""Model-based agglomerative hierarchical clustering (Fraley 1998, mclust's ``hc``).

Every row starts as its own cluster; each step merges the two clusters whose merger costs
the least classification likelihood. For a cluster C of n rows in p dimensions with
scatter matrix W (the sum of squared deviations from its mean), the terms summed over
clusters are, as in mclust,

- ``'VVV'`` (unconstrained covariances): n log(det(W / n) + (tr W + alpha) / n), the
  determinant counted only when n > p (below, W is singular);
- ``'VII'`` (spherical, varying volume): n p log((tr W + alpha) / (n p));

and a merge costs the rise of that sum. Without ``alpha`` the classification likelihood of
a cluster of at most p rows is infinite; the trace term is Fraley's regularisation for it,
and it dominates until a cluster's scatter is well determined.

As in mclust (``hcUse = "SVD"``), the rows are first centred, scaled to unit standard
deviation and rotated onto their principal axes, each axis divided by the square root of
its singular value.

Ties are broken by the lowest cluster index, so the clustering of given rows is
deterministic.
"""

from __future__ import annotations

import hashlib

import numba
import numpy as np

#: ``alpha`` of the criteria, in the units of the transformed rows (mclust's default).
ALPHA = 1.0

CRITERIA = ("VVV", "VII")

_VVV, _VII = 0, 1


def transformed(X: np.ndarray) -> np.ndarray:
    """mclust's "SVD" transform: rows centred, scaled to unit standard deviation, rotated
    onto their principal axes, each divided by the square root of its singular value
    (constant columns and directions without spread are dropped)."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    scale = centred.std(axis=0, ddof=1) if X.shape[0] > 1 else np.zeros(X.shape[1])
    centred = centred[:, scale > 0] / scale[scale > 0]
    if centred.shape[1] == 0:
        return np.zeros((X.shape[0], 1))
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    keep = singular > singular[0] * 1e-10
    return (centred @ vt[keep].T) / np.sqrt(singular[keep])


def merge_sequence(X: np.ndarray, criterion: str = "VVV", alpha: float = ALPHA) -> np.ndarray:
    """The merges of agglomerative clustering of the rows of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows, clustered as given (transform them first with :func:`transformed`).
    criterion : {'VVV', 'VII'}
    alpha : float
        ``alpha`` of the criteria above.

    Returns
    -------
    merges : ndarray of shape (n_samples - 1, 2)
        Step t merged cluster ``merges[t, 1]`` into cluster ``merges[t, 0]``; a cluster is
        named by the lowest row index it holds.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"Unknown hierarchical criterion {criterion!r}; expected one of "
                         f"{CRITERIA}.")
    X = np.ascontiguousarray(X, dtype=np.float64)
    return _merge_sequence(X, _VVV if criterion == "VVV" else _VII, float(alpha))


def partition(merges: np.ndarray, n_samples: int, n_clusters: int) -> np.ndarray:
    """Labels 0..n_clusters-1 of the rows after the first ``n_samples - n_clusters`` merges
    (labels numbered in order of each cluster's first row)."""
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(f"Cannot cut {n_samples} rows into {n_clusters} clusters.")
    parent = np.arange(n_samples)
    for keep, gone in merges[: n_samples - n_clusters]:
        parent[gone] = keep

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    roots = np.array([root(i) for i in range(n_samples)])
    _, labels = np.unique(roots, return_inverse=True)
    return labels


def hierarchical_labels(X: np.ndarray, n_clusters: int, criterion: str = "VVV") -> np.ndarray:
    """Labels of the rows of ``X`` cut into ``n_clusters`` clusters by model-based
    hierarchical clustering of the transformed rows.

    The merges of the last few row sets are kept, so that cutting the same rows at several
    numbers of clusters (model selection over K, as mclust does) clusters them once.
    """
    X = np.ascontiguousarray(X)
    key = (hashlib.sha1(X.view(np.uint8).ravel()).hexdigest(), X.shape, X.dtype.str,
           criterion)
    merges = _MERGES.get(key)
    if merges is None:
        merges = merge_sequence(transformed(X), criterion)
        _MERGES[key] = merges
        while len(_MERGES) > _MERGES_KEPT:
            _MERGES.pop(next(iter(_MERGES)))
    return partition(merges, X.shape[0], n_clusters)


#: Merge sequences of recently clustered row sets (oldest first), by content.
_MERGES: dict = {}
_MERGES_KEPT = 4


@numba.njit(cache=True)
def _cholesky(W, L):
    """Lower Cholesky factor of W (its lower triangle) into L; log det W, or -inf when W
    is singular."""
    p = W.shape[0]
    log_det = 0.0
    for i in range(p):
        for j in range(i + 1):
            s = W[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if s <= 0.0:
                    return -np.inf
                L[i, i] = np.sqrt(s)
                log_det += np.log(s)
            else:
                L[i, j] = s / L[j, j]
    return log_det


@numba.njit(cache=True)
def _vvv_cost(log_det_w, trace, n, alpha, p):
    """n log(det(W / n) + (tr W + alpha) / n), the determinant counted when n > p."""
    regular = (trace + alpha) / n
    if n <= p or trace == 0.0 or log_det_w == -np.inf:
        return n * np.log(regular)
    return n * np.log(np.exp(log_det_w - p * np.log(n)) + regular)


@numba.njit(cache=True)
def _vii_cost(trace, n, p, alpha):
    return n * p * np.log((trace + alpha) / (n * p))


@numba.njit(cache=True)
def _merged_trace(i, j, counts, means, traces):
    """tr W of the union of clusters i and j: both traces plus the between-means term."""
    dist = 0.0
    for a in range(means.shape[1]):
        d = means[i, a] - means[j, a]
        dist += d * d
    return traces[i] + traces[j] + counts[i] * counts[j] / (counts[i] + counts[j]) * dist


@numba.njit(cache=True)
def _merged_cost(kind, i, j, counts, means, scatter, factors, log_dets, traces, alpha,
                 work, solve):
    """The criterion's term for the union of clusters i and j."""
    p = means.shape[1]
    ni, nj = counts[i], counts[j]
    n = ni + nj
    c = ni * nj / n
    trace = _merged_trace(i, j, counts, means, traces)
    if kind == _VII:
        return _vii_cost(trace, n, p, alpha)
    if n <= p:
        return _vvv_cost(0.0, trace, n, alpha, p)
    # a row joining a cluster with a factored scatter: det(W + c d d^T) by a rank-one update
    big = -1
    if nj == 1.0 and log_dets[i] > -np.inf:
        big = i
    elif ni == 1.0 and log_dets[j] > -np.inf:
        big = j
    if big >= 0:
        quad = 0.0
        for a in range(p):
            s = means[i, a] - means[j, a]
            for b in range(a):
                s -= factors[big, a, b] * solve[b]
            solve[a] = s / factors[big, a, a]
            quad += solve[a] * solve[a]
        return _vvv_cost(log_dets[big] + np.log1p(c * quad), trace, n, alpha, p)
    for a in range(p):
        da = means[i, a] - means[j, a]
        for b in range(a + 1):
            work[a, b] = scatter[i, a, b] + scatter[j, a, b] + \
                c * da * (means[i, b] - means[j, b])
    return _vvv_cost(_cholesky(work, work), trace, n, alpha, p)


@numba.njit(cache=True)
def _merge_sequence(X, kind, alpha):
    m, p = X.shape
    counts = np.ones(m)
    means = X.copy()
    vvv = kind == _VVV
    # scatter matrices and their Cholesky factors (VVV only; log det -inf: not factored)
    scatter = np.zeros((m, p, p)) if vvv else np.zeros((1, p, p))
    factors = np.zeros((m, p, p)) if vvv else np.zeros((1, p, p))
    log_dets = np.full(m, -np.inf)
    traces = np.zeros(m)
    cost = np.empty(m)
    work = np.zeros((p, p))
    solve = np.zeros(p)
    for i in range(m):
        cost[i] = _vvv_cost(0.0, 0.0, 1.0, alpha, p) if vvv else _vii_cost(0.0, 1.0, p, alpha)
    active = np.ones(m, dtype=np.bool_)
    delta = np.full((m, m), np.inf)
    for i in range(m):
        for j in range(i + 1, m):
            d = _merged_cost(kind, i, j, counts, means, scatter, factors, log_dets,
                             traces, alpha, work, solve) \
                - cost[i] - cost[j]
            delta[i, j] = d
            delta[j, i] = d
    nearest = np.zeros(m, dtype=np.int64)
    nearest_delta = np.full(m, np.inf)
    for i in range(m):
        for j in range(m):
            if j != i and delta[i, j] < nearest_delta[i]:
                nearest_delta[i] = delta[i, j]
                nearest[i] = j
    merges = np.empty((m - 1, 2), dtype=np.int64)
    for step in range(m - 1):
        best, best_delta = -1, np.inf
        for i in range(m):
            if active[i] and (best < 0 or nearest_delta[i] < best_delta):
                best, best_delta = i, nearest_delta[i]
        i, j = best, nearest[best]
        if j < i:
            i, j = j, i
        # merge j into i: count, mean, scatter (or its trace), cost
        ni, nj = counts[i], counts[j]
        n = ni + nj
        c = ni * nj / n
        traces[i] = _merged_trace(i, j, counts, means, traces)
        if vvv:
            for a in range(p):
                da = means[i, a] - means[j, a]
                for b in range(p):
                    scatter[i, a, b] += scatter[j, a, b] + c * da * (means[i, b] - means[j, b])
            log_dets[i] = _cholesky(scatter[i], factors[i]) if n > p else -np.inf
        for a in range(p):
            means[i, a] = (ni * means[i, a] + nj * means[j, a]) / n
        counts[i] = n
        cost[i] = _vvv_cost(log_dets[i], traces[i], n, alpha, p) if vvv else \
            _vii_cost(traces[i], n, p, alpha)
        active[j] = False
        merges[step, 0] = i
        merges[step, 1] = j
        for k in range(m):
            delta[j, k] = np.inf
            delta[k, j] = np.inf
        nearest_delta[j] = np.inf
        nearest_delta[i] = np.inf
        for k in range(m):
            if active[k] and k != i:
                d = _merged_cost(kind, i, k, counts, means, scatter, factors, log_dets,
                                 traces, alpha, work, solve) \
                    - cost[i] - cost[k]
                delta[i, k] = d
                delta[k, i] = d
                if d < nearest_delta[i]:
                    nearest_delta[i] = d
                    nearest[i] = k
        for k in range(m):
            if not active[k] or k == i:
                continue
            if nearest[k] == i or nearest[k] == j:
                nearest_delta[k] = np.inf
                for l in range(m):
                    if l != k and delta[k, l] < nearest_delta[k]:
                        nearest_delta[k] = delta[k, l]
                        nearest[k] = l
            elif delta[k, i] < nearest_delta[k]:
                nearest_delta[k] = delta[k, i]
                nearest[k] = i
    return merges
