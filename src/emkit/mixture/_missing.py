"""Gaussian mixtures on rows with missing entries (NaN): EM with the missing coordinates latent.

Rows are grouped by missingness pattern. For each pattern and component the observed
coordinates have the marginal Gaussian N(mu_o, S_oo), which gives the responsibilities and the
log-likelihood exactly; the missing ones, given the observed, are Gaussian with mean
mu_m + S_mo S_oo^-1 (x_o - mu_o) and covariance S_mm - S_mo S_oo^-1 S_om. The E-step's
statistics take the expected completed rows, and their second moments add the conditional
covariance (the correction that imputing by the conditional mean alone forgets). Complete
rows go through the mixture's usual fast kernels, so NaN-free data gives exactly the same fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from ._covariance import _jittered_cholesky
from ._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from ._stats import GaussianStats

_LOG_2PI = math.log(2 * math.pi)


def missingness_patterns(missing: np.ndarray):
    """Yield ``(observed, rows)`` per distinct pattern of a (n, D) boolean mask."""
    if missing.shape[1] <= 62:  # each row's pattern as one integer: a fast 1-d unique
        codes = missing.astype(np.int64) @ (np.int64(1) << np.arange(missing.shape[1]))
    else:
        packed = np.ascontiguousarray(np.packbits(missing, axis=1))
        codes = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(first.shape[0] + 1))
    for p, row in enumerate(first):
        yield ~missing[row], order[bounds[p]:bounds[p + 1]]


def fill_with_column_means(X: np.ndarray) -> np.ndarray:
    """A copy of X with each NaN replaced by its column's observed mean (starting values)."""
    filled = np.array(X, dtype=np.float64, copy=True)
    means = np.nanmean(filled, axis=0)
    rows, cols = np.nonzero(np.isnan(filled))
    filled[rows, cols] = means[cols]
    return filled


def check_observed_columns(X: np.ndarray, names=None) -> None:
    """Raise ValueError naming the columns that have no observed value (by their names
    when given)."""
    empty = np.flatnonzero(np.all(np.isnan(X), axis=0))
    if empty.size:
        shown = [str(names[j]) for j in empty] if names is not None else empty.tolist()
        raise ValueError(f"column(s) {shown} of X have no observed value; a "
                         "distribution cannot be estimated for them (drop them first).")


@dataclass(frozen=True)
class PatternConditionals:
    """One missingness pattern under every component.

    ``log_prob[i, k]``: log weight_k + log N(x_o | component k) of each row; ``means[k]``:
    the conditional means of the missing coordinates (rows x missing); ``covariances[k]``:
    their conditional covariance (missing x missing), the same for every row.
    """

    observed: np.ndarray
    log_prob: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def _batched_cholesky(matrices):
    """Cholesky factors of a stack; a numerically singular one gets the smallest jitter."""
    try:
        return np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        return np.stack([_jittered_cholesky(m) for m in matrices])


def pattern_conditionals(X_rows, observed, theta: GaussianMixtureParams, full_cov):
    """Marginal log-densities of the observed coordinates and conditional moments of the
    missing ones, for rows sharing one pattern, every component at once."""
    obs, mis = np.flatnonzero(observed), np.flatnonzero(~observed)
    means = np.asarray(theta.means, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(theta.weights, dtype=np.float64))
    diff = X_rows[:, obs].astype(np.float64)[None] - means[:, None, obs]  # (K, n, o)
    K, n = means.shape[0], X_rows.shape[0]
    if obs.size:
        inv_chol = np.linalg.inv(_batched_cholesky(full_cov[:, obs][:, :, obs]))
        z = diff @ np.swapaxes(inv_chol, 1, 2)
        log_det = -2.0 * np.log(np.diagonal(inv_chol, axis1=1, axis2=2)).sum(axis=1)
        log_prob = -0.5 * (obs.size * _LOG_2PI + log_det[:, None] + np.einsum("kni,kni->kn", z, z))
        gain = full_cov[:, mis][:, :, obs] @ (np.swapaxes(inv_chol, 1, 2) @ inv_chol)
    else:
        log_prob = np.zeros((K, n))
        gain = np.zeros((K, mis.size, 0))
    cond_means = means[:, None, mis] + diff @ np.swapaxes(gain, 1, 2)
    cond_covs = full_cov[:, mis][:, :, mis] - gain @ full_cov[:, obs][:, :, mis]
    return PatternConditionals(observed, log_prob.T + log_weights, cond_means, cond_covs)


class MissingDataProblem(GaussianMixtureProblem):
    """The Gaussian mixture's EM problem on rows that may hold NaN.

    The same parameters as :class:`GaussianMixtureProblem`.
    """

    def _full(self, theta):
        K, D = theta.means.shape
        return np.asarray(self.covariance.full_matrices(theta.covariances, K, D), np.float64)

    def patterns(self, X, theta):
        """``(rows, PatternConditionals)`` for each missingness pattern with a NaN."""
        missing = np.isnan(X)
        incomplete = np.flatnonzero(missing.any(axis=1))
        full_cov = self._full(theta)
        for observed, rows in missingness_patterns(missing[incomplete]):
            rows = incomplete[rows]
            yield rows, pattern_conditionals(X[rows], observed, theta, full_cov)

    def weighted_log_prob(self, X, theta):
        missing_rows = np.isnan(X).any(axis=1)
        if not missing_rows.any():
            return super().weighted_log_prob(X, theta)
        out = np.empty((X.shape[0], theta.means.shape[0]), dtype=np.float64)
        complete = ~missing_rows
        if complete.any():
            out[complete] = super().weighted_log_prob(X[complete], theta)
        for rows, pattern in self.patterns(X, theta):
            out[rows] = pattern.log_prob
        return out

    def e_step(self, X, theta, sample_weight):
        missing_rows = np.isnan(X).any(axis=1)
        if not missing_rows.any():
            return super().e_step(X, theta, sample_weight)
        complete = ~missing_rows
        stats, loglik = None, 0.0
        if complete.any():
            w = None if sample_weight is None else sample_weight[complete]
            stats, loglik = super().e_step(X[complete], theta, w)
        part, part_loglik = self._incomplete_statistics(X, theta, sample_weight)
        return (part if stats is None else stats + part), loglik + part_loglik

    def _incomplete_statistics(self, X, theta, sample_weight):
        K, D = theta.means.shape
        anchor = np.asarray(theta.means, dtype=np.float64)
        weight, first = np.zeros(K), np.zeros((K, D))
        second = np.zeros((K, D, D))
        loglik = 0.0
        for rows, pattern in self.patterns(X, theta):
            observed = pattern.observed
            missing = ~observed
            norm = logsumexp(pattern.log_prob, axis=1)
            with np.errstate(under="ignore"):
                resp = np.exp(pattern.log_prob - norm[:, None])
            if sample_weight is not None:
                w = np.asarray(sample_weight[rows], dtype=np.float64)
                resp *= w[:, None]
                loglik += float(w @ norm)
            else:
                loglik += float(norm.sum())
            completed = np.empty((K, rows.size, D))
            completed[:, :, observed] = X[rows][:, observed]
            completed[:, :, missing] = pattern.means
            diff = completed - anchor[:, None, :]
            totals = resp.sum(axis=0)
            weight += totals
            first += np.einsum("nk,knd->kd", resp, diff)
            second += np.swapaxes(diff * resp.T[:, :, None], 1, 2) @ diff
            mis = np.flatnonzero(missing)
            second[:, mis[:, None], mis] += totals[:, None, None] * pattern.covariances
        if not self.covariance.full_moments:
            second = np.diagonal(second, axis1=1, axis2=2).copy()
        dtype = theta.means.dtype
        stats = GaussianStats(weight.astype(dtype), first.astype(dtype),
                              self.covariance._reduce_second(second).astype(dtype),
                              theta.means, self.covariance.kind)
        return stats, loglik

    # -- imputation ----------------------------------------------------------------------
    def impute(self, X, theta, *, return_std=False, rng=None):
        """X with every NaN replaced by its conditional expectation given the row's observed
        entries (or, with ``rng``, a draw from the conditional distribution); observed
        entries are returned unchanged. With ``return_std``, also the conditional standard
        deviation of each imputed entry (0 where observed)."""
        completed = np.array(X, dtype=np.float64, copy=True)
        std = np.zeros_like(completed) if return_std else None
        weights = np.asarray(theta.weights, dtype=np.float64)
        for rows, pattern in self.patterns(X, theta):
            missing = ~pattern.observed
            resp = responsibilities(pattern.log_prob, weights)
            mean = np.einsum("nk,knm->nm", resp, pattern.means)
            values = _draw_conditional(rng, resp, pattern) if rng is not None else mean
            completed[np.ix_(rows, np.flatnonzero(missing))] = values
            if return_std:
                # law of total variance, about the mixture mean (no cancellation); a far
                # outlier may overflow to an infinite variance, never NaN
                with np.errstate(over="ignore"):
                    variance = (resp @ np.diagonal(pattern.covariances, axis1=1, axis2=2)
                                + np.einsum("nk,knm->nm", resp, (pattern.means - mean) ** 2))
                std[np.ix_(rows, np.flatnonzero(missing))] = np.sqrt(np.maximum(variance, 0.0))
        return completed, std


def responsibilities(log_prob, weights):
    """Normalised exp(log_prob) per row; a row every component finds impossible (a far
    outlier whose densities underflow) gets the mixture weights instead of NaN."""
    norm = logsumexp(log_prob, axis=1)
    with np.errstate(under="ignore", invalid="ignore"):
        resp = np.exp(log_prob - norm[:, None])
    lost = ~np.isfinite(norm)
    if lost.any():
        resp[lost] = weights
    return resp


def _draw_conditional(rng, resp, pattern):
    """One draw per row: a component by its responsibility, then the missing coordinates
    from that component's conditional Gaussian."""
    n, K = resp.shape
    cumulative = np.cumsum(resp, axis=1)
    u = rng.random_sample(n) * cumulative[:, -1]
    component = np.minimum((cumulative < u[:, None]).sum(axis=1), K - 1)
    n_missing = pattern.means[0].shape[1]
    out = np.empty((n, n_missing))
    for k in range(K):
        rows = np.flatnonzero(component == k)
        if rows.size:
            cov = 0.5 * (pattern.covariances[k] + pattern.covariances[k].T)
            eigval, eigvec = np.linalg.eigh(cov)
            root = eigvec * np.sqrt(np.maximum(eigval, 0.0))
            out[rows] = pattern.means[k][rows] + rng.standard_normal((rows.size, n_missing)) @ root.T
    return out
