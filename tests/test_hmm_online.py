"""Online Baum-Welch (partial_fit) for the HMMs."""

import numpy as np
import pytest

import emkit
from emkit import InvalidParameterError
from emkit.hmm import CategoricalHMM, GaussianHMM


def _true_model():
    model = GaussianHMM(3, covariance_type="diag", init_params="")
    model.startprob_ = np.array([0.5, 0.3, 0.2])
    model.transmat_ = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    model.means_ = np.array([[0.0, 0.0], [3.0, 3.0], [-3.0, 3.0]])
    model.covars_ = np.ones((3, 2))
    return model


def _start(model):
    """A sensible common start: uniform chain, rough means, unit variances."""
    model.startprob_ = np.full(3, 1 / 3)
    model.transmat_ = np.full((3, 3), 1 / 3)
    model.means_ = np.array([[0.5, 0.5], [2.0, 2.0], [-2.0, 2.0]])
    model.covars_ = np.full((3, 2), 2.0)
    return model


def test_online_baum_welch_reaches_the_batch_fit_on_held_out_data():
    truth = _true_model()
    X, _ = truth.sample(60_000, random_state=0)
    held_out, _ = truth.sample(5_000, random_state=1)
    batch = _start(GaussianHMM(3, n_iter=50, init_params="")).fit(X, [1000] * 60)
    online = _start(GaussianHMM(3, init_params=""))
    for start in range(0, 60_000, 2000):
        online.partial_fit(X[start:start + 2000], [1000, 1000])
    assert online.n_batches_ == 30 and len(online.lower_bounds_) == 30
    batch_ll, online_ll = batch.score(held_out), online.score(held_out)
    assert abs(online_ll - batch_ll) <= 0.005 * abs(batch_ll)
    assert online_ll > truth.score(held_out) * 1.01  # close to the truth, not degenerate


def test_partial_fit_after_fit_continues_from_the_fitted_parameters():
    X, _ = _true_model().sample(3000, random_state=2)
    model = _start(GaussianHMM(3, n_iter=5, init_params="")).fit(X)
    means = model.means_.copy()
    model.partial_fit(X[:500])
    assert model.n_batches_ == 1
    # one small step from the fitted means, not a restart
    assert np.abs(model.means_ - means).max() < 0.5


def test_first_batch_starts_like_fit_and_first_step_is_a_full_m_step():
    """With no running counts yet, the first partial_fit is one Baum-Welch iteration."""
    X, _ = _true_model().sample(2000, random_state=3)
    one = CategoricalHMM(2, n_iter=1, random_state=0).fit(np.abs(X[:, :1]).astype(int))
    online = CategoricalHMM(2, random_state=0).partial_fit(np.abs(X[:, :1]).astype(int))
    np.testing.assert_allclose(online.emissionprob_, one.emissionprob_, rtol=1e-12)
    np.testing.assert_allclose(online.transmat_, one.transmat_, rtol=1e-12)


def test_step_size_parameters_are_validated_and_saved(tmp_path):
    X, _ = _true_model().sample(500, random_state=4)
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        GaussianHMM(3, learning_decay=0.4).partial_fit(X)
    model = GaussianHMM(3, random_state=0).partial_fit(X)
    model.save(tmp_path / "online")
    loaded = emkit.load(tmp_path / "online")
    assert loaded.n_batches_ == 1 and loaded.score(X) == model.score(X)
