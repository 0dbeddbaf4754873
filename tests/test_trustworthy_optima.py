"""The degeneracy guard, the hierarchical (mclust) start and em-EM."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emkit import DegenerateFitWarning, GaussianMixture
from emkit.hmm import GaussianHMM
from emkit.mixture import select
from emkit.mixture._covariance import covariance_model
from emkit.mixture._degeneracy import degenerate_components
from emkit.mixture._gaussian_problem import GaussianMixtureParams
from emkit.mixture._hierarchical import mclust_merges, merge_sequence, partition, transformed

IRIS = load_iris().data
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical", "em-em")


def smallest_eigenvalue(model):
    return min(np.linalg.eigvalsh(c).min() for c in model.covariances_)


# -- the guard --------------------------------------------------------------------------------
@pytest.mark.parametrize("init_params", INIT_METHODS)
@pytest.mark.parametrize("n_init", [1, 5, 20, 100])
def test_iris_fit_is_never_degenerate(init_params, n_init):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the 'random' starts
        model = GaussianMixture(3, init_params=init_params, n_init=n_init,
                                random_state=0).fit(IRIS)
    assert not model.degenerate_
    assert model.degenerate_components_.size == 0
    assert smallest_eigenvalue(model) > 1e-3
    assert model.bic(IRIS) > 570  # the collapsed fit scores 418.8
    assert (model.weights_ * len(IRIS)).min() > 5


def test_same_draws_as_scikit_learn_but_the_sound_fit_kept():
    # scikit-learn's GaussianMixture(3, init_params='random_from_data', n_init=20,
    # random_state=0) returns a fit with BIC 418.8 and a covariance at reg_covar
    ours = GaussianMixture(3, init_params="random_from_data", n_init=20, random_state=0)
    ours.fit(IRIS)
    # the restarts are scikit-learn's (same draws): one of them is that collapsed fit
    finals = [history[-1] for history in ours.restart_lower_bounds_]
    assert max(finals) > ours.lower_bound_ + 0.3
    assert ours.bic(IRIS) == pytest.approx(580.8, abs=0.2)


def three_points_repeated():
    """Rows at three points only, 12 copies each: any K=3 full fit collapses."""
    points = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
    return np.repeat(points, 12, axis=0)


def test_every_restart_degenerate_warns_and_names_components():
    X = three_points_repeated()
    model = GaussianMixture(3, n_init=2, random_state=0)
    with pytest.warns(DegenerateFitWarning, match=r"component\(s\) \[0, 1, 2\]"):
        model.fit(X)
    assert model.degenerate_
    np.testing.assert_array_equal(model.degenerate_components_, [0, 1, 2])
    # the n_init runs, then the extra starts, all degenerate
    assert len(model.restart_lower_bounds_) == 2 + GaussianMixture.EXTRA_STARTS
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covariances_))


def test_a_degenerate_first_run_is_replaced():
    # one component per point would collapse; two clusters in the data are sound
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(40, 2), rng.randn(40, 2) + 6, [[20.0, 20.0]] * 3])
    runs = []
    for seed in range(10):
        model = GaussianMixture(3, init_params="random_from_data", random_state=seed).fit(X)
        runs.append(len(model.restart_lower_bounds_))
        # whenever a sound fit exists among the tries, it is the one kept
        assert not model.degenerate_ or len(model.restart_lower_bounds_) == 11
    assert max(runs) > 1  # some first runs collapsed and were replaced


def _mixture(weights, means, covariances):
    weights, means, covariances = map(np.asarray, (weights, means, covariances))
    return GaussianMixtureParams(weights, means, covariances, None)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_rule_flags_a_covariance_at_the_floor(covariance_type):
    reg = 1e-6
    cov = covariance_model(covariance_type)
    means = [[0.0, 0.0], [5.0, 5.0]]
    sound = {"full": [np.eye(2), np.eye(2)], "tied": np.eye(2), "diag": [[1, 1], [1, 1]],
             "spherical": [1.0, 1.0]}[covariance_type]
    theta = _mixture([0.5, 0.5], means, sound)
    assert degenerate_components(cov, theta, 100, reg).size == 0
    collapsed = {"full": [np.eye(2), np.diag([1.0, 2 * reg])], "tied": np.diag([1, 2 * reg]),
                 "diag": [[1, 1], [1, 2 * reg]], "spherical": [1.0, 2 * reg]}[covariance_type]
    flagged = degenerate_components(cov, _mixture([0.5, 0.5], means, collapsed), 100, reg)
    expected = [0, 1] if covariance_type == "tied" else [1]
    np.testing.assert_array_equal(flagged, expected)


@pytest.mark.parametrize("covariance_type,size,flagged", [
    ("full", 2.9, True), ("full", 3.1, False),  # D + 1 = 3 rows
    ("diag", 1.9, True), ("diag", 2.1, False),
    ("spherical", 1.9, True), ("spherical", 2.1, False),
    ("tied", 0.9, True), ("tied", 1.1, False),
])
def test_rule_flags_too_few_rows(covariance_type, size, flagged):
    cov = covariance_model(covariance_type)
    covariances = {"full": [np.eye(2)] * 2, "tied": np.eye(2), "diag": np.ones((2, 2)),
                   "spherical": np.ones(2)}[covariance_type]
    total = 100.0
    theta = _mixture([size / total, 1 - size / total], [[0, 0], [5, 5]], covariances)
    result = degenerate_components(cov, theta, total, 1e-6)
    assert (0 in result) is flagged and 1 not in result


def test_flat_data_is_not_a_collapse():
    # a constant column: every component is flat there, as the data are
    rng = np.random.RandomState(0)
    X = np.column_stack([np.concatenate([rng.randn(60), rng.randn(60) + 8]), np.ones(120)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        for covariance_type in ("full", "tied", "diag", "spherical"):
            model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
            assert not model.degenerate_, covariance_type


def test_select_marks_degenerate_rows_and_never_picks_one():
    X = three_points_repeated()
    result = select(X, [1, 2, 3], covariance_types="full", random_state=0)
    flags = {row["n_components"]: row["degenerate"] for row in result.table}
    assert flags == {1: False, 2: True, 3: True}
    bic = {row["n_components"]: row["bic"] for row in result.table}
    assert bic[3] < bic[1]  # the collapsed fit "wins" on BIC ...
    assert result.best_.n_components == 1  # ... and is still not chosen


# -- hierarchical -------------------------------------------------------------------------------
def naive_merges(Z, criterion, alpha=1.0):
    """Agglomeration by brute force: at every step, every pair of clusters is tried."""
    n, p = Z.shape

    def term(rows):
        m = len(rows)
        centred = Z[rows] - Z[rows].mean(axis=0)
        W = centred.T @ centred
        if criterion == "VII":
            return m * p * np.log((np.trace(W) + alpha) / (m * p))
        det = np.linalg.det(W / m) if m > p else 0.0
        return m * np.log(det + (np.trace(W) + alpha) / m)

    clusters = {i: [i] for i in range(n)}
    merges = []
    while len(clusters) > 1:
        best = None
        for a, b in itertools.combinations(sorted(clusters), 2):
            cost = term(clusters[a] + clusters[b]) - term(clusters[a]) - term(clusters[b])
            if best is None or cost < best[0] - 1e-12:
                best = (cost, a, b)
        _, a, b = best
        clusters[a] = clusters[a] + clusters.pop(b)
        merges.append((a, b))
    return np.array(merges)


@pytest.mark.parametrize("criterion", ["VVV", "VII"])
@pytest.mark.parametrize("seed", [0, 1])
def test_merges_equal_brute_force(criterion, seed):
    rng = np.random.RandomState(seed)
    Z = np.vstack([rng.randn(7, 3), rng.randn(7, 3) * 0.5 + 3])
    np.testing.assert_array_equal(merge_sequence(Z, criterion), naive_merges(Z, criterion))


def test_partition_follows_the_merges():
    merges = np.array([[0, 1], [2, 3], [0, 2]])
    np.testing.assert_array_equal(partition(merges, 4, 4), [0, 1, 2, 3])
    np.testing.assert_array_equal(partition(merges, 4, 2), [0, 0, 1, 1])
    np.testing.assert_array_equal(partition(merges, 4, 1), [0, 0, 0, 0])


def test_transform_is_mclusts_svd():
    Z = transformed(IRIS)
    assert np.allclose(Z.mean(axis=0), 0)
    cov = np.cov(Z, rowvar=False)
    assert np.allclose(cov, np.diag(np.diag(cov)), atol=1e-12)  # principal axes


@pytest.mark.parametrize("n_components,mclust_bic", [(2, -574.0178), (3, -580.84)])
def test_hierarchical_reproduces_mclust_on_iris(n_components, mclust_bic):
    # mclust's published VVV BIC values (its sign: 2 logL - p log n)
    model = GaussianMixture(n_components, init_params="hierarchical", tol=1e-8,
                            max_iter=1000).fit(IRIS)
    assert -model.bic(IRIS) == pytest.approx(mclust_bic, abs=5e-3)


def test_hierarchical_is_deterministic_up_to_the_subsample():
    a = GaussianMixture(3, init_params="hierarchical", max_iter=0, random_state=1).fit(IRIS)
    b = GaussianMixture(3, init_params="hierarchical", max_iter=0, random_state=2).fit(IRIS)
    np.testing.assert_array_equal(a.means_, b.means_)
    c = GaussianMixture(3, init_params="hierarchical", max_iter=0, random_state=1,
                        init_subsample=100).fit(IRIS)
    d = GaussianMixture(3, init_params="hierarchical", max_iter=0, random_state=2,
                        init_subsample=100).fit(IRIS)
    assert not np.allclose(c.means_, d.means_)  # different subsamples


def test_hierarchical_start_is_the_m_step_on_the_cut():
    model = GaussianMixture(3, init_params="hierarchical", max_iter=0).fit(IRIS)
    labels = partition(mclust_merges(IRIS), len(IRIS), 3)
    expected = np.array([IRIS[labels == k].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(model.means_, expected, rtol=1e-12, atol=1e-12)


def test_hierarchical_on_many_rows_uses_a_subsample():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(20_000, 2), rng.randn(20_000, 2) + 5])
    model = GaussianMixture(2, init_params="hierarchical", init_subsample=500,
                            random_state=0).fit(X)
    assert sorted(np.round(model.means_[:, 0])) == [0, 5]


def test_hierarchical_and_em_em_in_select_and_streamed_fits(tmp_path):
    result = select(IRIS, [2, 3], covariance_types="full", init_params="hierarchical")
    assert {row["n_components"] for row in result.table} == {2, 3}
    path = tmp_path / "iris.dat"
    memmap = np.memmap(path, dtype=np.float64, mode="w+", shape=IRIS.shape)
    memmap[:] = IRIS
    memmap.flush()
    for method in ("hierarchical", "em-em"):
        streamed = GaussianMixture(3, init_params=method, random_state=0, tol=1e-8,
                                   max_iter=500).fit(np.memmap(path, dtype=np.float64,
                                                               mode="r", shape=IRIS.shape))
        assert streamed.bic(IRIS) == pytest.approx(580.84, abs=0.01), method
        online = GaussianMixture(3, init_params=method, random_state=0).partial_fit(IRIS)
        assert np.all(np.isfinite(online.means_))


# -- em-EM ---------------------------------------------------------------------------------------
def test_em_em_is_reproducible_and_finds_the_iris_optimum():
    a = GaussianMixture(3, init_params="em-em", random_state=0, tol=1e-8, max_iter=500)
    b = GaussianMixture(3, init_params="em-em", random_state=0, tol=1e-8, max_iter=500)
    a.fit(IRIS), b.fit(IRIS)
    np.testing.assert_array_equal(a.means_, b.means_)
    assert a.bic(IRIS) == pytest.approx(580.84, abs=0.01)


def test_em_em_continues_the_best_short_runs():
    # n_init runs are continued, each from one of the best short runs, best first
    model = GaussianMixture(4, init_params="em-em", n_init=3, random_state=0,
                            max_iter=200).fit(IRIS)
    starts = [history[0] for history in model.restart_lower_bounds_]
    assert len(starts) == 3
    assert starts == sorted(starts, reverse=True)


# -- HMM emissions -----------------------------------------------------------------------------
def test_gaussian_hmm_hierarchical_means():
    model = GaussianHMM(3, emission_init="hierarchical", init_params="smc", params="",
                        n_iter=1)
    model.transmat_ = np.full((3, 3), 1 / 3)
    model.fit(IRIS)
    labels = partition(mclust_merges(IRIS), len(IRIS), 3)
    expected = np.array([IRIS[labels == k].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(model.means_, expected, rtol=1e-12, atol=1e-12)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("params,match", [
    (dict(init_params="ward"), "init_params"),
    (dict(init_params="hierarchical", init_subsample=2), "init_subsample=2 is smaller"),
    (dict(init_subsample=0), "init_subsample"),
    (dict(init_subsample=2.5), "init_subsample"),
])
def test_bad_init_options(params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(3, **params).fit(IRIS)


@pytest.mark.parametrize("params,match", [
    (dict(emission_init="ward"), "emission_init"),
    (dict(emission_init="hierarchical", init_subsample=2), "init_subsample=2 is smaller"),
])
def test_bad_hmm_init_options(params, match):
    with pytest.raises(ValueError, match=match):
        GaussianHMM(3, **params).fit(IRIS)


def test_selection_over_k_clusters_the_rows_once(monkeypatch):
    from emkit.mixture import _hierarchical

    calls = []
    original = _hierarchical.merge_sequence

    def counting(Z, criterion="VVV", alpha=_hierarchical.ALPHA, as_mclust=False):
        calls.append(criterion)
        return original(Z, criterion, alpha, as_mclust)

    monkeypatch.setattr(_hierarchical, "merge_sequence", counting)
    monkeypatch.setattr(_hierarchical, "_MERGES", {})
    X = IRIS + 1e-3  # rows no earlier test has clustered
    result = select(X, [2, 3, 4], covariance_types=("full", "spherical", "diag", "tied"),
                    init_params="hierarchical")
    # one clustering (mclust's VVV tree for every model), cut at three numbers of clusters
    assert calls == ["VVV"]
    labels = partition(_hierarchical.mclust_merges(X), len(X), 3)
    expected = np.array([X[labels == k].mean(axis=0) for k in range(3)])
    start = GaussianMixture(3, init_params="hierarchical", max_iter=0).fit(X)
    np.testing.assert_allclose(start.means_, expected, rtol=1e-12, atol=1e-12)
    assert len(result.table) == 12
