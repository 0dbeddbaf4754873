"""emkit's own k-means start on small data gives scikit-learn's KMeans labels, centres and
draws.

scikit-learn runs on one OpenMP thread here: its per-thread partial sums then add up in row
order, as emkit's do, so the centres agree to rounding and exact ties break alike.
"""

import platform

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

from emkit.mixture import _kmeans as kmeans
from emkit.mixture import _kmeans_kernels as kernels
from emkit.mixture._kmeans import OWN_KMEANS_MAX_ROWS, kmeans_labels, kmeans_plusplus_centres

from _benchmarks import load_benchmark

pytestmark = pytest.mark.numerics  # centres from compiled passes, compared with sklearn's


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


def _sklearn_kmeans(X, k, weights, rng, n_init=1, **params):
    with threadpool_limits(1, user_api="openmp"):
        return KMeans(k, n_init=n_init, random_state=rng, **params).fit(
            X, sample_weight=weights)


def _assert_same_as_sklearn(X, k, weights=None, seed=0, n_init=1):
    """Labels equal, centres to rounding, the generator advanced alike."""
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    centres, labels = kmeans.kmeans(X, k, weights, ours_rng, n_init=n_init)
    ref = _sklearn_kmeans(X, k, weights, ref_rng, n_init=n_init)
    assert_array_equal(labels, ref.labels_)
    scale = max(float(np.abs(X).max()), 1.0)
    atol = (1e-12 if X.dtype == np.float64 else 1e-5) * scale
    assert_allclose(centres, ref.cluster_centers_, rtol=0, atol=atol)
    assert centres.dtype == X.dtype and np.all(np.isfinite(centres))
    assert ours_rng.uniform() == ref_rng.uniform()
    return centres, labels


@pytest.mark.parametrize("seed", range(8))
def test_same_labels_and_draws_as_sklearn_kmeans(seed):
    X, k, weights = _data(seed)
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    ours = kmeans_labels(X, k, weights, ours_rng)
    assert_array_equal(ours, _sklearn_kmeans(X, k, weights, ref_rng).labels_)
    assert ours_rng.uniform() == ref_rng.uniform()  # the generator advanced alike


@pytest.mark.parametrize("seed", range(8, 20))
def test_same_centres_labels_and_draws_as_sklearn_kmeans(seed):
    _assert_same_as_sklearn(*_data(seed), seed=seed)


@pytest.mark.parametrize("seed", range(4))
def test_best_of_several_runs_as_sklearn_kmeans(seed):
    """n_init runs, the least inertia kept: scikit-learn's centres and labels."""
    _assert_same_as_sklearn(*_data(seed), seed=seed, n_init=5)


def test_hmmlearn_start_ten_runs_of_a_few_hundred_rows():
    """hmmlearn's KMeans(n_init=10) on stacked sequences."""
    X = np.random.default_rng(5).normal(size=(500, 3)) + np.repeat(np.eye(3) * 4, 167, 0)[:500]
    _assert_same_as_sklearn(X, 3, seed=11, n_init=10)


@pytest.mark.parametrize("seed", range(6))
def test_same_seeds_as_sklearn_kmeans_plusplus(seed):
    X, k, weights = _data(seed)
    ours_rng, ref_rng = np.random.RandomState(seed), np.random.RandomState(seed)
    centres, rows = kmeans_plusplus_centres(X, k, weights, ours_rng)
    ref_centres, ref_rows = kmeans_plusplus(X, k, sample_weight=weights, random_state=ref_rng)
    assert_array_equal(rows, ref_rows)
    assert_array_equal(centres, ref_centres)
    assert ours_rng.uniform() == ref_rng.uniform()


def test_duplicate_points():
    """Few distinct rows, each repeated: seeds drawn twice, equal distances everywhere."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(12, 2)).astype(float)[rng.integers(0, 12, 300)]
    for seed in range(5):
        _assert_same_as_sklearn(X, 4, seed=seed, n_init=3)


def test_as_many_clusters_as_distinct_points():
    """K equal to the distinct rows: every distinct row its own cluster, zero inertia."""
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    X = points[np.random.default_rng(2).integers(0, 4, 80)]
    centres, labels = _assert_same_as_sklearn(X, 4, seed=3)
    assert_allclose(centres[labels], X, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
def test_more_clusters_than_distinct_points():
    """Emptied clusters that no row can fill (every row on its centre) copy the heaviest
    cluster's centre, as scikit-learn's do; no NaN."""
    X = np.repeat(np.array([[0.0, 1.0], [3.0, 2.0]]), [30, 10], axis=0)
    centres, labels = _assert_same_as_sklearn(X, 4, seed=0)
    assert set(labels) <= {0, 1, 2, 3} and len(set(labels)) == 2


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
def test_constant_data():
    X = np.full((25, 3), 2.5)
    centres, labels = _assert_same_as_sklearn(X, 3, seed=4)
    assert_allclose(centres, 2.5)


def test_exact_ties_on_a_lattice():
    """Rows midway between seeds (integer lattice, centred by a non-integral mean): the
    rounding of ||c||^2 - 2 x.c decides, so it must be scikit-learn's rounding."""
    grid = np.stack(np.meshgrid(np.arange(5.0), np.arange(4.0)), -1).reshape(-1, 2)
    X = np.vstack([grid, grid[:7], [[0.5, 0.5]]])
    for seed in range(12):
        _assert_same_as_sklearn(X, 5, seed=seed)
    X3 = np.round(np.random.default_rng(7).normal(size=(400, 3)) * 1.5)
    for seed in range(6):
        _assert_same_as_sklearn(X3, 6, seed=seed, n_init=2)


def test_weighted_rows_including_zero_weights():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 4)) + 5.0 * rng.integers(0, 3, size=(300, 1))
    weights = rng.exponential(size=300)
    weights[::7] = 0.0
    _assert_same_as_sklearn(X, 3, weights, seed=1, n_init=4)
    _assert_same_as_sklearn(X, 3, np.round(weights * 3), seed=2)  # integral weights


def test_float32_rows():
    rng = np.random.default_rng(9)
    X = (rng.normal(size=(700, 10)) + 3.0 * rng.integers(0, 8, size=(700, 1))).astype(np.float32)
    _assert_same_as_sklearn(X, 8, seed=5)
    _assert_same_as_sklearn(X, 8, rng.uniform(0.5, 2.0, 700).astype(np.float32), seed=6)


def test_one_feature():
    rng = np.random.default_rng(10)
    X = np.concatenate([rng.normal(0, 1, 100), rng.normal(6, 1, 50), [3.0] * 5])[:, None]
    for seed in range(3):
        _assert_same_as_sklearn(X, 3, seed=seed, n_init=2)
    _assert_same_as_sklearn(np.round(X), 4, seed=3)


def test_many_clusters():
    """More centres than numpy sums in one block (128): the stopping rule's sum of the
    squared centre shifts is numpy's pairwise sum."""
    X = np.random.default_rng(11).normal(size=(600, 2))
    _assert_same_as_sklearn(X, 150, seed=0)


def test_emptied_cluster_is_relocated_like_sklearn():
    """Starting centres far from every row get no rows: they are moved onto the rows
    farthest from their centres, as scikit-learn moves them (given centres, same labels)."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 6.0])
    weights = rng.uniform(0.5, 1.5, len(X))
    start = np.array([[0.0, 0.0], [6.0, 6.0], [100.0, 100.0], [-100.0, 50.0]])
    centres, labels = kmeans.lloyd(X, weights, start)
    ref = _sklearn_kmeans(X, 4, weights, None, init=start)
    assert_array_equal(labels, ref.labels_)
    assert_allclose(centres, ref.cluster_centers_, rtol=0, atol=1e-12 * 100)
    assert set(labels) == {0, 1, 2, 3}  # the two far centres were given rows


def test_same_clustering_is_a_map_from_the_new_labels():
    """scikit-learn's rule: the new labels map onto the kept ones cluster by cluster."""
    a = np.array([0, 0, 1, 2, 2])
    assert kernels._same_clustering(a, np.array([2, 2, 0, 1, 1]), 3)
    assert not kernels._same_clustering(a, np.array([2, 2, 0, 1, 0]), 3)
    assert kernels._same_clustering(np.array([0, 1, 2]), np.array([0, 0, 1]), 3)
    assert not kernels._same_clustering(np.array([0, 0, 1]), np.array([0, 1, 1]), 3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sums_in_numpys_order(dtype):
    """The stopping rule's sum is numpy's own, for every length (pairwise blocks)."""
    rng = np.random.default_rng(12)
    for n in [*range(1, 40), 127, 128, 129, 255, 256, 257, 1000, 1031]:
        values = (rng.exponential(size=n) * 10.0 ** rng.uniform(-4, 4, n)).astype(dtype)
        assert kernels._numpy_sum(values) == values.sum()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_features", [1, 2, 7])
def test_centring_tolerance_and_first_seed_weights_as_numpy(dtype, n_features):
    """Column means and centred rows, the tolerance np.mean(np.var(X, axis=0)) * 1e-4, and
    RandomState.choice's cumulative probabilities, as numpy computes them."""
    rng = np.random.default_rng(n_features)
    X = (rng.normal(size=(999, n_features)) * 10.0 ** rng.uniform(-2, 3, n_features)
         + 50.0).astype(dtype)
    centred, mean, tol = kernels._centred(X, kmeans.RELATIVE_TOL)
    assert_array_equal(mean, X.mean(axis=0))
    assert_array_equal(centred, X - X.mean(axis=0))
    assert tol == np.mean(np.var(X, axis=0)) * kmeans.RELATIVE_TOL
    weights = rng.uniform(0.0, 3.0, 999).astype(dtype)
    rows64, norms64, first_cdf = kernels._seeding_inputs(X, weights)
    cdf = np.asarray(weights / weights.sum(), dtype=np.float64).cumsum()
    assert_array_equal(first_cdf, cdf / cdf[-1])
    assert_array_equal(rows64, X.astype(np.float64))


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="numpy's einsum lanes are those of its x86-64 builds")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_centre_norms_in_einsums_order(dtype):
    rng = np.random.default_rng(13)
    lanes = np.empty(4, dtype=dtype)
    for d in range(1, 40):
        rows = (rng.normal(size=(50, d)) * rng.uniform(0.1, 10, (50, 1))).astype(dtype)
        ours = [kernels._einsum_squared_norm(row, lanes) for row in rows]
        assert_array_equal(np.array(ours, dtype=dtype), np.einsum("ij,ij->i", rows, rows))


def test_bad_input_gets_one_line_errors():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="at least n_clusters=4 rows"):
        kmeans.kmeans(X, 4, None, np.random.RandomState(0))
    with pytest.raises(ValueError, match="non-negative sample_weight"):
        kmeans.kmeans(X, 2, np.array([1.0, -1.0, 1.0]), np.random.RandomState(0))
    with pytest.raises(ValueError, match="positive sum"):
        kmeans_plusplus_centres(X, 2, np.zeros(3), np.random.RandomState(0))


def test_large_data_keeps_sklearn_kmeans():
    """From OWN_KMEANS_MAX_ROWS rows on, scikit-learn's (parallel) KMeans runs."""
    X = np.random.default_rng(0).normal(size=(OWN_KMEANS_MAX_ROWS, 1))
    ours = kmeans_labels(X, 2, None, np.random.RandomState(0))
    ref = KMeans(2, n_init=1, random_state=0).fit(X).labels_
    assert_array_equal(ours, ref)


def test_quick_kmeans_benchmark(capsys):
    """Smoke run of benchmarks/bench_kmeans.py: every row timed, labels scikit-learn's."""
    table = load_benchmark("bench_kmeans").main(["--quick"])
    assert [row["case"] for row in table] == ["iris", "blobs", "hmm small fits"]
    assert all(row["emkit_s"] > 0 and row["sklearn_s"] > 0 for row in table)
    assert all(row["same_labels"] for row in table)
    assert "speed-up" in capsys.readouterr().out


@pytest.mark.parametrize("rows", [np.zeros((30, 2)), np.eye(5)[np.arange(40) % 5],
                                  np.random.default_rng(14).normal(size=(300, 3))])
def test_number_of_draws_does_not_depend_on_the_data(rows):
    """One draw per run for the first seed, 2 + int(log k) per further seed: the generator
    ends where drawing that many uniforms leaves it, for any data (constant rows too)."""
    for k, n_init in [(1, 1), (4, 3), (5, 10)]:
        rng, expected = np.random.RandomState(k), np.random.RandomState(k)
        kmeans.kmeans(rows, k, None, rng, n_init=n_init)
        expected.random_sample(n_init * (1 + (k - 1) * (2 + int(np.log(k)))))
        assert rng.uniform() == expected.uniform()
