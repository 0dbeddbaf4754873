"""PoissonHMM: independent Poisson counts per feature, rates per state."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..io import register_model
from ._base import BaseHMM, check_feature_count
from ._categorical_hmm import check_integer_column
from ._count_emissions import PoissonEmission


@register_model
class PoissonHMM(BaseHMM):
    """Hidden Markov model with Poisson emissions (hmmlearn's ``PoissonHMM``).

    Parameters
    ----------
    n_components : int
        Number of states.
    startprob_prior, transmat_prior : float or array
        Dirichlet parameters (1: none).
    lambdas_prior, lambdas_weight : float or array
        Gamma prior on the rates: the update is (lambdas_prior + sum of counts) /
        (lambdas_weight + expected visits), per state (0, 0: maximum likelihood).
    algorithm, random_state, n_iter, tol, verbose, implementation
        As in :class:`GaussianHMM`.
    params, init_params : str
        's' start, 't' transitions, 'l' rates.
    block_size, batch_size : int or None
        E-step blocks and mini-batch EM, as in :class:`GaussianHMM`.
    n_init : int, default=1
        Restarts, the best run kept: see :class:`GaussianHMM`.

    Attributes
    ----------
    startprob_, transmat_ : ndarray
    lambdas_ : ndarray of shape (n_components, n_features)
    monitor_, lower_bounds_, converged_, n_iter_, n_features_in_
    """

    _emission_letters = "l"
    _n_features_from = ("lambdas_", 1)

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 lambdas_prior=0.0, lambdas_weight=0.0, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="stl",
                 init_params="stl", implementation="log", learning_decay=0.7,
                 learning_offset=10.0, block_size=None, batch_size=None, n_init=1):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, learning_decay=learning_decay,
                         learning_offset=learning_offset,
                         block_size=block_size, batch_size=batch_size,
                         n_init=n_init)
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight

    def _check_X(self, X):
        return check_integer_column(X, "Counts").astype(np.float64)

    def _check_X_against(self, X, lambdas):
        check_feature_count(X, lambdas.shape[1], self)

    def _emission(self, update):
        return PoissonEmission(self.lambdas_prior, self.lambdas_weight, update)

    def _init_emission(self, X, needs_init, random_state):
        if not needs_init("l", "lambdas_"):
            return {}
        rng = check_random_state(random_state)
        mean, var = X.mean(), X.var()
        if mean > 0 and var > 0:
            lambdas = rng.gamma(shape=mean**2 / var, scale=var / mean,
                                size=(self.n_components, X.shape[1]))
        else:  # constant counts: every state starts at the mean rate
            lambdas = np.full((self.n_components, X.shape[1]), max(mean, 1e-3))
        return {"lambdas_": lambdas}

    def _emission_params(self, attributes):
        lambdas = np.atleast_2d(np.asarray(attributes["lambdas_"], dtype=float))
        if lambdas.ndim != 2 or lambdas.shape[0] != self.n_components:
            raise ValueError(f"lambdas_ must have shape (n_components={self.n_components}, "
                             f"n_features), got {lambdas.shape}")
        if not np.all(np.isfinite(lambdas)) or np.any(lambdas < 0):
            raise ValueError("lambdas_ must be finite and non-negative")
        return lambdas

    def _emission_attributes(self, lambdas):
        return {"lambdas_": lambdas}

    def _n_emission_parameters(self):
        return {"l": int(np.size(self.lambdas_))}

    def _sample_from_state(self, state, random_state):
        return random_state.poisson(self.lambdas_[state])
