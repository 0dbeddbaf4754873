"""MultinomialHMM: hmmlearn's results from the same parameters, the categorical special
case, sampling, and bad input."""

import numpy as np
import pytest
from hmmlearn import hmm as hl

from emkit.hmm import CategoricalHMM, MultinomialHMM

STARTPROB = np.array([0.6, 0.4])
TRANSMAT = np.array([[0.8, 0.2], [0.25, 0.75]])
EMISSIONPROB = np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
N_TRIALS = 5


def _set(model, startprob=STARTPROB, transmat=TRANSMAT, emissionprob=EMISSIONPROB):
    model.startprob_, model.transmat_ = startprob.copy(), transmat.copy()
    model.emissionprob_ = emissionprob.copy()
    return model


def _sample(n=300, seed=0):
    return _set(MultinomialHMM(2, n_trials=N_TRIALS)).sample(n, random_state=seed)


def test_sampled_rows_are_counts_of_n_trials():
    X, states = _sample()
    assert X.shape == (300, 4) and states.shape == (300,)
    assert np.all(X.sum(axis=1) == N_TRIALS) and np.all(X >= 0)
    # state 0 favours outcome 0, state 1 outcomes 2 and 3
    assert X[states == 0, 0].mean() > X[states == 1, 0].mean() + 1


def test_same_draws_as_hmmlearn():
    ours = _set(MultinomialHMM(2, n_trials=N_TRIALS))
    theirs = _set(hl.MultinomialHMM(2, n_trials=N_TRIALS))
    X, states = ours.sample(50, random_state=3)
    X_hl, states_hl = theirs.sample(50, random_state=3)
    np.testing.assert_array_equal(X, X_hl)
    np.testing.assert_array_equal(states, states_hl)


def test_inference_agrees_with_hmmlearn():
    X, _ = _sample(seed=1)
    lengths = [100, 150, 50]
    ours = _set(MultinomialHMM(2, n_trials=N_TRIALS))
    theirs = _set(hl.MultinomialHMM(2, n_trials=N_TRIALS))
    np.testing.assert_allclose(ours.score(X, lengths), theirs.score(X, lengths),
                               rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X, lengths),
                               theirs.predict_proba(X, lengths), rtol=0, atol=1e-10)
    logprob, path = ours.decode(X, lengths)
    logprob_hl, path_hl = theirs.decode(X, lengths)
    np.testing.assert_array_equal(path, path_hl)
    np.testing.assert_allclose(logprob, logprob_hl, rtol=1e-10, atol=1e-8)


def test_fit_agrees_with_hmmlearn_from_the_same_start():
    X, _ = _sample(400, seed=2)
    lengths = [200, 200]
    start = dict(startprob=np.array([0.5, 0.5]), transmat=np.array([[0.6, 0.4], [0.3, 0.7]]),
                 emissionprob=np.array([[0.3, 0.3, 0.2, 0.2], [0.2, 0.2, 0.3, 0.3]]))
    ours = _set(MultinomialHMM(2, n_trials=N_TRIALS, init_params="", n_iter=8,
                               tol=-np.inf), **start).fit(X, lengths)
    theirs = _set(hl.MultinomialHMM(2, n_trials=N_TRIALS, init_params="", n_iter=8,
                                    tol=-np.inf), **start).fit(X, lengths)
    assert ours.n_iter_ == 8 == theirs.monitor_.iter
    np.testing.assert_allclose(ours.lower_bounds_, list(theirs.monitor_.history),
                               rtol=1e-10, atol=1e-8)
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name),
                                   rtol=1e-8, atol=1e-10)


def test_one_trial_is_a_categorical_hmm_on_one_hot_rows():
    symbols = np.random.default_rng(4).integers(0, 4, size=60)
    one_hot = np.eye(4, dtype=int)[symbols]
    multinomial = _set(MultinomialHMM(2, n_trials=1))
    categorical = _set(CategoricalHMM(2))
    np.testing.assert_allclose(multinomial.score(one_hot), categorical.score(symbols[:, None]),
                               rtol=1e-12, atol=1e-10)
    fitted = [_set(model.set_params(init_params="", n_iter=5, tol=-np.inf)).fit(X)
              for model, X in ((multinomial, one_hot), (categorical, symbols[:, None]))]
    np.testing.assert_allclose(fitted[0].emissionprob_, fitted[1].emissionprob_,
                               rtol=1e-10, atol=1e-12)


def test_rows_of_any_total_without_n_trials():
    X, _ = _sample(seed=5)
    X[::2] *= 2  # 10 trials in every other row
    model = _set(MultinomialHMM(2, init_params="", n_iter=3)).fit(X)
    assert model.n_trials is None and np.isfinite(model.score(X))
    with pytest.raises(ValueError, match="single n_trials"):
        model.sample(5)


@pytest.mark.parametrize("X, n_trials, match", [
    ([[1, 2, 2], [2, 2, 2]], 5, r"row 1 sums to 6, not 5"),
    ([[1, 2, 2], [2, 2, 1]], [5, 4], r"row 1 sums to 5, not 4"),
    ([[1, 2, 2], [2, 2, 1]], [5, 5, 5], r"n_trials has 3 values but X has 2 rows"),
    ([[1, -2, 6], [2, 2, 1]], None, r"non-negative"),
    ([[1.5, 2, 1.5], [2, 2, 1]], None, r"must be integers"),
    ([[1, 2, np.nan], [2, 2, 1]], None, r"NaN"),
])
def test_bad_counts_are_one_line_errors(X, n_trials, match):
    model = _set(MultinomialHMM(2, n_trials=n_trials))
    model.emissionprob_ = np.full((2, 3), 1 / 3)
    for method in (model.score, model.fit):
        with pytest.raises(ValueError, match=match) as info:
            method(np.array(X))
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("n_trials", [-1, 2.5, "five", [[5]]])
def test_bad_n_trials(n_trials):
    with pytest.raises(ValueError, match="n_trials must be"):
        MultinomialHMM(2, n_trials=n_trials).fit(np.array([[1, 2], [2, 1]]))


def test_wrong_number_of_outcomes():
    model = _set(MultinomialHMM(2, n_trials=N_TRIALS))
    with pytest.raises(ValueError, match="X has 3 features, but MultinomialHMM is expecting 4"):
        model.score(np.array([[1, 2, 2]]))


def test_failed_fit_leaves_the_model_as_it_was():
    model = _set(MultinomialHMM(2, n_trials=N_TRIALS, init_params=""))
    before = {k: v.copy() for k, v in vars(model).items() if k.endswith("_")}
    with pytest.raises(ValueError):
        model.fit(np.array([[1, 2, 1, 0]]))  # 4 trials
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    assert not hasattr(model, "lower_bounds_")
