"""k-means for starting points on small data: scikit-learn's KMeans (n_init=1) without its
per-call overhead.

scikit-learn's ``KMeans(n_init=1).fit`` costs milliseconds per call whatever the data size
(validation, thread-pool limits, waking OpenMP threads: tens of milliseconds when another
process keeps a core busy), more than a whole EM fit of a few hundred rows. Below
:data:`OWN_KMEANS_MAX_ROWS` rows emkit runs the same algorithm itself, on the calling
thread: the same k-means++ seeding (the same draws from the generator, in the same order),
the same Lloyd iterations on the column-centred rows (distances as ||c||^2 - 2 x.c, the
first nearest centre kept), the same relocation of emptied clusters to the rows farthest
from their centres, the same stopping rule (labels unchanged, or the squared centre shifts
summing to at most 1e-4 times the mean column variance, or 300 iterations) and the same
final relabelling. The labels are scikit-learn's up to the rounding of exact ties.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Below this many rows the k-means start runs here; from it on scikit-learn's parallel
#: KMeans (its per-call overhead is then small beside the work).
OWN_KMEANS_MAX_ROWS = 20_000
#: scikit-learn's KMeans defaults: iterations, and the tolerance relative to the mean
#: column variance.
MAX_ITER = 300
RELATIVE_TOL = 1e-4


def kmeans_labels(X: np.ndarray, n_clusters: int, sample_weight, rng) -> np.ndarray:
    """Labels of one k-means run (k-means++ seeding, then Lloyd), as
    ``sklearn.cluster.KMeans(n_clusters, n_init=1, random_state=rng).fit(X, sample_weight)
    .labels_``; ``rng`` (a RandomState) is advanced as scikit-learn advances it."""
    return kmeans(X, n_clusters, sample_weight, rng)[1]


def kmeans(X: np.ndarray, n_clusters: int, sample_weight, rng, n_init: int = 1):
    """``(centres, labels)`` of the run with the least inertia among ``n_init`` k-means
    runs, as ``sklearn.cluster.KMeans(n_clusters, n_init=n_init, random_state=rng)
    .fit(X, sample_weight)`` gives its ``cluster_centers_`` and ``labels_`` (a later run
    replaces the kept one only with a smaller inertia and a different partition)."""
    if X.shape[0] >= OWN_KMEANS_MAX_ROWS:
        from sklearn.cluster import KMeans

        fitted = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=rng).fit(
            X, sample_weight=sample_weight)
        return fitted.cluster_centers_, fitted.labels_
    weights = (np.ones(X.shape[0]) if sample_weight is None
               else np.asarray(sample_weight, dtype=np.float64))
    tol = float(np.mean(np.var(X, axis=0))) * RELATIVE_TOL
    mean = X.mean(axis=0)
    centred = X - mean
    best = None
    for _ in range(n_init):
        start, _ = kmeans_plusplus_centres(centred, n_clusters, weights, rng)
        centres, labels = lloyd(centred, weights.astype(X.dtype, copy=False), start, tol)
        inertia = float(weights @ ((centred - centres[labels]) ** 2).sum(axis=1))
        if best is None or (inertia < best[0]
                            and not _same_partition(labels, best[2], n_clusters)):
            best = (inertia, centres, labels)
    return best[1] + mean, best[2]


def _same_partition(labels, other, n_clusters) -> bool:
    """Whether two labellings are the same partition (up to renaming the clusters)."""
    pairs = np.unique(np.stack([labels, other]), axis=1)
    return pairs.shape[1] == np.unique(pairs[0]).size


def kmeans_plusplus_centres(X: np.ndarray, n_clusters: int, sample_weight, rng):
    """k-means++ seeding (greedy, ``2 + int(log k)`` candidates per centre): the centres
    and their row indices, drawn as ``sklearn.cluster.kmeans_plusplus`` draws them."""
    rows = np.asarray(X, dtype=np.float64)
    weights = (np.ones(rows.shape[0]) if sample_weight is None
               else np.asarray(sample_weight, dtype=np.float64))
    squared_norms = np.einsum("ij,ij->i", rows, rows)

    def squared_distances(index):
        chosen = rows[index]
        chosen_norms = np.einsum("...j,...j->...", chosen, chosen)
        distances = -2.0 * (chosen @ rows.T)
        distances += chosen_norms[..., None]
        distances += squared_norms
        return np.maximum(distances, 0.0, out=distances)

    n_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = rng.choice(rows.shape[0], p=weights / weights.sum())
    nearest = squared_distances(indices[0])
    potential = nearest @ weights
    for c in range(1, n_clusters):
        targets = rng.uniform(size=n_trials) * potential
        candidates = np.minimum(np.searchsorted(np.cumsum(weights * nearest), targets),
                                nearest.size - 1)
        trial = np.minimum(nearest, squared_distances(candidates))
        trial_potentials = trial @ weights
        best = int(np.argmin(trial_potentials))
        potential, nearest = trial_potentials[best], trial[best]
        indices[c] = candidates[best]
    return np.asarray(X)[indices].copy(), indices


def lloyd(X: np.ndarray, sample_weight: np.ndarray, centres: np.ndarray,
          tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd iterations from ``centres``; the final centres and labels."""
    n_clusters = centres.shape[0]
    labels = np.full(X.shape[0], -1, dtype=np.intp)
    sums = np.empty((n_clusters, X.shape[1]))
    totals = np.empty(n_clusters)
    for _ in range(MAX_ITER):
        changed = _assign_and_sum(_distance_terms(X, centres), X, sample_weight, labels,
                                  sums, totals)
        if not totals.all():
            _relocate_empty_clusters(X, sample_weight, centres, labels, sums, totals)
        new_centres = _averaged(sums, totals).astype(X.dtype, copy=False)
        shift = float(np.sum((new_centres - centres) ** 2))
        centres = new_centres
        if not changed:
            return centres, labels  # they are the final centres' labels
        if shift <= tol:
            break
    return centres, nearest_centres(X, centres)


def _distance_terms(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """||c||^2 - 2 x.c for every row and centre, through one matrix product, rounded as
    scikit-learn's BLAS call rounds it (so exact ties break the same way)."""
    distances = X @ centres.T
    distances *= -2.0
    distances += np.einsum("ij,ij->i", centres, centres)
    return distances


def nearest_centres(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each row's nearest centre (the first of equally near ones)."""
    return np.argmin(_distance_terms(X, centres), axis=1)


@njit(cache=True)
def _assign_and_sum(distances, X, w, labels, sums, totals):
    """Each row's nearest centre (the first of equals) into ``labels``, the weighted row
    sums and weights per centre (accumulated in row order); whether any label changed."""
    n, D = X.shape
    sums[:] = 0.0
    totals[:] = 0.0
    changed = False
    for i in range(n):
        row = distances[i]
        best = 0
        for k in range(1, row.shape[0]):
            if row[k] < row[best]:
                best = k
        if labels[i] != best:
            labels[i] = best
            changed = True
        totals[best] += w[i]
        for d in range(D):
            sums[best, d] += X[i, d] * w[i]
    return changed


def _relocate_empty_clusters(X, w, old_centres, labels, sums, totals) -> None:
    """Move each cluster left without weight onto one of the rows farthest from their
    centres (the farthest first), taking the row out of its cluster's sums."""
    empty = np.flatnonzero(totals == 0)
    if empty.size == 0:
        return
    distances = ((X - old_centres[labels]) ** 2).sum(axis=1)
    if np.max(distances) == 0:
        return
    farthest = np.argpartition(distances, -empty.size)[:-empty.size - 1:-1]
    for cluster, row in zip(empty, farthest):
        owner = labels[row]
        sums[owner] -= X[row] * w[row]
        sums[cluster] = X[row] * w[row]
        totals[cluster] = w[row]
        totals[owner] -= w[row]


def _averaged(sums, totals):
    """Centres from weighted sums; a cluster with no weight takes the heaviest's centre."""
    if totals.all():
        return sums * (1.0 / totals)[:, None]
    centres = sums.copy()
    filled = totals > 0
    centres[filled] *= (1.0 / totals[filled])[:, None]
    centres[~filled] = centres[np.argmax(totals)]
    return centres
