"""Bad input gets a clear error naming the problem, and never half-updates a model."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from emkit import GaussianMixture, InvalidParameterError, NotFittedError
from conftest import make_blobs

X, _ = make_blobs(n_per=(30, 30), n_features=2)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_non_finite_values(bad):
    """Infinity is refused (NaN is a missing entry, marginalised: see the missing-data
    tests)."""
    Xb = X.copy()
    Xb[3, 1] = bad
    with pytest.raises(ValueError, match="(?i)nan|infinity"):
        GaussianMixture(2).fit(Xb)
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="(?i)nan|infinity"):
        gm.predict(Xb)


def test_a_column_with_no_observed_value_is_named():
    Xb = X.copy()
    Xb[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[1\].*no observed value"):
        GaussianMixture(2).fit(Xb)


def test_empty_data():
    with pytest.raises(ValueError, match="0 sample"):
        GaussianMixture(1).fit(np.empty((0, 2)))
    with pytest.raises(ValueError, match="0 feature"):
        GaussianMixture(1).fit(np.empty((5, 0)))


def test_one_dimensional_data():
    with pytest.raises(ValueError, match="Expected 2D array"):
        GaussianMixture(1).fit(np.arange(10.0))


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(X[:4])


def test_wrong_feature_count_at_predict():
    gm = GaussianMixture(2, random_state=0).fit(X)
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is "
                                             "expecting 2 features"):
            getattr(gm, method)(np.ones((4, 3)))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score",
                                    "bic", "aic"])
def test_use_before_fit(method):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(GaussianMixture(2), method)(X)
    with pytest.raises(NotFittedError):
        GaussianMixture(2).sample(3)


@pytest.mark.parametrize("params, match", [
    (dict(n_components=0), "'n_components' parameter of GaussianMixture must be an int in "
                           r"the range \[1, inf\)\. Got 0"),
    (dict(n_components=1.5), "'n_components'"),
    (dict(tol=-1e-3), "'tol' parameter .* must be a float in the range"),
    (dict(reg_covar=-1.0), "'reg_covar' parameter"),
    (dict(max_iter=-1), "'max_iter' parameter"),
    (dict(n_init=0), "'n_init' parameter"),
    (dict(covariance_type="ful"), r"'covariance_type' parameter .* among \{.*'diag', 'full', "
                                  r"'spherical', 'tied'\}\. Got 'ful'"),
    (dict(init_params="kmeans+"), "'init_params' parameter"),
    (dict(verbose_interval=0), "'verbose_interval' parameter"),
    (dict(warm_start="yes"), "'warm_start' parameter"),
    (dict(random_state="seed"), "'random_state' parameter"),
    (dict(tol=float("nan")), "'tol' parameter"),
])
def test_bad_hyper_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        GaussianMixture(**params).fit(X)
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize("covariance_type, shape", [
    ("full", (2, 2, 2)), ("tied", (2, 2)), ("diag", (2, 2)), ("spherical", (2,))])
def test_wrongly_shaped_precisions_init(covariance_type, shape):
    wrong = np.ones(tuple(s + 1 for s in shape))
    with pytest.raises(ValueError, match=f"'{covariance_type} precision' should have the "
                                         "shape of"):
        GaussianMixture(2, covariance_type=covariance_type, precisions_init=wrong).fit(X)


@pytest.mark.parametrize("covariance_type, precisions", [
    ("full", np.array([[[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])),
    ("full", np.array([[[1.0, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])),
    ("tied", np.array([[1.0, 2.0], [2.0, 1.0]])),
    ("diag", np.array([[1.0, -1.0], [1.0, 1.0]])),
    ("spherical", np.array([1.0, 0.0])),
])
def test_invalid_precisions_init(covariance_type, precisions):
    with pytest.raises(ValueError, match=f"'{covariance_type} precision' should be"):
        GaussianMixture(2, covariance_type=covariance_type, precisions_init=precisions).fit(X)


def test_wrongly_shaped_or_invalid_weights_and_means_init():
    with pytest.raises(ValueError, match="'weights' should have the shape of \\(2,\\)"):
        GaussianMixture(2, weights_init=[0.2, 0.3, 0.5]).fit(X)
    with pytest.raises(ValueError, match="'weights' should be in the range \\[0, 1\\]"):
        GaussianMixture(2, weights_init=[1.5, -0.5]).fit(X)
    with pytest.raises(ValueError, match="'weights' should be normalized"):
        GaussianMixture(2, weights_init=[0.5, 0.6]).fit(X)
    with pytest.raises(ValueError, match="'means' should have the shape of \\(2, 2\\)"):
        GaussianMixture(2, means_init=np.zeros((3, 2))).fit(X)


@pytest.mark.parametrize("weights, match", [
    (-np.ones(60), "non-negative"),
    (np.r_[np.ones(59), -1.0], "non-negative"),
    (np.zeros(60), "zero for every row"),
    (np.ones(59), r"shape \(60,\)"),
    (np.r_[np.ones(59), np.nan], "(?i)nan"),
    (np.r_[1.0, np.zeros(59)], "at least n_components = 2 rows with a positive"),
])
def test_bad_sample_weight(weights, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(2).fit(X, sample_weight=weights)


def test_failed_fit_leaves_the_model_unchanged():
    gm = GaussianMixture(2, random_state=0).fit(X)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(gm).items()}
    with pytest.raises(ValueError):
        gm.fit(np.ones((10, 3)), sample_weight=-np.ones(10))
    assert gm.n_features_in_ == 2
    for key, value in before.items():
        assert_array_equal(getattr(gm, key), value, err_msg=key)
    gm.predict(X)  # still usable


def test_bad_sample_count():
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="Invalid value for 'n_samples'"):
        gm.sample(0)
