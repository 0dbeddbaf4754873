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


@pytest.fixture(scope="module")
def cluster_client():
    """A Dask LocalCluster of 2 worker processes and its client, one per test module."""
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client, cluster
    finally:
        client.close()
        cluster.close()
