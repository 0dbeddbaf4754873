"""Model-based agglomerative hierarchical clustering (Fraley 1998), as mclust's ``hc``.

Every row starts as its own cluster; each step merges the two clusters whose merger costs
the least classification likelihood. For a cluster C of n rows in p dimensions with
scatter matrix W (the sum of squared deviations from its mean), the terms summed over
clusters are, as in mclust,

- ``'VVV'`` (unconstrained covariances): n log(det(W / n) + (tr W + alpha) / n), the
  determinant counted only when n > p (below, W is singular);
- ``'VII'`` (spherical, varying volume): n p log((tr W + alpha) / (n p));
- ``'EII'`` (spherical, equal volume): tr W, Ward's criterion (mclust's ``hcEII``, which
  ``Mclust`` starts from when there are no more rows than columns);

and a merge costs the rise of that sum. Without ``alpha`` the classification likelihood of
a cluster of at most p rows is infinite; the trace term is Fraley's regularisation for it,
and it dominates until a cluster's scatter is well determined.

mclust's start (:func:`mclust_merges`, what ``Mclust`` and ``mclustBIC`` use for every
covariance model) is reproduced exactly, partitions equal to ``hclass(hc(X, "VVV",
use = "SVD"), G)``:

- the rows are first centred, scaled to unit standard deviation and rotated onto their
  principal axes, each axis divided by the square root of its singular value
  (``hcUse = "SVD"``, mclust 6's default);
- ``alpha`` is ``traceW(Z / sqrt(n p))`` of those rows Z (their scatter per entry);
- no rows are merged beforehand: ``hc``'s ``dupPartition`` default never reaches
  ``hcVVV``, which starts from one cluster per row (duplicates then merge first, as the
  cheapest merges);
- of equally cheap merges, the one mclust's Fortran (``hcvvv``) finds last in its scan
  of cluster positions; after a merge the cluster in the last position moves into the
  freed one;
- ``hcvvv`` stores the first row of a merged cluster's triangular factor in place of
  every row, so a cluster's scatter as seen by later merges is not its own (see
  :func:`_as_mclust_stores_it`); the cost of a merge, and so the tree, follows that.

``merge_sequence`` without ``as_mclust`` is the textbook criterion (exact scatters, ties
to the lowest cluster index).
"""

from __future__ import annotations

import hashlib

import numba
import numpy as np

#: mclust's ``alpha``: the criteria's ``alpha`` is this times :func:`trace_scale` of the
#: transformed rows.
ALPHA = 1.0

CRITERIA = ("VVV", "VII", "EII")

_VVV, _VII, _EII = 0, 1, 2


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


def trace_scale(Z: np.ndarray) -> float:
    """mclust's unit of ``alpha``: ``traceW(Z / sqrt(n p))``, the rows' scatter about their
    mean per entry (at least machine epsilon)."""
    n, p = Z.shape
    centred = Z - Z.mean(axis=0)
    return max(float(np.sum(centred * centred)) / (n * p), float(np.finfo(np.float64).eps))


def mclust_merges(X: np.ndarray, criterion: str = "VVV") -> np.ndarray:
    """The merges of mclust's ``hc(X, criterion, use="SVD")``: the rows transformed by
    :func:`transformed`, ``alpha = ALPHA * trace_scale`` of them."""
    Z = transformed(X)
    return merge_sequence(Z, criterion, ALPHA * trace_scale(Z), as_mclust=True)


def merge_sequence(X: np.ndarray, criterion: str = "VVV", alpha: float = ALPHA,
                   as_mclust: bool = False) -> np.ndarray:
    """The merges of agglomerative clustering of the rows of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows, clustered as given (transform them first with :func:`transformed`).
    criterion : {'VVV', 'VII', 'EII'}
    alpha : float
        ``alpha`` of the criteria above.
    as_mclust : bool, default=False
        Merge as mclust's Fortran does (its stored factors and its ties; see above).

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
    kind = {"VVV": _VVV, "VII": _VII, "EII": _EII}[criterion]
    return _merge_sequence(X, kind, float(alpha), bool(as_mclust))


def partition(merges: np.ndarray, n_samples: int, n_clusters: int) -> np.ndarray:
    """Labels 0..n_clusters-1 of the rows after the first ``n_samples - n_clusters`` merges
    (labels numbered in order of each cluster's first row)."""
    if not 1 <= n_clusters <= n_samples:
        raise ValueError(f"Cannot cut {n_samples} rows into {n_clusters} clusters.")
    return _partition(np.ascontiguousarray(merges, dtype=np.int64), n_samples, n_clusters)


@numba.njit(cache=True)
def _partition(merges, n_samples, n_clusters):
    parent = np.arange(n_samples)
    for step in range(n_samples - n_clusters):
        parent[merges[step, 1]] = merges[step, 0]
    for i in range(n_samples):  # every row straight to its cluster's root
        root = i
        while parent[root] != root:
            root = parent[root]
        parent[i] = root
    label_of_root = np.empty(n_samples, dtype=np.int64)
    count = 0
    for i in range(n_samples):  # labels in order of the roots
        if parent[i] == i:
            label_of_root[i] = count
            count += 1
    labels = np.empty(n_samples, dtype=np.int64)
    for i in range(n_samples):
        labels[i] = label_of_root[parent[i]]
    return labels


def quantile_classes(x: np.ndarray, n_clusters: int) -> np.ndarray:
    """mclust's start for one column (its ``qclass``): labels 0..n_clusters-1 of the values
    between n_clusters + 1 distinct quantiles (R's default, type 7), the narrowest gaps
    dropped when more quantiles are needed to find that many distinct ones."""
    x = np.asarray(x, dtype=np.float64).ravel()
    eps = np.std(x, ddof=1) * np.sqrt(np.finfo(np.float64).eps) if x.size > 1 else 0.0
    q = np.array([np.nan])
    n = n_clusters
    while q.size < n_clusters + 1:
        n += 1
        q = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n)))
        if n > x.size + n_clusters + 1:  # fewer distinct values than clusters
            raise ValueError(f"Cannot cut {np.unique(x).size} distinct values into "
                             f"{n_clusters} clusters.")
    if q.size > n_clusters + 1:
        q = np.delete(q, np.argsort(np.diff(q), kind="stable")[: q.size - n_clusters - 1])
    q[0], q[-1] = x.min() - eps, x.max() + eps
    labels = np.zeros(x.size, dtype=np.int64)
    for i in range(n_clusters):
        labels[(x >= q[i]) & (x < q[i + 1])] = i
    return labels


def hierarchical_labels(X: np.ndarray, n_clusters: int, criterion: str = "VVV") -> np.ndarray:
    """Labels of the rows of ``X`` cut into ``n_clusters`` clusters by mclust's
    model-based hierarchical clustering (:func:`mclust_merges`); for one column, mclust's
    quantile classes (:func:`quantile_classes`), as ``mclustBIC`` starts univariate data.

    The merges of the last few row sets are kept, so that cutting the same rows at several
    numbers of clusters (model selection over K, as mclust does) clusters them once.
    """
    X = np.ascontiguousarray(X)
    if X.shape[1] == 1:
        return quantile_classes(X[:, 0], n_clusters)
    key = (hashlib.sha1(X.view(np.uint8).ravel()).hexdigest(), X.shape, X.dtype.str,
           criterion)
    tree = _MERGES.get(key)
    if tree is None:
        tree = _MERGES[key] = (mclust_merges(X, criterion), {})
        while len(_MERGES) > _MERGES_KEPT:
            _MERGES.pop(next(iter(_MERGES)))
    merges, cuts = tree
    if n_clusters not in cuts:
        cuts[n_clusters] = partition(merges, X.shape[0], n_clusters)
    return cuts[n_clusters].copy()


#: Merge sequences of recently clustered row sets (oldest first), by content, each with
#: its cuts so far (number of clusters -> labels).
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
def _merged_cost(kind, i, j, counts, means, scatter, stored, factors, log_dets, traces,
                 alpha, work, solve):
    """The criterion's term for the union of clusters i (scatter ``scatter[i]``, factored
    in ``factors[i]``) and j (scatter ``stored[j]``)."""
    p = means.shape[1]
    ni, nj = counts[i], counts[j]
    n = ni + nj
    c = ni * nj / n
    trace = _merged_trace(i, j, counts, means, traces)
    if kind == _EII:
        return trace
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
            work[a, b] = scatter[i, a, b] + stored[j, a, b] + \
                c * da * (means[i, b] - means[j, b])
    return _vvv_cost(_cholesky(work, work), trace, n, alpha, p)


@numba.njit(cache=True)
def _as_mclust_stores_it(W, rows, out):
    """The scatter mclust's hcvvv keeps for a merged cluster: it stores the first row of
    the triangular factor R (R^T R = W) in place of each of the factor's ``rows`` rows,
    and reads row k back from column k on, so the scatter it sees later is
    sum_k t_k t_k^T, t_k that first row with its first k entries zeroed."""
    p = W.shape[0]
    out[:, :] = 0.0
    if W[0, 0] <= 0.0:
        return
    scale = 1.0 / np.sqrt(W[0, 0])
    for k in range(int(rows)):
        for a in range(k, p):
            for b in range(k, p):
                out[a, b] += W[0, a] * W[0, b] * scale * scale


@numba.njit(cache=True)
def _merge_sequence(X, kind, alpha, as_mclust):
    m, p = X.shape
    counts = np.ones(m)
    means = X.copy()
    vvv = kind == _VVV
    # scatter matrices and their Cholesky factors (VVV only; log det -inf: not factored)
    scatter = np.zeros((m, p, p)) if vvv else np.zeros((1, p, p))
    # the scatter a cluster shows when another one joins it (see _as_mclust_stores_it)
    stored = np.zeros((m, p, p)) if vvv and as_mclust else scatter
    newest = -1
    factors = np.zeros((m, p, p)) if vvv else np.zeros((1, p, p))
    log_dets = np.full(m, -np.inf)
    traces = np.zeros(m)
    cost = np.empty(m)
    work = np.zeros((p, p))
    solve = np.zeros(p)
    for i in range(m):
        if kind == _EII:
            cost[i] = 0.0
        else:
            cost[i] = _vvv_cost(0.0, 0.0, 1.0, alpha, p) if vvv else \
                _vii_cost(0.0, 1.0, p, alpha)
    active = np.ones(m, dtype=np.bool_)
    delta = np.full((m, m), np.inf)
    for i in range(m):
        for j in range(i + 1, m):
            d = _merged_cost(kind, i, j, counts, means, scatter, stored, factors,
                             log_dets, traces, alpha, work, solve) \
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
    # mclust's bookkeeping of cluster positions ("slots"), which breaks ties: cluster c
    # sits at slot[c]; after a merge the cluster in the last slot moves into the slot
    # freed, and of equally cheap merges mclust takes the pair with the highest slots
    slot = np.arange(m)
    at_slot = np.arange(m)
    lowest_row = np.arange(m)
    merges = np.empty((m - 1, 2), dtype=np.int64)
    for step in range(m - 1):
        last = m - 1 - step
        best_delta = np.inf
        for k in range(m):
            if active[k] and nearest_delta[k] < best_delta:
                best_delta = nearest_delta[k]
        j = -1
        for s in range(last, -1, -1):  # the cheapest merges' cluster in the highest slot
            k = at_slot[s]
            if nearest_delta[k] == best_delta:
                j = k
                break
        if j < 0:  # every remaining merge costs inf (nan data): the first pair
            j = at_slot[1]
        i = -1
        for s in range(slot[j] - 1, -1, -1):  # its partner in the highest slot
            k = at_slot[s]
            if delta[j, k] == best_delta or best_delta == np.inf:
                i = k
                break
        # the cluster in the higher slot (j) goes; the last slot's cluster takes its slot
        freed = slot[j]
        moved = at_slot[last]
        at_slot[freed] = moved
        slot[moved] = freed
        merges[step, 0] = min(lowest_row[i], lowest_row[j])
        merges[step, 1] = max(lowest_row[i], lowest_row[j])
        lowest_row[i] = merges[step, 0]
        # merge j into i: count, mean, scatter (or its trace), cost
        ni, nj = counts[i], counts[j]
        n = ni + nj
        c = ni * nj / n
        traces[i] = _merged_trace(i, j, counts, means, traces)
        if vvv:
            # mclust extends the newest cluster's own factor, else both stored ones
            i_stored = as_mclust and i != newest
            j_stored = as_mclust and j != newest
            for a in range(p):
                da = means[i, a] - means[j, a]
                for b in range(p):
                    base = stored[i, a, b] if i_stored else scatter[i, a, b]
                    add = stored[j, a, b] if j_stored else scatter[j, a, b]
                    scatter[i, a, b] = base + add + c * da * (means[i, b] - means[j, b])
            log_dets[i] = _cholesky(scatter[i], factors[i]) if n > p else -np.inf
            if as_mclust:
                _as_mclust_stores_it(scatter[i], min(n - 1.0, p), stored[i])
            newest = i
        for a in range(p):
            means[i, a] = (ni * means[i, a] + nj * means[j, a]) / n
        counts[i] = n
        if as_mclust:  # mclust keeps the term of the merge it chose
            cost[i] = best_delta + cost[i] + cost[j]
        elif vvv:
            cost[i] = _vvv_cost(log_dets[i], traces[i], n, alpha, p)
        elif kind == _EII:
            cost[i] = traces[i]
        else:
            cost[i] = _vii_cost(traces[i], n, p, alpha)
        active[j] = False
        for k in range(m):
            delta[j, k] = np.inf
            delta[k, j] = np.inf
        nearest_delta[j] = np.inf
        nearest_delta[i] = np.inf
        for k in range(m):
            if active[k] and k != i:
                d = _merged_cost(kind, i, k, counts, means, scatter, stored, factors,
                                 log_dets, traces, alpha, work, solve) \
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
