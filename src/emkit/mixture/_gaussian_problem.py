"""The Gaussian mixture as an EM problem: E-step statistics and M-step, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._em import row_weight
from ._covariance import CovarianceModel, DiagCovariance, SphericalCovariance
from ._kernels import flushed_exp
from ._small_data_kernels import (diag_m_step, diagonal_e_step, small_diagonal_rows,
                                  spherical_m_step)
from ._stats import GaussianStats

#: The parametrisations whose M-step is compiled, and its kernel.
_COMPILED_M_STEPS = {DiagCovariance: diag_m_step, SphericalCovariance: spherical_m_step}
#: The row weights of unweighted rows, for the kernels.
_NO_WEIGHTS = np.empty(0)


@dataclass(frozen=True)
class GaussianMixtureParams:
    """The parameters ``theta`` of a Gaussian mixture (scikit-learn's attribute layout)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray


#: Up to this many features an M-step's matrices (D x D factorisations and products) are
#: too small for BLAS to start threads (OpenBLAS keeps a factorisation under 64 rows and a
#: product under 65536 multiply-adds on the calling thread), so no thread limit is needed.
SERIAL_BLAS_FEATURES = 16


class GaussianMixtureProblem:
    """E-step and M-step of a Gaussian mixture under one covariance parametrisation.

    Parameters
    ----------
    covariance : CovarianceModel
    reg_covar : float
        Added to the diagonal of every covariance in the M-step.
    kernel : {'fast', 'reference'}
    jitter : bool or None
        Whether a numerically singular covariance gets the smallest diagonal jitter that
        makes it positive-definite instead of failing the fit (None: when reg_covar > 0).
    """

    #: the companion of a block is its row weights
    block_weight = staticmethod(row_weight)
    #: the engine's warnings in mixture terms
    decrease_advice = "try float64 data, a larger reg_covar, or rescaled features"
    degeneracy_advice = ("Try fewer components, a larger reg_covar, rescaled features, or "
                         "init_params='hierarchical'.")

    @staticmethod
    def describe_degeneracy(indices) -> str:
        return (f"component(s) {indices} collapsed (too few rows, or a covariance at the "
                "reg_covar floor).")

    def __init__(self, covariance: CovarianceModel, reg_covar: float, kernel: str = "fast",
                 jitter: bool | None = None):
        self.covariance = covariance
        self.reg_covar = reg_covar
        self.kernel = kernel
        self.jitter = reg_covar > 0 if jitter is None else jitter

    @staticmethod
    def serial_m_step(stats: GaussianStats) -> bool:
        """Whether the M-step's matrices are too small for BLAS threads (the engine then
        does not limit them)."""
        return stats.first.shape[1] <= SERIAL_BLAS_FEATURES

    @property
    def fast(self) -> bool:
        """Whether the fast kernels run the E-step (else the plain numpy reference)."""
        return self.kernel == "fast"

    def _log_normaliser(self, theta, n_features):
        return self.covariance.log_normaliser(theta.weights, theta.precisions_cholesky,
                                              n_features)

    # -- densities -------------------------------------------------------------------------
    def weighted_log_prob(self, X: np.ndarray, theta: GaussianMixtureParams) -> np.ndarray:
        """log(weight_k) + log N(x_i | component k), shape (n_samples, n_components)."""
        if self.fast:
            return self.covariance.fast_log_prob(
                X, theta.means, theta.precisions_cholesky, self._log_normaliser(theta, X.shape[1]))
        with np.errstate(divide="ignore"):
            log_weights = np.log(theta.weights)
        return self.covariance.log_gaussian(X, theta.means, theta.precisions_cholesky) + log_weights

    def log_resp(self, X, theta):
        """Per-row log-likelihood and log-responsibilities."""
        weighted = self.weighted_log_prob(X, theta)
        log_norm = logsumexp(weighted, axis=1)
        with np.errstate(under="ignore"):
            return log_norm, weighted - log_norm[:, None]

    def responsibilities(self, X, theta):
        """Per-row log-likelihood and responsibilities, negligible ones flushed to zero."""
        log_norm, log_resp = self.log_resp(X, theta)
        return log_norm, flushed_exp(log_resp)

    # -- EM --------------------------------------------------------------------------------
    def e_step(self, X, theta, sample_weight):
        compiled = self._compiled_e_step(X, theta)
        if compiled:
            weight, first, second, loglik = diagonal_e_step(
                X, _NO_WEIGHTS if sample_weight is None else sample_weight, theta.weights,
                theta.means, theta.precisions_cholesky)
            if self.covariance.kind == "spherical":
                second = second.sum(axis=1)
            return GaussianStats(weight, first, second, theta.means, self.covariance.kind), \
                loglik
        if self.fast:
            weights = np.empty(0, X.dtype) if sample_weight is None else sample_weight
            weight, first, second, loglik = self.covariance.fast_e_step(
                X, weights, theta.means, theta.precisions_cholesky,
                self._log_normaliser(theta, X.shape[1]))
            dtype = theta.means.dtype
            stats = GaussianStats(weight.astype(dtype, copy=False),
                                  first.astype(dtype, copy=False),
                                  second.astype(dtype, copy=False), theta.means,
                                  self.covariance.kind)
            return stats, loglik
        log_norm, resp = self.responsibilities(X, theta)
        if sample_weight is not None:
            resp *= sample_weight[:, None]
            loglik = float(sample_weight @ log_norm)
        else:
            loglik = float(log_norm.sum())
        return self.statistics(X, resp, theta.means), loglik

    def statistics(self, X, resp, anchor) -> GaussianStats:
        """Statistics of a block from (row-weighted) responsibilities, about ``anchor``
        (per-feature moments of float64 rows by the one-pass kernel)."""
        if self.fast and X.dtype == np.float64 and not self.covariance.full_moments:
            first, second = self.covariance.fast_second_moments(X, resp, anchor)
        else:
            first, second = self.covariance.second_moments(X, resp, anchor)
        return GaussianStats(resp.sum(axis=0), first, second, anchor, self.covariance.kind)

    def m_step(self, stats: GaussianStats, theta=None) -> GaussianMixtureParams:
        compiled = self._compiled_m_step(stats)
        if compiled is not None:
            return GaussianMixtureParams(*compiled(stats.weight, stats.first, stats.second,
                                                   stats.anchor, float(self.reg_covar)))
        dtype = stats.first.dtype
        nk = stats.weight + 10 * np.finfo(dtype).eps
        shift = stats.first / nk[:, None]
        covariances = self.covariance.covariances(
            stats, nk, shift, self.reg_covar,
            previous=None if theta is None else theta.covariances)
        return GaussianMixtureParams(
            weights=(nk / nk.sum()).astype(dtype, copy=False),
            means=(stats.anchor + shift).astype(dtype, copy=False),
            covariances=covariances.astype(dtype, copy=False),
            precisions_cholesky=self.covariance.precisions_cholesky(
                covariances, jitter=self.jitter).astype(dtype, copy=False),
        )

    def _compiled_e_step(self, X, theta) -> bool:
        """Whether :func:`diagonal_e_step` makes this E-step: small float64 rows (see
        ``small_diagonal_rows``) and parameters of a 'diag' or 'spherical' mixture."""
        return (self.fast and type(self.covariance) in _COMPILED_M_STEPS
                and small_diagonal_rows(X) and theta.means.dtype == np.float64
                and theta.weights.dtype == np.float64
                and theta.precisions_cholesky.dtype == np.float64)

    def _compiled_m_step(self, stats: GaussianStats):
        """The compiled M-step (``_small_data_kernels``) for these statistics: 'diag' or
        'spherical' ones in float64 with reg_covar > 0; else None."""
        compiled = _COMPILED_M_STEPS.get(type(self.covariance))
        if compiled is None or not self.reg_covar > 0 or not all(
                value.dtype == np.float64 for value in
                (stats.weight, stats.first, stats.second, stats.anchor)):
            return None
        return compiled

    def likelihood_slack(self, stats: GaussianStats, theta: GaussianMixtureParams,
                         previous: GaussianMixtureParams | None = None) -> float:
        """How far (in mean log-likelihood) the next E-step's value may fall below this
        one's: the objective ``reg_covar`` costs the M-step (see
        CovarianceModel.regularisation_loss). Zero without regularisation."""
        loss = self.covariance.regularisation_loss(
            theta.covariances, stats.weight, self.reg_covar, stats.first.shape[1])
        return loss / max(float(stats.weight.sum()), np.finfo(np.float64).tiny)

    # -- parameters as one vector (for accelerated EM) -------------------------------------
    def to_vector(self, theta: GaussianMixtureParams) -> np.ndarray:
        """Weights, means and covariances, flattened into one float64 vector."""
        return np.concatenate([np.ravel(theta.weights), np.ravel(theta.means),
                               np.ravel(theta.covariances)]).astype(np.float64, copy=False)

    def from_vector(self, vector: np.ndarray, like: GaussianMixtureParams):
        """Parameters shaped like ``like`` from :meth:`to_vector`'s layout, or None when
        they are not valid parameters (a weight outside (0, 1], a covariance that is not
        positive-definite)."""
        dtype = like.means.dtype
        sizes = np.cumsum([np.size(like.weights), np.size(like.means)])
        weights, means, covariances = np.split(vector, sizes)
        if not (np.all(np.isfinite(vector)) and np.all(weights > 0)):
            return None
        weights = weights / weights.sum()
        covariances = covariances.reshape(np.shape(like.covariances))
        if covariances.ndim >= 2:
            covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
        try:
            precisions_cholesky = self.covariance.precisions_cholesky(covariances,
                                                                      jitter=False)
        except (ValueError, np.linalg.LinAlgError):
            return None
        return GaussianMixtureParams(
            weights.astype(dtype), means.reshape(np.shape(like.means)).astype(dtype),
            covariances.astype(dtype), precisions_cholesky.astype(dtype))

    def params_from_resp(self, X, resp, sample_weight) -> GaussianMixtureParams:
        """The M-step applied to starting responsibilities (every init method goes here)."""
        if sample_weight is not None:
            resp = resp * sample_weight[:, None]
        nk = resp.sum(axis=0) + 10 * np.finfo(X.dtype).eps
        anchor = (resp.T @ X) / nk[:, None]
        params = self.m_step(self.statistics(X, resp, anchor))
        # scikit-learn divides the initial weights by n_samples, not by their sum.
        total = X.shape[0] if sample_weight is None else sample_weight.sum()
        return GaussianMixtureParams(
            (nk / total).astype(X.dtype, copy=False), params.means, params.covariances,
            params.precisions_cholesky)
