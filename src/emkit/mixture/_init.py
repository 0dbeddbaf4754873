"""Starting points of a mixture: k-means, k-means++, random, random rows, model-based
hierarchical clustering, and the random partitions em-EM's short runs start from.

The first four reproduce scikit-learn's draws exactly (same generator calls in the same
order), so the same ``random_state`` starts emkit and scikit-learn from the same point.
"""

from __future__ import annotations

import numpy as np

from ._hierarchical import hierarchical_labels
from ._kmeans import kmeans_labels, kmeans_plusplus_centres

#: Methods that give starting responsibilities (scikit-learn's four).
RESPONSIBILITY_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
#: Every init_params value: those, plus model-based hierarchical clustering (mclust's
#: start) and em-EM (the best of many short EM runs from random centres).
INIT_METHODS = RESPONSIBILITY_METHODS + ("hierarchical", "em-em")


def initial_responsibilities(method: str, X: np.ndarray, n_components: int,
                             sample_weight: np.ndarray | None, rng: np.random.RandomState):
    """Responsibilities of shape (n_samples, n_components) to start EM from."""
    n_samples = X.shape[0]
    if method == "kmeans":
        labels = kmeans_labels(X, n_components, sample_weight, rng)
        return _one_hot(labels, n_samples, n_components, X.dtype)
    if method == "random":
        resp = np.asarray(rng.uniform(size=(n_samples, n_components)), dtype=X.dtype)
        return resp / resp.sum(axis=1)[:, None]
    if method == "random_from_data":
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        if p is not None and np.count_nonzero(p) < n_components:
            raise ValueError(
                f"init_params='random_from_data' needs at least n_components="
                f"{n_components} rows with a positive sample_weight; got "
                f"{np.count_nonzero(p)}.")
        rows = rng.choice(n_samples, size=n_components, replace=False, p=p)
        return _one_hot_rows(rows, n_samples, n_components, X.dtype)
    if method == "k-means++":
        _, rows = kmeans_plusplus_centres(X, n_components, sample_weight, rng)
        return _one_hot_rows(rows, n_samples, n_components, X.dtype)
    raise ValueError(f"Unknown init_params {method!r}; expected one of "
                     f"{RESPONSIBILITY_METHODS}.")


def subsample_rows(n_samples: int, size: int, sample_weight, rng) -> np.ndarray:
    """Sorted indices of at most ``size`` rows: all rows (with a positive weight) when
    there are no more, else a random subsample drawn in proportion to the weights."""
    positive = (np.arange(n_samples) if sample_weight is None
                else np.flatnonzero(sample_weight > 0))
    if positive.size <= size:
        return positive
    p = None if sample_weight is None else sample_weight[positive] / sample_weight[positive].sum()
    return np.sort(rng.choice(positive, size=size, replace=False, p=p))


def hierarchical_start(X: np.ndarray, n_components: int, sample_weight, rng, *,
                       subsample: int, covariance_type: str):
    """Rows and one-hot responsibilities of the ``n_components``-cluster cut of a
    model-based hierarchical clustering of at most ``subsample`` rows (all rows, and so
    deterministic, when there are no more). Every covariance type starts from the
    unconstrained ('VVV') tree, as mclust's ``mclustBIC`` does (``hcModelName``), so one
    tree serves every model and every K; from Ward's ('EII') tree when there are no more
    rows than columns, as mclust then does. ``covariance_type`` is not used."""
    rows = subsample_rows(X.shape[0], subsample, sample_weight, rng)
    if rows.size < n_components:
        raise ValueError(f"init_params='hierarchical' needs at least n_components="
                         f"{n_components} rows with a positive sample_weight; got "
                         f"{rows.size}.")
    labels = hierarchical_labels(X[rows], n_components,
                                 "VVV" if rows.size > X.shape[1] else "EII")
    return rows, _one_hot(labels, rows.size, n_components, X.dtype)


def seeded_partition(problem, X: np.ndarray, n_components: int, sample_weight, rng):
    """em-EM's random starts: k-means++ seeds (random rows, spread out by D^2 sampling),
    every row assigned to its nearest seed, and the M-step on that partition."""
    centres, _ = kmeans_plusplus_centres(X, n_components, sample_weight, rng)
    distances = (np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * X @ centres.T
                 + np.einsum("ij,ij->i", centres, centres)[None, :])
    resp = _one_hot(np.argmin(distances, axis=1), X.shape[0], n_components, X.dtype)
    return problem.params_from_resp(X, resp, sample_weight)


def _one_hot(labels, n_samples, n_components, dtype):
    resp = np.zeros((n_samples, n_components), dtype=dtype)
    resp[np.arange(n_samples), labels] = 1
    return resp


def _one_hot_rows(rows, n_samples, n_components, dtype):
    resp = np.zeros((n_samples, n_components), dtype=dtype)
    resp[rows, np.arange(n_components)] = 1
    return resp
