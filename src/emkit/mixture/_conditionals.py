"""Conditional Gaussians of missing entries given observed ones, for many rows at once.

Through the precision matrix P = S^-1 of a component, the missing coordinates m of a row
given its observed ones o are Gaussian with covariance C = (P_mm)^-1 and mean
mu_m - C (P d)_m, where d is the row minus the mean with its missing entries set to 0
(so (P d)_m = P_mo d_o). The observed coordinates' marginal log-density follows without
factorising S_oo: log N(x_o) = log N(x~) + (|m| log 2 pi + log det C) / 2, x~ the row
completed by its conditional mean. So one product P d serves every row; only the small
P_mm differ by missingness pattern, and patterns with the same number of missing entries
are inverted together as one stack. No Python loop runs per pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_LOG_2PI = math.log(2 * math.pi)


def _codes(missing: np.ndarray) -> np.ndarray:
    """One comparable code per row's missingness pattern."""
    if missing.shape[1] <= 62:
        return missing.astype(np.int64) @ (np.int64(1) << np.arange(missing.shape[1]))
    packed = np.ascontiguousarray(np.packbits(missing, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


@dataclass(frozen=True)
class PatternGroup:
    """Rows whose patterns miss the same number ``s`` of entries.

    ``rows``: indices of those rows; ``pattern``: each row's index into ``columns``;
    ``columns``: (n_patterns, s) missing columns of each pattern.
    """

    rows: np.ndarray
    pattern: np.ndarray
    columns: np.ndarray


def pattern_groups(missing: np.ndarray) -> list[PatternGroup]:
    """Group rows (of a mask where every row misses something) by number of missing
    entries, with their distinct patterns."""
    _, first, inverse = np.unique(_codes(missing), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    sizes = missing[first].sum(axis=1)
    row_sizes = sizes[inverse]
    order = np.argsort(row_sizes, kind="stable")
    groups = []
    for s in np.unique(sizes):
        patterns = np.flatnonzero(sizes == s)
        local = np.full(first.shape[0], -1)
        local[patterns] = np.arange(patterns.size)
        lo, hi = np.searchsorted(row_sizes[order], [s, s + 1])
        rows = np.sort(order[lo:hi])
        columns = np.nonzero(missing[first[patterns]])[1].reshape(patterns.size, s)
        groups.append(PatternGroup(rows, local[inverse[rows]], columns))
    return groups


@dataclass(frozen=True)
class Conditionals:
    """Every incomplete row under every component.

    ``log_prob`` (n, K): log weight + marginal log-density of the observed entries;
    ``completed`` (K, n, D): the rows with missing entries at their conditional means;
    ``covariances``: per group, (K, n_patterns, s, s) conditional covariances.
    """

    log_prob: np.ndarray
    completed: np.ndarray
    groups: list
    covariances: list

    def conditional_variances(self) -> np.ndarray:
        """(K, n, D): each entry's conditional variance (0 where observed)."""
        K, n, D = self.completed.shape
        out = np.zeros((K, n, D))
        for group, cov in zip(self.groups, self.covariances):
            diag = np.diagonal(cov, axis1=2, axis2=3)[:, group.pattern]  # (K, rows, s)
            out[:, group.rows[:, None], group.columns[group.pattern]] = diag
        return out

    def add_covariances(self, second: np.ndarray, resp: np.ndarray) -> None:
        """second[k] += sum_i resp[i, k] C_ik, each C_ik placed on its row's missing
        block."""
        for group, cov in zip(self.groups, self.covariances):
            n_patterns = group.columns.shape[0]
            idx = group.columns
            for k in range(second.shape[0]):
                mass = np.bincount(group.pattern, weights=resp[group.rows, k],
                                   minlength=n_patterns)
                np.add.at(second[k], (idx[:, :, None], idx[:, None, :]),
                          mass[:, None, None] * cov[k])


def conditionals(X, missing, means, precisions, log_det_covariances, log_weights,
                 groups=None) -> Conditionals:
    """The conditional moments and marginal log-densities of incomplete rows.

    Parameters
    ----------
    X : ndarray (n, D), float64, NaN where ``missing``
    missing : ndarray (n, D) of bool, every row missing something
    means : (K, D); precisions : (K, D, D) full matrices;
    log_det_covariances : (K,); log_weights : (K,)
    """
    n, D = X.shape
    K = means.shape[0]
    groups = pattern_groups(missing) if groups is None else groups
    observed_values = np.where(missing, 0.0, X)
    log_prob = np.empty((n, K))
    completed = np.empty((K, n, D))
    covariances = []
    for k in range(K):
        d = np.where(missing, 0.0, observed_values - means[k])
        y = d @ precisions[k]
        log_det_c = np.zeros(n)
        group_covs = []
        for group in groups:
            cols = group.columns
            block = precisions[k][cols[:, :, None], cols[:, None, :]]
            chol = np.linalg.cholesky(block)
            inv_chol = np.linalg.inv(chol)
            cov = np.swapaxes(inv_chol, 1, 2) @ inv_chol  # (P_mm)^-1
            group_covs.append(cov)
            row_cols = cols[group.pattern]
            y_m = y[group.rows[:, None], row_cols]
            d[group.rows[:, None], row_cols] = -np.einsum("nij,nj->ni", cov[group.pattern], y_m)
            log_det_c[group.rows] = (-2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2))
                                     .sum(axis=1))[group.pattern]
        covariances.append(group_covs)
        q = np.einsum("ni,ni->n", d, d @ precisions[k])
        s = missing.sum(axis=1)
        log_prob[:, k] = (log_weights[k] - 0.5 * (D * _LOG_2PI + log_det_covariances[k] + q)
                          + 0.5 * (s * _LOG_2PI + log_det_c))
        completed[k] = d + means[k]
    by_group = [np.stack([covariances[k][g] for k in range(K)]) for g in range(len(groups))]
    return Conditionals(log_prob, completed, groups, by_group)
