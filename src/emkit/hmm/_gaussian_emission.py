"""Gaussian emissions of a GaussianHMM: densities, statistics, and hmmlearn's MAP M-step."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._exceptions import UnvisitedStateWarning
from ..mixture._covariance import COVARIANCE_MODELS, CovarianceModel
from ..mixture._gaussian_problem import SERIAL_BLAS_FEATURES
from ..mixture._stats import GaussianStats
from ._problem import UNVISITED_COUNT



def statistics_model(covariance_type: str):
    """The parametrisation whose moments a state's M-step takes: 'spherical' is fitted as
    hmmlearn does, from per-feature variances then averaged."""
    return COVARIANCE_MODELS["diag" if covariance_type == "spherical" else covariance_type]


def state_log_densities(covariance, X, means, precisions_cholesky) -> np.ndarray:
    """log N(x | mean_k, precision_k) of every row and state (rows x states)."""
    n_states, n_features = means.shape
    log_norm = covariance.log_normaliser(np.ones(n_states), precisions_cholesky, n_features)
    return covariance.fast_log_prob(X, means, precisions_cholesky, log_norm)

@dataclass(frozen=True)
class GaussianEmissionParams:
    """Per-state means and covariances (scikit-learn's compact shapes per covariance type)
    and the Cholesky factors of the precisions."""

    means: np.ndarray
    covars: np.ndarray
    precisions_cholesky: np.ndarray


def gaussian_emission_params(covariance: CovarianceModel, means, covars):
    """Parameters with their precision factors; variances are floored at the smallest
    normal number so a collapsed state gives huge, finite densities, never NaN."""
    return GaussianEmissionParams(means, covars,
                                  covariance.precisions_cholesky(covariance.floored(covars)))


class GaussianEmission:
    """One Gaussian per state under a covariance parametrisation, with hmmlearn's priors.

    Parameters
    ----------
    covariance_type : str
    means_prior, means_weight : float or array
        Normal prior on the means: mean and (relative) precision.
    covars_prior, covars_weight : float or array
        Inverse-gamma ('diag', 'spherical') or inverse-Wishart ('full', 'tied') prior.
    update : str
        Letters re-estimated: 'm' means, 'c' covariances.
    """

    letters = "mc"

    def __init__(self, covariance_type, means_prior, means_weight, covars_prior,
                 covars_weight, update):
        self.covariance = COVARIANCE_MODELS[covariance_type]
        self.stats_model = statistics_model(covariance_type)
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.update = update

    # -- E-step ---------------------------------------------------------------------------
    def log_frame(self, X, params: GaussianEmissionParams) -> np.ndarray:
        return state_log_densities(self.covariance, X, params.means,
                                   params.precisions_cholesky)

    def statistics(self, X, gamma, params: GaussianEmissionParams) -> GaussianStats:
        first, second = self.stats_model.fast_second_moments(X, gamma, params.means)
        return GaussianStats(gamma.sum(axis=0), first, second, params.means,
                             self.stats_model.kind)

    # -- M-step ---------------------------------------------------------------------------
    @staticmethod
    def serial_m_step(stats: GaussianStats) -> bool:
        """Whether the M-step's matrices are too small for BLAS threads."""
        return stats.first.shape[1] <= SERIAL_BLAS_FEATURES

    def _weight(self, n_states, ndim):
        weight = np.asarray(self.means_weight, dtype=float)
        return weight.reshape(weight.shape + (1,) * (ndim - weight.ndim)) if weight.ndim else weight

    def m_step(self, stats: GaussianStats, params: GaussianEmissionParams):
        post = stats.weight
        n_states, n_features = stats.first.shape
        visited = post >= UNVISITED_COUNT
        every_state = bool(visited.all())
        if not every_state:
            warnings.warn(f"State(s) {np.flatnonzero(~visited).tolist()} have no expected "
                          "observations: their means and covariances are kept.",
                          UnvisitedStateWarning, stacklevel=4)
        means = params.means
        if "m" in self.update:
            weight = self._weight(n_states, 2)
            obs = stats.first + post[:, None] * stats.anchor
            with np.errstate(invalid="ignore", divide="ignore"):
                new = (weight * self.means_prior + obs) / (weight + post[:, None])
            means = new if every_state else np.where(visited[:, None], new, means)
        covars = params.covars
        if "c" in self.update:
            # the second moments about the new means (GaussianStats.recentered's algebra)
            second = self.stats_model.recentred_second(stats.second, post, stats.first,
                                                       stats.anchor - means)
            covars = self._covariances(second, means, post,
                                       None if every_state else visited, covars)
        return gaussian_emission_params(self.covariance, means, covars)

    def _covariances(self, about_means, means, post, visited, old):
        """hmmlearn's MAP covariances from the second moments ``about_means``:
        (covars_prior + scatter + the mean prior's term) / (covars_weight - the
        parametrisation's dof offset + counts), per parametrisation (its methods);
        'spherical' as hmmlearn fits it, from per-feature variances. The ``old`` ones are
        kept where ``visited`` is False (None: every state was)."""
        n_states, n_features = means.shape
        model = self.stats_model
        weight = np.asarray(self.means_weight, dtype=float)
        weight = np.broadcast_to(weight.reshape(-1) if weight.ndim == 2 else weight,
                                 (n_states,))  # hmmlearn also takes a (K, 1) column
        scatter = model.prior_scatter(about_means, means - self.means_prior, weight)
        extra = max(self.covars_weight - model.prior_dof_offset(n_features), 0)
        counts = model.pooled_counts(post)
        counts = np.reshape(counts, np.shape(counts) + (1,) * (scatter.ndim - np.ndim(counts)))
        with np.errstate(invalid="ignore", divide="ignore"):
            new = (self.covars_prior + scatter) / np.maximum(extra + counts,
                                                             model.PRIOR_DENOMINATOR_FLOOR)
        new = self.covariance.from_feature_variances(new)
        return new if visited is None else self.covariance.kept_where(visited, new, old)

    def log_prior(self, params: GaussianEmissionParams) -> float:
        """Log density (up to a constant) of the priors the M-step maximises with the
        likelihood: Normal on the means, inverse-gamma / inverse-Wishart on covariances."""
        total = 0.0
        n_states, n_features = params.means.shape
        pc = params.precisions_cholesky
        if "c" in self.update:
            extra = max(self.covars_weight - self.covariance.prior_dof_offset(n_features), 0)
            total += self.covariance.prior_log_density(pc, self.covars_prior, extra, n_states,
                                                       n_features)
        if "m" in self.update:
            total += self.covariance.mean_prior_log_density(
                pc, params.means - self.means_prior, self.means_weight)
        return float(total)
