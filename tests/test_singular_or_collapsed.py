"""A small cluster is singular, not collapsed; extra starts are never silent."""

import warnings

import numpy as np
import pytest

from emkit import DegenerateFitWarning, GaussianMixture
from emkit.mixture._covariance import covariance_model
from emkit.mixture._degeneracy import singular_and_collapsed

pytestmark = pytest.mark.numerics


def planted(n_small=3, n_features=4, seed=0):
    """Two clusters of 150 rows and a planted one of ``n_small`` rows far from both."""
    rng = np.random.RandomState(seed)
    return np.vstack([rng.randn(150, n_features), rng.randn(150, n_features) + 8,
                      rng.randn(n_small, n_features) * 0.5 + 40])


def fit_recording(X, **params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GaussianMixture(**params).fit(X)
    return model, [str(w.message) for w in caught if w.category is DegenerateFitWarning]


@pytest.mark.parametrize("n_small", [1, 2, 3, 4])
def test_a_planted_cluster_below_d_plus_one_rows_is_singular(n_small):
    X = planted(n_small)
    model, messages = fit_recording(X, n_components=3, init_params="hierarchical")
    small = int(np.argmin(model.weights_))
    assert model.degenerate_components_.tolist() == [small]
    singular, collapsed = singular_and_collapsed(
        covariance_model("full"), model._theta(), len(X), model.reg_covar)
    assert singular.tolist() == [small] and collapsed.size == 0
    assert model.n_extra_starts_ == 0  # the hierarchical start is deterministic
    assert len(messages) == 1
    assert "singular" in messages[0] and "collapsed" not in messages[0]
    assert f"fewer than the {X.shape[1] + 1}" in messages[0]
    assert "constrained covariance type" in messages[0]


def test_the_same_cluster_under_a_common_covariance_is_sound():
    model, messages = fit_recording(planted(3), n_components=3, covariance_type="tied",
                                    init_params="hierarchical")
    assert not model.degenerate_ and messages == []


def test_repeated_rows_are_collapsed_not_singular():
    X = np.repeat(np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]]), 12, axis=0)
    model, messages = fit_recording(X, n_components=3, init_params="hierarchical")
    singular, collapsed = singular_and_collapsed(
        covariance_model("full"), model._theta(), len(X), model.reg_covar)
    assert singular.size == 0 and collapsed.size == 3
    assert len(messages) == 1
    assert "collapsed" in messages[0] and "singular" not in messages[0]


@pytest.mark.parametrize("seed", range(4))
def test_extra_starts_are_counted_and_said(seed):
    X = planted(3)
    model, messages = fit_recording(X, n_components=3, init_params="random_from_data",
                                    n_init=1, random_state=seed)
    runs = len(model.restart_lower_bounds_)
    assert model.n_extra_starts_ == runs - 1
    if model.n_extra_starts_:  # every extra start is reported in a warning
        assert any(f"{model.n_extra_starts_} more start" in m for m in messages), messages
    else:
        assert not any("more start" in m for m in messages)


def test_an_empty_component_under_a_common_covariance_is_not_singular():
    from emkit.mixture._gaussian_problem import GaussianMixtureParams

    theta = GaussianMixtureParams(np.array([0.5, 0.5, 0.0]),
                                  np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]]),
                                  np.eye(2), None)
    singular, collapsed = singular_and_collapsed(covariance_model("tied"), theta, 100, 1e-6)
    assert singular.size == 0 and collapsed.tolist() == [2]  # spurious, yet estimable
    full = GaussianMixtureParams(theta.weights, theta.means, np.stack([np.eye(2)] * 3), None)
    singular, collapsed = singular_and_collapsed(covariance_model("full"), full, 100, 1e-6)
    assert singular.tolist() == [2] and collapsed.size == 0


@pytest.mark.parametrize("n_small", [2, 3, 4])
def test_under_the_default_prior_a_small_cluster_is_a_sound_fit_and_recovered(n_small):
    X = planted(n_small)
    model, messages = fit_recording(X, n_components=3, covariance_type="VVV",
                                    init_params="hierarchical", prior="default")
    assert not model.degenerate_ and messages == []
    labels = model.predict(X)
    small = labels[-n_small:]
    # the planted rows make a component of their own, apart from both large clusters
    assert len(set(small)) == 1 and small[0] not in set(labels[:-n_small])
    assert np.all(np.isfinite(model.covariances_))
    assert np.all(np.linalg.eigvalsh(model.covariances_[small[0]]) > 0)
