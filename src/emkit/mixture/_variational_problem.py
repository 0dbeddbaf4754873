"""Variational Bayesian Gaussian mixture as a problem on the EM engine.

The model is scikit-learn's BayesianGaussianMixture (Bishop 2006, ch. 10.2; Blei and Jordan
2006 for the Dirichlet process): a Dirichlet (or truncated stick-breaking) prior on the
weights and a Gaussian-Wishart prior on each component's mean and precision. The E-step
computes responsibilities from the expected log weights and log densities under the
current posteriors and returns the same additive statistics as the maximum-likelihood
mixture (:class:`GaussianStats`) plus the responsibilities' entropy; the M-step updates
the posteriors from those statistics alone. The E-step is GaussianMixture's fused kernel
(one pass over the rows) with the variational log normaliser: the expected Mahalanobis
distance is the distance under the precision ``dof * W`` (what ``precisions_cholesky``
holds) plus ``D / mean_precision``, a per-component constant; the entropy follows from
the statistics and the summed log normaliser.

The lower bound is scikit-learn's (constants dropped, valid right after an update of the
posteriors), so it is evaluated after each M-step: the problem says so to the engine's
loop (``bound_after_m_step``), which keeps its decrease guard (with the slack that
``reg_covar`` needs, :meth:`VariationalGaussianProblem.likelihood_slack`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp

from .._em import row_weight
from ._covariance import CovarianceModel
from ._stats import GaussianStats

_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class VariationalPrior:
    """Hyper-parameters of the priors, resolved (scikit-learn's ``*_prior_`` attributes)."""

    process: bool  # True: Dirichlet process (stick-breaking); False: Dirichlet distribution
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray | float


@dataclass(frozen=True)
class VariationalParams:
    """The posteriors ``theta`` (scikit-learn's attribute layout).

    ``weight_concentration`` is a pair of (n_components,) arrays (the Beta posteriors of
    the sticks) for a Dirichlet process, else one array; ``degrees_of_freedom`` is a
    scalar for 'tied'; ``covariances`` are the Wishart scales divided by the degrees of
    freedom, as in scikit-learn.
    """

    weight_concentration: tuple | np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray | float
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


@dataclass(frozen=True)
class VariationalStats:
    """Gaussian statistics of the responsibilities plus their (row-weighted) entropy
    -sum_i w_i sum_k r_ik log r_ik; both add up over blocks of rows."""

    gaussian: GaussianStats
    entropy: float

    def __add__(self, other: "VariationalStats") -> "VariationalStats":
        return VariationalStats(self.gaussian + other.gaussian, self.entropy + other.entropy)

    def __mul__(self, factor: float) -> "VariationalStats":
        return VariationalStats(self.gaussian * factor, self.entropy * factor)

    __rmul__ = __mul__


def log_dirichlet_norm(concentration: np.ndarray) -> float:
    """log of the normalising constant of a Dirichlet distribution."""
    return float(gammaln(np.sum(concentration)) - np.sum(gammaln(concentration)))


def log_wishart_norm(degrees_of_freedom, log_det_precisions_chol, n_features: int):
    """log of the normalising constant of Wishart distributions, per component (scikit-
    learn's form: the scale given by the log-determinant of its Cholesky factor)."""
    dof = np.asarray(degrees_of_freedom, dtype=np.float64)
    return -(dof * log_det_precisions_chol + dof * n_features * 0.5 * math.log(2.0)
             + np.sum(gammaln(0.5 * (dof - np.arange(n_features)[:, None])), 0))


def _wishart_full(prior, nk, xk, sk, mean_precision):
    dof = prior.degrees_of_freedom + nk
    diff = xk - prior.mean
    scale = (prior.covariance + nk[:, None, None] * sk
             + (nk * prior.mean_precision / mean_precision)[:, None, None]
             * diff[:, :, None] * diff[:, None, :])
    return dof, scale / dof[:, None, None]


def _wishart_tied(prior, nk, xk, sk, mean_precision):
    K = nk.shape[0]
    dof = prior.degrees_of_freedom + nk.sum() / K
    diff = xk - prior.mean
    scale = (prior.covariance + sk * nk.sum() / K
             + prior.mean_precision / K * np.dot(nk / mean_precision * diff.T, diff))
    return dof, scale / dof


def _wishart_diag(prior, nk, xk, sk, mean_precision):
    dof = prior.degrees_of_freedom + nk
    diff = xk - prior.mean
    scale = prior.covariance + nk[:, None] * (
        sk + (prior.mean_precision / mean_precision)[:, None] * np.square(diff))
    return dof, scale / dof[:, None]


def _wishart_spherical(prior, nk, xk, sk, mean_precision):
    dof = prior.degrees_of_freedom + nk
    diff = xk - prior.mean
    scale = prior.covariance + nk * (
        sk + prior.mean_precision / mean_precision * np.mean(np.square(diff), 1))
    return dof, scale / dof


#: The Wishart (Gamma for 'diag' / 'spherical') posterior update, per covariance kind.
_WISHART_UPDATES = {"full": _wishart_full, "tied": _wishart_tied, "diag": _wishart_diag,
                    "spherical": _wishart_spherical}


class VariationalGaussianProblem:
    """E-step and M-step of variational Bayesian inference for a Gaussian mixture.

    Parameters
    ----------
    covariance : CovarianceModel
    prior : VariationalPrior
    reg_covar : float
        Added to the diagonal of the responsibilities' covariances before the update.
    """

    #: the engine records :meth:`lower_bound` of the posteriors each update makes
    bound_after_m_step = True
    #: the companion of a block is its row weights
    block_weight = staticmethod(row_weight)
    decrease_advice = "try float64 data, a larger reg_covar, or rescaled features"

    def __init__(self, covariance: CovarianceModel, prior: VariationalPrior,
                 reg_covar: float):
        self.covariance = covariance
        self.prior = prior
        self.reg_covar = reg_covar

    # -- expectations under the posteriors --------------------------------------------------
    def expected_log_weights(self, theta: VariationalParams) -> np.ndarray:
        """E[log pi_k] under the weights' posterior."""
        if self.prior.process:
            a, b = theta.weight_concentration
            digamma_sum = digamma(a + b)
            digamma_b = digamma(b) - digamma_sum
            return digamma(a) - digamma_sum + np.hstack((0, np.cumsum(digamma_b)[:-1]))
        concentration = theta.weight_concentration
        return digamma(concentration) - digamma(np.sum(concentration))

    def _log_normaliser(self, theta: VariationalParams, n_features: int) -> np.ndarray:
        """Per component: E[log pi_k] + E[log N(x | k)] without the -Mahalanobis/2 term."""
        dof = np.asarray(theta.degrees_of_freedom, dtype=np.float64)
        log_det = self.covariance.log_det_cholesky(theta.precisions_cholesky, n_features)
        log_lambda = n_features * math.log(2.0) + np.sum(
            digamma(0.5 * (dof - np.arange(n_features)[:, None])), 0)
        value = (self.expected_log_weights(theta) - 0.5 * n_features * _LOG_2PI + log_det
                 - 0.5 * n_features * np.log(dof)
                 + 0.5 * (log_lambda - n_features / theta.mean_precision))
        return np.ascontiguousarray(np.broadcast_to(value, theta.mean_precision.shape),
                                    dtype=np.float64)

    def weighted_log_prob(self, X: np.ndarray, theta: VariationalParams) -> np.ndarray:
        """E[log pi_k] + E[log N(x_i | k)], shape (n_samples, n_components)."""
        return self.covariance.fast_log_prob(
            X, theta.means, theta.precisions_cholesky,
            self._log_normaliser(theta, X.shape[1]))

    def log_resp(self, X: np.ndarray, theta: VariationalParams):
        """Per-row log normaliser and log-responsibilities."""
        weighted = self.weighted_log_prob(X, theta)
        log_norm = logsumexp(weighted, axis=1)
        with np.errstate(under="ignore"):
            return log_norm, weighted - log_norm[:, None]

    # -- the engine's protocol -------------------------------------------------------------
    def e_step(self, X, theta: VariationalParams, sample_weight):
        """One fused pass over the rows (the covariance model's ``fast_e_step``): the
        statistics about the current means, the summed log normaliser, and from those
        the responsibilities' entropy, with no (rows x components) array."""
        log_normaliser = self._log_normaliser(theta, X.shape[1])
        weights = np.empty(0, X.dtype) if sample_weight is None else sample_weight
        weight, first, second, loglik = self.covariance.fast_e_step(
            X, weights, theta.means, theta.precisions_cholesky, log_normaliser)
        gaussian = GaussianStats(weight, first, second, np.asarray(theta.means),
                                 self.covariance.kind)
        return VariationalStats(gaussian, self._entropy(gaussian, loglik, log_normaliser,
                                                        theta)), float(loglik)

    def _entropy(self, stats: GaussianStats, loglik: float, log_normaliser: np.ndarray,
                 theta: VariationalParams) -> float:
        """-sum_i w_i sum_k r_ik log r_ik from a block's statistics about the means.

        log r_ik = c_k - m_ik / 2 - log_norm_i (c_k the log normaliser, m_ik the expected
        Mahalanobis distance), so the entropy is sum_i w_i log_norm_i - sum_k c_k n_k
        + sum_k tr(P_k S_k) / 2, S_k the weighted scatter about mean k and P_k its
        precision: sum_ik w_i r_ik m_ik = sum_k tr(P_k S_k), an elementwise sum for every
        covariance layout (S_k symmetric; 'tied' sums S_k over components).
        """
        precisions = self.covariance.precisions(theta.precisions_cholesky)
        scatter = float(np.sum(precisions * stats.second))
        return float(loglik - log_normaliser @ stats.weight + 0.5 * scatter)

    def statistics(self, X, resp, anchor, entropy: float = 0.0) -> VariationalStats:
        """Statistics of a block from (row-weighted) responsibilities, about ``anchor``."""
        first, second = self.covariance.fast_second_moments(X, resp, anchor)
        gaussian = GaussianStats(resp.sum(axis=0), first, second, np.asarray(anchor),
                                 self.covariance.kind)
        return VariationalStats(gaussian, entropy)

    def m_step(self, stats: VariationalStats, theta=None) -> VariationalParams:
        """The posteriors given the responsibilities' statistics."""
        g, prior = stats.gaussian, self.prior
        nk = g.weight + 10 * np.finfo(np.float64).eps
        shift = g.first / nk[:, None]
        xk = g.anchor + shift
        sk = self.covariance.covariances(g, nk, shift, self.reg_covar)
        if prior.process:
            tail = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0))
            concentration = (1.0 + nk, prior.weight_concentration + tail)
        else:
            concentration = prior.weight_concentration + nk
        mean_precision = prior.mean_precision + nk
        means = (prior.mean_precision * prior.mean + nk[:, None] * xk) / mean_precision[:, None]
        dof, covariances = _WISHART_UPDATES[self.covariance.kind](
            prior, nk, xk, sk, mean_precision)
        return VariationalParams(
            concentration, mean_precision, means, dof, covariances,
            self.covariance.precisions_cholesky(covariances))

    def lower_bound(self, stats: VariationalStats, theta: VariationalParams) -> float:
        """scikit-learn's evidence lower bound (constants dropped) of the posteriors
        ``theta`` just updated from ``stats``."""
        n_features = theta.means.shape[1]
        log_det = (self.covariance.log_det_cholesky(theta.precisions_cholesky, n_features)
                   - 0.5 * n_features * np.log(theta.degrees_of_freedom))
        log_wishart = log_wishart_norm(theta.degrees_of_freedom, log_det, n_features)
        if self.covariance.kind == "tied":
            log_wishart = theta.means.shape[0] * float(np.sum(log_wishart))
        else:
            log_wishart = float(np.sum(log_wishart))
        if self.prior.process:
            log_norm_weight = -float(np.sum(betaln(*theta.weight_concentration)))
        else:
            log_norm_weight = log_dirichlet_norm(theta.weight_concentration)
        return float(stats.entropy - log_wishart - log_norm_weight
                     - 0.5 * n_features * np.sum(np.log(theta.mean_precision)))

    def likelihood_slack(self, stats: VariationalStats, updated: VariationalParams,
                         previous: VariationalParams) -> float:
        """How far the lower bound of the posteriors updated from ``stats`` may lie below
        that of ``previous`` without an error.

        The update adds ``reg_covar`` to the responsibilities' covariances, as if each
        component's scatter had ``n_k reg_covar`` more on its diagonal; the bound is
        exact for that problem, whose E-step would also charge each row
        ``reg_covar tr(E[Lambda_k]) / 2``. The E-step does not, so the bound may fall by
        up to ``reg_covar / 2 sum_k max(0, n_k - n_k') tr(E[Lambda_k])`` (n_k' the
        previous counts, E[Lambda_k] the previous expected precisions). Zero for 'tied'
        (one precision: the sum of the counts does not change).
        """
        if self.reg_covar == 0 or self.covariance.kind == "tied":
            return 0.0
        grown = np.maximum(0.0, stats.gaussian.weight
                           - (previous.mean_precision - self.prior.mean_precision))
        precisions = self.covariance.precisions(previous.precisions_cholesky)
        n_features = previous.means.shape[1]
        trace = {"full": lambda: np.trace(precisions, axis1=1, axis2=2),
                 "diag": lambda: precisions.sum(axis=1),
                 "spherical": lambda: n_features * precisions}[self.covariance.kind]()
        return float(0.5 * self.reg_covar * np.sum(grown * trace))

    def params_from_resp(self, X, resp, sample_weight) -> VariationalParams:
        """The update applied to starting responsibilities (every init method goes here)."""
        if sample_weight is not None:
            resp = resp * sample_weight[:, None]
        nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
        anchor = (resp.T @ X) / nk[:, None]
        return self.m_step(self.statistics(X, resp, anchor))
