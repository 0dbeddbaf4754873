"""MultinomialHMM: each sample counts the outcomes of n_trials draws from its state's
categorical distribution (hmmlearn's ``MultinomialHMM``)."""

from __future__ import annotations

import numpy as np

from ..io import register_model
from ._base import check_feature_count
from ._categorical_hmm import CategoricalHMM, check_integer_column
from ._count_emissions import MultinomialEmission


@register_model
class MultinomialHMM(CategoricalHMM):
    """Hidden Markov model with multinomial emissions (hmmlearn's ``MultinomialHMM``).

    X holds one row of counts per sample, shape (n_samples, n_features): how often each of
    the n_features outcomes came up in that sample's trials. With ``n_trials=1`` it is a
    :class:`CategoricalHMM` with one-hot rows.

    Parameters
    ----------
    n_components : int
        Number of states.
    n_trials : int, array of int of shape (n_samples,), or None
        Trials per sample: every row of X must sum to it. None: each row's sum, whatever it
        is (sampling then needs it set). Sampling needs a single value.
    startprob_prior, transmat_prior : float or array
        Dirichlet parameters (1: none).
    algorithm, random_state, n_iter, tol, verbose, implementation
        As in :class:`GaussianHMM`.
    params, init_params : str
        's' start, 't' transitions, 'e' emission probabilities.
    block_size, batch_size : int or None
        E-step blocks and mini-batch EM, as in :class:`GaussianHMM`.
    n_init : int, default=1
        Restarts, the best run kept: see :class:`GaussianHMM`.

    Attributes
    ----------
    startprob_, transmat_ : ndarray
    emissionprob_ : ndarray of shape (n_components, n_features)
        Probability of each outcome in one trial, per state.
    monitor_, lower_bounds_, converged_, n_iter_, n_features_in_
    """

    def __init__(self, n_components=1, n_trials=None, startprob_prior=1.0,
                 transmat_prior=1.0, algorithm="viterbi", random_state=None, n_iter=10,
                 tol=1e-2, verbose=False, params="ste", init_params="ste",
                 implementation="log", learning_decay=0.7, learning_offset=10.0,
                 block_size=None, batch_size=None, n_init=1):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, learning_decay=learning_decay,
                         learning_offset=learning_offset,
                         block_size=block_size, batch_size=batch_size,
                         n_init=n_init)
        del self.emissionprob_prior, self._n_features  # not parameters of this class
        self.n_trials = n_trials

    def _validate_hyperparameters(self):
        super()._validate_hyperparameters()
        if self.n_trials is not None:
            trials = np.asarray(self.n_trials)
            if (trials.dtype.kind not in "iu" or trials.ndim > 1 or trials.size == 0
                    or np.any(trials < 0)):
                raise ValueError("n_trials must be a non-negative int, an array of them "
                                 f"(one per sample) or None, got {self.n_trials!r}")

    def _check_X(self, X):
        X = check_integer_column(X, "Counts")
        self._check_trials(X)
        return X.astype(np.float64)

    def _check_trials(self, X) -> None:
        if self.n_trials is None:
            return
        trials = np.asarray(self.n_trials)
        if trials.ndim == 1 and trials.shape[0] != X.shape[0]:
            raise ValueError(f"n_trials has {trials.shape[0]} values but X has "
                             f"{X.shape[0]} rows")
        wrong = np.flatnonzero(X.sum(axis=1) != trials)
        if wrong.size:
            row = int(wrong[0])
            expected = int(trials if trials.ndim == 0 else trials[row])
            raise ValueError(f"Each row of X must sum to n_trials: row {row} sums to "
                             f"{int(X[row].sum())}, not {expected} ({wrong.size} such rows)")

    def _check_and_set_n_features(self, X):
        """hmmlearn's hook: X must be non-negative integer counts (of an integer dtype)
        with the known number of features; their row sums become ``n_trials`` when that
        is None."""
        if np.asarray(X).dtype.kind not in "iu":
            raise ValueError("Counts should be integers, got an array of dtype "
                             f"{np.asarray(X).dtype}")
        X = self._check_X(X)
        if self.n_features is not None:
            check_feature_count(X, self.n_features, self)
        self.n_features = X.shape[1]
        if self.n_trials is None:
            self.n_trials = X.sum(axis=1).astype(np.int64)
        return X

    def _check_X_against(self, X, emissionprob):
        check_feature_count(X, emissionprob.shape[1], self)

    def _emission(self, update):
        return MultinomialEmission(1.0, update)

    def _n_symbols_of(self, X):
        return X.shape[1]

    def _n_features_of(self, X):
        return int(X.shape[1])

    def _sample_from_state(self, state, random_state):
        trials = np.unique(np.asarray(self.n_trials if self.n_trials is not None else []))
        if trials.size != 1:
            raise ValueError("For sampling, a single n_trials must be given, got "
                             f"{self.n_trials!r}")
        return random_state.multinomial(int(trials[0]), self.emissionprob_[state])
