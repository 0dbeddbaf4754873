"""Restarts for every HMM (n_init): the best run kept, every run's history inspectable."""

import numpy as np
import pytest

from emkit import hmm


def two_state_sequences(seed=0):
    rng = np.random.default_rng(seed)
    states = np.concatenate([(np.arange(n) // 9 + i) % 2 for i, n in enumerate([60, 50, 70])])
    return rng.normal(size=(states.size, 2)) + 2.5 * states[:, None], [60, 50, 70]


@pytest.mark.parametrize("make", [
    lambda **kw: hmm.GaussianHMM(3, covariance_type="diag", **kw),
    lambda **kw: hmm.GMMHMM(2, n_mix=2, **kw),
])
def test_the_kept_run_is_the_best_of_n_init_and_each_history_is_kept(make):
    X, lengths = two_state_sequences()
    model = make(n_init=4, n_iter=15, tol=0.0, random_state=3).fit(X, lengths)
    histories = model.restart_lower_bounds_
    assert len(histories) == 4 and all(len(h) == 15 for h in histories)
    finals = [h[-1] for h in histories]
    assert len(set(finals)) > 1  # different starts
    assert model.lower_bounds_ == histories[int(np.argmax(finals))]
    assert model.lower_bound_ == max(finals)


def test_one_start_is_the_fit_without_restarts_and_the_first_start_is_hmmlearns():
    X, lengths = two_state_sequences(1)
    plain = hmm.GaussianHMM(2, n_iter=10, random_state=0).fit(X, lengths)
    one = hmm.GaussianHMM(2, n_iter=10, random_state=0, n_init=1).fit(X, lengths)
    several = hmm.GaussianHMM(2, n_iter=10, random_state=0, n_init=3).fit(X, lengths)
    np.testing.assert_array_equal(one.means_, plain.means_)
    assert several.restart_lower_bounds_[0] == plain.lower_bounds_  # restart 0 unchanged
    assert several.lower_bound_ >= plain.lower_bound_


def test_same_seed_same_restarts():
    X, lengths = two_state_sequences(2)
    a = hmm.CategoricalHMM(2, n_init=3, random_state=5).fit((X[:, :1] > 1).astype(int),
                                                           lengths)
    b = hmm.CategoricalHMM(2, n_init=3, random_state=5).fit((X[:, :1] > 1).astype(int),
                                                           lengths)
    assert a.restart_lower_bounds_ == b.restart_lower_bounds_


@pytest.mark.parametrize("n_init", [0, -1, 1.5])
def test_bad_n_init_is_refused_by_name(n_init):
    X, lengths = two_state_sequences()
    with pytest.raises(ValueError, match="n_init"):
        hmm.PoissonHMM(2, n_init=n_init).fit(np.abs(X).astype(int), lengths)
