"""GMMHMM: a Gaussian mixture of ``n_mix`` components emitted by each state."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._validation import Interval, Options
from ..io import register_model
from ..mixture._covariance import COVARIANCE_MODELS
from ..mixture._kmeans import kmeans
from ._base import BaseHMM, check_feature_count, check_probabilities
from ._gaussian_hmm import (check_covariances, check_enough_rows, check_observations,
                            starting_covariance)
from ._gmm_emission import GMMEmission, gmm_emission_params


@register_model
class GMMHMM(BaseHMM):
    """Hidden Markov model with Gaussian-mixture emissions (hmmlearn's ``GMMHMM``).

    Parameters
    ----------
    n_components : int
        Number of states.
    n_mix : int
        Gaussian components per state.
    min_covar : float
        Added to the diagonal of every covariance (at the start and in each M-step), so no
        component collapses onto a point.
    startprob_prior, transmat_prior, weights_prior : float or array
        Dirichlet parameters (1: none).
    means_prior, means_weight : float or array
        Normal prior on the component means (weight 0: none).
    covars_prior, covars_weight : float or array
        Added to each component's scatter and to its expected count in the M-step
        (0: none). Unlike hmmlearn's, whose defaults depend on ``covariance_type``, the
        covariance update is the exact one, about the new means.
    covariance_type : {'diag', 'full', 'tied', 'spherical'}
        'tied': one covariance per state shared by its components.
    algorithm, random_state, n_iter, tol, verbose, implementation
        As in :class:`GaussianHMM`.
    params, init_params : str
        's' start, 't' transitions, 'm' means, 'c' covariances, 'w' mixture weights.
    block_size, batch_size : int or None
        E-step blocks and mini-batch EM, as in :class:`GaussianHMM`.
    n_init : int, default=1
        Restarts, the best run kept: see :class:`GaussianHMM`.

    Attributes
    ----------
    startprob_, transmat_ : ndarray
    weights_ : ndarray of shape (n_components, n_mix)
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covars_ : ndarray
        (K, M) 'spherical', (K, M, D) 'diag', (K, M, D, D) 'full', (K, D, D) 'tied'.
    monitor_, lower_bounds_, converged_, n_iter_, n_features_in_
    """

    _emission_letters = "mcw"
    _n_features_from = ("means_", 2)
    _parameter_constraints = {
        **BaseHMM._parameter_constraints,
        "n_mix": [Interval(numbers.Integral, 1, None, closed="left")],
        "covariance_type": [Options(("spherical", "diag", "full", "tied"))],
        "min_covar": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, n_components=1, n_mix=1, min_covar=1e-3, startprob_prior=1.0,
                 transmat_prior=1.0, weights_prior=1.0, means_prior=0.0, means_weight=0.0,
                 covars_prior=0.0, covars_weight=0.0, algorithm="viterbi",
                 covariance_type="diag", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params="stmcw", init_params="stmcw", implementation="log",
                 learning_decay=0.7, learning_offset=10.0, block_size=None,
                 batch_size=None, n_init=1):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, learning_decay=learning_decay,
                         learning_offset=learning_offset,
                         block_size=block_size, batch_size=batch_size,
                         n_init=n_init)
        self.n_mix = n_mix
        self.min_covar = min_covar
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.covariance_type = covariance_type

    def _lattice_width(self):
        return self.n_components * self.n_mix

    def _check_X(self, X):
        return check_observations(X)

    def _check_X_against(self, X, params):
        check_feature_count(X, params.means.shape[2], self)

    def _emission(self, update):
        return GMMEmission(self.covariance_type, self.min_covar, self.weights_prior,
                           self.means_prior, self.means_weight, self.covars_prior,
                           self.covars_weight, update)

    def _init_emission(self, X, needs_init, random_state):
        K, M, D = self.n_components, self.n_mix, X.shape[1]
        attributes = {}
        cv = starting_covariance(X, self.min_covar)
        if needs_init("w", "weights_"):
            attributes["weights_"] = np.full((K, M), 1.0 / M)
        if needs_init("m", "means_"):
            attributes["means_"] = self._starting_means(X, random_state)
        if needs_init("c", "covars_"):
            attributes["covars_"] = {
                "spherical": np.full((K, M), cv.mean()),
                "diag": np.broadcast_to(np.diag(cv), (K, M, D)).copy(),
                "full": np.broadcast_to(cv, (K, M, D, D)).copy(),
                "tied": np.broadcast_to(cv, (K, D, D)).copy(),
            }[self.covariance_type]
        return attributes

    def _starting_means(self, X, random_state):
        """hmmlearn's start: k-means into one cluster per state, then k-means of each
        cluster into its mixture components (random draws around the centre when a
        cluster has too few rows)."""
        K, M = self.n_components, self.n_mix
        check_enough_rows(X, K)
        labels = kmeans(X, K, None, check_random_state(random_state), n_init=10)[1]
        rng = check_random_state(random_state)
        cv = starting_covariance(X, self.min_covar)
        means = []
        for state in range(K):
            rows = X[labels == state]
            if rows.shape[0] >= M:
                means.append(kmeans(rows, M, None, check_random_state(random_state),
                                    n_init=10)[0])
            else:
                means.append(rng.multivariate_normal(X.mean(axis=0), cv, size=M))
        return np.stack(means)

    def _emission_params(self, attributes):
        K, M = self.n_components, self.n_mix
        weights = check_probabilities(attributes["weights_"], (K, M), "weights_")
        means = np.array(attributes["means_"], dtype=np.float64)
        if means.ndim != 3 or means.shape[:2] != (K, M) or not np.all(np.isfinite(means)):
            raise ValueError(f"means_ must be a finite array of shape (n_components={K}, "
                             f"n_mix={M}, n_features), got shape {means.shape}")
        D = means.shape[2]
        shape = {"spherical": (K, M), "diag": (K, M, D), "full": (K, M, D, D),
                 "tied": (K, D, D)}[self.covariance_type]
        covars = check_covariances(self.covariance_type, attributes["covars_"], shape)
        return gmm_emission_params(self.covariance_type, weights, means, covars)

    def _emission_attributes(self, params):
        return {"weights_": params.weights, "means_": params.means, "covars_": params.covars}

    def _n_emission_parameters(self):
        K, M, D = self.means_.shape
        if self.covariance_type == "tied":
            covariance = K * COVARIANCE_MODELS["tied"].n_covariance_parameters(M, D)
        else:
            covariance = COVARIANCE_MODELS[self.covariance_type].n_covariance_parameters(K * M, D)
        return {"m": K * M * D, "c": covariance, "w": K * (M - 1)}

    def _sample_from_state(self, state, random_state):
        component = random_state.choice(self.n_mix, p=self.weights_[state])
        D = self.means_.shape[2]
        covars = self.covars_[state] if self.covariance_type == "tied" else \
            self.covars_[state, component]
        covariance = {"spherical": lambda c: c * np.eye(D), "diag": np.diag}.get(
            self.covariance_type, lambda c: c)(covars)
        return random_state.multivariate_normal(self.means_[state, component], covariance)
