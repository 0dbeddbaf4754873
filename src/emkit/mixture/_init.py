"""Starting responsibilities for a mixture: k-means, k-means++, random, random rows.

The draws reproduce scikit-learn's exactly (same generator calls in the same order), so the
same ``random_state`` starts emkit and scikit-learn from the same point.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def initial_responsibilities(method: str, X: np.ndarray, n_components: int,
                             sample_weight: np.ndarray | None, rng: np.random.RandomState):
    """Responsibilities of shape (n_samples, n_components) to start EM from."""
    n_samples = X.shape[0]
    if method == "kmeans":
        labels = KMeans(n_clusters=n_components, n_init=1, random_state=rng).fit(
            X, sample_weight=sample_weight).labels_
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
        _, rows = kmeans_plusplus(X, n_components, sample_weight=sample_weight,
                                  random_state=rng)
        return _one_hot_rows(rows, n_samples, n_components, X.dtype)
    raise ValueError(f"Unknown init_params {method!r}; expected one of {INIT_METHODS}.")


def _one_hot(labels, n_samples, n_components, dtype):
    resp = np.zeros((n_samples, n_components), dtype=dtype)
    resp[np.arange(n_samples), labels] = 1
    return resp


def _one_hot_rows(rows, n_samples, n_components, dtype):
    resp = np.zeros((n_samples, n_components), dtype=dtype)
    resp[rows, np.arange(n_components)] = 1
    return resp
