"""EMImputer: maximum-likelihood imputation under a Gaussian (mixture) model fitted by EM.

Every reference value here is computed independently of emkit (numpy / scipy only): the
observed-data log-likelihood from scipy.stats.multivariate_normal on each row's observed
coordinates, its maximum by scipy.optimize, and the conditional Gaussian moments by hand.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
from emkit import ConvergenceWarning, LikelihoodDecreaseWarning
from emkit.impute import EMImputer


# -- data and independent references ------------------------------------------------------
def correlated_gaussian(n=200, D=4, missing=0.2, seed=0):
    """(complete X, X with MCAR NaN, true mean, true covariance); every column keeps an
    observed value."""
    rng = np.random.RandomState(seed)
    A = rng.randn(D, D)
    cov = A @ A.T + 0.5 * np.eye(D)
    mean = rng.randn(D) * 2
    X = rng.multivariate_normal(mean, cov, size=n)
    X_nan = X.copy()
    X_nan[rng.rand(n, D) < missing] = np.nan
    assert not np.isnan(X_nan).all(axis=0).any()
    return X, X_nan, mean, cov


def two_clusters_with_nan(n=240, seed=1, missing=0.15):
    """Three separated correlated blobs in 3-d with MCAR NaN."""
    rng = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, -4.0, 2.0], [-5.0, 5.0, 6.0]])
    parts = []
    for k, c in enumerate(centers):
        A = rng.randn(3, 3) * 0.8
        parts.append(rng.randn(n // 3, 3) @ A + c)
    X = np.vstack(parts)
    X = X[rng.permutation(len(X))]
    X_nan = X.copy()
    X_nan[rng.rand(*X.shape) < missing] = np.nan
    return X, X_nan


def patterns(X):
    """{observed mask (tuple): row indices} of X's NaN pattern."""
    out = {}
    for i, row in enumerate(X):
        out.setdefault(tuple(~np.isnan(row)), []).append(i)
    return [(np.array(k), np.array(v)) for k, v in out.items()]


def observed_loglik(mean, cov, X):
    """Sum over rows of log N(x_o | mean_o, cov_oo) by scipy (rows with no observed entry
    contribute 0); rows are grouped by pattern only to call scipy once per pattern."""
    total = 0.0
    for o, rows in patterns(X):
        if o.any():
            x = X[np.ix_(rows, np.flatnonzero(o))]
            total += np.sum(np.atleast_1d(
                multivariate_normal.logpdf(x, mean[o], cov[np.ix_(o, o)])))
    return total


def mixture_row_terms(X, weights, means, full_covs):
    """(n, K) log w_k + log N(x_o | mu_k,o, S_k,oo) by scipy, row by row."""
    n, K = X.shape[0], len(weights)
    out = np.empty((n, K))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        for k in range(K):
            lp = 0.0
            if o.any():
                lp = multivariate_normal.logpdf(row[o], means[k][o], full_covs[k][np.ix_(o, o)])
            out[i, k] = np.log(weights[k]) + lp
    return out


def conditional(mean, cov, row):
    """Conditional mean and covariance of the missing entries of ``row`` given the observed
    ones under N(mean, cov), by the textbook formula."""
    m = np.isnan(row)
    o = ~m
    if not o.any():
        return mean[m], cov[np.ix_(m, m)]
    S_oo, S_mo = cov[np.ix_(o, o)], cov[np.ix_(m, o)]
    cmean = mean[m] + S_mo @ np.linalg.solve(S_oo, row[o] - mean[o])
    ccov = cov[np.ix_(m, m)] - S_mo @ np.linalg.solve(S_oo, S_mo.T)
    return cmean, ccov


def full_covariances(imp):
    K, D = imp.means_.shape
    c = np.asarray(imp.covariances_)
    if imp.covariance_type == "full":
        return c
    if imp.covariance_type == "tied":
        return np.repeat(c[None], K, axis=0)
    if imp.covariance_type == "diag":
        return np.array([np.diag(v) for v in c])
    return np.array([v * np.eye(D) for v in c])


def _bit_equal(a, b):
    return np.array_equal(np.asarray(a, np.float64).view(np.uint64),
                          np.asarray(b, np.float64).view(np.uint64))


# -- the result is the maximum-likelihood estimate ----------------------------------------
def _unpack(p, D):
    mean = p[:D]
    L = np.zeros((D, D))
    L[np.tril_indices(D)] = p[D:]
    L[np.diag_indices(D)] = np.exp(np.diag(L))
    return mean, L @ L.T


def _pack(mean, cov):
    L = np.linalg.cholesky(cov)
    L[np.diag_indices(len(mean))] = np.log(np.diag(L))
    return np.concatenate([mean, L[np.tril_indices(len(mean))]])


def test_em_result_maximises_the_observed_data_likelihood():
    _, X, _, _ = correlated_gaussian(n=200, D=4, missing=0.2, seed=0)
    n, D = X.shape

    # independent direct maximisation, from the mean-imputed moments
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    start = _pack(filled.mean(axis=0), np.cov(filled, rowvar=False, bias=True))
    res = minimize(lambda p: -observed_loglik(*_unpack(p, D), X) / n, start, method="BFGS",
                   options=dict(gtol=1e-9, maxiter=5000))
    opt_mean, opt_cov = _unpack(res.x, D)
    opt_ll = observed_loglik(opt_mean, opt_cov, X)

    imp = EMImputer(tol=1e-13, max_iter=100_000).fit(X)
    assert imp.converged_
    em_ll = observed_loglik(imp.mean_, imp.covariance_, X)

    # the maximum: EM is at least as high as the optimiser and agrees with it
    assert em_ll >= opt_ll - 1e-8 * abs(opt_ll)
    assert_allclose(em_ll, opt_ll, rtol=1e-6)
    assert_allclose(imp.mean_, opt_mean, atol=1e-4)
    assert_allclose(imp.covariance_, opt_cov, atol=1e-4)
    # and nothing nearby is higher: a perturbation of every parameter lowers the likelihood
    p_em = _pack(imp.mean_, imp.covariance_)
    rng = np.random.RandomState(1)
    for _ in range(5):
        step = rng.randn(p_em.size) * 1e-3
        assert observed_loglik(*_unpack(p_em + step, D), X) < em_ll
    # emkit's own record of the likelihood agrees with scipy's
    assert_allclose(imp.score(X), em_ll / n, rtol=1e-12)
    assert_allclose(imp.score_samples(X).sum(), em_ll, rtol=1e-12)
    assert_allclose(imp.lower_bound_, em_ll / n, rtol=1e-10)


def test_complete_data_gives_the_sample_mle():
    X, _, _, _ = correlated_gaussian(n=150, D=5, missing=0.0, seed=3)
    imp = EMImputer().fit(X)
    assert_allclose(imp.mean_, np.mean(X, axis=0), rtol=0, atol=1e-10)
    assert_allclose(imp.covariance_, np.cov(X, rowvar=False, bias=True), rtol=0, atol=1e-10)
    assert_allclose(imp.means_[0], imp.mean_, atol=1e-12)
    assert_allclose(imp.weights_, [1.0])
    # nothing to impute: transform is the identity, bit for bit
    assert _bit_equal(imp.transform(X), X)
    _, std = imp.transform(X, return_std=True)
    assert_array_equal(std, 0.0)


@pytest.mark.parametrize("n_components", [1, 3])
def test_log_likelihood_never_decreases(n_components):
    _, X = two_clusters_with_nan(seed=2, missing=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        imp = EMImputer(n_components=n_components, tol=0, max_iter=150, random_state=0,
                        init_params="random").fit(X)
    history = np.asarray(imp.lower_bounds_)
    assert history.size == 150 and np.all(np.isfinite(history))
    steps = np.diff(history)
    assert np.all(steps >= -1e-9 * np.maximum(1.0, np.abs(history[:-1]))), steps.min()
    assert history[-1] > history[0]


# -- transform ----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
@pytest.mark.parametrize("kw", [dict(), dict(n_components=3, random_state=0, max_iter=40),
                                dict(sample_posterior=True, random_state=0),
                                dict(n_components=2, sample_posterior=True, random_state=0,
                                     max_iter=40)])
def test_observed_entries_are_never_changed(kw):
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4) @ rng.randn(4, 4)
    # awkward observed values: negative zero, a subnormal, large and tiny magnitudes
    X[0, 0], X[1, 1], X[2, 2], X[3, 3] = -0.0, 5e-324, 1.2345678901234567e30, -1e-300
    X[4, :3] = [np.pi, -np.e, 1 / 3]
    X_nan = X.copy()
    X_nan[rng.rand(*X.shape) < 0.25] = np.nan
    X_nan[:5, :3] = X[:5, :3]
    X_nan[:4, 3] = np.nan
    X_nan[7] = np.nan
    fit_rows = X_nan[5:]  # fit on moderate values only
    imp = EMImputer(**kw).fit(fit_rows)
    out = imp.transform(X_nan)
    observed = ~np.isnan(X_nan)
    assert _bit_equal(out[observed], X_nan[observed])
    assert np.all(np.isfinite(out))
    assert_array_equal(out[observed], X[observed])
    # the input is not modified
    assert np.isnan(X_nan[:4, 3]).all()
    # fit_transform on the same data: same guarantee
    refit = EMImputer(**kw).fit_transform(fit_rows)
    obs = ~np.isnan(fit_rows)
    assert _bit_equal(refit[obs], fit_rows[obs])
    # float32 input: observed entries come back as their exact float64 values
    X32 = X_nan[5:].astype(np.float32)
    out32 = imp.transform(X32)
    obs32 = ~np.isnan(X32)
    assert _bit_equal(out32[obs32], X32[obs32].astype(np.float64))


@pytest.mark.parametrize("n_components", [1, 3])
def test_all_missing_row_gets_the_fitted_mean(n_components):
    _, X = two_clusters_with_nan(seed=3)
    X[5] = np.nan  # an all-missing row in the training data is allowed
    imp = EMImputer(n_components=n_components, random_state=0).fit(X)
    expected_mean = imp.weights_ @ imp.means_
    assert_allclose(imp.mean_, expected_mean, atol=1e-12)
    out, std = imp.transform(np.full((2, 3), np.nan), return_std=True)
    assert_allclose(out, np.tile(imp.mean_, (2, 1)), rtol=1e-12, atol=1e-12)
    # its conditional sd is the marginal sd of the fitted (overall) covariance
    assert_allclose(std, np.tile(np.sqrt(np.diag(imp.covariance_)), (2, 1)), rtol=1e-10)
    assert_allclose(imp.transform(X)[5], imp.mean_, atol=1e-12)
    # it contributes nothing to the observed-data likelihood
    assert imp.score_samples(np.full((1, 3), np.nan))[0] == pytest.approx(0.0, abs=1e-12)


def test_column_with_no_observed_value_is_refused_by_name():
    _, X, _, _ = correlated_gaussian(n=40, D=4)
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[2\].*no observed value"):
        EMImputer().fit(X)
    X[:, 0] = np.nan
    with pytest.raises(ValueError, match=r"\[0, 2\].*no observed value"):
        EMImputer().fit(X)


def test_all_nan_matrix_is_refused():
    with pytest.raises(ValueError, match="no observed value"):
        EMImputer().fit(np.full((10, 3), np.nan))
    with pytest.raises(ValueError, match="no observed value"):
        EMImputer(n_components=2).fit_transform(np.full((10, 3), np.nan))


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_is_refused(value):
    _, X, _, _ = correlated_gaussian(n=40, D=3)
    bad = X.copy()
    bad[3, 1] = value
    with pytest.raises(ValueError, match="infinity"):
        EMImputer().fit(bad)
    imp = EMImputer().fit(X)
    with pytest.raises(ValueError, match="infinity"):
        imp.transform(bad)
    with pytest.raises(ValueError, match="infinity"):
        imp.score_samples(bad)


def test_wrong_number_of_features_is_refused():
    _, X, _, _ = correlated_gaussian(n=40, D=3)
    imp = EMImputer().fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but EMImputer is expecting 3"):
        imp.transform(X[:, :2])
    with pytest.raises(ValueError, match="X has 4 features, but EMImputer is expecting 3"):
        imp.transform(np.hstack([X, X[:, :1]]))


def test_missing_values_marker():
    _, X, _, _ = correlated_gaussian(n=80, D=3, seed=4)
    marked = np.where(np.isnan(X), -1.0, X)
    assert not np.any(X == -1.0)
    by_nan = EMImputer().fit(X)
    by_marker = EMImputer(missing_values=-1).fit(marked)
    assert_allclose(by_marker.mean_, by_nan.mean_, rtol=1e-13, atol=1e-13)
    assert_allclose(by_marker.covariance_, by_nan.covariance_, rtol=1e-13, atol=1e-13)
    out = by_marker.transform(marked)
    assert not np.any(out == -1.0)
    assert_allclose(out, by_nan.transform(X), rtol=1e-13, atol=1e-13)
    observed = marked != -1
    assert _bit_equal(out[observed], marked[observed])
    # integer input with an integer marker
    ints = np.round(np.where(np.isnan(X), -1, X * 10)).astype(np.int64)
    ints[ints == -1] = 0  # keep -1 only where it marks a missing entry
    ints[np.isnan(X)] = -1
    out = EMImputer(missing_values=-1).fit_transform(ints)
    assert out.dtype == np.float64 and not np.any(out == -1)
    assert_array_equal(out[~np.isnan(X)], ints[~np.isnan(X)])
    # NaN is not the marker: refused, saying so
    with pytest.raises(ValueError, match=r"X has NaN but missing_values=-1"):
        EMImputer(missing_values=-1).fit(X)
    with pytest.raises(ValueError, match=r"X has NaN but missing_values=-1"):
        by_marker.transform(X)


def test_float32_nan_marker_is_a_nan_marker():
    _, X, _, _ = correlated_gaussian(n=40, D=3)
    out = EMImputer(missing_values=np.float32(np.nan)).fit_transform(X)
    assert_allclose(out, EMImputer().fit_transform(X), atol=1e-12)


# -- conditional moments ------------------------------------------------------------------
def test_return_std_and_transform_are_the_conditional_moments():
    _, X, _, _ = correlated_gaussian(n=200, D=4, missing=0.3, seed=5)
    imp = EMImputer().fit(X)
    mean, cov = imp.mean_, imp.covariance_
    rows = np.vstack([X[:40], np.full((1, 4), np.nan), [[1.0, np.nan, np.nan, -2.0]]])
    out, std = imp.transform(rows, return_std=True)
    assert_allclose(imp.transform(rows), out, rtol=0, atol=0)
    for i, row in enumerate(rows):
        m = np.isnan(row)
        assert_array_equal(std[i, ~m], 0.0)
        if m.any():
            cmean, ccov = conditional(mean, cov, row)
            assert_allclose(out[i, m], cmean, rtol=1e-10, atol=1e-10)
            assert_allclose(std[i, m], np.sqrt(np.diag(ccov)), rtol=1e-10, atol=1e-12)
            assert np.all(std[i, m] > 0)


def test_return_std_is_accurate_for_data_far_from_the_origin():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3) @ rng.randn(3, 3) * 1e-3 + 1e6
    X[rng.rand(200, 3) < 0.2] = np.nan
    imp = EMImputer().fit(X)
    row = np.array([np.nan, 1e6, np.nan])
    _, std = imp.transform(row[None], return_std=True)
    _, ccov = conditional(imp.mean_, imp.covariance_, row)
    assert_allclose(std[0, [0, 2]], np.sqrt(np.diag(ccov)), rtol=1e-6)


def test_far_outlying_row_is_imputed_without_nan():
    """A row so far out that every density underflows takes the mixture weights as its
    responsibilities: finite imputations, never NaN."""
    rng = np.random.RandomState(1)
    X = rng.randn(100, 3)
    X[rng.rand(100, 3) < 0.2] = np.nan
    for n_components in (1, 2):
        imp = EMImputer(n_components=n_components, random_state=0).fit(X)
        out, std = imp.transform([[1e160, np.nan, 1.0]], return_std=True)
        assert np.all(np.isfinite(out)) and not np.any(np.isnan(std))
        assert out[0, 0] == 1e160 and out[0, 2] == 1.0


@parametrize_with_checks([EMImputer(), EMImputer(n_components=2, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_feature_names_and_fit_transform():
    pd = pytest.importorskip("pandas")
    _, X, _, _ = correlated_gaussian(n=60, D=3, seed=10)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    imp = EMImputer().fit(df)
    assert_array_equal(imp.get_feature_names_out(), ["a", "b", "c"])
    assert_allclose(EMImputer().fit_transform(df), imp.transform(df), rtol=0, atol=0)


@pytest.mark.parametrize("kw", [dict(), dict(n_components=2, covariance_type="tied",
                                             random_state=0),
                                dict(missing_values=-1)])
def test_save_load_round_trip(tmp_path, kw):
    _, X, _, _ = correlated_gaussian(n=80, D=3, seed=11)
    if kw.get("missing_values") == -1:
        X = np.where(np.isnan(X), -1.0, X)
    imp = EMImputer(**kw).fit(X)
    imp.save(tmp_path / "imputer")
    loaded = emkit.load(tmp_path / "imputer")
    assert type(loaded) is EMImputer
    for key, value in imp.get_params().items():
        other = loaded.get_params()[key]
        assert other == value or (np.isnan(other) and np.isnan(value)), key
    for name in ("mean_", "covariance_", "weights_", "means_", "covariances_"):
        assert_array_equal(getattr(loaded, name), getattr(imp, name))
    a, sa = imp.transform(X, return_std=True)
    b, sb = loaded.transform(X, return_std=True)
    assert_array_equal(a, b)
    assert_array_equal(sa, sb)
    assert_array_equal(loaded.score_samples(X), imp.score_samples(X))
    # posterior draws too, from the same random_state
    imp.set_params(sample_posterior=True, random_state=5)
    loaded.set_params(sample_posterior=True, random_state=5)
    assert_array_equal(imp.transform(X), loaded.transform(X))


def test_hierarchical_start_is_deterministic_and_em_em_is_refused():
    _, X = two_clusters_with_nan()
    a = EMImputer(n_components=2, init_params="hierarchical", random_state=0).fit(X)
    b = EMImputer(n_components=2, init_params="hierarchical", random_state=1).fit(X)
    assert_array_equal(a.means_, b.means_)
    assert np.all(np.isfinite(a.transform(X)))
    with pytest.raises(ValueError, match="init_params"):
        EMImputer(n_components=2, init_params="em-em").fit(X)


def test_accelerated_fit_needs_far_fewer_iterations_than_plain_em():
    # the imputer's EM is accelerated: compare its iterations with the mixture's plain EM
    from emkit import GaussianMixture

    _, X, _, _ = correlated_gaussian(n=400, D=6, missing=0.5, seed=3)
    X = X[~np.isnan(X).all(axis=1)]
    imp = EMImputer(tol=1e-8, max_iter=5000).fit(X)
    plain = GaussianMixture(1, reg_covar=0.0, tol=1e-8, max_iter=5000).fit(X)
    assert imp.converged_ and plain.converged_
    assert imp.n_iter_ < plain.n_iter_ / 2
    assert imp.score(X) >= plain.score(X) - 1e-9
    assert np.all(np.diff(imp.lower_bounds_) >= 0)
