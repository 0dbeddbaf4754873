"""CategoricalHMM: symbols 0..n_features-1 emitted by each state."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..io import register_model
from ._base import BaseHMM, check_probabilities
from ._count_emissions import CategoricalEmission


def check_integer_column(X, what: str) -> np.ndarray:
    """X as an int64 array of whole, non-negative numbers (a (n, 1) column or a 1-d array
    for symbols)."""
    array = np.asarray(X)
    if array.dtype == object or array.dtype.kind not in "iufb":
        raise ValueError(f"{what} must be integers, got an array of dtype {array.dtype}")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty 2-d array (n_samples, n_features), "
                         f"got shape {array.shape}")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what} contain NaN or infinity")
        if np.any(array != np.round(array)):
            bad = float(array[array != np.round(array)][0])
            raise ValueError(f"{what} must be integers, got {bad!r}")
    if np.any(array < 0):
        raise ValueError(f"{what} must be non-negative, got {array.min().item()!r}")
    return array.astype(np.int64)


@register_model
class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical emissions (hmmlearn's ``CategoricalHMM``).

    X holds one symbol per sample: an integer column (n_samples, 1) with values in
    0..n_features-1.

    Parameters
    ----------
    n_components : int
        Number of states.
    startprob_prior, transmat_prior, emissionprob_prior : float or array
        Dirichlet parameters (1: none).
    n_features : int or None
        Number of symbols; None: one more than the largest symbol seen by ``fit``.
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
    emissionprob_ : ndarray of shape (n_components, n_symbols)
    monitor_, lower_bounds_, converged_, n_iter_, n_features_in_
    """

    _emission_letters = "e"
    _n_features_from = ("emissionprob_", 1)

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, *,
                 emissionprob_prior=1.0, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", implementation="log", learning_decay=0.7,
                 learning_offset=10.0, block_size=None, batch_size=None, n_init=1):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, learning_decay=learning_decay,
                         learning_offset=learning_offset,
                         block_size=block_size, batch_size=batch_size,
                         n_init=n_init)
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    def _check_X(self, X):
        X = check_integer_column(X, "Symbols")
        if X.shape[1] != 1:
            raise ValueError(f"CategoricalHMM takes one symbol per sample, X of shape "
                             f"(n_samples, 1); got {X.shape[1]} columns.")
        if self._n_features is not None:
            self._check_symbol_range(X, int(self._n_features))
        return X

    def _check_and_set_n_features(self, X):
        """hmmlearn's hook: X must be integer symbols (of an integer dtype), within
        ``n_features`` when that is known; else ``n_features`` becomes max(X) + 1. (Its
        shape is left to ``fit``.)"""
        if np.asarray(X).dtype.kind not in "iu":
            raise ValueError("Symbols should be integers, got an array of dtype "
                             f"{np.asarray(X).dtype}")
        X = check_integer_column(X, "Symbols")
        if self._n_features is None:
            self.n_features = int(X.max()) + 1
        else:
            self._check_symbol_range(X, int(self._n_features))
        return X

    @staticmethod
    def _check_symbol_range(X, n_symbols):
        if X.max() >= n_symbols:
            raise ValueError(f"Largest symbol is {int(X.max())} but the model only emits "
                             f"symbols up to {n_symbols - 1}")

    def _check_X_against(self, X, emissionprob):
        self._check_symbol_range(X, emissionprob.shape[1])

    def _validate_hyperparameters(self):
        super()._validate_hyperparameters()
        n = self._n_features
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                              or n < 1):
            raise ValueError(f"n_features must be a positive int or None, got {n!r}")

    def _emission(self, update):
        return CategoricalEmission(self.emissionprob_prior, update)

    def _init_emission(self, X, needs_init, random_state):
        if not needs_init("e", "emissionprob_"):
            return {}
        n_symbols = self._n_features if self._n_features is not None else self._n_symbols_of(X)
        rng = check_random_state(random_state)
        emissionprob = rng.rand(self.n_components, n_symbols)
        return {"emissionprob_": emissionprob / emissionprob.sum(axis=1, keepdims=True)}

    def _n_symbols_of(self, X) -> int:
        return int(X.max()) + 1

    def _emission_params(self, attributes):
        emissionprob = np.atleast_2d(np.asarray(attributes["emissionprob_"], dtype=float))
        n_symbols = emissionprob.shape[1] if emissionprob.ndim == 2 else 0
        if self._n_features is not None:
            n_symbols = int(self._n_features)
        return check_probabilities(emissionprob, (self.n_components, n_symbols),
                                   "emissionprob_")

    def _emission_attributes(self, emissionprob):
        return {"emissionprob_": emissionprob}

    def _n_features_of(self, X):
        return 1

    def _n_emission_parameters(self):
        return {"e": self.n_components * (np.shape(self.emissionprob_)[1] - 1)}

    def _sample_from_state(self, state, random_state):
        cdf = np.cumsum(self.emissionprob_[state, :])
        return [(cdf > random_state.rand()).argmax()]
