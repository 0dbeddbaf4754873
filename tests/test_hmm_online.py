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
    np.testing.assert_allclose(online.emissionprob_, one.emissionprob_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(online.transmat_, one.transmat_, rtol=1e-12, atol=1e-12)


def test_step_size_parameters_are_validated_and_saved(tmp_path):
    X, _ = _true_model().sample(500, random_state=4)
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        GaussianHMM(3, learning_decay=0.4).partial_fit(X)
    model = GaussianHMM(3, random_state=0).partial_fit(X)
    model.save(tmp_path / "online")
    loaded = emkit.load(tmp_path / "online")
    assert loaded.n_batches_ == 1 and loaded.score(X) == model.score(X)


def test_mini_batch_fit_learns_what_batch_em_learns():
    from emkit.hmm import GaussianHMM

    rng = np.random.RandomState(0)
    model = GaussianHMM(2, covariance_type="diag", random_state=0)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    model.means_ = np.array([[0.0, 0.0], [4.0, 4.0]])
    model.covars_ = np.array([[1.0, 1.0], [1.0, 1.0]])
    X, _ = model.sample(20_000, random_state=rng)
    lengths = np.full(40, 500)
    batch = GaussianHMM(2, covariance_type="diag", random_state=1, n_iter=30).fit(X, lengths)
    mini = GaussianHMM(2, covariance_type="diag", random_state=1, n_iter=5,
                       batch_size=2000).fit(X, lengths)
    assert mini.n_iter_ <= 5 and np.all(np.isfinite(mini.lower_bounds_))
    order = np.argsort(mini.means_[:, 0])
    reference = np.argsort(batch.means_[:, 0])
    np.testing.assert_allclose(mini.means_[order], batch.means_[reference], atol=0.1)
    np.testing.assert_allclose(mini.transmat_[np.ix_(order, order)],
                               batch.transmat_[np.ix_(reference, reference)], atol=0.03)
    # the iteration's bound is the summed log-likelihood of its batches, like fit's
    total = batch.score(X, lengths)
    assert abs(mini.lower_bounds_[-1] - total) < 0.01 * abs(total)


def test_mini_batch_refuses_dask_input():
    da = pytest.importorskip("dask.array")
    from emkit.hmm import GaussianHMM

    X = da.from_array(np.random.RandomState(0).randn(400, 2), chunks=(100, 2))
    with pytest.raises(ValueError, match="batch_size"):
        GaussianHMM(2, batch_size=100).fit(X, [100] * 4)
