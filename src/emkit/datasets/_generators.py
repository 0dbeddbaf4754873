"""Generators of data whose generating parameters are known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state


@dataclass(frozen=True)
class KnownMixture:
    """Rows drawn from a Gaussian mixture, with the parameters that drew them."""

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def make_gaussian_mixture(n_samples=1000, n_components=3, n_features=2, *, separation=6.0,
                          weights=None, dtype=np.float64, random_state=None) -> KnownMixture:
    """Draw rows from a random Gaussian mixture with full covariances.

    Parameters
    ----------
    n_samples, n_components, n_features : int
    separation : float
        Scale of the random component means relative to the unit-order covariances; larger
        values give better separated components.
    weights : array-like of shape (n_components,), default=None
        Mixing weights (equal when None).
    dtype : numpy dtype, default=float64
    random_state : int, RandomState or None

    Returns
    -------
    KnownMixture
    """
    rng = check_random_state(random_state)
    weights = (np.full(n_components, 1.0 / n_components) if weights is None
               else np.asarray(weights, dtype=float))
    if weights.shape != (n_components,) or np.any(weights < 0) or not np.isclose(
            weights.sum(), 1.0):
        raise ValueError("weights must be n_components non-negative numbers summing to 1")
    means = rng.uniform(-separation, separation, size=(n_components, n_features))
    factors = rng.normal(size=(n_components, n_features, n_features)) / np.sqrt(n_features)
    covariances = factors @ factors.transpose(0, 2, 1) + 0.2 * np.eye(n_features)
    labels = rng.choice(n_components, size=n_samples, p=weights)
    chol = np.linalg.cholesky(covariances)
    noise = rng.standard_normal(size=(n_samples, n_features))
    X = means[labels] + np.einsum("nij,nj->ni", chol[labels], noise)
    return KnownMixture(X.astype(dtype), labels, weights, means, covariances)
