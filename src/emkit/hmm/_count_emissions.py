"""Discrete emissions: categorical symbols, multinomial counts and Poisson counts.

All keep, per state, a posterior-weighted tally of the observations (``CountStats``) and
re-estimate from it in closed form.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from .._exceptions import UnvisitedStateWarning
from ._problem import UNVISITED_COUNT, _dirichlet_log_prior, _dirichlet_map


@dataclass(frozen=True)
class CountStats:
    """``post[k]`` = expected visits of state k; ``obs[k, f]`` = posterior-weighted sum of
    feature f (Poisson) or count of symbol f (categorical) in state k."""

    post: np.ndarray
    obs: np.ndarray

    def __add__(self, other: "CountStats") -> "CountStats":
        return CountStats(self.post + other.post, self.obs + other.obs)

    def __mul__(self, factor: float) -> "CountStats":
        return CountStats(self.post * factor, self.obs * factor)

    __rmul__ = __mul__


def _log(values: np.ndarray) -> np.ndarray:
    """log(values), -inf for zeros."""
    with np.errstate(divide="ignore"):
        return np.log(values)


def _counts_times_log(X, values) -> np.ndarray:
    """sum_f x_f log(v_kf), shape (n_samples, n_states): a positive count where v is zero
    is impossible (-inf), a zero count there certain (0 log 0 = 0)."""
    zero = values == 0
    out = X @ np.where(zero, 0.0, _log(values)).T
    if np.any(zero):
        out[((X > 0).astype(np.float64) @ zero.T.astype(np.float64)) > 0] = -np.inf
    return out


class CategoricalEmission:
    """One categorical distribution over ``n_symbols`` per state, Dirichlet prior.

    ``X`` is an int64 column of symbols; ``emission`` is the (n_states, n_symbols)
    emission probability matrix.
    """

    letters = "e"

    def __init__(self, emissionprob_prior, update):
        self.emissionprob_prior = emissionprob_prior
        self.update = update

    def log_frame(self, X, emissionprob):
        return _log(emissionprob).T[X[:, 0]]

    def statistics(self, X, gamma, emissionprob):
        n_states, n_symbols = emissionprob.shape
        symbols = X[:, 0]
        obs = np.empty((n_states, n_symbols))
        for k in range(n_states):
            obs[k] = np.bincount(symbols, weights=gamma[:, k], minlength=n_symbols)
        return CountStats(gamma.sum(axis=0), obs)

    def m_step(self, stats, emissionprob):
        if "e" not in self.update:
            return emissionprob
        return _dirichlet_map(stats.obs, self.emissionprob_prior, emissionprob,
                              "the emission probabilities", keep_zeros=False)

    def log_prior(self, emissionprob):
        if "e" not in self.update:
            return 0.0
        return _dirichlet_log_prior(emissionprob, self.emissionprob_prior)


class MultinomialEmission(CategoricalEmission):
    """One multinomial distribution over ``n_features`` categories per state: each row of
    ``X`` (float counts) is the outcome of as many trials as it sums to. The M-step is the
    categorical one on the posterior-weighted counts."""

    def log_frame(self, X, emissionprob):
        # log n! - sum_f log x_f! + sum_f x_f log p_kf, n the row's sum
        log_coefficient = gammaln(X.sum(axis=1) + 1.0) - gammaln(X + 1.0).sum(axis=1)
        return _counts_times_log(X, emissionprob) + log_coefficient[:, None]

    def statistics(self, X, gamma, emissionprob):
        return CountStats(gamma.sum(axis=0), gamma.T @ X)


class PoissonEmission:
    """Independent Poisson counts per feature and state, Gamma(prior, weight) prior on the
    rates; ``emission`` is the (n_states, n_features) rate matrix."""

    letters = "l"

    def __init__(self, lambdas_prior, lambdas_weight, update):
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.update = update

    def log_frame(self, X, lambdas):
        # sum_f x_f log(l_kf) - l_kf - log(x_f!)
        return (_counts_times_log(X, lambdas) - lambdas.sum(axis=1)
                - gammaln(X + 1.0).sum(axis=1, keepdims=True))

    def statistics(self, X, gamma, lambdas):
        return CountStats(gamma.sum(axis=0), gamma.T @ X)

    def m_step(self, stats, lambdas):
        if "l" not in self.update:
            return lambdas
        visited = stats.post >= UNVISITED_COUNT
        if not np.all(visited):
            warnings.warn(f"State(s) {np.flatnonzero(~visited).tolist()} have no expected "
                          "observations: their rates are kept.", UnvisitedStateWarning,
                          stacklevel=4)
        with np.errstate(invalid="ignore", divide="ignore"):
            new = (self.lambdas_prior + stats.obs) / (self.lambdas_weight + stats.post[:, None])
        return np.where(visited[:, None], new, lambdas)

    def log_prior(self, lambdas):
        if "l" not in self.update:
            return 0.0
        prior = np.broadcast_to(np.asarray(self.lambdas_prior, dtype=float), lambdas.shape)
        positive = lambdas > 0
        return float(np.sum(prior[positive] * np.log(lambdas[positive]))
                     - np.sum(self.lambdas_weight * lambdas))
