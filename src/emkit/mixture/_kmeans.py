"""k-means for starting points on small data: scikit-learn's KMeans without its per-call
overhead.

scikit-learn's ``KMeans.fit`` costs milliseconds per call whatever the data size
(validation, thread-pool limits, waking OpenMP threads: tens of milliseconds when another
process keeps a core busy), more than a whole EM fit of a few hundred rows. Below
:data:`OWN_KMEANS_MAX_ROWS` rows emkit runs the same algorithm itself, every run of a call
in one compiled call (``_kmeans_kernels.py``, on the calling thread): the same k-means++
seeding, the same Lloyd iterations on the column-centred rows, the same relocation of
emptied clusters, the same stopping rule (labels unchanged, or the squared centre shifts
summing to at most 1e-4 times the mean column variance, or 300 iterations), the same
choice of the best run, with the floating-point operations in scikit-learn's order. The
random numbers are drawn here, before the compiled call, from the caller's generator and
in scikit-learn's order: per run one for the first seed (``RandomState.choice``) and
``2 + int(log k)`` for each further seed, whatever the data, so the generator ends where
scikit-learn leaves it.
"""

from __future__ import annotations

import numpy as np

from ._kmeans_kernels import kmeans_plusplus_seeds, kmeans_runs, lloyd_from

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
    replaces the kept one only with a smaller inertia and a different partition); ``rng``
    (a RandomState) is advanced as scikit-learn advances it."""
    if X.shape[0] >= OWN_KMEANS_MAX_ROWS:
        from sklearn.cluster import KMeans

        fitted = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=rng).fit(
            X, sample_weight=sample_weight)
        return fitted.cluster_centers_, fitted.labels_
    X, weights = _checked(X, n_clusters, sample_weight)
    n_trials = _n_trials(n_clusters)
    draws = rng.random_sample(n_init * _draws_per_run(n_clusters))
    return kmeans_runs(X, weights, draws, n_clusters, n_trials, RELATIVE_TOL, MAX_ITER)


def kmeans_plusplus_centres(X: np.ndarray, n_clusters: int, sample_weight, rng):
    """k-means++ seeding (greedy, ``2 + int(log k)`` candidates per centre): the centres
    and their row indices, drawn as ``sklearn.cluster.kmeans_plusplus`` draws them."""
    X, weights = _checked(X, n_clusters, sample_weight)
    draws = rng.random_sample(_draws_per_run(n_clusters))
    return kmeans_plusplus_seeds(X, weights, draws, n_clusters, _n_trials(n_clusters))


def lloyd(X: np.ndarray, sample_weight, start: np.ndarray):
    """``(centres, labels)`` of Lloyd iterations from the centres ``start``, as
    ``sklearn.cluster.KMeans(len(start), init=start, n_init=1).fit(X, sample_weight)``."""
    X, weights = _checked(X, start.shape[0], sample_weight)
    return lloyd_from(X, weights, np.ascontiguousarray(start, dtype=X.dtype), RELATIVE_TOL,
                      MAX_ITER)


def _checked(X, n_clusters: int, sample_weight):
    """X as a C-ordered float32/float64 array and the row weights in its precision (ones
    when None), as scikit-learn prepares them; a one-line error for what it refuses."""
    X = np.ascontiguousarray(X, dtype=X.dtype if X.dtype in (np.float32, np.float64)
                             else np.float64)
    if X.ndim != 2 or X.shape[0] < n_clusters or n_clusters < 1:
        raise ValueError(f"k-means needs a 2-d X with at least n_clusters={n_clusters} "
                         f"rows; got shape {X.shape}.")
    if sample_weight is None:
        return X, np.ones(X.shape[0], dtype=X.dtype)
    weights = np.ascontiguousarray(sample_weight, dtype=X.dtype)
    if (weights.shape != (X.shape[0],) or not np.all(np.isfinite(weights))
            or np.any(weights < 0) or not weights.sum() > 0):
        raise ValueError("k-means needs one finite, non-negative sample_weight per row, "
                         "with a positive sum.")
    return X, weights


def _n_trials(n_clusters: int) -> int:
    """Candidates per k-means++ seed after the first (scikit-learn's ``2 + int(log k)``)."""
    return 2 + int(np.log(n_clusters))


def _draws_per_run(n_clusters: int) -> int:
    """Random numbers one k-means++ seeding takes: one for the first seed (``choice``),
    ``_n_trials`` for each further one (``uniform``), whatever the data."""
    return 1 + (n_clusters - 1) * _n_trials(n_clusters)
