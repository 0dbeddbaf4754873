"""The workloads of hmmlearn's example gallery, written for emkit: a model set by hand,
sampled and decoded; choosing the number of states by AIC/BIC; a Poisson model of counts.
(The multinomial workload is in test_multinomial_hmm.py.)"""

import numpy as np
import pytest
from hmmlearn import hmm as hl

from emkit.hmm import GaussianHMM, PoissonHMM

STARTPROB = np.array([0.6, 0.3, 0.1])
TRANSMAT = np.array([[0.90, 0.05, 0.05], [0.05, 0.90, 0.05], [0.05, 0.05, 0.90]])
MEANS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])


def _generator():
    """A 3-state, 2-feature GaussianHMM with every parameter set by hand."""
    model = GaussianHMM(3, covariance_type="diag")
    model.n_features = 2  # before the parameters, as hmmlearn's users do
    model.startprob_ = STARTPROB
    model.transmat_ = TRANSMAT
    model.means_ = MEANS
    model.covars_ = np.full((3, 2), 0.5)
    return model


def test_hand_set_model_samples_and_decodes_its_states():
    model = _generator()
    X, states = model.sample(500, random_state=0)
    assert X.shape == (500, 2) and model.n_features == 2
    # every state visited, and its samples around its mean
    for k in range(3):
        assert np.linalg.norm(X[states == k].mean(axis=0) - MEANS[k]) < 0.3
    _, decoded = model.decode(X)
    assert np.mean(decoded == states) > 0.99
    np.testing.assert_array_equal(model.predict(X), decoded)


def _copy_to_hmmlearn(model):
    theirs = hl.GaussianHMM(model.n_components, covariance_type=model.covariance_type,
                            init_params="")
    theirs.n_features = model.n_features
    theirs.startprob_, theirs.transmat_ = model.startprob_, model.transmat_
    theirs.means_, theirs.covars_ = model.means_, model.covariances_
    return theirs


def test_aic_and_bic_choose_the_number_of_states():
    X, _ = _generator().sample(600, random_state=1)
    lengths = [300, 300]
    fits = {}
    for k in range(1, 6):  # the best of a few starts per number of states, as the gallery
        starts = [GaussianHMM(k, covariance_type="diag", n_iter=100, random_state=seed)
                  .fit(X, lengths) for seed in range(4)]
        fits[k] = max(starts, key=lambda model: model.score(X, lengths))
    aic = {k: m.aic(X, lengths) for k, m in fits.items()}
    bic = {k: m.bic(X, lengths) for k, m in fits.items()}
    assert min(bic, key=bic.get) == 3
    assert min(aic, key=aic.get) >= 3  # AIC penalises less: never fewer states
    # the same criteria as hmmlearn's for the same parameters (same parameter counts)
    for k, model in fits.items():
        theirs = _copy_to_hmmlearn(model)
        np.testing.assert_allclose(aic[k], theirs.aic(X, lengths), rtol=1e-10)
        np.testing.assert_allclose(bic[k], theirs.bic(X, lengths), rtol=1e-10)
    # by definition, from the log-likelihood and the free parameters
    n_free = 2 + 3 * 2 + 3 * 2 + 3 * 2  # start, transitions, means, variances
    assert fits[3].n_parameters() == n_free
    np.testing.assert_allclose(bic[3], -2 * fits[3].score(X, lengths)
                               + n_free * np.log(len(X)), rtol=1e-12)


LAMBDAS = np.array([[1.0, 12.0], [9.0, 3.0]])


def test_poisson_model_recovers_its_rates():
    generator = PoissonHMM(2)
    generator.n_features = 2
    generator.startprob_ = np.array([0.5, 0.5])
    generator.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    generator.lambdas_ = LAMBDAS
    lengths = [400, 300, 300]
    X = np.vstack([generator.sample(n, random_state=seed)[0]
                   for seed, n in enumerate(lengths)])
    model = PoissonHMM(2, n_iter=100, random_state=0).fit(X, lengths)
    order = np.argsort(model.lambdas_[:, 0])
    np.testing.assert_allclose(model.lambdas_[order], LAMBDAS, rtol=0.1)
    np.testing.assert_allclose(model.transmat_[np.ix_(order, order)],
                               generator.transmat_, atol=0.05)
    # scored as hmmlearn scores the same parameters
    theirs = hl.PoissonHMM(2, init_params="")
    theirs.startprob_, theirs.transmat_ = model.startprob_, model.transmat_
    theirs.lambdas_ = model.lambdas_
    np.testing.assert_allclose(model.score(X, lengths), theirs.score(X, lengths), rtol=1e-10)
    _, states = model.decode(X, lengths)
    assert np.isfinite(model.bic(X, lengths))
    assert set(np.unique(states)) == {0, 1}


@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_hand_set_covariances_of_every_type_sample_like_hmmlearn(covariance_type):
    covars = {"spherical": np.array([0.5, 1.0, 2.0]), "diag": np.full((3, 2), 0.5),
              "full": np.tile(np.array([[1.0, 0.3], [0.3, 0.5]]), (3, 1, 1)),
              "tied": np.array([[1.0, 0.3], [0.3, 0.5]])}[covariance_type]
    ours = GaussianHMM(3, covariance_type=covariance_type)
    theirs = hl.GaussianHMM(3, covariance_type=covariance_type)
    for model in (ours, theirs):
        model.n_features = 2
        model.startprob_, model.transmat_, model.means_ = STARTPROB, TRANSMAT, MEANS
        model.covars_ = covars
    np.testing.assert_allclose(ours.covars_, theirs.covars_, rtol=0, atol=0)
    X, states = ours.sample(200, random_state=4)
    X_hl, states_hl = theirs.sample(200, random_state=4)
    np.testing.assert_array_equal(states, states_hl)
    np.testing.assert_allclose(X, X_hl, rtol=1e-12, atol=1e-12)
