"""Gaussian-mixture emissions of a GMMHMM.

The n_states x n_mix Gaussians are handled as one flat mixture of n_states * n_mix
components, so the Gaussian mixture's kernels, statistics and covariance parametrisations
serve here unchanged. 'tied' means one covariance per state, shared by its mixture
components: it is stored per state and repeated over the components for the kernels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._exceptions import UnvisitedStateWarning
from ..mixture._covariance import COVARIANCE_MODELS
from ..mixture._stats import GaussianStats
from ._problem import UNVISITED_COUNT, _dirichlet_log_prior


@dataclass(frozen=True)
class GMMEmissionParams:
    """Per-state mixture weights (K, M), means (K, M, D), covariances in hmmlearn's shapes,
    and the flat (K * M) components' precision factors."""

    weights: np.ndarray
    means: np.ndarray
    covars: np.ndarray
    precisions_cholesky: np.ndarray


class _ComponentCovariances:
    """hmmlearn's 'full', 'diag' and 'spherical': one covariance per mixture component,
    the flat mixture's own parametrisation."""

    def __init__(self, covariance_type: str):
        self.flat_type = covariance_type

    def flat(self, covars, n_mix):
        """Covariances of the K * M flat components."""
        return covars.reshape((-1,) + covars.shape[2:])

    def pooled(self, scatter, counts, visited):
        """The M-step's scatter, counts and visited flags per stored covariance."""
        return scatter, counts, visited

    def regularisation_loss(self, covars, weight, min_covar, n_mix):
        flat_model = COVARIANCE_MODELS[self.flat_type]
        return flat_model.regularisation_loss(self.flat(covars, n_mix), weight, min_covar,
                                              covars.shape[-1])


class _StateCovariances(_ComponentCovariances):
    """hmmlearn's 'tied': one covariance per state, shared by its mixture components,
    repeated over them as 'full' covariances for the kernels."""

    def __init__(self):
        super().__init__("full")

    def flat(self, covars, n_mix):
        return np.repeat(covars, n_mix, axis=0)

    def pooled(self, scatter, counts, visited):
        return scatter.sum(axis=1), counts.sum(axis=1), visited.any(1)

    def regularisation_loss(self, covars, weight, min_covar, n_mix):
        return COVARIANCE_MODELS["full"].regularisation_loss(
            covars, weight.reshape(-1, n_mix).sum(axis=1), min_covar, covars.shape[-1])


#: Each GMMHMM covariance_type's layout of its stored covariances.
COVARIANCE_LAYOUTS = {"full": _ComponentCovariances("full"),
                      "diag": _ComponentCovariances("diag"),
                      "spherical": _ComponentCovariances("spherical"),
                      "tied": _StateCovariances()}


def flat_covariance_type(covariance_type: str) -> str:
    """The flat mixture's parametrisation: per-state 'tied' becomes per-component 'full'."""
    return COVARIANCE_LAYOUTS[covariance_type].flat_type


def flat_covariances(covariance_type, covars, n_mix):
    """Covariances of the K * M flat components."""
    return COVARIANCE_LAYOUTS[covariance_type].flat(covars, n_mix)


def gmm_emission_params(covariance_type, weights, means, covars) -> GMMEmissionParams:
    model = COVARIANCE_MODELS[flat_covariance_type(covariance_type)]
    flat = model.floored(flat_covariances(covariance_type, covars, means.shape[1]))
    return GMMEmissionParams(weights, means, covars, model.precisions_cholesky(flat))


class GMMEmission:
    """A Gaussian mixture per state.

    Parameters
    ----------
    covariance_type : str
    min_covar : float
        Added to the diagonal of every covariance in the M-step.
    weights_prior : float or array
        Dirichlet parameter of each state's mixture weights (1: none).
    means_prior, means_weight : float or array
        Normal prior on the component means.
    covars_prior, covars_weight : float or array
        Added to each covariance's scatter and to its count in the M-step.
    update : str
        Letters re-estimated: 'w' weights, 'm' means, 'c' covariances.
    """

    letters = "mcw"

    def __init__(self, covariance_type, min_covar, weights_prior, means_prior, means_weight,
                 covars_prior, covars_weight, update):
        self.covariance_type = covariance_type
        self.flat_model = COVARIANCE_MODELS[flat_covariance_type(covariance_type)]
        self.min_covar = min_covar
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.update = update

    @property
    def has_parameter_priors(self) -> bool:
        return bool(np.any(np.asarray(self.means_weight) != 0)
                    or np.any(np.asarray(self.covars_prior) != 0)
                    or np.any(np.asarray(self.covars_weight) != 0))

    # -- E-step ---------------------------------------------------------------------------
    def _component_log_prob(self, X, params):
        """log(weight) + log N(x | component), shape (n_samples, K, M)."""
        K, M, D = params.means.shape
        log_norm = self.flat_model.log_normaliser(params.weights.ravel(),
                                                  params.precisions_cholesky, D)
        flat = self.flat_model.fast_log_prob(X, params.means.reshape(K * M, D),
                                             params.precisions_cholesky, log_norm)
        return flat.reshape(X.shape[0], K, M)

    def log_frame(self, X, params):
        with np.errstate(under="ignore"):
            return logsumexp(self._component_log_prob(X, params), axis=2)

    def statistics(self, X, gamma, params) -> GaussianStats:
        K, M, D = params.means.shape
        log_prob = self._component_log_prob(X, params)
        with np.errstate(under="ignore", invalid="ignore"):
            log_resp = log_prob - logsumexp(log_prob, axis=2, keepdims=True)
            resp = np.exp(log_resp) * gamma[:, :, None]
        resp = np.nan_to_num(resp, nan=0.0).reshape(X.shape[0], K * M)
        anchor = params.means.reshape(K * M, D)
        first, second = self.flat_model.fast_second_moments(X, resp, anchor)
        return GaussianStats(resp.sum(axis=0), first, second, anchor, self.flat_model.kind)

    # -- M-step ---------------------------------------------------------------------------
    def m_step(self, stats: GaussianStats, params: GMMEmissionParams) -> GMMEmissionParams:
        K, M, D = params.means.shape
        post_mix = stats.weight.reshape(K, M)
        post_state = post_mix.sum(axis=1)
        visited_state = post_state >= UNVISITED_COUNT
        visited = (post_mix >= UNVISITED_COUNT) & visited_state[:, None]
        if not np.all(visited):
            warnings.warn(f"{int((~visited).sum())} mixture component(s) of state(s) "
                          f"{np.flatnonzero(~visited.all(axis=1)).tolist()} have no expected "
                          "observations: their parameters are kept.", UnvisitedStateWarning,
                          stacklevel=4)
        weights, means, covars = params.weights, params.means, params.covars
        if "w" in self.update:
            counts = np.maximum(post_mix + np.asarray(self.weights_prior, float) - 1.0, 0.0)
            total = counts.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                new = counts / total
            weights = np.where(visited_state[:, None] & (total > 0), new, weights)
        if "m" in self.update:
            weight = np.broadcast_to(np.asarray(self.means_weight, float), (K, M))[..., None]
            obs = (stats.first + stats.weight[:, None] * stats.anchor).reshape(K, M, D)
            with np.errstate(invalid="ignore", divide="ignore"):
                new = (weight * self.means_prior + obs) / (weight + post_mix[..., None])
            means = np.where(visited[..., None], new, means)
        if "c" in self.update:
            covars = self._covariances(stats.recentered(means.reshape(K * M, D)), means,
                                       post_mix, visited, covars)
        return gmm_emission_params(self.covariance_type, weights, means, covars)

    def _covariances(self, about_means, means, post_mix, visited, old):
        """hmmlearn's MAP covariances, (covars_prior + scatter + the mean prior's term) /
        (covars_weight + counts) + min_covar, by the flat parametrisation's methods; a
        'tied' state pools its components' scatters and counts."""
        K, M, D = means.shape
        model = self.flat_model
        weight = np.broadcast_to(np.asarray(self.means_weight, float), (K, M))
        second = about_means.second.reshape((K, M) + about_means.second.shape[1:])
        scatter = model.prior_scatter(second, means - self.means_prior, weight)
        scatter, counts, keep = COVARIANCE_LAYOUTS[self.covariance_type].pooled(
            scatter, post_mix, visited)
        counts = counts.reshape(counts.shape + (1,) * (scatter.ndim - counts.ndim))
        with np.errstate(invalid="ignore", divide="ignore"):
            new = (self.covars_prior + scatter) / (self.covars_weight + counts)
        new = model.symmetrised(model.plus_diagonal(new, self.min_covar))
        return model.kept_where(keep, new, old)

    def log_prior(self, params) -> float:
        if "w" not in self.update:
            return 0.0
        return _dirichlet_log_prior(params.weights, self.weights_prior)

    def m_step_slack(self, stats: GaussianStats, params: GMMEmissionParams) -> float:
        """How much adding ``min_covar`` (or a mean/covariance prior, when set: then
        unbounded) costs the likelihood relative to the exact maximiser."""
        if "c" not in self.update:
            return 0.0
        if self.has_parameter_priors:
            return np.inf
        return COVARIANCE_LAYOUTS[self.covariance_type].regularisation_loss(
            params.covars, stats.weight, self.min_covar, params.means.shape[1])
