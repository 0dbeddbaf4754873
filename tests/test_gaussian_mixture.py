"""Behaviour of emkit.GaussianMixture: invariants, weights, dtypes, degenerate data."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal

from emkit import (ConvergenceWarning, DegenerateFitWarning, GaussianMixture,
                   LikelihoodDecreaseWarning)
from conftest import COVARIANCE_TYPES, make_blobs

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU


def _start_from(model):
    return dict(weights_init=model.weights_, means_init=model.means_,
                precisions_init=model.precisions_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_responsibilities_are_posteriors(covariance_type, blobs):
    """predict_proba equals Bayes' rule with scipy's densities; score_samples the log mixture."""
    X, _ = blobs
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    full = {"full": lambda k: gm.covariances_[k], "tied": lambda k: gm.covariances_,
            "diag": lambda k: np.diag(gm.covariances_[k]),
            "spherical": lambda k: gm.covariances_[k] * np.eye(X.shape[1])}[covariance_type]
    dens = np.column_stack([gm.weights_[k] * multivariate_normal(gm.means_[k], full(k)).pdf(X)
                            for k in range(3)])
    assert_allclose(gm.predict_proba(X), dens / dens.sum(1, keepdims=True), rtol=1e-9,
                    atol=1e-12)
    assert_allclose(gm.score_samples(X), np.log(dens.sum(1)), rtol=1e-10, atol=1e-10)
    assert_allclose(gm.predict_proba(X).sum(1), 1.0, rtol=1e-12)
    assert_allclose(gm.weights_.sum(), 1.0, rtol=1e-12)


def test_recovers_known_blobs():
    X, labels = make_blobs(n_per=(300, 300, 300), seed=4, spread=8.0)
    gm = GaussianMixture(3, random_state=0).fit(X)
    pred = gm.predict(X)
    # the best matching of found to true labels is nearly perfect
    agreement = max(np.mean(pred == perm[labels]) for perm in
                    map(np.array, __import__("itertools").permutations(range(3))))
    assert agreement > 0.99
    assert_allclose(np.sort(gm.weights_), [1 / 3] * 3, atol=0.02)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict(covariance_type, blobs):
    X, _ = blobs
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = GaussianMixture(**kw).fit_predict(X)
        assert_array_equal(labels, GaussianMixture(**kw).fit(X).predict(X))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True, database=None)  # the same examples on every run
@given(
    seed=st.integers(0, 2**31 - 1),
    n_components=st.integers(1, 5),
    n_features=st.integers(1, 4),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
    weighted=st.booleans(),
    reg_covar=st.sampled_from([1e-6, 1e-6, 1e-3, 0.3]),
)
def test_log_likelihood_never_decreases(seed, n_components, n_features, covariance_type,
                                        init_params, weighted, reg_covar):
    """Monotone to round-off; where reg_covar binds (a large reg_covar, or components
    collapsed to its floor: the M-step is then not an exact maximiser) any fall stays within
    the bound the model computes, so no warning fires."""
    rng = np.random.RandomState(seed)
    n = rng.randint(6 * n_components + 5, 150)
    centers = rng.randn(n_components, n_features) * rng.uniform(0.5, 5)
    X = centers[rng.randint(n_components, size=n)] + rng.randn(n, n_features) * rng.uniform(
        0.1, 2, size=n_features)
    w = rng.uniform(0.1, 3, size=n) if weighted else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("always", DegenerateFitWarning)
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        gm = GaussianMixture(n_components, covariance_type=covariance_type, tol=0, max_iter=40,
                             reg_covar=reg_covar, init_params=init_params,
                             random_state=seed).fit(X, sample_weight=w)
    history = np.asarray(gm.lower_bounds_)
    assert np.all(np.isfinite(history))
    collapsed = any(issubclass(w.category, DegenerateFitWarning) for w in caught)
    if reg_covar <= 1e-6 and not collapsed:
        steps = np.diff(history)
        assert np.all(steps >= -1e-9 * np.maximum(1.0, np.abs(history[:-1]))), steps.min()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_no_regularisation_on_collapsed_data_fails_like_sklearn():
    X = np.vstack([np.ones((5, 5)), np.zeros((5, 5))])
    for covariance_type in COVARIANCE_TYPES:
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            GaussianMixture(10, reg_covar=0, covariance_type=covariance_type,
                            random_state=0).fit(X)
        GaussianMixture(10, covariance_type=covariance_type, random_state=0).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type, blobs):
    X, _ = blobs
    rng = np.random.RandomState(0)
    w = rng.randint(0, 4, size=X.shape[0])
    start = GaussianMixture(3, covariance_type=covariance_type, max_iter=0, random_state=0).fit(X)
    kw = dict(covariance_type=covariance_type, tol=0, max_iter=20, **_start_from(start))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = GaussianMixture(3, **kw).fit(X, sample_weight=w)
        repeated = GaussianMixture(3, **kw).fit(np.repeat(X, w, axis=0))
    assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9, atol=1e-12)


def test_uniform_weights_change_nothing(blobs):
    X, _ = blobs
    a = GaussianMixture(3, random_state=0).fit(X)
    b = GaussianMixture(3, random_state=0).fit(X, sample_weight=np.full(X.shape[0], 2.5))
    assert_allclose(a.means_, b.means_, rtol=1e-9, atol=1e-9)
    assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_is_fitted_in_float32(covariance_type, blobs):
    X, _ = blobs
    g32 = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        X.astype(np.float32))
    g64 = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(g32, name).dtype == np.float32, name
    assert g32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert_allclose(g32.lower_bound_, g64.lower_bound_, rtol=1e-4)


DEGENERATE = {
    "identical rows": lambda rng: np.tile(rng.randn(1, 3), (40, 1)),
    "constant feature": lambda rng: np.c_[rng.randn(40, 2), np.full(40, 7.0)],
    "collinear features": lambda rng: (lambda z: np.c_[z, 2 * z - 1, rng.randn(40)])(
        rng.randn(40)),
    "scale 1e-8": lambda rng: rng.randn(40, 3) * 1e-8,
    "scale 1e8": lambda rng: rng.randn(40, 3) * 1e8,
    "collinear at 1e8": lambda rng: (lambda z: np.c_[z, 3 * z])(rng.randn(40)) * 1e8,
    "two distinct rows": lambda rng: np.repeat(rng.randn(2, 3), 20, axis=0),
}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_data_fits_without_nan(case, covariance_type):
    X = DEGENERATE[case](np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means may warn it found fewer distinct clusters
        gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                             n_init=2).fit(X)
    for value in (gm.weights_, gm.means_, gm.covariances_, gm.precisions_,
                  gm.precisions_cholesky_, gm.score_samples(X), gm.predict_proba(X),
                  np.asarray(gm.lower_bounds_)):
        assert np.all(np.isfinite(value)), case
    assert_allclose(gm.predict_proba(X).sum(1), 1.0, rtol=1e-9)


def test_converged_means_tolerance_met(blobs):
    X, _ = blobs
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm = GaussianMixture(3, max_iter=2, tol=1e-12, random_state=0).fit(X)
    assert gm.converged_ is False and gm.n_iter_ == 2
    gm = GaussianMixture(3, tol=1e-3, random_state=0).fit(X)
    assert gm.converged_ and abs(gm.lower_bounds_[-1] - gm.lower_bounds_[-2]) < 1e-3


def test_restarts_keep_the_best(blobs):
    X, _ = blobs
    best = GaussianMixture(3, init_params="random", n_init=6, random_state=5).fit(X)
    rng = np.random.RandomState(5)
    # replay the same draws one restart at a time: the kept run has the highest bound
    bounds = []
    for _ in range(6):
        g = GaussianMixture(3, init_params="random", random_state=rng).fit(X)
        bounds.append(g.lower_bound_)
    assert best.lower_bound_ == pytest.approx(max(bounds), rel=1e-12)


def test_same_seed_same_fit(blobs):
    X, _ = blobs
    a = GaussianMixture(3, n_init=3, init_params="random", random_state=11).fit(X)
    b = GaussianMixture(3, n_init=3, init_params="random", random_state=11).fit(X)
    assert_array_equal(a.means_, b.means_)


def test_sample_follows_the_model():
    X, _ = make_blobs(n_per=(400, 400), seed=3, spread=6.0)
    gm = GaussianMixture(2, random_state=0).fit(X)
    Xs, ys = gm.sample(20000)
    assert Xs.shape == (20000, X.shape[1]) and ys.shape == (20000,)
    assert_allclose(np.bincount(ys) / 20000, gm.weights_, atol=0.02)
    for k in range(2):
        assert_allclose(Xs[ys == k].mean(0), gm.means_[k], atol=0.1)


def test_verbose_prints_progress(blobs, capsys):
    X, _ = blobs
    GaussianMixture(3, verbose=2, verbose_interval=1, random_state=0, n_init=2).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization 1" in out
    assert "Iteration 1" in out and "converged" in out


def test_pickle_round_trip(blobs):
    X, _ = blobs
    gm = GaussianMixture(3, random_state=0).fit(X)
    back = pickle.loads(pickle.dumps(gm))
    assert_array_equal(back.predict_proba(X), gm.predict_proba(X))


def test_large_input_is_processed_in_blocks():
    """Rows beyond one block give the same answer as one block (the block loop is exact)."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(3000, 2), rng.randn(3000, 2) + 4])
    gm = GaussianMixture(2, random_state=0, max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = gm.fit(X)
        ref_bounds = list(ref.lower_bounds_)
        small = GaussianMixture(2, random_state=0, max_iter=5, tol=0)
        small._block_rows = lambda *a: 257  # force many blocks
        small.fit(X)
    assert_allclose(small.lower_bounds_, ref_bounds, rtol=1e-12)
    assert_allclose(small.predict_proba(X), ref.predict_proba(X), rtol=1e-10, atol=1e-14)
