"""numba kernels of the inner iterations of mclust's iterative M-steps.

The matrices are tiny (D x D, K of them) and the iterations many, so the loops run compiled:
one call per M-step instead of a Python loop of small numpy calls per inner iteration.

- :func:`common_orientation`: EVE's and VVE's common orientation by the MM iteration of
  Browne and McNicholas (2014), as mclust's mseve / msvve.
- :func:`common_shape`: VEI's and VEV's volumes and common shape by alternating updates.
- :func:`common_matrix`: VEE's common matrix and volumes by alternating updates (msvee).

Each stops when its objective (or parameters) changes by less than ``tol`` relative to
(1 + its size), or after ``max_iter`` iterations, and never ends worse than its start.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _geometric_means(values):
    """Geometric means of the rows of a (K, D) positive array."""
    out = np.empty(values.shape[0])
    for k in range(values.shape[0]):
        out[k] = np.exp(np.mean(np.log(values[k])))
    return out


@njit(cache=True)
def _nearest_rotation(matrix):
    """(U V^T)^T for the SVD U S V^T of a small square ``matrix`` (the orthogonal factor of
    its polar decomposition, transposed): one-sided Jacobi rotations (Hestenes) orthogonalise
    its columns, cheaper than a LAPACK call at these sizes; LAPACK's SVD when it is
    (numerically) singular."""
    D = matrix.shape[0]
    a = matrix.copy()
    v = np.eye(D)
    eps = 2.220446049250313e-16
    for _ in range(60):
        rotated = False
        for p in range(D - 1):
            for q in range(p + 1, D):
                alpha = 0.0
                beta = 0.0
                gamma = 0.0
                for i in range(D):
                    alpha += a[i, p] * a[i, p]
                    beta += a[i, q] * a[i, q]
                    gamma += a[i, p] * a[i, q]
                if abs(gamma) <= eps * np.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = (1.0 if zeta >= 0 else -1.0) / (abs(zeta) + np.sqrt(1.0 + zeta * zeta))
                c = 1.0 / np.sqrt(1.0 + t * t)
                s = c * t
                for i in range(D):
                    ap, aq = a[i, p], a[i, q]
                    a[i, p] = c * ap - s * aq
                    a[i, q] = s * ap + c * aq
                    vp, vq = v[i, p], v[i, q]
                    v[i, p] = c * vp - s * vq
                    v[i, q] = s * vp + c * vq
        if not rotated:
            break
    norms = np.sqrt(np.sum(a * a, axis=0))
    if not (np.min(norms) > D * eps * np.max(norms)):
        u, _, vt = np.linalg.svd(matrix)
        return np.ascontiguousarray((u @ vt).T)
    out = np.empty((D, D))  # (U V^T)^T = V U^T, U's columns a_j / |a_j|
    for i in range(D):
        for j in range(D):
            total = 0.0
            for m in range(D):
                total += v[i, m] * a[j, m] / norms[m]
            out[i, j] = total
    return out


@njit(cache=True)
def common_orientation(W, n, largest, rotation, inverse, varying_volume, tol, max_iter):
    """One orientation O (rows: axes) and per-component diagonal scales for scatter
    matrices W (K, D, D) with weights n (K,), minimising sum_k tr(O W_k O^T Lambda_k^-1)
    (EVE) or sum_k n_k log lambda_k (VVE): MM half-steps for O (``largest``: the top
    eigenvalue of each W_k), then the exact scales given O. Starts at ``rotation`` and
    ``inverse`` (1 / diag(Lambda_k), up to a common factor).

    Returns (rotation, shapes (K, D), sizes (K,), target): for VVE ``sizes`` are the volumes;
    for EVE the common volume is target / (D sum_k n_k).
    """
    K, D = W.shape[0], W.shape[1]
    projected = np.empty((K, D))
    shapes = np.empty((K, D))
    sizes = np.ones(K)
    previous = np.inf
    target = 0.0
    f1 = np.empty((D, D))
    f2 = np.empty((D, D))
    for _ in range(max_iter):
        f1[:] = 0.0  # sum_k Lambda_k^-1 O (W_k - largest_k I)
        for k in range(K):
            for i in range(D):
                for l in range(D):
                    total = -largest[k] * rotation[i, l]
                    for j in range(D):
                        total += rotation[i, j] * W[k, j, l]
                    f1[i, l] += inverse[k, i] * total
        rotation = _nearest_rotation(f1)
        f2[:] = 0.0  # sum_k W_k O (Lambda_k^-1 - max(Lambda_k^-1) I), O as rows: O^T
        for k in range(K):
            top = np.max(inverse[k])
            for i in range(D):
                for l in range(D):
                    total = 0.0
                    for j in range(D):
                        total += W[k, i, j] * rotation[j, l]
                    f2[i, l] += total * (inverse[k, l] - top)
        rotation = _nearest_rotation(f2)
        for k in range(K):  # diag(O W_k O^T)
            for i in range(D):
                total = 0.0
                for j in range(D):
                    row = 0.0
                    for l in range(D):
                        row += W[k, j, l] * rotation[i, l]
                    total += rotation[i, j] * row
                projected[k, i] = total / n[k] if varying_volume else total
        sizes = _geometric_means(projected)
        target = 0.0
        for k in range(K):
            shapes[k] = projected[k] / sizes[k]
            if varying_volume:
                inverse[k] = 1.0 / (shapes[k] * sizes[k])
                target += n[k] * np.log(sizes[k])
            else:
                inverse[k] = 1.0 / shapes[k]
                target += np.sum(projected[k] * inverse[k])
        if not np.isfinite(target):
            break
        if abs(target - previous) <= tol * (1.0 + abs(target)):
            break
        previous = target
    return rotation, shapes, sizes, target


@njit(cache=True)
def common_shape(diagonals, denominators, shape, tol, max_iter):
    """Volumes lambda_k and one shape A (geometric mean 1) for diagonal scatters
    w_kj ~ lambda_k A_j: alternately lambda_k = sum_j w_kj / A_j / denominators_k and A_j
    proportional to sum_k w_kj / lambda_k, from ``shape``. Returns (volumes, shape)."""
    K, D = diagonals.shape
    volumes = np.ones(K)
    shape = shape.copy()
    for _ in range(max_iter):
        change = 0.0
        for k in range(K):
            new = np.sum(diagonals[k] / shape) / denominators[k]
            change = max(change, abs(volumes[k] - new) / (1.0 + abs(new)))
            volumes[k] = new
        new_shape = np.zeros(D)
        for k in range(K):
            new_shape += diagonals[k] / volumes[k]
        new_shape /= np.exp(np.mean(np.log(new_shape)))
        for j in range(D):
            change = max(change, abs(shape[j] - new_shape[j]) / (1.0 + abs(new_shape[j])))
        shape = new_shape
        if change <= tol or not np.all(np.isfinite(shape)):
            break
    return volumes, shape


@njit(cache=True)
def common_matrix(W, n, tol, max_iter):
    """VEE: a common C (determinant 1) and volumes lambda_k, C proportional to
    sum_k W_k / lambda_k and lambda_k = tr(W_k C^-1) / (D n_k), from unit volumes.
    Returns (volumes, C)."""
    K, D = W.shape[0], W.shape[1]
    volumes = np.ones(K)
    common = np.eye(D)
    previous = np.inf
    for _ in range(max_iter):
        common = np.zeros((D, D))
        for k in range(K):
            common += W[k] / volumes[k]
        sign, logdet = np.linalg.slogdet(common)
        common = common / np.exp(logdet / D)
        inverse = np.linalg.inv(common)
        target = 0.0
        for k in range(K):
            volumes[k] = np.sum(W[k] * inverse.T) / (D * n[k])
            target += np.log(volumes[k]) * n[k]
        target = np.sum(n) * D + D * target
        if not np.isfinite(target):
            break
        if abs(target - previous) <= tol * (1.0 + abs(target)):
            break
        previous = target
    return volumes, common


@njit(cache=True)
def precisions_cholesky(covariances):
    """Upper-triangular U_k with U_k U_k^T = Sigma_k^-1 for a stack (K, D, D), and whether
    every Sigma_k is numerically positive-definite (else U is left incomplete)."""
    K, D = covariances.shape[0], covariances.shape[1]
    out = np.zeros((K, D, D))
    lower = np.zeros((D, D))
    for k in range(K):
        cov = covariances[k]
        for i in range(D):  # Cholesky factor L of Sigma_k
            for j in range(i + 1):
                s = cov[i, j]
                for m in range(j):
                    s -= lower[i, m] * lower[j, m]
                if i == j:
                    if not s > 0.0:
                        return out, False
                    lower[i, i] = np.sqrt(s)
                else:
                    lower[i, j] = s / lower[j, j]
        for j in range(D):  # U = (L^-1)^T: column j of L^-1 by forward substitution
            for i in range(j, D):
                s = 1.0 if i == j else 0.0
                for m in range(j, i):
                    s -= lower[i, m] * out[k, j, m]
                out[k, j, i] = s / lower[i, i]
    return out, True


@njit(cache=True)
def regularised_scatter(second, first, weight, shift, counts, reg_covar, resolution):
    """Scatter matrices W_k (K, D, D) about the means anchor + shift_k from statistics about
    the anchor (second S2_k, first S1_k, weight S0_k): S2 - S1 d^T - d S1^T + S0 d d^T,
    symmetrised, with n_k (v_kj + reg_k) on the diagonal, v_kj = max(W_kjj / n_k, 0) and
    reg_k = max(reg_covar, resolution * max_j v_kj) (0 when reg_covar is 0)."""
    K, D = first.shape
    out = np.empty((K, D, D))
    raw = np.empty((D, D))
    variances = np.empty(D)
    for k in range(K):
        for i in range(D):
            for j in range(D):
                raw[i, j] = (second[k, i, j] - first[k, i] * shift[k, j]
                             - first[k, j] * shift[k, i]
                             + weight[k] * shift[k, i] * shift[k, j])
        for i in range(D):
            for j in range(D):
                out[k, i, j] = 0.5 * (raw[i, j] + raw[j, i])
        largest = 0.0
        for i in range(D):
            variances[i] = max(out[k, i, i] / counts[k], 0.0)
            largest = max(largest, variances[i])
        reg = 0.0 if reg_covar == 0 else max(reg_covar, resolution * largest)
        for i in range(D):
            out[k, i, i] = counts[k] * variances[i] + counts[k] * reg
    return out


@njit(cache=True)
def orientation_start(W, start, varying_volume):
    """Where :func:`common_orientation` starts: the top eigenvalue of each W_k, and the
    axes of ``start`` covariances (K, D, D) (those of its first; an empty ``start``: the
    identity) with 1 / their diagonals in those axes (divided by each one's geometric
    mean unless volumes vary; unit ones where a diagonal is not positive)."""
    K, D = W.shape[0], W.shape[1]
    largest = np.empty(K)
    for k in range(K):
        largest[k] = np.linalg.eigvalsh(W[k])[D - 1]
    rotation = np.eye(D)
    inverse = np.ones((K, D))
    if start.shape[0] == 0:
        return largest, rotation, inverse
    axes = np.ascontiguousarray(np.linalg.eigh(start[0])[1].T)
    projected = np.empty((K, D))
    for k in range(K):
        for i in range(D):
            total = 0.0
            for j in range(D):
                row = 0.0
                for l in range(D):
                    row += start[k, j, l] * axes[i, l]
                total += axes[i, j] * row
            if not total > 0.0:
                return largest, rotation, inverse
            projected[k, i] = total
    for k in range(K):
        scale = 1.0 if varying_volume else np.exp(np.mean(np.log(projected[k])))
        for i in range(D):
            inverse[k, i] = scale / projected[k, i]
    return largest, axes, inverse


@njit(cache=True)
def log_normaliser(weights, precisions_cholesky, log_2pi):
    """log(weight_k) - D/2 log(2 pi) + log det(precision_k) / 2 from the upper-triangular
    factors U_k (U_k U_k^T = precision_k): sum_j log U_kjj."""
    K, D = precisions_cholesky.shape[0], precisions_cholesky.shape[1]
    out = np.empty(K)
    for k in range(K):
        total = np.log(weights[k]) if weights[k] > 0 else -np.inf
        for j in range(D):
            total += np.log(precisions_cholesky[k, j, j])
        out[k] = total - 0.5 * D * log_2pi
    return out
