"""Gaussian emissions with Normal-Wishart posteriors (hmmlearn's VariationalGaussianHMM).

Per state, the precision has a Wishart posterior (degrees of freedom ``dof``, inverse scale
``scale``; for 'diag' and 'spherical' a Wishart whose scale is diagonal, as in hmmlearn)
and the mean a Normal posterior given the precision (mean ``means``, relative precision
``beta``). 'tied' shares one Wishart among the states. The E-step uses E[log N(x | state)]
(hmmlearn drops its -D/2 log(2 pi)); scoring uses the density at the posterior means
(covariance scale / dof). Statistics are emkit's Gaussian moments about the posterior
means (``GaussianStats``), so the update is free of the cancellation of raw moments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from ..mixture._covariance import COVARIANCE_MODELS
from ..mixture._stats import GaussianStats
from ._gaussian_emission import state_log_densities, statistics_model

_LOG_2 = math.log(2.0)


@dataclass(frozen=True)
class NormalWishartParams:
    """Priors and posteriors (hmmlearn's shapes), with the covariances at the posterior
    (scale / dof, compact) and the Cholesky factors of their inverses."""

    means_prior: np.ndarray
    means: np.ndarray
    beta_prior: np.ndarray
    beta: np.ndarray
    dof_prior: np.ndarray | float
    dof: np.ndarray | float
    scale_prior: np.ndarray
    scale: np.ndarray
    covars: np.ndarray
    precisions_cholesky: np.ndarray


def _per_state(dof, covariance_type: str) -> np.ndarray:
    """dof shaped to divide a compact scale array."""
    dof = np.asarray(dof, dtype=np.float64)
    return {"full": lambda: dof[:, None, None], "diag": lambda: dof[:, None]}.get(
        covariance_type, lambda: dof)()


def normal_wishart_params(covariance_type, means_prior, means, beta_prior, beta, dof_prior,
                          dof, scale_prior, scale) -> NormalWishartParams:
    """The parameters with their derived covariances and precision factors."""
    covars = scale / _per_state(dof, covariance_type)
    return NormalWishartParams(
        means_prior, means, beta_prior, beta, dof_prior, dof, scale_prior, scale, covars,
        COVARIANCE_MODELS[covariance_type].precisions_cholesky(covars))


class VariationalGaussianEmission:
    """One Gaussian per state with a conjugate Normal-Wishart posterior.

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    update : str
        Letters re-estimated: 'm' means (and beta), 'c' covariances (dof and scale).
    """

    letters = "mc"

    def __init__(self, covariance_type: str, update: str):
        self.covariance_type = covariance_type
        self.covariance = COVARIANCE_MODELS[covariance_type]
        self.stats_model = statistics_model(covariance_type)
        self.update = update

    # -- E-step -----------------------------------------------------------------------
    def log_frame(self, X, params: NormalWishartParams) -> np.ndarray:
        """log N(x | posterior mean, scale / dof): the density scoring uses."""
        return state_log_densities(self.covariance, X, params.means,
                                   params.precisions_cholesky)

    def expected_log_frame(self, X, params: NormalWishartParams) -> np.ndarray:
        """E[log N(x | mu, Lambda)] + D/2 log(2 pi) under the posteriors (hmmlearn's
        subnormalised log-likelihood)."""
        n_states, n_features = params.means.shape
        dof = np.asarray(params.dof, dtype=np.float64)
        # log det W = log det(dof W) - D log dof, with dof W the precision at the posterior
        log_det_w = (2.0 * self.covariance.log_det_cholesky(params.precisions_cholesky,
                                                            n_features)
                     - n_features * np.log(dof))
        expected_log_det = (np.sum(digamma(0.5 * (dof - np.arange(n_features)[:, None])), 0)
                            + n_features * _LOG_2 + log_det_w)
        log_norm = 0.5 * (expected_log_det - n_features / params.beta)
        log_norm = np.ascontiguousarray(np.broadcast_to(log_norm, (n_states,)),
                                        dtype=np.float64)
        return self.covariance.fast_log_prob(X, params.means, params.precisions_cholesky,
                                             log_norm)

    def statistics(self, X, gamma, params: NormalWishartParams) -> GaussianStats:
        first, second = self.stats_model.fast_second_moments(X, gamma, params.means)
        return GaussianStats(gamma.sum(axis=0), first, second, params.means,
                             self.stats_model.kind)

    # -- M-step -----------------------------------------------------------------------
    def m_step(self, stats: GaussianStats, params: NormalWishartParams) -> NormalWishartParams:
        counts = stats.weight
        beta0, means0 = params.beta_prior, params.means_prior
        beta, means = params.beta, params.means
        if "m" in self.update:
            beta = beta0 + counts
            totals = stats.first + counts[:, None] * stats.anchor  # sum_t gamma x_t
            means = (beta0[:, None] * means0 + totals) / beta[:, None]
        dof, scale = params.dof, params.scale
        if "c" in self.update:
            dof, scale = self._wishart(stats.recentered(means), counts, means, beta, params)
        return normal_wishart_params(self.covariance_type, means0, means, beta0, beta,
                                     params.dof_prior, dof, params.scale_prior, scale)

    def _wishart(self, about, counts, means, beta, params):
        """hmmlearn's update, scale0 + S2 + beta0 m0 m0^T - beta m m^T (S2 the raw second
        moments), written about the posterior means m: scale0 + scatter about m +
        beta0 (m0 - m)(m0 - m)^T + a term that vanishes when (beta, m) are the update of
        this iteration (it does not when the means are not re-estimated)."""
        beta0 = params.beta_prior
        diff = params.means_prior - means
        stale = "m" not in self.update
        if stale:  # v = sum_t gamma (x_t - m) + beta0 m0 - (beta - N) m, c = beta - N - beta0
            v = about.first + beta0[:, None] * params.means_prior - (beta - counts)[:, None] * means
            c = beta - counts - beta0
        kind = self.covariance_type
        if kind in ("full", "tied"):
            outer = beta0[:, None, None] * diff[:, :, None] * diff[:, None, :]
            if stale:
                cross = v[:, :, None] * means[:, None, :]
                outer = outer + cross + cross.transpose(0, 2, 1) + (
                    c[:, None, None] * means[:, :, None] * means[:, None, :])
            if kind == "tied":
                return (params.dof_prior + counts.sum(),
                        params.scale_prior + about.second + outer.sum(axis=0))
            return params.dof_prior + counts, params.scale_prior + about.second + outer
        diagonal = about.second + beta0[:, None] * diff**2
        if stale:
            diagonal = diagonal + 2.0 * v * means + c[:, None] * means**2
        if kind == "spherical":
            diagonal = diagonal.mean(axis=1)
        return params.dof_prior + counts, params.scale_prior + diagonal

    # -- lower bound ------------------------------------------------------------------
    def kl(self, params: NormalWishartParams) -> float:
        """KL divergence of the Normal-Wishart posteriors from the priors (hmmlearn's:
        the Normal's at the expected precision, one Wishart for 'tied')."""
        n_states, n_features = params.means.shape
        fill = self.covariance.full_matrices
        scale_q = fill(params.scale, n_states, n_features)
        scale_p = fill(params.scale_prior, n_states, n_features)
        dof_q = np.broadcast_to(np.asarray(params.dof, dtype=np.float64), (n_states,))
        dof_p = np.broadcast_to(np.asarray(params.dof_prior, dtype=np.float64), (n_states,))
        inverse_q = np.linalg.inv(scale_q)
        log_det_q = np.linalg.slogdet(scale_q)[1]
        log_det_p = np.linalg.slogdet(scale_p)[1]
        D = n_features
        diff = params.means - params.means_prior
        beta0, beta = params.beta_prior, params.beta
        quad = dof_q * np.einsum("ki,kij,kj->k", diff, inverse_q, diff)
        kl_normal = 0.5 * (D * np.log(beta / beta0) + D * beta0 / beta + beta0 * quad - D)
        dims = np.arange(D)

        def log_z(dof, log_det):  # Wishart log normaliser without its D(D-1)/4 log(pi)
            return (-0.5 * dof * (log_det - D * _LOG_2)
                    + np.sum(gammaln(0.5 * (dof[:, None] - dims)), axis=1))

        expected_log_det = (-(log_det_q - D * _LOG_2)
                            + np.sum(digamma(0.5 * (dof_q[:, None] - dims)), axis=1))
        trace = np.einsum("kij,kji->k", scale_p, inverse_q)
        kl_wishart = (0.5 * (dof_q - dof_p) * expected_log_det - 0.5 * D * dof_q
                      + 0.5 * dof_q * trace + log_z(dof_p, log_det_p) - log_z(dof_q, log_det_q))
        wishart = kl_wishart[0] if self.covariance_type == "tied" else np.sum(kl_wishart)
        return float(np.sum(kl_normal) + wishart)
