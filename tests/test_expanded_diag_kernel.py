"""The expanded 'diag'/'spherical' E-step (many features) equals the plain numpy reference,
is used only where its round-off is small, and fits as scikit-learn does."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from _kernel_passes import assert_stats_equal, record_passes
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
    assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
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
    assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
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
    assert_stats_equal(fast, GaussianMixtureProblem(cov, 1e-6, kernel="reference")
                        .e_step(X, theta, None))


def _far_component_case(rng, n, covariance_type):
    """Blobs of three components and a fourth far from every row (its responsibilities
    1e-30 or less)."""
    K = 4
    theta = _theta(covariance_type, rng, K)
    X = theta.means[rng.randint(K - 1, size=n)] + rng.randn(n, D)
    means = theta.means.copy()
    means[K - 1] = X.mean(axis=0) + 3.5  # 3.5 per feature: about 200 squared deviations
    return X, GaussianMixtureParams(theta.weights, means, theta.covariances,
                                    theta.precisions_cholesky)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_negligible_responsibilities_left_out_then_summed_when_they_matter(
        covariance_type, monkeypatch):
    """Groups of responsibilities below NEGLIGIBLE_RESPONSIBILITY are left out of the first
    and second sums; a component whose weight is all such (a component far from every row)
    gets its sums again with nothing left out, so its statistics equal the reference's."""
    rng = np.random.RandomState(7)
    X, theta = _far_component_case(rng, 400, covariance_type)
    cov = covariance_model(covariance_type)
    reference = GaussianMixtureProblem(cov, 1e-6, kernel="reference").e_step(X, theta, None)
    weight_far = reference[0].weight[-1]
    assert 0.0 < weight_far < 1e-20  # every group of the far component is left out
    passes = record_passes(monkeypatch, "_expanded_sums")
    fast = GaussianMixtureProblem(cov, 1e-6).e_step(X, theta, None)
    assert passes == [_kernels.NEGLIGIBLE_RESPONSIBILITY, 0.0]
    assert_stats_equal(fast, reference)
    for name in ("first", "second"):  # the far component's own sums, not only overall
        a, b = getattr(fast[0], name)[-1], getattr(reference[0], name)[-1]
        assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max())


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_left_out_responsibilities_weigh_less_than_round_off(covariance_type):
    """One pass leaving out negligible groups: each component's left-out weight is below
    NEGLIGIBLE_FRACTION of its weight, and the statistics equal those of a pass leaving
    nothing out to round-off."""
    rng = np.random.RandomState(3)
    K, n = 8, 3000
    theta = _theta(covariance_type, rng, K)  # means apart by some 100 nats: 1e-50 or so
    X = theta.means[rng.randint(K, size=n)] + rng.randn(n, D)
    precisions = np.ascontiguousarray(theta.precisions_cholesky.reshape(K, -1) ** 2)
    centre = theta.means.mean(axis=0)
    offsets = theta.means - centre
    weights = np.concatenate([offsets * precisions, -0.5 * precisions], axis=1)
    const = rng.randn(K) - 0.5 * np.sum(offsets * offsets * precisions, axis=1)
    empty = np.empty(0)
    weight, sums, skipped, ll = _kernels._expanded_sums(
        X, empty, centre, weights, const, _kernels.NEGLIGIBLE_RESPONSIBILITY)
    weight0, sums0, skipped0, ll0 = _kernels._expanded_sums(X, empty, centre, weights,
                                                            const, 0.0)
    assert np.all(skipped0 == 0.0)
    assert np.any(skipped > 0.0)  # some groups were left out...
    assert np.all(skipped <= _kernels.NEGLIGIBLE_FRACTION * weight)  # ...weighing nothing
    assert_allclose(weight, weight0, rtol=1e-13)
    assert_allclose(ll, ll0, rtol=1e-13)
    assert_allclose(sums, sums0, rtol=1e-12, atol=1e-12 * np.abs(sums0).max())
