"""GaussianMixture's arithmetic: data at extreme scales, and EM that stays monotone."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

from emkit import DegenerateFitWarning, GaussianMixture
from conftest import COVARIANCE_TYPES, make_blobs


# -- data whose squares overflow or underflow ------------------------------------------------
def _fit(X, covariance_type, **kw):
    return GaussianMixture(3, covariance_type=covariance_type, random_state=0, **kw).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("scale", [1e150, 2.0**-500])
def test_extreme_scale_fits_like_the_rescaled_data(covariance_type, scale):
    """Squares of 1e150 * X overflow when summed; of 3e-151 * X they are below float64's
    normal range. The fit equals that of X itself, in the data's units (without
    regularisation, whose reg_covar applies at the scale the fit runs at)."""
    X, _ = make_blobs(seed=4)
    D = X.shape[1]
    ours = _fit(scale * X, covariance_type, reg_covar=0.0)
    ref = _fit(X, covariance_type, reg_covar=0.0)
    assert_array_equal(ours.predict(scale * X), ref.predict(X))
    assert_allclose(ours.predict_proba(scale * X), ref.predict_proba(X), atol=1e-6)
    assert_allclose(ours.means_ / scale, ref.means_, rtol=1e-6, atol=1e-6)
    assert_allclose(ours.covariances_ / scale**2, ref.covariances_, rtol=1e-5)
    assert_allclose(ours.precisions_ * scale**2, ref.precisions_, rtol=1e-5, atol=1e-9)
    assert_allclose(ours.precisions_cholesky_ * scale, ref.precisions_cholesky_, rtol=1e-5,
                    atol=1e-9)
    # log-likelihoods per row move by the log-Jacobian -D log(scale)
    shift = -D * np.log(scale)
    assert_allclose(ours.lower_bound_, ref.lower_bound_ + shift, rtol=1e-9, atol=1e-6)
    assert_allclose(ours.lower_bounds_[-1], ours.lower_bound_, rtol=0, atol=0)
    assert_allclose(ours.score_samples(scale * X), ref.score_samples(X) + shift,
                    rtol=1e-9, atol=1e-5)
    assert_allclose(ours.score(scale * X), ours.lower_bound_, rtol=1e-9, atol=1e-3)
    n = X.shape[0]
    assert_allclose(ours.bic(scale * X), ref.bic(X) - 2 * n * shift, rtol=1e-9)
    assert_allclose(ours.aic(scale * X), ref.aic(X) - 2 * n * shift, rtol=1e-9)
    assert np.all(np.isfinite(ours.sample(20)[0]))


def test_large_offset_with_a_smaller_spread():
    """Values near 1e150 (squares overflow when summed) spread by 1e145: fitted about
    their centre, in X's units. (Near 1e200, float64's resolution alone is a spread
    whose square overflows: that is an error, below.)"""
    X, _ = make_blobs(seed=5)
    offset, spread = 1e150, 1e145
    ours = _fit(offset + spread * X, "full", reg_covar=0.0)
    ref = _fit(X, "full", reg_covar=0.0)
    assert_array_equal(ours.predict(offset + spread * X), ref.predict(X))
    assert_allclose((ours.means_ - offset) / spread, ref.means_, rtol=1e-6, atol=1e-6)
    assert_allclose(ours.covariances_ / spread**2, ref.covariances_, rtol=1e-5)
    assert np.isfinite(ours.lower_bound_)


def test_warm_start_at_an_extreme_scale_continues():
    X, _ = make_blobs(seed=6)
    model = GaussianMixture(3, random_state=0, warm_start=True, max_iter=2, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged after 2 iterations
        model.fit(1e150 * X)
        first = model.lower_bounds_
        model.fit(1e150 * X)
    # the second fit starts where the first ended, at least as good
    assert model.lower_bounds_[0] >= first[-1] - 1e-9 * abs(first[-1])


@pytest.mark.parametrize("scale", [1e300, 1e200, 1e-300])
def test_unrepresentable_fit_is_an_error_naming_the_scale(scale):
    """The variances of 1e300 * X (1e600) or the precisions of 1e-300 * X do not fit in
    float64: an error, never a model of NaN or -inf, and the estimator stays unfitted."""
    X, _ = make_blobs(seed=4)
    model = GaussianMixture(2, random_state=0)
    with pytest.raises(ValueError, match="in magnitude.*rescale X"):
        model.fit(scale * X)
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_streamed_overflow_is_an_error_not_a_nan_model():
    X, _ = make_blobs(seed=4)
    model = GaussianMixture(2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="The fit failed"):
            model.fit([1e300 * X[:100], 1e300 * X[100:]])
    assert not hasattr(model, "means_")


def test_ordinary_data_are_not_rescaled():
    """Data in the ordinary range are fitted as they are (scikit-learn's results)."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X, _ = make_blobs(seed=4)
    for scale in (1e-40, 1e40):
        ours = _fit(scale * X, "diag", reg_covar=0.0)
        ref = SkGaussianMixture(3, covariance_type="diag", reg_covar=0.0,
                                random_state=0).fit(scale * X)
        assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-7)


# -- more features than rows: EM stays monotone ----------------------------------------------
def expression_like(n_rows=700, n_features=765, rank=10, seed=0):
    """Shaped like single-cell expression: log1p of Poisson counts whose log-means have
    rank ``rank``, with constant columns (a gene never seen, a gene always seen at the
    same level) and columns of a few discrete values."""
    rng = np.random.default_rng(seed)
    log_means = (rng.normal(size=(n_rows, rank)) @ rng.normal(scale=0.5, size=(rank, n_features))
                 + rng.normal(-1.0, 1.0, size=n_features))
    X = np.log1p(rng.poisson(np.exp(np.minimum(log_means, 6.0)))).astype(np.float64)
    X[:, :20] = 0.0
    X[:, 20:30] = np.log1p(3.0)
    X[:, 30:70] = np.log1p(rng.integers(0, 3, size=(n_rows, 40)))
    return X


def assert_monotone(lower_bounds):
    """No decrease beyond round-off, scaled to the lower bound's magnitude."""
    bounds = np.asarray(lower_bounds)
    assert np.all(np.isfinite(bounds))
    allowed = 1e-9 * np.maximum(1.0, np.abs(bounds[:-1]))
    assert np.all(np.diff(bounds) >= -allowed), np.diff(bounds)


@pytest.fixture(scope="module")
def expression():
    return expression_like()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_is_monotone_when_features_outnumber_rows(expression, covariance_type):
    X = expression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in max_iter; degenerate (below)
        model = GaussianMixture(3, covariance_type=covariance_type, max_iter=15,
                                random_state=0).fit(X)
    for history in model.restart_lower_bounds_:
        assert_monotone(history)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.predict_proba(X[:50])))
    assert np.all(np.isfinite(model.score_samples(X[:50])))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_em_is_monotone_on_normalised_counts_with_many_features(covariance_type):
    """Counts per million (not logged): covariances of scale 1e8 beside reg_covar = 1e-6.
    The BLAS E-step's statistics used to lose reg_covar to round-off there, and so did
    the log-determinants (reg_covar below D * eps * 1e8): EM went up and down for all its
    iterations without converging."""
    rng = np.random.default_rng(0)
    log_means = (rng.normal(size=(700, 10)) @ rng.normal(scale=0.5, size=(10, 765))
                 + rng.normal(-1.0, 1.0, size=765))
    counts = rng.poisson(np.exp(np.minimum(log_means, 6.0))).astype(np.float64)
    X = counts / counts.sum(axis=1, keepdims=True) * 1e6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)  # 700 rows < 3 x 766
        model = GaussianMixture(3, covariance_type=covariance_type, max_iter=25, tol=1e-6,
                                random_state=0).fit(X)
    assert_monotone(model.lower_bounds_)
    assert model.converged_


def test_a_covariance_that_cannot_be_estimated_says_so(expression):
    """700 rows cannot give 3 'full' components the 766 rows each needs: one run (no
    extra starts can help), and a warning naming the cause."""
    with pytest.warns(DegenerateFitWarning, match="cannot all be estimated.*the 766 rows"):
        model = GaussianMixture(3, max_iter=3, random_state=0).fit(expression)
    assert len(model.restart_lower_bounds_) == 1
    assert model.degenerate_


def test_whitened_statistics_equal_the_direct_ones():
    """The BLAS E-step for many features gives the M-step of the plain formulas to
    round-off of the covariances' scale, even when they are as ill-conditioned as
    reg_covar makes them with more features than rows (whitened sums mapped back by U^-1
    were off by 30 times that, half a percent of reg_covar)."""
    from emkit.mixture._covariance import covariance_model
    from emkit.mixture._gaussian_problem import GaussianMixtureProblem

    rng = np.random.default_rng(0)
    n, d = 300, 330
    log_means = (rng.normal(size=(n, 10)) @ rng.normal(scale=0.5, size=(10, d))
                 + rng.normal(1.0, 1.0, size=d))
    X = rng.poisson(np.exp(np.minimum(log_means, 8.0))).astype(float)  # raw counts
    cov = covariance_model("full")
    assert d > cov.FUSED_MAX_FEATURES  # the BLAS path
    fast = GaussianMixtureProblem(cov, 1e-6)
    reference = GaussianMixtureProblem(cov, 1e-6, kernel="reference")
    resp = np.zeros((n, 3))
    resp[np.arange(n), rng.integers(0, 3, n)] = 1.0
    theta = reference.params_from_resp(X, resp, None)
    ours, ours_ll = fast.e_step(X, theta, None)
    ref, ref_ll = reference.e_step(X, theta, None)
    assert_allclose(ours_ll, ref_ll, rtol=1e-9)
    assert_allclose(ours.weight, ref.weight, rtol=1e-12)
    ours_cov = fast.m_step(ours).covariances
    ref_cov = reference.m_step(ref).covariances
    round_off = 2 * np.finfo(np.float64).eps * np.abs(ref_cov).max()
    assert np.abs(ours_cov - ref_cov).max() <= round_off


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_regularisation_slack_is_the_exact_gap_and_finite_when_singular(covariance_type):
    """The decrease EM may show (reg_covar makes the M-step inexact) is the gap, in the
    M-step's objective, between the best covariance with every eigenvalue >= reg_covar
    and the regularised one; brute force on a scatter of rank 2 in 4 dimensions (a
    singular one, where the old bound was infinite and no decrease could be caught)."""
    from emkit.mixture._covariance import covariance_model

    rng = np.random.default_rng(3)
    D, n, reg = 4, 3.0, 0.05
    A = rng.normal(size=(2, D)) * np.array([1.0, 0.01, 0.3, 0.2])
    scatter = A.T @ A / n  # eigenvalues: two above reg, two zero
    cov = covariance_model(covariance_type)
    if covariance_type in ("diag", "spherical"):
        variances = np.diag(scatter).copy()
        variances[1] = 0.01 * reg  # one below reg
        if covariance_type == "spherical":
            variances = np.full(D, variances.mean())
        scatter = np.diag(variances)
    eig, axes = np.linalg.eigh(scatter)
    eig = np.maximum(eig, 0.0)

    def objective(sigma_eig):  # -n/2 [log det Sigma + tr(Sigma^-1 S)] in S's eigenbasis
        return -0.5 * n * np.sum(np.log(sigma_eig) + eig / sigma_eig)

    expected = objective(np.maximum(eig, reg)) - objective(eig + reg)
    regularised = scatter + reg * np.eye(D)
    if covariance_type == "full":
        covariances = regularised[None]
    elif covariance_type == "tied":
        covariances = regularised
    elif covariance_type == "diag":
        covariances = np.diag(regularised)[None]
    else:
        covariances = np.array([regularised[0, 0]])
    slack = cov.regularisation_loss(covariances, np.array([n]), reg, D)
    assert np.isfinite(slack) and slack > 0
    assert_allclose(slack, expected, rtol=1e-8)


def test_reg_covar_is_raised_only_below_float64_resolution():
    from emkit.mixture._covariance import resolvable_reg_covar

    ordinary = np.array([[4.0, 0.5, 100.0], [1.0, 2.0, 3.0]])
    assert_array_equal(resolvable_reg_covar(ordinary, 1e-6), [1e-6, 1e-6])
    assert_array_equal(resolvable_reg_covar(ordinary, 0.0), [0.0, 0.0])  # none wanted
    huge = np.full((1, 765), 1e8)
    floor = resolvable_reg_covar(huge, 1e-6)[0]
    eps = np.finfo(np.float64).eps
    assert floor > 1e-6 and floor >= 765 * eps * 1e8
