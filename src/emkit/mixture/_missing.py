"""Gaussian mixtures on rows with missing entries (NaN): EM with the missing coordinates latent.

For each component the observed coordinates have their marginal Gaussian, which gives the
responsibilities and the log-likelihood exactly; the missing ones, given the observed, are
Gaussian (:mod:`emkit.mixture._conditionals` computes both for many rows at once). The
E-step's statistics take the expected completed rows, and their second moments add the
conditional covariance (the correction that imputing by the conditional mean alone
forgets). Complete rows go through the mixture's usual fast kernels, so NaN-free data gives
exactly the same fit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._conditionals import conditionals, pattern_groups
from ._gaussian_problem import GaussianMixtureProblem
from ._stats import GaussianStats


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


class MissingDataProblem(GaussianMixtureProblem):
    """The Gaussian mixture's EM problem on rows that may hold NaN.

    The same parameters as :class:`GaussianMixtureProblem`.
    """

    def conditionals(self, X, theta):
        """``(rows, Conditionals)`` of the rows of X that miss something (None when none
        does)."""
        missing = np.isnan(X)
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size == 0:
            return rows, None
        K, D = theta.means.shape
        pc = np.asarray(theta.precisions_cholesky, dtype=np.float64)
        precisions = self.covariance.full_matrices(self.covariance.precisions(pc), K, D)
        log_det = np.broadcast_to(-2.0 * self.covariance.log_det_cholesky(pc, D), (K,))
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(theta.weights, dtype=np.float64))
        part = np.asarray(X[rows], dtype=np.float64)
        return rows, conditionals(part, missing[rows], np.asarray(theta.means, np.float64),
                                  np.asarray(precisions, np.float64), log_det, log_weights,
                                  groups=self._groups(X, missing[rows]))

    #: Pattern groups of this many recent blocks are kept: EM reads the same blocks every
    #: iteration, and grouping the patterns costs more than the rest of the E-step.
    GROUP_CACHE_BLOCKS = 64

    def _groups(self, X, missing):
        """The pattern groups of a block, computed once per block of a fit."""
        cache = self.__dict__.setdefault("_group_cache", {})
        key = (X.__array_interface__["data"][0], X.shape, X.strides)
        entry = cache.get(key)
        if entry is not None and np.array_equal(entry[0], missing):
            return entry[1]
        groups = pattern_groups(missing)
        if len(cache) >= self.GROUP_CACHE_BLOCKS:
            cache.pop(next(iter(cache)))
        cache[key] = (missing, groups)
        return groups

    def weighted_log_prob(self, X, theta):
        rows, cond = self.conditionals(X, theta)
        if cond is None:
            return super().weighted_log_prob(X, theta)
        out = np.empty((X.shape[0], theta.means.shape[0]), dtype=np.float64)
        complete = np.ones(X.shape[0], dtype=bool)
        complete[rows] = False
        if complete.any():
            out[complete] = super().weighted_log_prob(X[complete], theta)
        out[rows] = cond.log_prob
        return out

    def e_step(self, X, theta, sample_weight):
        rows, cond = self.conditionals(X, theta)
        if cond is None:
            return super().e_step(X, theta, sample_weight)
        complete = np.ones(X.shape[0], dtype=bool)
        complete[rows] = False
        stats, loglik = None, 0.0
        if complete.any():
            w = None if sample_weight is None else sample_weight[complete]
            stats, loglik = super().e_step(X[complete], theta, w)
        w = None if sample_weight is None else np.asarray(sample_weight[rows], np.float64)
        part, part_loglik = self._incomplete_statistics(cond, theta, w)
        return (part if stats is None else stats + part), loglik + part_loglik

    def _incomplete_statistics(self, cond, theta, weights):
        norm = logsumexp(cond.log_prob, axis=1)
        with np.errstate(under="ignore"):
            resp = np.exp(cond.log_prob - norm[:, None])
        if weights is not None:
            resp *= weights[:, None]
            loglik = float(weights @ norm)
        else:
            loglik = float(norm.sum())
        anchor = np.asarray(theta.means, dtype=np.float64)
        diff = cond.completed - anchor[:, None, :]
        first = np.einsum("nk,knd->kd", resp, diff)
        second = np.swapaxes(diff * resp.T[:, :, None], 1, 2) @ diff
        cond.add_covariances(second, resp)
        if not self.covariance.full_moments:
            second = np.diagonal(second, axis1=1, axis2=2).copy()
        dtype = theta.means.dtype
        stats = GaussianStats(resp.sum(axis=0).astype(dtype), first.astype(dtype),
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
        rows, cond = self.conditionals(X, theta)
        if cond is None:
            return completed, std
        resp = responsibilities(cond.log_prob, np.asarray(theta.weights, dtype=np.float64))
        missing = np.isnan(completed[rows])
        mean = np.einsum("nk,knd->nd", resp, cond.completed)
        values = _draw_conditional(rng, resp, cond) if rng is not None else mean
        part = completed[rows]
        part[missing] = values[missing]
        completed[rows] = part
        if return_std:
            # law of total variance, about the mixture mean (no cancellation); a far
            # outlier may overflow to an infinite variance, never NaN
            with np.errstate(over="ignore", invalid="ignore"):
                variance = np.einsum("nk,knd->nd", resp,
                                     cond.conditional_variances() + (cond.completed - mean) ** 2)
            part_std = np.zeros_like(part)
            part_std[missing] = np.sqrt(np.maximum(np.nan_to_num(variance[missing], nan=np.inf),
                                                   0.0))
            std[rows] = part_std
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


def _draw_conditional(rng, resp, cond):
    """One draw per row: a component by its responsibility, then the missing entries from
    that component's conditional Gaussian (observed entries keep their values)."""
    n, K = resp.shape
    cumulative = np.cumsum(resp, axis=1)
    u = rng.random_sample(n) * cumulative[:, -1]
    component = np.minimum((cumulative < u[:, None]).sum(axis=1), K - 1)
    out = cond.completed[component, np.arange(n)].copy()
    for group, cov in zip(cond.groups, cond.covariances):
        s = group.columns.shape[1]
        local = cov[component[group.rows], group.pattern]  # (rows, s, s)
        eigval, eigvec = np.linalg.eigh(0.5 * (local + np.swapaxes(local, 1, 2)))
        root = eigvec * np.sqrt(np.maximum(eigval, 0.0))[:, None, :]
        noise = np.einsum("nij,nj->ni", root, rng.standard_normal((group.rows.size, s)))
        cols = group.columns[group.pattern]
        out[group.rows[:, None], cols] += noise
    return out
