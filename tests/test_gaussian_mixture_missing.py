"""GaussianMixture on rows with NaN: the missing entries are marginalised exactly.

References are computed independently with scipy (each row's observed coordinates under
every component's marginal Gaussian) or by hand with numpy.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from emkit import ConvergenceWarning, GaussianMixture, LikelihoodDecreaseWarning
from emkit.impute import EMImputer
from emkit.mixture._gaussian_problem import GaussianMixtureProblem
from emkit.mixture._conditionals import pattern_groups
from emkit.mixture._missing import MissingDataProblem

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# -- data and independent references ------------------------------------------------------
def clusters_with_nan(n=240, seed=1, missing=0.15):
    """(complete X, X with MCAR NaN): three separated correlated blobs in 3-d."""
    rng = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, -4.0, 2.0], [-5.0, 5.0, 6.0]])
    parts = [rng.randn(n // 3, 3) @ (rng.randn(3, 3) * 0.8) + c for c in centers]
    X = np.vstack(parts)
    X = X[rng.permutation(len(X))]
    X_nan = X.copy()
    X_nan[rng.rand(*X.shape) < missing] = np.nan
    assert not np.isnan(X_nan).all(axis=0).any()
    return X, X_nan


def full_covariances(gm):
    K, D = gm.means_.shape
    c = np.asarray(gm.covariances_, dtype=np.float64)
    if gm.covariance_type == "full":
        return c
    if gm.covariance_type == "tied":
        return np.repeat(c[None], K, axis=0)
    if gm.covariance_type == "diag":
        return np.array([np.diag(v) for v in c])
    return np.array([v * np.eye(D) for v in c])


def row_terms(X, weights, means, covs):
    """(n, K): log w_k + log N(x_o | mu_k,o, S_k,oo) by scipy, row by row."""
    out = np.empty((X.shape[0], len(weights)))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        for k in range(len(weights)):
            lp = 0.0
            if o.any():
                lp = multivariate_normal.logpdf(row[o], means[k][o], covs[k][np.ix_(o, o)])
            out[i, k] = np.log(weights[k]) + lp
    return out


def grouped_loglik(X, weights, means, covs):
    """Observed-data log-likelihood of X (sum over rows), one scipy call per pattern and
    component."""
    total = 0.0
    masks = ~np.isnan(X)
    for mask in np.unique(masks, axis=0):
        rows = np.flatnonzero((masks == mask).all(axis=1))
        if not mask.any():
            total += rows.size * np.log(np.sum(weights))
            continue
        x = X[np.ix_(rows, np.flatnonzero(mask))]
        terms = np.column_stack([
            np.log(w) + np.atleast_1d(multivariate_normal.logpdf(x, m[mask],
                                                                 c[np.ix_(mask, mask)]))
            for w, m, c in zip(weights, means, covs)])
        total += logsumexp(terms, axis=1).sum()
    return total


def _fit(covariance_type, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                               **kw).fit(X)


# -- densities and posteriors -------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_and_predict_proba_marginalise_the_missing_entries(covariance_type):
    _, X = clusters_with_nan(missing=0.3)
    gm = _fit(covariance_type, X)
    rows = np.vstack([X[:60], [[np.nan, 1.0, np.nan], [0.5, np.nan, -0.5]]])
    assert np.isnan(rows).any(axis=1).sum() > 20
    terms = row_terms(rows, gm.weights_, gm.means_, full_covariances(gm))
    expected_resp = np.exp(terms - logsumexp(terms, axis=1, keepdims=True))

    assert_allclose(gm.score_samples(rows), logsumexp(terms, axis=1), rtol=1e-10, atol=1e-10)
    assert_allclose(gm.score(rows), np.mean(logsumexp(terms, axis=1)), rtol=1e-10)
    proba = gm.predict_proba(rows)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert_allclose(proba, expected_resp, rtol=1e-9, atol=1e-12)
    assert_array_equal(gm.predict(rows), np.argmax(expected_resp, axis=1))
    n = rows.shape[0]
    assert gm.bic(rows) == pytest.approx(-2 * gm.score(rows) * n
                                         + gm.n_parameters() * np.log(n))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_all_missing_row_gets_the_weights(covariance_type):
    _, X = clusters_with_nan()
    X[10] = np.nan  # allowed in the training data too
    gm = _fit(covariance_type, X)
    empty = np.full((2, 3), np.nan)
    assert_allclose(gm.predict_proba(empty), np.tile(gm.weights_, (2, 1)), rtol=1e-12, atol=1e-12)
    assert_allclose(gm.predict_proba(X)[10], gm.weights_, rtol=1e-12, atol=1e-12)
    assert_allclose(gm.score_samples(empty), 0.0, atol=1e-12)
    assert_array_equal(gm.predict(empty), np.argmax(gm.weights_))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict_with_nan(covariance_type):
    _, X = clusters_with_nan(seed=4, missing=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GaussianMixture(3, covariance_type=covariance_type, random_state=0)
        labels = a.fit_predict(X)
    assert_array_equal(labels, a.predict(X))


# -- the E-step and the fit ---------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_e_step_statistics_are_the_expected_sufficient_statistics(covariance_type):
    """Per row and component: responsibilities r, completed row E[x | x_o, k] and second
    moment E[x x^T | x_o, k] = E[x] E[x]^T + Cov(x_m | x_o, k) on the missing block."""
    _, X = clusters_with_nan(n=90, seed=5, missing=0.3)
    gm = _fit(covariance_type, X, max_iter=3)
    theta = gm._theta()
    covs = full_covariances(gm)
    K, D = gm.means_.shape
    sample_weight = np.random.RandomState(0).uniform(0.2, 2.0, size=X.shape[0])
    terms = row_terms(X, gm.weights_, gm.means_, covs)
    resp = np.exp(terms - logsumexp(terms, axis=1, keepdims=True)) * sample_weight[:, None]
    weight = resp.sum(axis=0)
    first, second = np.zeros((K, D)), np.zeros((K, D, D))
    for i, row in enumerate(X):
        m = np.isnan(row)
        o = ~m
        for k in range(K):
            x = row.copy()
            extra = np.zeros((D, D))
            if m.any():
                S = covs[k]
                if o.any():
                    gain = S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)])
                    x[m] = gm.means_[k][m] + gain @ (row[o] - gm.means_[k][o])
                    extra[np.ix_(m, m)] = S[np.ix_(m, m)] - gain @ S[np.ix_(o, m)]
                else:
                    x[m] = gm.means_[k][m]
                    extra[np.ix_(m, m)] = S[np.ix_(m, m)]
            d = x - gm.means_[k]
            first[k] += resp[i, k] * d
            second[k] += resp[i, k] * (np.outer(d, d) + extra)

    stats, loglik = gm._problem(True).e_step(X, theta, sample_weight)
    assert_allclose(loglik, sample_weight @ logsumexp(terms, axis=1), rtol=1e-11)
    assert_allclose(stats.weight, weight, rtol=1e-10)
    assert_allclose(stats.anchor, gm.means_, rtol=0, atol=0)
    assert_allclose(stats.first, first, rtol=1e-9, atol=1e-9)
    expected = {"full": second, "tied": second.sum(axis=0),
                "diag": np.diagonal(second, axis1=1, axis2=2),
                "spherical": np.trace(second, axis1=1, axis2=2)}[covariance_type]
    assert_allclose(stats.second, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_is_a_stationary_point_of_the_observed_likelihood(covariance_type):
    """At convergence (reg_covar=0) no direction of the model's own parameters increases
    the observed-data log-likelihood computed by scipy (central differences)."""
    _, X = clusters_with_nan(n=150, seed=6, missing=0.25)
    # a fixed number of iterations, well past the usual stopping rule (EM's slow directions
    # leave a gradient of ~1e-6 when it stops on a 1e-13 change of the mean log-likelihood)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0, tol=0,
                             max_iter=150, random_state=0).fit(X)
    n = X.shape[0]
    w0, m0, c0 = gm.weights_.copy(), gm.means_.copy(), np.asarray(gm.covariances_).copy()
    assert_allclose(gm.score(X), grouped_loglik(X, w0, m0, full_covariances(gm)) / n,
                    rtol=1e-11)

    def loglik(w, m, c):
        gm.covariances_ = c
        return grouped_loglik(X, w, m, full_covariances(gm)) / n

    directions = []
    for k in range(1, 3):  # weights, along the simplex
        e = np.zeros(3)
        e[0], e[k] = -1.0, 1.0
        directions.append(("w", e))
    for idx in np.ndindex(*m0.shape):
        e = np.zeros_like(m0)
        e[idx] = 1.0
        directions.append(("m", e))
    for idx in np.ndindex(*c0.shape):
        if c0.ndim >= 2 and idx[-1] < idx[-2]:
            continue
        e = np.zeros_like(c0)
        e[idx] = 1.0
        if c0.ndim >= 2 and covariance_type in ("full", "tied"):
            e[idx[:-2] + (idx[-1], idx[-2])] = 1.0  # symmetric perturbation
        directions.append(("c", e))
    def derivative(f, h=1e-5):
        """Central difference with one Richardson step (a small variance makes the h^2
        error of a plain central difference large)."""
        def plain(h):
            return (f(h) - f(-h)) / (2 * h)

        return (4 * plain(h / 2) - plain(h)) / 3

    grads = []
    for kind, e in directions:
        def at(s, kind=kind, e=e):
            return loglik(w0 + s * e if kind == "w" else w0, m0 + s * e if kind == "m" else m0,
                          c0 + s * e if kind == "c" else c0)

        grads.append(derivative(at))
    gm.covariances_ = c0
    grads = np.abs(grads)
    assert grads.max() < 1e-7, (grads.max(), np.argmax(grads))
    # and the same check does see a non-stationary point
    grads_shifted = [derivative(lambda s: loglik(w0, m0 + 0.1 + s * e, c0))
                     for kind, e in directions if kind == "m"]
    gm.covariances_ = c0
    assert np.max(np.abs(grads_shifted)) > 1e-2


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_likelihood_never_decreases_with_nan(covariance_type):
    _, X = clusters_with_nan(seed=7, missing=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        gm = GaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=100,
                             init_params="random", random_state=0).fit(X)
    history = np.asarray(gm.lower_bounds_)
    assert history.size == 100 and np.all(np.isfinite(history))
    steps = np.diff(history)
    assert np.all(steps >= -1e-9 * np.maximum(1.0, np.abs(history[:-1]))), steps.min()
    assert history[-1] > history[0]


def test_single_gaussian_equals_em_imputer():
    rng = np.random.RandomState(8)
    A = rng.randn(4, 4)
    X = rng.randn(200, 4) @ A + rng.randn(4)
    X[rng.rand(*X.shape) < 0.2] = np.nan
    gm = GaussianMixture(1, covariance_type="full", reg_covar=0.0, tol=1e-13,
                         max_iter=10_000).fit(X)
    imp = EMImputer(tol=1e-13, max_iter=10_000).fit(X)
    assert gm.converged_ and imp.converged_
    # the same fixed point; plain EM (the mixture) stops a little short of it, at its slow
    # linear rate, while the imputer's accelerated EM reaches it
    assert_allclose(gm.means_[0], imp.mean_, rtol=0, atol=1e-6)
    assert_allclose(gm.covariances_[0], imp.covariance_, rtol=0, atol=1e-6)
    # log-densities can be exactly 0: an absolute tolerance, as for the parameters
    assert_allclose(gm.score_samples(X), imp.score_samples(X), rtol=0, atol=1e-6)
    assert imp.score(X) >= gm.score(X) - 1e-12


def _start(gm):
    return dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows_with_nan(covariance_type):
    _, X = clusters_with_nan(n=150, seed=9, missing=0.25)
    w = np.random.RandomState(0).randint(0, 4, size=X.shape[0])
    start = _fit(covariance_type, X, max_iter=0)
    kw = dict(covariance_type=covariance_type, tol=0, max_iter=25, **_start(start))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = GaussianMixture(3, **kw).fit(X, sample_weight=w)
        repeated = GaussianMixture(3, **kw).fit(np.repeat(X, w, axis=0))
    assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-8,
                        atol=1e-10)


# -- NaN-free data takes the old path, unchanged -------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_nan_free_data_is_unchanged_by_the_missing_data_path(covariance_type):
    X, _ = clusters_with_nan(seed=10)
    gm = _fit(covariance_type, X)
    theta = gm._theta()
    w = np.random.RandomState(1).uniform(0.5, 2, size=X.shape[0])
    plain, missing = gm._problem(False), gm._problem(True)
    assert type(plain) is GaussianMixtureProblem and isinstance(missing, MissingDataProblem)
    for weights in (None, w):
        (s_plain, ll_plain), (s_missing, ll_missing) = (
            p.e_step(X, theta, weights) for p in (plain, missing))
        assert ll_plain == ll_missing
        for field in ("weight", "first", "second", "anchor"):
            assert_array_equal(getattr(s_missing, field), getattr(s_plain, field))
    assert_array_equal(missing.weighted_log_prob(X, theta), plain.weighted_log_prob(X, theta))
    # prediction on complete data does not go through the missing-data problem
    assert type(gm._validated(X)[1]) is GaussianMixtureProblem
    # and a fit on complete data is the same whether or not the data could hold NaN
    again = _fit(covariance_type, X.copy())
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        assert_array_equal(getattr(again, name), getattr(gm, name))


def test_nan_free_fit_matches_scikit_learn():
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X, _ = clusters_with_nan(seed=11)
    ours = GaussianMixture(3, random_state=0).fit(X)
    theirs = SkGaussianMixture(3, random_state=0).fit(X)
    assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-7)
    assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-7, atol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_


# -- odd shapes and input -----------------------------------------------------------------
def test_many_features_group_patterns_correctly():
    """More than 62 features: patterns are grouped by packed bytes, not integer codes."""
    rng = np.random.RandomState(12)
    D = 70
    X = rng.randn(60, D)
    X[rng.rand(*X.shape) < 0.05] = np.nan
    X[5] = X[6]  # two rows sharing a pattern
    incomplete = np.flatnonzero(np.isnan(X).any(axis=1))
    seen = np.zeros(incomplete.size, int)
    for group in pattern_groups(np.isnan(X[incomplete])):
        seen[group.rows] += 1
        for row, columns in zip(group.rows, group.columns[group.pattern]):
            assert_array_equal(np.flatnonzero(np.isnan(X[incomplete[row]])), columns)
    assert_array_equal(seen, 1)
    gm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    var = np.asarray(gm.covariances_)
    expected = []
    for row in X:
        o = ~np.isnan(row)
        expected.append(logsumexp([np.log(gm.weights_[k])
                                   + norm.logpdf(row[o], gm.means_[k][o],
                                                 np.sqrt(var[k][o])).sum()
                                   for k in range(2)]))
    assert_allclose(gm.score_samples(X), expected, rtol=1e-10, atol=1e-10)


def test_float32_with_nan_is_fitted_in_float32():
    _, X = clusters_with_nan(seed=13)
    gm32 = _fit("full", X.astype(np.float32))
    gm64 = _fit("full", X)
    assert gm32.means_.dtype == np.float32 and gm32.covariances_.dtype == np.float32
    assert np.all(np.isfinite(gm32.score_samples(X.astype(np.float32))))
    assert_allclose(gm32.means_, gm64.means_, rtol=1e-3, atol=1e-3)


def test_column_without_observed_value_is_refused():
    _, X = clusters_with_nan()
    X[:, 1] = np.nan
    gm = GaussianMixture(2)
    with pytest.raises(ValueError, match=r"column\(s\) \[1\].*no observed value"):
        gm.fit(X)
    assert not hasattr(gm, "means_")
    with pytest.raises(ValueError, match="no observed value"):
        GaussianMixture(2).fit(np.full((6, 2), np.nan))


def test_infinity_is_still_refused():
    _, X = clusters_with_nan()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2).fit(X)
    gm = _fit("full", clusters_with_nan()[1])
    with pytest.raises(ValueError, match="infinity"):
        gm.predict(X)
