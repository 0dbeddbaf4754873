"""The expanded 'diag'/'spherical' E-step (many features) equals the plain numpy reference,
is used only where its round-off is small, and fits as scikit-learn does."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from emkit import GaussianMixture
from emkit.mixture import _kernels
from emkit.mixture._covariance import DiagCovariance, covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

D = 33  # odd, and above WIDE_MIN_FEATURES


def _theta(covariance_type, rng, K, variances=None, means=None):
    cov = covariance_model(covariance_type)
    if variances is None:
        variances = rng.uniform(0.5, 2.0, size=(K, D))
    if covariance_type == "spherical":
        variances = variances.mean(axis=1)
    means = rng.randn(K, D) * 2.0 if means is None else means
    return GaussianMixtureParams(rng.dirichlet(np.ones(K)), means, variances,
                                 cov.precisions_cholesky(variances))


@pytest.fixture
def kernel_calls(monkeypatch):
    """The names of the diagonal kernels the E-steps call."""
    calls = []
    for name in ("estep_diag", "estep_diag_expanded"):
        kernel = getattr(_kernels, name)

        def spy(*args, _kernel=kernel, _name=name):
            calls.append(_name)
            return _kernel(*args)
        monkeypatch.setattr(_kernels, name, spy)
    return calls


def _assert_stats_equal(fast, reference):
    (s_f, ll_f), (s_r, ll_r) = fast, reference
    assert_allclose(ll_f, ll_r, rtol=1e-12)
    for name in ("weight", "first", "second"):
        a, b = getattr(s_f, name), getattr(s_r, name)
        assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("K", [3, 8])  # fewer than, and a multiple of, four components
@pytest.mark.parametrize("n", [203, _kernels.PARALLEL_MIN_ROWS + 5])  # partial tiles
@pytest.mark.parametrize("weighted", [False, True])
def test_expanded_statistics_equal_reference(covariance_type, K, n, weighted, kernel_calls):
    rng = np.random.RandomState(K + n)
    theta = _theta(covariance_type, rng, K)
    X = theta.means[rng.randint(K, size=n)] + rng.randn(n, D) + 10.0  # off the origin
    theta = GaussianMixtureParams(theta.weights, theta.means + 10.0, theta.covariances,
                                  theta.precisions_cholesky)
    w = None
    if weighted:
        w = rng.uniform(0, 2, size=n)
        w[::7] = 0.0
    cov = covariance_model(covariance_type)
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, w)
    assert kernel_calls == ["estep_diag_expanded"]
    _assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
                        .e_step(X, theta, w))


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_a_mean_far_out_in_its_own_deviations_keeps_the_direct_kernel(covariance_type,
                                                                        kernel_calls):
    """A component collapsed to a tiny variance far from the others would lose digits in
    the expansion: the direct kernel runs, and the statistics are exact."""
    rng = np.random.RandomState(5)
    K = 3
    variances = np.ones((K, D))
    variances[2] = 1e-6
    means = rng.randn(K, D)
    means[2] += 1e3
    theta = _theta(covariance_type, rng, K, variances, means)
    X = np.vstack([means[rng.randint(2, size=400)] + rng.randn(400, D),
                   means[2] + 1e-3 * rng.randn(20, D)])
    cov = covariance_model(covariance_type)
    bound = _kernels.expansion_error_bound(
        means - 0.5 * (means.min(0) + means.max(0)), cov._expanded_precisions(
            theta.precisions_cholesky))
    assert bound > DiagCovariance.EXPANDED_MAX_ERROR_BOUND
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, None)
    assert kernel_calls == ["estep_diag"]
    _assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
                        .e_step(X, theta, None))


def test_expansion_error_bound_is_the_largest_standardised_offset():
    offsets = np.array([[3.0, 4.0], [1.0, 0.0]])
    assert _kernels.expansion_error_bound(offsets, np.array([[1.0, 1.0], [2.0, 2.0]])) == 25.0
    assert _kernels.expansion_error_bound(offsets, np.array([[0.5], [100.0]])) == 100.0


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_float32_rows_keep_the_direct_kernel(covariance_type, kernel_calls):
    """float32 rows go through the direct kernel (its float32 lanes are faster), and give
    the float64 statistics of the same values to float32 precision."""
    rng = np.random.RandomState(7)
    K = 5
    theta64 = _theta(covariance_type, rng, K)
    theta32 = GaussianMixtureParams(*(np.asarray(v, np.float32)
                                      for v in vars(theta64).values()))
    theta64 = GaussianMixtureParams(*(np.asarray(v, np.float64)
                                      for v in vars(theta32).values()))
    X32 = (theta64.means[rng.randint(K, size=3000)] + rng.randn(3000, D)).astype(np.float32)
    problem = GaussianMixtureProblem(covariance_model(covariance_type), 1e-6)
    s32, ll32 = problem.e_step(X32, theta32, None)
    s64, ll64 = problem.e_step(X32.astype(np.float64), theta64, None)
    assert kernel_calls == ["estep_diag", "estep_diag_expanded"]
    assert s32.first.dtype == np.float32 and s32.second.dtype == np.float32
    assert_allclose(ll32, ll64, rtol=1e-6)
    for name in ("weight", "first", "second"):
        a, b = getattr(s32, name), getattr(s64, name)
        assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_fit_with_many_features_matches_sklearn_and_is_monotone(covariance_type):
    rng = np.random.RandomState(11)
    K, n = 6, 1500
    centres = rng.randn(K, D) * 3.0
    X = centres[rng.randint(K, size=n)] + rng.randn(n, D) * rng.uniform(0.5, 2.0, size=D)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = SkGaussianMixture(K, covariance_type=covariance_type, max_iter=1,
                                  init_params="random", random_state=0).fit(X)
        kw = dict(n_components=K, covariance_type=covariance_type, tol=0.0, max_iter=30,
                  weights_init=start.weights_, means_init=start.means_,
                  precisions_init=start.precisions_)
        ours = GaussianMixture(**kw).fit(X)
        ref = SkGaussianMixture(**kw).fit(X)
    assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
    assert_allclose(ours.means_, ref.means_, rtol=1e-7, atol=1e-9)
    assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-7, atol=1e-9)
    assert np.all(np.diff(ours.lower_bounds_) >= -1e-12 * np.abs(ours.lower_bounds_[1:]))


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_a_zero_weight_component_gets_nothing_and_no_nan(covariance_type, kernel_calls):
    rng = np.random.RandomState(3)
    theta = _theta(covariance_type, rng, 3)
    theta = GaussianMixtureParams(np.array([0.6, 0.4, 0.0]), theta.means, theta.covariances,
                                  theta.precisions_cholesky)
    X = theta.means[rng.randint(2, size=300)] + rng.randn(300, D)
    cov = covariance_model(covariance_type)
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, None)
    assert kernel_calls == ["estep_diag_expanded"]
    stats, loglik = fast
    assert np.isfinite(loglik) and stats.weight[2] == 0.0
    assert np.all(np.isfinite(stats.first)) and np.all(np.isfinite(stats.second))
    _assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
                        .e_step(X, theta, None))
