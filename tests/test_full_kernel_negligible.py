"""The 'full' E-step leaves a row's negligible responsibility out of a component's first and
second sums (the rows kept are packed together) only while what it leaves out weighs
less than round-off; its statistics equal the plain numpy reference's."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from _kernel_passes import assert_stats_equal, record_passes
from emkit import BayesianGaussianMixture, GaussianMixture
from emkit.mixture import _kernels
from emkit.mixture._covariance import covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

D = 17  # from PACK_MIN_FEATURES on, and not a multiple of the Gram's four columns per pass


def _theta(rng, K, spread=4.0):
    factors = np.eye(D) + 0.2 * rng.randn(K, D, D)
    covariances = factors @ np.swapaxes(factors, 1, 2)
    return GaussianMixtureParams(rng.dirichlet(np.ones(K)), rng.randn(K, D) * spread,
                                 covariances,
                                 covariance_model("full").precisions_cholesky(covariances))


def _far_component_case(rng, n):
    """Three blobs and a fourth component far from every row (responsibilities 1e-30 or
    less, so every one of them is left out on the first pass)."""
    theta = _theta(rng, 4, spread=1.0)
    X = theta.means[rng.randint(3, size=n)] + rng.randn(n, D)
    means = theta.means.copy()
    means[3] = X.mean(axis=0) + 5.0
    covariances = theta.covariances.copy()
    covariances[3] = 0.5 * np.eye(D)  # narrow: no row is near it
    return X, GaussianMixtureParams(theta.weights, means, covariances,
                                    covariance_model("full").precisions_cholesky(covariances))


@pytest.fixture
def passes(monkeypatch):
    """The threshold of each pass of the 'full' E-step."""
    return record_passes(monkeypatch, "_matrix_sums")


@pytest.mark.parametrize("n", [400, _kernels.PARALLEL_MIN_ROWS + 5])  # one chunk, several
@pytest.mark.parametrize("weighted", [False, True])
def test_a_far_component_gets_its_sums_again_with_nothing_left_out(n, weighted, passes):
    rng = np.random.RandomState(n + weighted)
    X, theta = _far_component_case(rng, n)
    w = rng.uniform(0.5, 2.0, size=n) if weighted else None
    cov = covariance_model("full")
    reference = GaussianMixtureProblem(cov, 1e-6, kernel="reference").e_step(X, theta, w)
    assert 0.0 < reference[0].weight[3] < 1e-20
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, w)
    assert passes == [_kernels.NEGLIGIBLE_RESPONSIBILITY, 0.0]
    assert_stats_equal(fast, reference)
    for name in ("first", "second"):  # the far component's own sums, not only overall
        a, b = getattr(fast[0], name)[3], getattr(reference[0], name)[3]
        assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max())


def test_left_out_responsibilities_weigh_less_than_round_off(passes):
    """Well-separated blobs: one pass, some responsibilities left out, each component's
    left-out weight below NEGLIGIBLE_FRACTION of its weight, and the same statistics as
    a pass leaving nothing out and as the reference."""
    rng = np.random.RandomState(5)
    K, n = 6, 3000
    theta = _theta(rng, K)
    X = theta.means[rng.randint(K, size=n)] + rng.randn(n, D)
    cov = covariance_model("full")
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, None)
    assert passes == [_kernels.NEGLIGIBLE_RESPONSIBILITY]
    assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
                        .e_step(X, theta, None))
    log_const = (np.log(theta.weights) - 0.5 * D * np.log(2 * np.pi)
                 + np.log(np.diagonal(theta.precisions_cholesky, axis1=1, axis2=2)).sum(1))
    args = (X, np.empty(0), theta.means, theta.precisions_cholesky, log_const)
    weight, first, second, skipped, loglik = _kernels._matrix_sums(
        *args, _kernels.NEGLIGIBLE_RESPONSIBILITY)
    weight0, first0, second0, skipped0, loglik0 = _kernels._matrix_sums(*args, 0.0)
    assert np.all(skipped0 == 0.0)
    assert np.any(skipped > 0.0)  # some rows were left out...
    assert np.all(skipped <= _kernels.NEGLIGIBLE_FRACTION * weight)  # ...weighing nothing
    assert_allclose(weight, weight0, rtol=1e-13)
    assert_allclose(loglik, loglik0, rtol=1e-13)
    for a, b in ((first, first0), (second, second0)):
        assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


def test_few_features_leave_nothing_out(passes):
    """Below PACK_MIN_FEATURES a Gram matrix is too small to repay the packing: one pass
    with nothing left out, equal to the reference."""
    rng = np.random.RandomState(2)
    n, few = 500, _kernels.PACK_MIN_FEATURES // 4
    covariances = np.stack([np.eye(few)] * 3)
    theta = GaussianMixtureParams(np.full(3, 1 / 3), rng.randn(3, few) * 6.0, covariances,
                                  covariance_model("full").precisions_cholesky(covariances))
    X = theta.means[rng.randint(3, size=n)] + rng.randn(n, few)
    cov = covariance_model("full")
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, None)
    assert len(passes) == 1 and passes[0] < 0.0
    assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
                        .e_step(X, theta, None))


def _blobs(seed, n=1500, K=6):
    rng = np.random.RandomState(seed)
    centres = rng.randn(K, D) * 3.0
    return centres[rng.randint(K, size=n)] + rng.randn(n, D) * rng.uniform(0.5, 2.0, size=D)


def test_fit_with_many_features_matches_sklearn_and_is_monotone(passes):
    X = _blobs(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = SkGaussianMixture(6, max_iter=1, init_params="random", random_state=0).fit(X)
        kw = dict(n_components=6, tol=0.0, max_iter=30, weights_init=start.weights_,
                  means_init=start.means_, precisions_init=start.precisions_)
        ours = GaussianMixture(**kw).fit(X)
        ref = SkGaussianMixture(**kw).fit(X)
    assert _kernels.NEGLIGIBLE_RESPONSIBILITY in passes  # the packing pass ran
    assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
    assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-9)
    assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-7, atol=1e-9)
    assert np.all(np.diff(ours.lower_bounds_) >= -1e-12 * np.abs(ours.lower_bounds_[1:]))


def test_variational_fit_with_many_features_matches_sklearn(passes):
    """BayesianGaussianMixture's E-step is the same kernel: its lower bound never falls
    and is scikit-learn's."""
    X = _blobs(12)
    kw = dict(n_components=8, covariance_type="full", tol=0.0, max_iter=25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(**kw).fit(X)
        ref = SkBayesianGaussianMixture(**kw).fit(X)
    assert _kernels.NEGLIGIBLE_RESPONSIBILITY in passes
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-9)
    assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-9)
    bounds = np.asarray(ours.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
