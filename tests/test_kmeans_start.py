"""emkit's own k-means start on small data gives scikit-learn's KMeans labels and draws."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans, kmeans_plusplus

from emkit.mixture import _kmeans as kmeans
from emkit.mixture._kmeans import OWN_KMEANS_MAX_ROWS, kmeans_labels, kmeans_plusplus_centres

pytestmark = pytest.mark.numerics  # centres from a compiled pass, compared with sklearn's


def _data(seed):
    """Blobs of varied size and shape; every third set rounded to integers (exact ties and
    duplicate rows), every fourth float32, every other one with row weights (some zero)."""
    rng = np.random.default_rng(seed)
    n, d, k = int(rng.integers(20, 1500)), int(rng.integers(1, 9)), int(rng.integers(1, 9))
    X = rng.normal(size=(n, d)) + 3.0 * rng.integers(0, 4, size=(n, 1))
    if seed % 3 == 0:
        X = np.round(X)
    if seed % 4 == 0:
        X = X.astype(np.float32)
    weights = None
    if seed % 2 == 0:
        weights = rng.uniform(0.0, 2.0, n)
        weights[rng.random(n) < 0.1] = 0.0
    return X, k, weights


@pytest.mark.parametrize("seed", range(8))
def test_same_labels_and_draws_as_sklearn_kmeans(seed):
    X, k, weights = _data(seed)
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    ours = kmeans_labels(X, k, weights, ours_rng)
    ref = KMeans(k, n_init=1, random_state=ref_rng).fit(X, sample_weight=weights).labels_
    assert_array_equal(ours, ref)
    assert ours_rng.uniform() == ref_rng.uniform()  # the generator advanced alike


@pytest.mark.parametrize("seed", range(4))
def test_best_of_several_runs_as_sklearn_kmeans(seed):
    """n_init runs, the least inertia kept: scikit-learn's centres and labels."""
    X, k, weights = _data(seed)
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    centres, labels = kmeans.kmeans(X, k, weights, ours_rng, n_init=5)
    ref = KMeans(k, n_init=5, random_state=ref_rng).fit(X, sample_weight=weights)
    assert_array_equal(labels, ref.labels_)
    scale = float(np.abs(X).max())
    assert_allclose(centres, ref.cluster_centers_, rtol=1e-5, atol=1e-5 * scale)
    assert centres.dtype == X.dtype
    assert ours_rng.uniform() == ref_rng.uniform()


def test_same_partition_ignores_the_names_of_clusters():
    a = np.array([0, 0, 1, 2, 2])
    assert kmeans._same_partition(a, np.array([2, 2, 0, 1, 1]), 3)
    assert not kmeans._same_partition(a, np.array([2, 2, 0, 1, 0]), 3)
    assert not kmeans._same_partition(a, np.array([0, 1, 1, 2, 2]), 3)


@pytest.mark.parametrize("seed", range(6))
def test_same_seeds_as_sklearn_kmeans_plusplus(seed):
    X, k, weights = _data(seed)
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    centres, rows = kmeans_plusplus_centres(X, k, weights, ours_rng)
    ref_centres, ref_rows = kmeans_plusplus(X, k, sample_weight=weights, random_state=ref_rng)
    assert_array_equal(rows, ref_rows)
    assert_array_equal(centres, ref_centres)
    assert ours_rng.uniform() == ref_rng.uniform()


def test_emptied_cluster_is_relocated_like_sklearn(monkeypatch):
    """Starting centres far from every row get no rows: they are moved onto the rows
    farthest from their centres, as scikit-learn moves them (given centres, same labels)."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 6.0])
    weights = rng.uniform(0.5, 1.5, len(X))
    start = np.array([[0.0, 0.0], [6.0, 6.0], [100.0, 100.0], [-100.0, 50.0]])
    spies = []
    original = kmeans._relocate_empty_clusters

    def spy(X, w, old_centres, labels, sums, totals):
        spies.append(int(np.count_nonzero(totals == 0)))
        original(X, w, old_centres, labels, sums, totals)

    mean = X.mean(axis=0)
    monkeypatch.setattr(kmeans, "_relocate_empty_clusters", spy)
    _, ours = kmeans.lloyd(X - mean, weights, start - mean,
                        float(np.mean(np.var(X, axis=0))) * kmeans.RELATIVE_TOL)
    ref = KMeans(4, init=start, n_init=1).fit(X, sample_weight=weights).labels_
    assert spies[0] == 2  # the two far centres emptied in the first iteration
    assert_array_equal(ours, ref)


def test_large_data_keeps_sklearn_kmeans():
    """From OWN_KMEANS_MAX_ROWS rows on, scikit-learn's (parallel) KMeans runs."""
    X = np.random.default_rng(0).normal(size=(OWN_KMEANS_MAX_ROWS, 1))
    ours = kmeans_labels(X, 2, None, np.random.RandomState(0))
    ref = KMeans(2, n_init=1, random_state=0).fit(X).labels_
    assert_array_equal(ours, ref)
