"""GMMHMM: Gaussian-mixture emissions per state."""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import emkit
from emkit._exceptions import LikelihoodDecreaseWarning, UnvisitedStateWarning
from emkit.hmm import GMMHMM, GaussianHMM

COVARIANCE_TYPES = ("diag", "full", "tied", "spherical")


def _two_regime_data(seed=0, n=1200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    X[n // 2:] += 4.0
    X[::3] *= 2.5  # each regime a mixture of a narrow and a wide component
    return X, [n // 4, n // 4, n // 2]


def _full_covariances(model):
    K, M, D = model.means_.shape
    c = model.covars_
    if model.covariance_type == "full":
        return c
    if model.covariance_type == "tied":
        return np.repeat(c[:, None], M, axis=1)
    if model.covariance_type == "diag":
        return c[..., None] * np.eye(D)
    return c[..., None, None] * np.eye(D)


@pytest.mark.parametrize("covariance_type", ["diag", "full", "spherical"])
def test_one_component_per_state_is_a_gaussian_hmm(covariance_type):
    """With n_mix=1, no floor and no prior, GMMHMM's Baum-Welch is GaussianHMM's."""
    X, lengths = _two_regime_data()
    start = GaussianHMM(3, covariance_type=covariance_type, n_iter=1, random_state=0,
                        covars_prior=0).fit(X, lengths)
    gaussian = GaussianHMM(3, covariance_type=covariance_type, n_iter=8, tol=0,
                           covars_prior=0, init_params="")
    mixture = GMMHMM(3, n_mix=1, covariance_type=covariance_type, min_covar=0, n_iter=8,
                     tol=0, init_params="")
    for model in (gaussian, mixture):
        model.startprob_, model.transmat_ = start.startprob_, start.transmat_
    gaussian.means_, gaussian.covars_ = start.means_, start.covariances_
    mixture.weights_ = np.ones((3, 1))
    mixture.means_ = start.means_[:, None]
    mixture.covars_ = start.covariances_[:, None]
    gaussian.fit(X, lengths)
    mixture.fit(X, lengths)
    np.testing.assert_allclose(mixture.means_[:, 0], gaussian.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mixture.covars_[:, 0], gaussian.covariances_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mixture.transmat_, gaussian.transmat_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mixture.lower_bounds_, gaussian.lower_bounds_, rtol=1e-12)


def test_tied_with_one_component_is_a_full_gaussian_hmm():
    """'tied' ties the components of one state: with one component it is 'full'."""
    X, lengths = _two_regime_data(1)
    start = GaussianHMM(2, covariance_type="full", n_iter=1, random_state=0,
                        covars_prior=0).fit(X, lengths)
    gaussian = GaussianHMM(2, covariance_type="full", n_iter=6, tol=0, covars_prior=0,
                           init_params="")
    mixture = GMMHMM(2, n_mix=1, covariance_type="tied", min_covar=0, n_iter=6, tol=0,
                     init_params="")
    for model in (gaussian, mixture):
        model.startprob_, model.transmat_ = start.startprob_, start.transmat_
    gaussian.means_, gaussian.covars_ = start.means_, start.covariances_
    mixture.weights_, mixture.means_ = np.ones((2, 1)), start.means_[:, None]
    mixture.covars_ = start.covariances_
    gaussian.fit(X, lengths)
    mixture.fit(X, lengths)
    np.testing.assert_allclose(mixture.covars_, gaussian.covariances_, rtol=1e-9)
    np.testing.assert_allclose(gaussian.score(X, lengths), mixture.score(X, lengths),
                               rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_and_posteriors_equal_brute_force(covariance_type):
    """Tiny model: enumerate all state paths; emissions are explicit mixture densities."""
    X, _ = _two_regime_data(2, n=5)
    model = GMMHMM(2, n_mix=2, covariance_type=covariance_type, n_iter=3,
                   random_state=0).fit(_two_regime_data(3)[0])
    K, M, _ = model.means_.shape
    covs = _full_covariances(model)
    log_b = np.array([[logsumexp([np.log(model.weights_[k, m])
                                  + multivariate_normal(model.means_[k, m], covs[k, m]).logpdf(x)
                                  for m in range(M)]) for k in range(K)] for x in X])
    paths = list(itertools.product(range(K), repeat=len(X)))
    log_joint = np.array([np.log(model.startprob_[p[0]]) + log_b[0, p[0]]
                          + sum(np.log(model.transmat_[p[t - 1], p[t]]) + log_b[t, p[t]]
                                for t in range(1, len(X))) for p in paths])
    total = logsumexp(log_joint)
    posterior = np.zeros((len(X), K))
    for p, lj in zip(paths, log_joint):
        posterior[np.arange(len(X)), p] += np.exp(lj - total)
    np.testing.assert_allclose(model.score(X), total, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(X), posterior, rtol=1e-9, atol=1e-12)
    logprob, path = model.decode(X)
    assert tuple(path) == paths[int(np.argmax(log_joint))]
    np.testing.assert_allclose(logprob, log_joint.max(), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_likelihood_never_decreases_and_beats_one_component(covariance_type):
    X, lengths = _two_regime_data(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        mixture = GMMHMM(2, n_mix=2, covariance_type=covariance_type, n_iter=25, tol=0,
                         random_state=0).fit(X, lengths)
    history = np.array(mixture.lower_bounds_)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert np.all(np.isfinite(mixture.covars_)) and np.all(np.isfinite(mixture.means_))
    np.testing.assert_allclose(mixture.weights_.sum(axis=1), 1.0)
    single = GMMHMM(2, n_mix=1, covariance_type=covariance_type, n_iter=25, tol=0,
                    random_state=0).fit(X, lengths)
    assert mixture.score(X, lengths) > single.score(X, lengths)


def test_collapsed_component_keeps_a_positive_floor():
    """A component owning one repeated point keeps min_covar on its diagonal: no NaN."""
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(200, 2)), np.tile([[10.0, 10.0]], (20, 1))])
    model = GMMHMM(2, n_mix=2, covariance_type="full", min_covar=1e-3, n_iter=30,
                   random_state=0).fit(X)
    eig = np.linalg.eigvalsh(model.covars_.reshape(-1, 2, 2))
    assert np.all(eig >= 1e-3 * (1 - 1e-9))
    assert np.isfinite(model.score(X))


def test_unvisited_state_keeps_its_parameters_and_warns():
    X, _ = _two_regime_data(6, n=300)
    model = GMMHMM(3, n_mix=2, n_iter=3, tol=0, init_params="", params="stmcw")
    model.startprob_ = np.array([0.5, 0.5, 0.0])
    model.transmat_ = np.array([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.3, 0.3, 0.4]])
    model.weights_ = np.full((3, 2), 0.5)
    model.means_ = np.array([[[0, 0], [1, 1]], [[4, 4], [5, 5]], [[9, 9], [8, 8.0]]])
    model.covars_ = np.ones((3, 2, 2))
    with pytest.warns(UnvisitedStateWarning):
        model.fit(X)
    np.testing.assert_array_equal(model.means_[2], [[9, 9], [8, 8]])
    np.testing.assert_array_equal(model.covars_[2], np.ones((2, 2)))
    assert np.all(np.isfinite(model.transmat_)) and model.transmat_[0, 2] == 0


def test_save_load_and_sample(tmp_path):
    X, lengths = _two_regime_data(7)
    model = GMMHMM(2, n_mix=2, covariance_type="full", n_iter=5, random_state=0).fit(X, lengths)
    model.save(tmp_path / "gmmhmm")
    loaded = emkit.load(tmp_path / "gmmhmm")
    assert loaded.score(X, lengths) == model.score(X, lengths)
    np.testing.assert_array_equal(loaded.predict(X, lengths), model.predict(X, lengths))
    Y, states = model.sample(50, random_state=1)
    Y2, states2 = loaded.sample(50, random_state=1)
    assert Y.shape == (50, 2) and states.shape == (50,)
    np.testing.assert_array_equal(Y, Y2)
    np.testing.assert_array_equal(states, states2)
    # parameters: 1 + 2 transitions... counted as hmmlearn does, with K * (M - 1) weights
    K, M, D = 2, 2, 2
    expected = (K - 1) + K * (K - 1) + K * M * D + K * M * D * (D + 1) // 2 + K * (M - 1)
    assert model.n_parameters() == expected


def test_bad_mixture_parameters_are_named():
    X, _ = _two_regime_data(8, n=100)
    model = GMMHMM(2, n_mix=2, init_params="", n_iter=1)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.weights_ = np.array([[0.5, 0.6], [0.5, 0.5]])
    model.means_ = np.zeros((2, 2, 2))
    model.covars_ = np.ones((2, 2, 2))
    with pytest.raises(ValueError, match="weights_"):
        model.fit(X)
    model.weights_ = np.full((2, 2), 0.5)
    model.means_ = np.zeros((2, 3, 2))
    with pytest.raises(ValueError, match="means_"):
        model.fit(X)
    model.means_ = np.zeros((2, 2, 2))
    model.covars_ = -np.ones((2, 2, 2))
    with pytest.raises(ValueError, match="covars_"):
        model.fit(X)
    with pytest.raises(ValueError, match="n_mix"):
        GMMHMM(2, n_mix=0).fit(X)
