"""emkit.GaussianMixture gives scikit-learn's results from the same starting point."""

import warnings

import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from emkit import GaussianMixture
from conftest import COVARIANCE_TYPES, make_blobs

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

RTOL = 1e-7


def _start(X, covariance_type, n_components=3, seed=3):
    """Initial weights/means/precisions from a short, deliberately unconverged sklearn fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        g = SkGaussianMixture(n_components, covariance_type=covariance_type, max_iter=2,
                              init_params="random", random_state=seed).fit(X)
    return dict(weights_init=g.weights_, means_init=g.means_, precisions_init=g.precisions_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_iter", [1, 5, 25])
def test_same_parameters_after_fixed_iterations(covariance_type, n_iter):
    X, _ = make_blobs(seed=1)
    kw = dict(n_components=3, covariance_type=covariance_type, tol=0.0, max_iter=n_iter,
              **_start(X, covariance_type))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(**kw).fit(X)
        ref = SkGaussianMixture(**kw).fit(X)
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=RTOL)
    assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=RTOL)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=RTOL, atol=1e-12,
                        err_msg=name)
    assert ours.n_iter_ == ref.n_iter_ == n_iter
    assert ours.converged_ is False
    assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=RTOL, atol=RTOL)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-10)
    assert_allclose(ours.bic(X), ref.bic(X), rtol=RTOL)
    assert_allclose(ours.aic(X), ref.aic(X), rtol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_same_fit_from_same_random_state(covariance_type, init_params):
    """The initialisations draw the same random numbers as scikit-learn's."""
    if covariance_type == "tied" and init_params in ("k-means++", "random_from_data"):
        pytest.skip("scikit-learn's tied M-step is wrong for responsibilities that do not sum "
                    "to one per row (one-hot on K rows); emkit's is exact, so starts differ")
    X, _ = make_blobs(seed=2)
    kw = dict(n_components=3, covariance_type=covariance_type, init_params=init_params,
              random_state=7, n_init=2)
    ours, ref = GaussianMixture(**kw).fit(X), SkGaussianMixture(**kw).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=RTOL)
    assert_allclose(ours.means_, ref.means_, rtol=1e-6, atol=1e-9)
    assert_array_equal(ours.predict(X), ref.predict(X))
    X_ours, y_ours = ours.sample(50)
    X_ref, y_ref = ref.sample(50)
    assert_array_equal(y_ours, y_ref)
    assert_allclose(X_ours, X_ref, rtol=1e-6, atol=1e-9)


def test_convergence_like_sklearn(blobs):
    X, _ = blobs
    ours = GaussianMixture(3, random_state=0, tol=1e-6).fit(X)
    ref = SkGaussianMixture(3, random_state=0, tol=1e-6).fit(X)
    assert ours.converged_ and ref.converged_
    assert ours.n_iter_ == ref.n_iter_
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=RTOL)


def test_warm_start_continues_like_sklearn(blobs):
    X, _ = blobs
    kw = dict(n_components=3, random_state=0, warm_start=True, max_iter=2, tol=0.0)
    ours, ref = GaussianMixture(**kw), SkGaussianMixture(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ours.fit(X)
            ref.fit(X)
            assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=RTOL)
    assert_allclose(ours.means_, ref.means_, rtol=RTOL, atol=RTOL)


def test_max_iter_zero_returns_the_start(blobs):
    X, _ = blobs
    ours = GaussianMixture(3, max_iter=0, random_state=0).fit(X)
    ref = SkGaussianMixture(3, max_iter=0, random_state=0).fit(X)
    assert ours.n_iter_ == 0 and not ours.converged_
    assert_allclose(ours.means_, ref.means_, rtol=RTOL, atol=RTOL)
    assert_allclose(ours.weights_, ref.weights_, rtol=RTOL, atol=RTOL)


# -- the start a user asks for is the start they get (a drop-in draws the same points) -------
SKLEARN_INITS = ["kmeans", "k-means++", "random", "random_from_data"]


def four_tight_blobs():
    """Four well-separated round clusters in 2-D: the workload of comparing init_params by
    the starting means they draw and the iterations EM then needs."""
    from sklearn.datasets import make_blobs as sklearn_blobs

    X, _ = sklearn_blobs(n_samples=800, centers=4, cluster_std=0.6, random_state=0)
    return X[:, ::-1]


def _one_row_start(init_params, covariance_type):
    return covariance_type == "tied" and init_params in ("k-means++", "random_from_data")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("init_params", SKLEARN_INITS)
def test_max_iter_zero_gives_the_requested_start(init_params, covariance_type):
    """A start judged degenerate (one row per component) is still the start returned."""
    X = four_tight_blobs()
    kw = dict(n_components=4, covariance_type=covariance_type, init_params=init_params,
              max_iter=0, tol=1e-9, random_state=1234)
    ours, ref = GaussianMixture(**kw).fit(X), SkGaussianMixture(**kw).fit(X)
    assert len(ours.restart_lower_bounds_) == 1  # no start was drawn in its place
    assert ours.n_iter_ == ref.n_iter_ == 0 and not ours.converged_
    assert_allclose(ours.means_, ref.means_, rtol=1e-12, atol=1e-12)
    assert_allclose(ours.weights_, ref.weights_, rtol=1e-12, atol=1e-15)
    if not _one_row_start(init_params, covariance_type):
        assert_allclose(ours.covariances_, ref.covariances_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("init_params", SKLEARN_INITS)
def test_fits_from_each_init_agree_with_sklearn(init_params, covariance_type):
    """The drawn means as means_init, then EM to convergence: the same iterations and
    lower bound as scikit-learn (and the same again with the init drawn inside fit)."""
    X = four_tight_blobs()
    common = dict(n_components=4, covariance_type=covariance_type)
    means = GaussianMixture(**common, init_params=init_params, max_iter=0,
                            random_state=5).fit(X).means_
    fits = [(dict(means_init=means, random_state=6), True),
            (dict(init_params=init_params, random_state=5), False)]
    for kw, same_start in fits:
        if not same_start and _one_row_start(init_params, covariance_type):
            continue  # documented: scikit-learn's tied start from one-hot rows differs
        ours = GaussianMixture(**common, **kw).fit(X)
        ref = SkGaussianMixture(**common, **kw).fit(X)
        assert ours.converged_ and ref.converged_
        assert not ours.degenerate_
        assert len(ours.restart_lower_bounds_) == 1
        assert ours.n_iter_ == ref.n_iter_
        assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=RTOL)
        assert_allclose(ours.means_, ref.means_, rtol=1e-5, atol=1e-6)
