"""Covariance parametrisations of a Gaussian mixture.

``covariance_type`` is resolved once into one of these objects. Each knows the shapes of its
parameters, its M-step from :class:`GaussianStats`, its log-density, its number of free
parameters and its sampling, so no string switch is repeated across the code.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
from . import _kernels
from ._stats import GaussianStats
from ._weighted_moments import weighted_moments
from ._whitened_blas import whitened_e_step, whitened_log_prob

_LOG_2PI = math.log(2 * math.pi)


def _check_symmetric_positive_definite(matrix: np.ndarray, name: str) -> None:
    if not (np.allclose(matrix, matrix.T) and np.all(np.linalg.eigvalsh(matrix) > 0.0)):
        raise ValueError(f"'{name} precision' should be symmetric, positive-definite")


class IllDefinedCovarianceError(ValueError):
    """A covariance that is not positive-definite where no regularisation is allowed."""


def ill_defined_covariance(dtype) -> ValueError:
    """scikit-learn's error for a collapsed component when no regularisation is allowed."""
    message = ("Fitting the mixture model failed because some components have ill-defined "
               "empirical covariance (for instance caused by singleton or collapsed samples). "
               "Try to decrease the number of components, increase reg_covar, or scale the "
               "input data.")
    if np.dtype(dtype) == np.float32:
        message += (" The numerical accuracy can also be improved by passing float64 data "
                    "instead of float32.")
    return IllDefinedCovarianceError(message)


def _precision_cholesky_of(covariances: np.ndarray, jitter: bool = True) -> np.ndarray:
    """Upper-triangular U with U U^T = covariance^{-1} (scikit-learn's convention), for one
    (D, D) matrix or a stack (K, D, D).

    A covariance that is not numerically positive-definite (collinear features at a scale
    where ``reg_covar`` is negligible) gets the smallest diagonal jitter, relative to its
    scale, that makes it so, instead of failing the fit; with ``jitter=False`` (no
    regularisation wanted) it raises scikit-learn's error instead. numpy's LAPACK is used
    rather than scipy's: scipy's BLAS threads stall after scikit-learn's OpenMP k-means on
    small matrices.
    """
    try:
        chol = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        if not jitter:
            raise ill_defined_covariance(covariances.dtype) from None
        stack = covariances.reshape((-1,) + covariances.shape[-2:])
        chol = np.stack([_jittered_cholesky(c) for c in stack]).reshape(covariances.shape)
    # exactly upper triangular: the kernels rely on the zeros below the diagonal
    return np.triu(np.swapaxes(np.linalg.inv(chol), -1, -2))


def _jittered_cholesky(covariance: np.ndarray) -> np.ndarray:
    n = covariance.shape[0]
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        pass
    scale = max(float(np.max(np.abs(np.diag(covariance)))), np.finfo(covariance.dtype).tiny)
    jitter = scale * np.finfo(covariance.dtype).eps * n
    while np.isfinite(jitter):
        try:
            return np.linalg.cholesky(covariance + jitter * np.eye(n, dtype=covariance.dtype))
        except np.linalg.LinAlgError:
            jitter *= 10.0
    raise ValueError("Fitting the mixture model failed because a covariance is not finite; "
                     "check the data for extreme values.")


def _regularised_variances(variances, stats, reg_covar):
    """Variances plus ``reg_covar``; round-off may not make them negative. With no
    regularisation, a component whose rows all sit exactly on one point keeps a zero
    variance (and fails the fit, as in scikit-learn); any other gets at least the smallest
    positive float."""
    if reg_covar > 0:
        return _positive(variances, 0.0) + reg_covar
    weight = stats.weight if stats.second.ndim == 1 else stats.weight[:, None]
    collapsed = (weight > 0) & (stats.second == 0)
    return np.where(collapsed, 0.0, _positive(variances, 0.0))


#: A matrix's regularisation is at least this many times n_features * eps * its largest
#: variance (see resolvable_reg_covar).
RESOLUTION = 1e3


def resolvable_reg_covar(variances: np.ndarray, reg_covar: float) -> np.ndarray:
    """The diagonal regularisation of covariance matrices whose diagonals are
    ``variances`` (..., D): ``reg_covar``, or more where it is below what float64 resolves.

    Round-off in a D x D covariance (its M-step, its Cholesky factor) is about
    D * eps * its largest variance in every direction. Where the rows do not span a
    direction (features outnumbering a component's rows, constant columns) the covariance
    there is ``reg_covar`` alone; below that round-off (1e-6 beside variances of 1e8, for
    normalised counts) its log-determinant is noise, and EM goes up and down instead of
    converging. So each matrix gets at least RESOLUTION * D * eps * its largest variance
    (1.7e-2 for D = 765 and variances of 1e8; far below 1e-6 for ordinary data, whose
    results are unchanged). ``reg_covar=0`` (no regularisation wanted) is kept.
    """
    if reg_covar == 0:
        return np.zeros(variances.shape[:-1])
    n_features = variances.shape[-1]
    scale = np.max(variances, axis=-1).astype(np.float64)
    return np.maximum(reg_covar, RESOLUTION * n_features * np.finfo(np.float64).eps * scale)


def _positive(variances: np.ndarray, floor: float) -> np.ndarray:
    """Variances clipped at ``floor`` (> 0): round-off may not make them vanish."""
    tiny = np.finfo(variances.dtype).tiny
    return np.maximum(variances, max(floor, tiny))


class CovarianceModel(ABC):
    """One covariance parametrisation: shapes, M-step, log-density, sampling."""

    name: str
    #: Layout of the second-moment statistic, also GaussianStats.kind.
    kind: str

    @property
    def rules_name(self) -> str:
        """The scikit-learn covariance_type whose degeneracy rules (rows a component
        needs, see _degeneracy) apply: the model's own name for scikit-learn's four."""
        return self.name

    @abstractmethod
    def precisions_shape(self, n_components: int, n_features: int) -> tuple: ...

    @abstractmethod
    def n_covariance_parameters(self, n_components: int, n_features: int) -> int: ...

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of the whole mixture: covariances, means and weights."""
        return (self.n_covariance_parameters(n_components, n_features)
                + n_components * n_features + n_components - 1)

    @abstractmethod
    def second_moments(self, X: np.ndarray, resp: np.ndarray, anchor: np.ndarray):
        """``(first, second)`` statistics of a block given weighted responsibilities."""

    #: Whether the kernels accumulate second-moment matrices ('full', 'tied') or only
    #: their diagonals.
    full_moments = False

    def _reduce_second(self, second):
        """Per-component second moments (matrices or diagonals) in this type's layout."""
        return second

    def fast_second_moments(self, X, resp, anchor):
        """:meth:`second_moments` by the one-pass numba kernel, in float64."""
        first, second = weighted_moments(X, resp, anchor, self.full_moments)
        return first, self._reduce_second(second)

    @abstractmethod
    def covariances(self, stats: GaussianStats, nk: np.ndarray, shift: np.ndarray,
                    reg_covar: float, previous=None) -> np.ndarray:
        """M-step: covariances about the new means (``anchor + shift``), plus ``reg_covar``
        (``previous``: the current covariances, where an iterative M-step may start)."""

    @abstractmethod
    def unregularised_eigenvalues(self, covariances, reg_covar, n_features) -> np.ndarray:
        """Eigenvalues of each covariance before ``reg_covar`` was added, shaped
        (n_components, n_features) (one row for 'tied')."""

    def regularisation_loss(self, covariances, weight, reg_covar, n_features) -> float:
        """How far the M-step's covariance l_i + reg (per eigenvalue l_i of the exact
        maximiser) falls short, in the M-step's objective, of the best covariance whose
        eigenvalues are all at least ``reg`` (max(l_i, reg)): sum_k n_k/2 sum_i
        [log((l_i + reg) / m_i) + l_i / (l_i + reg) - l_i / m_i], m_i = max(l_i, reg).
        Every covariance EM produces is at least ``reg`` in every direction, so the
        log-likelihood may fall by at most this between iterations. It stays finite when
        a covariance is singular before regularisation (features outnumbering a
        component's rows), so a decrease there is still caught."""
        if reg_covar == 0:
            return 0.0
        eig = self.unregularised_eigenvalues(covariances, reg_covar, n_features)
        eig = np.maximum(eig.astype(np.float64), 0.0)  # round-off may make a 0 negative
        counts = np.atleast_1d(weight.sum() if self.kind == "tied" else weight)
        above = eig >= reg_covar
        with np.errstate(divide="ignore", invalid="ignore"):
            # l >= reg: log(1 + reg/l) - reg/(l + reg); l < reg: with t = l/reg,
            # log(1 + t) - t + t/(1 + t)
            t = np.where(above, reg_covar / np.where(above, eig, 1.0), eig / reg_covar)
            loss = np.where(above, np.log1p(t) - t / (1.0 + t),
                            np.log1p(t) - t + t / (1.0 + t))
        per_component = 0.5 * counts * np.maximum(loss, 0.0).sum(axis=1)
        return float(np.sum(np.where(counts > 0, per_component, 0.0)))

    @abstractmethod
    def precisions_cholesky(self, covariances: np.ndarray, jitter: bool = True) -> np.ndarray:
        """Cholesky factors of the precisions; ``jitter=False`` raises on a singular
        covariance instead of regularising it."""

    @abstractmethod
    def precisions_cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def precisions(self, precisions_cholesky: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def covariances_from_precisions(self, precisions: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def log_det_cholesky(self, precisions_cholesky: np.ndarray, n_features: int) -> np.ndarray:
        """log det of each precision's Cholesky factor (half the precision's log det)."""

    @abstractmethod
    def mahalanobis(self, X: np.ndarray, means: np.ndarray,
                    precisions_cholesky: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distances, shape (n_samples, n_components)."""

    @abstractmethod
    def check_precisions(self, precisions: np.ndarray) -> None:
        """Raise ValueError unless each precision is valid (positive / SPD)."""

    @abstractmethod
    def sample_component(self, rng, mean, covariances, k: int, n: int) -> np.ndarray: ...

    @abstractmethod
    def full_matrices(self, covariances, n_components: int, n_features: int) -> np.ndarray:
        """Every component's covariance as a (n_components, D, D) stack."""

    @abstractmethod
    def recentred_second(self, second, weight, first, delta) -> np.ndarray:
        """Second moments about ``anchor - delta`` from those about ``anchor`` (exact
        algebra; see GaussianStats.recentered)."""

    # -- hmmlearn's MAP M-step (normal prior on the means, inverse-gamma / Wishart on the
    # covariances), shared by the HMMs' Gaussian and Gaussian-mixture emissions ------------
    #: hmmlearn's prior degrees of freedom are covars_weight minus this many (per feature
    #: for the inverse-Wishart of matrices, one for inverse-gamma variances).
    def prior_dof_offset(self, n_features: int) -> int:
        return 1

    #: hmmlearn floors the denominator of its inverse-gamma variances at this.
    PRIOR_DENOMINATOR_FLOOR = 1e-5

    def prior_scatter(self, second, meandiff, weight) -> np.ndarray:
        """Scatter about the means plus the mean prior's ``weight * meandiff meandiff^T``,
        in this type's layout (``weight`` shaped like ``meandiff`` without its last axis;
        'spherical': per feature)."""
        raise NotImplementedError

    def pooled_counts(self, counts: np.ndarray) -> np.ndarray:
        """The counts that divide each covariance: per component, or their sum ('tied')."""
        return counts

    def from_feature_variances(self, variances: np.ndarray) -> np.ndarray:
        """This type's covariances from per-feature variances (K, D) ('spherical': their
        mean, as hmmlearn fits it)."""
        return variances

    def symmetrised(self, covariances: np.ndarray) -> np.ndarray:
        return covariances

    def plus_diagonal(self, covariances: np.ndarray, value) -> np.ndarray:
        """``value`` added to every variance."""
        return covariances + value

    def floored(self, covariances: np.ndarray) -> np.ndarray:
        """Variances at least the smallest normal number (a collapsed state then gives
        huge, finite densities, never NaN); matrices unchanged."""
        return covariances

    def prior_log_density(self, precisions_cholesky, covars_prior, dof_extra: float,
                          n_states: int, n_features: int) -> float:
        """hmmlearn's inverse-gamma (variances) or Wishart (matrices) log density of the
        precisions, up to a constant: dof_extra / 2 log det - tr(covars_prior P) / 2."""
        precisions = self.precisions(precisions_cholesky).reshape(n_states, -1)
        precisions = np.broadcast_to(precisions, (n_states, n_features))
        prior = np.broadcast_to(covars_prior, precisions.shape)
        return 0.5 * dof_extra * np.sum(np.log(precisions)) - 0.5 * np.sum(prior * precisions)

    def mean_prior_log_density(self, precisions_cholesky, meandiff, weight) -> float:
        """The normal prior on the means, up to a constant: -sum_k w_k d_k^T P_k d_k / 2
        (``weight`` per component, shaped (n_states,), or a number)."""
        precisions = np.broadcast_to(
            self._diagonal_precisions(precisions_cholesky, meandiff.shape[1]), meandiff.shape)
        weight = np.asarray(weight, dtype=float)
        weight = weight.reshape(weight.shape + (1,) * (2 - weight.ndim)) if weight.ndim \
            else weight
        return -0.5 * np.sum(weight * meandiff**2 * precisions)

    def kept_where(self, keep_new, new, old) -> np.ndarray:
        """``new`` where ``keep_new`` (one flag per component), else ``old``."""
        mask = np.reshape(keep_new, np.shape(keep_new) + (1,) * (np.ndim(new)
                                                                 - np.ndim(keep_new)))
        return np.where(mask, new, old)

    def log_gaussian(self, X, means, precisions_cholesky) -> np.ndarray:
        """log N(x_i | mu_k, Sigma_k), shape (n_samples, n_components)."""
        n_features = X.shape[1]
        log_det = self.log_det_cholesky(precisions_cholesky, n_features)
        maha = self.mahalanobis(X, means, precisions_cholesky)
        return -0.5 * (n_features * _LOG_2PI + maha) + log_det


    def log_normaliser(self, weights, precisions_cholesky, n_features) -> np.ndarray:
        """log(weight_k) - D/2 log(2 pi) + log det(precision_k)/2, per component."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        log_det = self.log_det_cholesky(precisions_cholesky, n_features)
        return (log_weights - 0.5 * n_features * _LOG_2PI + log_det).astype(np.float64)

    @abstractmethod
    def fast_e_step(self, X, sample_weight, means, precisions_cholesky, log_normaliser):
        """``(weight, first, second, loglik)`` of the rows of X by the fastest kernel for
        the shape (``sample_weight`` an empty array when rows are unweighted)."""

    @abstractmethod
    def fast_log_prob(self, X, means, precisions_cholesky, log_normaliser) -> np.ndarray:
        """Weighted log-densities, shape (n_samples, n_components), by the fastest kernel."""


class _MatrixCovariance(CovarianceModel):
    """Shared by 'full' and 'tied': matrices factorised by Cholesky."""

    full_moments = True

    def _second_block(self, X, resp, anchor):
        n_components, n_features = anchor.shape
        first = np.empty_like(anchor)
        second = np.zeros((n_components, n_features, n_features), dtype=X.dtype)
        for k in range(n_components):
            diff = X - anchor[k]
            weighted = diff * resp[:, k:k + 1]
            first[k] = weighted.sum(axis=0)
            second[k] = weighted.T @ diff
        return first, second

    @staticmethod
    def _scatter(second, first, nk, shift, weight):
        # sum r (x - a - d)(x - a - d)^T = S2 - S1 d^T - d S1^T + S0 d d^T
        cross = first[..., :, None] * shift[..., None, :]
        return (second - cross - np.swapaxes(cross, -1, -2)
                + weight[..., None, None] * shift[..., :, None] * shift[..., None, :])

    def prior_dof_offset(self, n_features):
        return n_features

    PRIOR_DENOMINATOR_FLOOR = 0.0

    @staticmethod
    def _outer_prior(meandiff, weight):
        return weight[..., None, None] * meandiff[..., :, None] * meandiff[..., None, :]

    def symmetrised(self, covariances):
        return 0.5 * (covariances + np.swapaxes(covariances, -1, -2))

    def plus_diagonal(self, covariances, value):
        return covariances + value * np.eye(covariances.shape[-1])

    def prior_log_density(self, precisions_cholesky, covars_prior, dof_extra, n_states,
                          n_features):
        precisions = self.precisions(precisions_cholesky)
        log_det_precision = 2.0 * self.log_det_cholesky(precisions_cholesky, n_features)
        prior = np.broadcast_to(covars_prior, precisions.shape)
        return (0.5 * dof_extra * np.sum(log_det_precision)
                - 0.5 * np.sum(prior * precisions))

    def mean_prior_log_density(self, precisions_cholesky, meandiff, weight):
        n_states, n_features = meandiff.shape
        stacked = np.broadcast_to(self.precisions(precisions_cholesky),
                                  (n_states, n_features, n_features))
        quad = np.einsum("ki,kij,kj->k", meandiff, stacked, meandiff)
        return -0.5 * np.sum(np.ravel(weight) * quad)


class FullCovariance(_MatrixCovariance):
    name = kind = "full"

    def precisions_shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def second_moments(self, X, resp, anchor):
        return self._second_block(X, resp, anchor)

    def covariances(self, stats, nk, shift, reg_covar, previous=None):
        cov = self._scatter(stats.second, stats.first, nk, shift, stats.weight)
        cov /= nk[:, None, None]
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        idx = np.arange(cov.shape[1])
        variances = _positive(cov[:, idx, idx], 0.0)
        cov[:, idx, idx] = variances + resolvable_reg_covar(variances, reg_covar)[:, None]
        return cov

    def precisions_cholesky(self, covariances, jitter=True):
        return _precision_cholesky_of(covariances, jitter)

    def unregularised_eigenvalues(self, covariances, reg_covar, n_features):
        return np.linalg.eigvalsh(covariances) - reg_covar

    def precisions_cholesky_from_precisions(self, precisions):
        return np.stack([_flipped_cholesky(p) for p in precisions])

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, 1, 2)

    def covariances_from_precisions(self, precisions):
        return np.stack([_spd_inverse(p) for p in precisions])

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)), axis=1)

    def mahalanobis(self, X, means, precisions_cholesky):
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        for k, (mean, chol) in enumerate(zip(means, precisions_cholesky)):
            y = (X - mean) @ chol
            out[:, k] = np.einsum("ij,ij->i", y, y)
        return out

    def check_precisions(self, precisions):
        for p in precisions:
            _check_symmetric_positive_definite(p, self.name)

    #: Up to this many features the fused numba kernel is fastest; above, BLAS on whitened
    #: rows (measured: fused 1.8x faster at D=64, whitened 1.3x faster at D=128).
    FUSED_MAX_FEATURES = 96

    def fast_e_step(self, X, sample_weight, means, precisions_cholesky, log_normaliser):
        if X.shape[1] <= self.FUSED_MAX_FEATURES:
            return _kernels.estep_matrix(X, sample_weight, means, precisions_cholesky,
                                         log_normaliser)
        weights = sample_weight if sample_weight.shape[0] else None
        return whitened_e_step(X, weights, means, precisions_cholesky, log_normaliser)

    def fast_log_prob(self, X, means, precisions_cholesky, log_normaliser):
        if X.shape[1] <= self.FUSED_MAX_FEATURES:
            return _kernels.log_prob_matrix(X, means, precisions_cholesky, log_normaliser)
        return whitened_log_prob(X, means, precisions_cholesky, log_normaliser)

    def sample_component(self, rng, mean, covariances, k, n):
        return rng.multivariate_normal(mean, covariances[k], n)

    def full_matrices(self, covariances, n_components, n_features):
        return np.asarray(covariances)

    def recentred_second(self, second, weight, first, delta):
        cross = first[:, :, None] * delta[:, None, :]
        return (second + cross + cross.transpose(0, 2, 1)
                + weight[:, None, None] * delta[:, :, None] * delta[:, None, :])

    def prior_scatter(self, second, meandiff, weight):
        return second + self._outer_prior(meandiff, weight)


class TiedCovariance(_MatrixCovariance):
    name = kind = "tied"

    def precisions_shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def second_moments(self, X, resp, anchor):
        first, second = self._second_block(X, resp, anchor)
        return first, second.sum(axis=0)

    def _reduce_second(self, second):
        return second.sum(axis=0)

    def covariances(self, stats, nk, shift, reg_covar, previous=None):
        # sum_k [S2_k - S1_k d_k^T - d_k S1_k^T + S0_k d_k d_k^T], with S2 already summed.
        cross = stats.first.T @ shift
        cov = stats.second - cross - cross.T + (shift.T * stats.weight) @ shift
        cov /= nk.sum()
        cov = 0.5 * (cov + cov.T)
        idx = np.arange(cov.shape[0])
        variances = _positive(cov[idx, idx], 0.0)
        cov[idx, idx] = variances + resolvable_reg_covar(variances, reg_covar)
        return cov

    def precisions_cholesky(self, covariances, jitter=True):
        return _precision_cholesky_of(covariances, jitter)

    def unregularised_eigenvalues(self, covariances, reg_covar, n_features):
        return (np.linalg.eigvalsh(covariances) - reg_covar)[None, :]

    def precisions_cholesky_from_precisions(self, precisions):
        return _flipped_cholesky(precisions)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    def covariances_from_precisions(self, precisions):
        return _spd_inverse(precisions)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(np.diag(precisions_cholesky)))

    def mahalanobis(self, X, means, precisions_cholesky):
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        for k, mean in enumerate(means):
            y = (X - mean) @ precisions_cholesky
            out[:, k] = np.einsum("ij,ij->i", y, y)
        return out

    def check_precisions(self, precisions):
        _check_symmetric_positive_definite(precisions, self.name)

    def fast_e_step(self, X, sample_weight, means, precisions_cholesky, log_normaliser):
        # Rows are whitened once, about a common centre, for every component; the scatter
        # about the centre is then moved to the component means by exact algebra.
        centre, shifted = self._centred(means, precisions_cholesky)
        weight, first, scatter, loglik = _kernels.estep_tied(
            X, sample_weight, centre, precisions_cholesky, shifted, log_normaliser)
        about_centre = GaussianStats(weight, first, scatter,
                                     np.broadcast_to(centre, means.shape), self.kind)
        stats = about_centre.recentered(means)
        return stats.weight, stats.first, stats.second, loglik

    @staticmethod
    def _centred(means, precisions_cholesky):
        centre = means.mean(axis=0)
        return centre, ((means - centre) @ precisions_cholesky).astype(means.dtype)

    def fast_log_prob(self, X, means, precisions_cholesky, log_normaliser):
        centre, shifted = self._centred(means, precisions_cholesky)
        return _kernels.log_prob_tied(X, centre, precisions_cholesky, shifted, log_normaliser)

    def sample_component(self, rng, mean, covariances, k, n):
        return rng.multivariate_normal(mean, covariances, n)

    def full_matrices(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()

    def recentred_second(self, second, weight, first, delta):
        cross = first.T @ delta
        return second + cross + cross.T + (delta.T * weight) @ delta

    def prior_scatter(self, second, meandiff, weight):
        return second + self._outer_prior(meandiff, weight).sum(axis=0)

    def pooled_counts(self, counts):
        return counts.sum()

    def kept_where(self, keep_new, new, old):
        return new  # pooled over every component: re-estimated whenever any is visited


class DiagCovariance(CovarianceModel):
    name = kind = "diag"

    def precisions_shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def second_moments(self, X, resp, anchor):
        first = np.empty_like(anchor)
        second = np.empty_like(anchor)
        for k in range(anchor.shape[0]):
            diff = X - anchor[k]
            weighted = diff * resp[:, k:k + 1]
            first[k] = weighted.sum(axis=0)
            second[k] = np.einsum("ij,ij->j", weighted, diff)
        return first, second

    def _variances(self, stats, nk, shift):
        var = stats.second - 2 * stats.first * shift + stats.weight[:, None] * shift**2
        return var / nk[:, None]

    def covariances(self, stats, nk, shift, reg_covar, previous=None):
        return _regularised_variances(self._variances(stats, nk, shift), stats, reg_covar)

    def unregularised_eigenvalues(self, covariances, reg_covar, n_features):
        # (K, D) for 'diag'; a spherical (K,) variance repeats over the D features
        return np.broadcast_to((covariances - reg_covar).reshape(len(covariances), -1),
                               (len(covariances), n_features))

    def precisions_cholesky(self, covariances, jitter=True):
        if np.any(covariances <= 0.0):
            raise ill_defined_covariance(covariances.dtype)
        return 1.0 / np.sqrt(covariances)

    def precisions_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.sum(np.log(precisions_cholesky), axis=-1)

    def mahalanobis(self, X, means, precisions_cholesky):
        precisions = precisions_cholesky**2
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        for k in range(means.shape[0]):
            diff = X - means[k]
            out[:, k] = (diff * diff) @ precisions[k]
        return out

    def check_precisions(self, precisions):
        if np.any(precisions <= 0.0):
            raise ValueError(f"'{self.name} precision' should be positive")

    def _diagonal_precisions(self, precisions_cholesky, n_features):
        return precisions_cholesky**2

    #: The expanded E-step (see _kernels.estep_diag_expanded) is used for float64 rows
    #: where the terms that cancel in it are at most this large (expansion_error_bound):
    #: its log-densities are then within about 1e-10 of the direct ones, ten times below
    #: the engine's round-off allowance for a decrease of the likelihood. A mean further
    #: from the others in its own standard deviations (a component collapsed to the
    #: reg_covar floor, say) keeps the direct kernel, and so do float32 rows (the direct
    #: kernel's float32 lanes are faster than the expansion in float64; measured 1.25x).
    EXPANDED_MAX_ERROR_BOUND = 1e5

    def _expanded_precisions(self, precisions_cholesky):
        """The precisions the expanded kernel takes: (K, D) for 'diag', (K, 1) for
        'spherical' (one per component, applied to the squared norm)."""
        return precisions_cholesky.astype(np.float64) ** 2

    def fast_e_step(self, X, sample_weight, means, precisions_cholesky, log_normaliser):
        if X.shape[1] >= _kernels.WIDE_MIN_FEATURES and X.dtype == np.float64:
            means64 = means.astype(np.float64)
            centre = 0.5 * (means64.min(axis=0) + means64.max(axis=0))
            offsets = means64 - centre
            precisions = self._expanded_precisions(precisions_cholesky)
            if (_kernels.expansion_error_bound(offsets, precisions)
                    <= self.EXPANDED_MAX_ERROR_BOUND):
                weight, first, second, loglik = _kernels.estep_diag_expanded(
                    X, sample_weight, centre, offsets, precisions,
                    log_normaliser.astype(np.float64))
                # about the means: x - mu_k = (x - c) - offsets_k
                return (weight, first - weight[:, None] * offsets,
                        self.recentred_second(self._reduce_second(second), weight, first,
                                              -offsets), loglik)
        precisions = self._diagonal_precisions(precisions_cholesky, X.shape[1])
        weight, first, second, loglik = _kernels.estep_diag(
            X, sample_weight, means, precisions, log_normaliser)
        return weight, first, self._reduce_second(second), loglik

    def fast_log_prob(self, X, means, precisions_cholesky, log_normaliser):
        precisions = self._diagonal_precisions(precisions_cholesky, X.shape[1])
        return _kernels.log_prob_diag(X, means, precisions, log_normaliser)

    def sample_component(self, rng, mean, covariances, k, n):
        return mean + rng.standard_normal(size=(n, mean.shape[0])) * np.sqrt(covariances[k])

    def full_matrices(self, covariances, n_components, n_features):
        variances = np.broadcast_to(np.reshape(covariances, (n_components, -1)),
                                    (n_components, n_features))
        return variances[:, :, None] * np.eye(n_features)

    def recentred_second(self, second, weight, first, delta):
        return second + 2 * first * delta + weight[:, None] * delta**2

    def prior_scatter(self, second, meandiff, weight):
        return weight[..., None] * meandiff**2 + second

    def floored(self, covariances):
        return np.maximum(covariances, np.finfo(np.float64).tiny)


class SphericalCovariance(DiagCovariance):
    name = kind = "spherical"

    def precisions_shape(self, n_components, n_features):
        return (n_components,)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components

    def second_moments(self, X, resp, anchor):
        first, second = super().second_moments(X, resp, anchor)
        return first, second.sum(axis=1)

    def covariances(self, stats, nk, shift, reg_covar, previous=None):
        n_features = stats.first.shape[1]
        var = (stats.second - 2 * np.sum(stats.first * shift, axis=1)
               + stats.weight * np.sum(shift**2, axis=1)) / nk
        return _regularised_variances(var / n_features, stats, reg_covar)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def _diagonal_precisions(self, precisions_cholesky, n_features):
        return np.repeat((precisions_cholesky**2)[:, None], n_features, axis=1)

    def _expanded_precisions(self, precisions_cholesky):
        return (precisions_cholesky.astype(np.float64) ** 2)[:, None]

    def _reduce_second(self, second):
        return second.sum(axis=1)

    def mahalanobis(self, X, means, precisions_cholesky):
        out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
        for k in range(means.shape[0]):
            diff = X - means[k]
            out[:, k] = np.einsum("ij,ij->i", diff, diff) * precisions_cholesky[k] ** 2
        return out

    def sample_component(self, rng, mean, covariances, k, n):
        return mean + rng.standard_normal(size=(n, mean.shape[0])) * np.sqrt(covariances[k])

    def recentred_second(self, second, weight, first, delta):
        return second + 2 * np.sum(first * delta, axis=1) + weight * np.sum(delta**2, axis=1)

    def prior_scatter(self, second, meandiff, weight):
        # per feature: the summed scatter shared out over the D features
        return (second + weight * np.sum(meandiff**2, axis=-1)) / meandiff.shape[-1]

    def from_feature_variances(self, variances):
        return variances.mean(axis=1)


def _flipped_cholesky(precision: np.ndarray) -> np.ndarray:
    """Upper-triangular U with U U^T = precision, from the Cholesky factor of the
    row- and column-reversed matrix (scikit-learn's convention for precisions_cholesky_)."""
    return np.flip(np.linalg.cholesky(np.flip(precision)))


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    inv_chol = np.linalg.inv(np.linalg.cholesky(matrix))
    return inv_chol.T @ inv_chol


COVARIANCE_MODELS = {
    model.name: model
    for model in (FullCovariance(), TiedCovariance(), DiagCovariance(), SphericalCovariance())
}

#: scikit-learn's four names (mclust's fourteen join COVARIANCE_MODELS below).
SKLEARN_COVARIANCE_TYPES = tuple(COVARIANCE_MODELS)


def covariance_model(covariance_type: str) -> CovarianceModel:
    """The parametrisation object for a ``covariance_type`` string: scikit-learn's four
    names, or mclust's fourteen ('EII' ... 'VVV', and 'E', 'V' for one feature)."""
    return COVARIANCE_MODELS[covariance_type]


# mclust's models register themselves in COVARIANCE_MODELS (they subclass FullCovariance)
from . import _mclust_covariances  # noqa: E402,F401
