"""The parts of hmmlearn's interface that code written for hmmlearn relies on beyond
fit/score/decode: tol=-inf, an assigned convergence monitor, a settable n_features, the
private hooks (_init, _check, _covars_), the initialisation log messages, and BaseHMM
subclasses that compute their own emission log-likelihoods."""

import logging

import numpy as np
import pytest

from emkit.hmm import BaseHMM, CategoricalHMM, ConvergenceMonitor, GaussianHMM

STARTPROB = np.array([0.7, 0.3])
TRANSMAT = np.array([[0.9, 0.1], [0.2, 0.8]])


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    states = (np.arange(n) // 25) % 2
    return rng.normal(size=(n, 2)) + 4.0 * states[:, None], states


def _hand_set(covariance_type="diag"):
    model = GaussianHMM(2, covariance_type=covariance_type, init_params="")
    model.n_features = 2
    model.startprob_, model.transmat_ = STARTPROB, TRANSMAT
    model.means_ = np.array([[0.0, 0.0], [4.0, 4.0]])
    model.covars_ = {"diag": np.ones((2, 2)), "spherical": np.ones(2),
                     "full": np.tile(np.eye(2), (2, 1, 1)), "tied": np.eye(2)}[covariance_type]
    return model


def test_tol_minus_inf_runs_exactly_n_iter_iterations():
    X, _ = _data()
    model = GaussianHMM(2, n_iter=7, tol=-np.inf, random_state=0).fit(X)
    assert model.n_iter_ == 7 == len(model.lower_bounds_) == model.monitor_.iter
    assert not model.converged_  # it ran out of iterations
    assert model.monitor_.converged  # hmmlearn's monitor counts that as converged


class ThresholdMonitor(ConvergenceMonitor):
    """hmmlearn's documented example: stop once the log-likelihood reaches ``tol``."""

    @property
    def converged(self):
        return self.iter == self.n_iter or self.history[-1] >= self.tol


def test_an_assigned_monitor_decides_when_to_stop(capsys):
    X, _ = _data()
    free = GaussianHMM(2, n_iter=30, tol=-np.inf, random_state=0).fit(X)
    threshold = (free.lower_bounds_[2] + free.lower_bounds_[3]) / 2  # reached at iteration 4
    model = GaussianHMM(2, n_iter=30, tol=threshold, random_state=0, verbose=True)
    model.monitor_ = ThresholdMonitor(model.monitor_.tol, model.monitor_.n_iter,
                                      model.monitor_.verbose)
    model.fit(X)
    assert isinstance(model.monitor_, ThresholdMonitor)
    assert model.monitor_.iter == model.n_iter_ == 4 and model.converged_
    np.testing.assert_allclose(list(model.monitor_.history), free.lower_bounds_[:4],
                               rtol=1e-12, atol=1e-9)
    assert len(capsys.readouterr().err.splitlines()) == 4  # report() printed each one
    model.fit(X)  # the monitor starts over on every fit
    assert model.monitor_.iter == 4


def test_monitor_report_and_reset():
    monitor = ConvergenceMonitor(tol=0.1, n_iter=10, verbose=False)
    for value in (-5.0, -3.0, -2.95):
        assert not monitor.converged
        monitor.report(value)
    assert monitor.converged and monitor.iter == 3 and list(monitor.history)[-1] == -2.95
    monitor._reset()
    assert monitor.iter == 0 and not monitor.history and not monitor.converged


@pytest.mark.parametrize("covariance_type", ["diag", "spherical", "full", "tied"])
def test_hand_set_model_passes_check_and_keeps_n_features(covariance_type):
    model = _hand_set(covariance_type)
    model._check()
    assert model.n_features == 2
    np.testing.assert_array_equal(model._covars_, model.covariances_)
    assert model.covars_.shape == (2, 2, 2)


def test_spherical_covars_as_a_column():
    model = _hand_set("spherical")
    model.covars_ = np.array([[2.0], [3.0]])
    np.testing.assert_array_equal(model.covariances_, [2.0, 3.0])
    np.testing.assert_array_equal(model.covars_[1], 3.0 * np.eye(2))


@pytest.mark.parametrize("name, value, match", [
    ("startprob_", np.array([0.7, 0.7]), "startprob_ must sum to 1"),
    ("transmat_", np.eye(3), r"transmat_ must have shape \(2, 2\)"),
    ("means_", np.zeros((3, 2)), r"means_ must be a finite array of shape"),
])
def test_check_names_the_bad_parameter(name, value, match):
    model = _hand_set()
    setattr(model, name, value)
    with pytest.raises(ValueError, match=match):
        model._check()


def test_init_draws_the_start_fit_would():
    X, _ = _data()
    started = GaussianHMM(2, random_state=3)
    started._init(X)
    assert started.n_features == 2 and not hasattr(started, "lower_bounds_")
    started.set_params(init_params="", n_iter=5, tol=-np.inf).fit(X)
    direct = GaussianHMM(2, random_state=3, n_iter=5, tol=-np.inf).fit(X)
    np.testing.assert_allclose(started.lower_bounds_, direct.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(started.means_, direct.means_, rtol=1e-12)


def test_overwritten_parameters_are_logged(caplog):
    X, _ = _data()
    model = GaussianHMM(2, random_state=0, n_iter=2)
    model.startprob_ = STARTPROB
    with caplog.at_level(logging.WARNING, logger="emkit.hmm"):
        model.fit(X)
    messages = [r.getMessage() for r in caplog.records]
    assert any("'startprob_'" in m and "will be overwritten" in m for m in messages)
    caplog.clear()
    model.set_params(init_params="").fit(X)  # kept, nothing to say
    assert not [r for r in caplog.records if "overwritten" in r.getMessage()]


def test_too_little_data_is_logged(caplog):
    model = _hand_set("full")
    with caplog.at_level(logging.WARNING, logger="emkit.hmm"):
        model._init(np.zeros((3, 2)))
    assert ["degenerate solution" in r.getMessage() for r in caplog.records] == [True]


def test_n_features_must_match_the_data():
    model = _hand_set()
    with pytest.raises(ValueError, match="got 3 but expected 2"):
        model._check_and_set_n_features(np.zeros((4, 3)))


def test_categorical_n_features_after_fit():
    X = np.array([[0], [1], [2], [1], [0], [2], [2], [1]])
    model = CategoricalHMM(2, random_state=0, n_iter=3).fit(X)
    assert model.n_features == 3
    assert CategoricalHMM(2, n_features=5, random_state=0, n_iter=3).fit(X).n_features == 5


class FixedFrameHMM(BaseHMM):
    """hmmlearn's way to bring one's own emissions: only _compute_log_likelihood."""

    def _compute_log_likelihood(self, X):
        return self.reference._compute_log_likelihood(X)


def test_subclass_with_its_own_log_likelihood_scores_like_the_model_it_copies():
    X, _ = _data()
    reference = _hand_set("full")
    custom = FixedFrameHMM(2)
    custom.reference = reference
    custom.startprob_, custom.transmat_ = STARTPROB, TRANSMAT
    np.testing.assert_allclose(custom.score(X), reference.score(X), rtol=1e-12)
    np.testing.assert_allclose(custom.predict_proba(X), reference.predict_proba(X),
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(custom.predict(X), reference.predict(X))
    sample, states = custom.sample(5, random_state=0)
    assert sample.shape == (5, 0) and states.shape == (5,)


def test_base_hmm_without_emissions_says_what_is_missing():
    model = BaseHMM(2)
    model.startprob_, model.transmat_ = STARTPROB, TRANSMAT
    with pytest.raises(NotImplementedError, match="_compute_log_likelihood"):
        model.score(np.zeros((3, 1)))


def test_hmmlearns_module_layout_imports():
    """hmmlearn's import lines work with ``hmmlearn`` replaced by ``emkit`` or by
    ``emkit.hmm``, and name emkit's classes."""
    import emkit
    from emkit import hmm, vhmm
    from emkit.hmm import base as hmm_base
    from emkit.hmm import hmm as hmm_module
    from emkit.hmm import vhmm as vhmm_module
    from emkit.hmm.hmm import GMMHMM

    assert GMMHMM is hmm.GMMHMM and hmm_module.GaussianHMM is hmm.GaussianHMM
    assert vhmm.VariationalGaussianHMM is vhmm_module.VariationalGaussianHMM \
        is hmm.VariationalGaussianHMM
    assert hmm_base.BaseHMM is hmm.BaseHMM and hmm_base.ConvergenceMonitor is ConvergenceMonitor
    assert {"CategoricalHMM", "GMMHMM", "GaussianHMM", "MultinomialHMM",
            "PoissonHMM"} == set(hmm_module.__all__)
    assert "vhmm" in dir(emkit)
