import numpy as np
import pytest

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def make_blobs(n_per=(120, 90, 60), n_features=3, seed=0, spread=4.0):
    """Rows from len(n_per) Gaussian blobs with random covariances; returns (X, labels)."""
    rng = np.random.RandomState(seed)
    parts, labels = [], []
    for k, n in enumerate(n_per):
        A = rng.randn(n_features, n_features) * 0.6
        mean = rng.randn(n_features) * spread
        parts.append(rng.randn(n, n_features) @ A + mean + 0.3 * rng.randn(n, n_features))
        labels.append(np.full(n, k))
    return np.vstack(parts), np.concatenate(labels)


@pytest.fixture
def blobs():
    return make_blobs()
