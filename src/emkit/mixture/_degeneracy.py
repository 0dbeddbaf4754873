"""Which components of a fitted Gaussian mixture are degenerate (spurious solutions), and
why: *singular* (too few rows) or *collapsed* (at the reg_covar floor).

EM's likelihood is unbounded: a component can collapse onto a few rows, or onto a plane
that some rows share exactly (discretised measurements), and then the likelihood grows
without limit, stopped only by ``reg_covar``. Such a fit can win a comparison of
restarts while describing nothing. A component k is *degenerate* when either

1. its effective size n_k (the sum of its responsibilities, in units of row weight) is
   below the rows a covariance of its type needs to be non-singular: D + 1 for 'full',
   2 for 'diag' and 'spherical' (one variance per component from at least two rows), and
   1 for 'tied' (the shared covariance comes from every row; a component without rows
   is still spurious); or
2. its covariance is at the ``reg_covar`` floor: its smallest eigenvalue (each variance,
   for 'diag' and 'spherical') is at most ``FLOOR_FACTOR * reg_covar`` plus
   ``RELATIVE_FLOOR`` times the data's largest variance (the latter covers
   ``reg_covar=0`` and round-off), in a direction where the data themselves spread
   above that floor. Data that are flat in some direction (a constant column, exactly
   collinear features) make every component flat there; that is the data's property,
   not a component's collapse, and is not counted.

Rule 1 is a *singular* component: its covariance cannot be estimated from its rows at all
(mclust reports such a fit as NA unless a prior is given), whatever the data; a small
planted cluster of fewer than D + 1 rows is one, under a 'full' covariance. Rule 2 alone is
a *collapsed* one: a component with rows enough that shrank onto a few of them or onto a
plane. :func:`singular_and_collapsed` tells them apart and :func:`advice` words the
remedy by cause.

The data's covariance is the mixture's own (sum_k w_k (Sigma_k + mu_k mu_k^T) - mu mu^T),
so the rule needs the fitted parameters and the total weight only, whatever fed the fit.
"""

from __future__ import annotations

import numpy as np

#: A covariance eigenvalue within this factor of reg_covar counts as collapsed.
FLOOR_FACTOR = 10.0
#: ... or within this fraction of the data's largest variance.
RELATIVE_FLOOR = 1e-10


def minimum_component_size(covariance_type: str, n_features: int) -> int:
    """Rows a covariance of ``covariance_type`` needs to be non-singular (rule 1)."""
    return {"full": n_features + 1, "diag": 2, "spherical": 2, "tied": 1}[covariance_type]


def _rules_name(covariance) -> str:
    """The scikit-learn covariance type whose size rule applies to ``covariance``."""
    return getattr(covariance, "rules_name", covariance.name)


def degenerate_components(covariance, theta, total_weight: float, reg_covar: float
                          ) -> np.ndarray:
    """Indices of the degenerate components of the mixture ``theta``.

    Parameters
    ----------
    covariance : CovarianceModel
        The parametrisation ``theta`` was fitted under.
    theta : GaussianMixtureParams
    total_weight : float
        Rows (or total row weight) the mixture was fitted to; ``weights * total_weight``
        are the components' effective sizes.
    reg_covar : float

    Returns
    -------
    ndarray of int
        Sorted component indices; empty when the fit is not degenerate.
    """
    singular, collapsed = _degenerate_masks(covariance, theta, total_weight, reg_covar)
    return np.flatnonzero(singular | collapsed).astype(np.int64)


def singular_and_collapsed(covariance, theta, total_weight: float, reg_covar: float
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The degenerate components of ``theta`` by cause: ``(singular, collapsed)``, sorted
    indices of the components with fewer effective rows than their own covariance needs
    (rule 1), and of the others: at the ``reg_covar`` floor (rule 2), or without rows
    under a common covariance ('tied'). Parameters as in :func:`degenerate_components`."""
    singular, collapsed = _degenerate_masks(covariance, theta, total_weight, reg_covar)
    return np.flatnonzero(singular), np.flatnonzero(collapsed)


def _degenerate_masks(covariance, theta, total_weight: float, reg_covar: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`singular_and_collapsed` as boolean masks over the components."""
    weights = np.asarray(theta.weights, dtype=np.float64)
    means = np.asarray(theta.means, dtype=np.float64)
    n_components, n_features = means.shape
    sizes = weights * float(total_weight)
    too_small = sizes < minimum_component_size(_rules_name(covariance), n_features)

    covariances = np.asarray(theta.covariances, dtype=np.float64)
    if _rules_name(covariance) in ("diag", "spherical") and covariances.ndim < 3:
        flat = _flat_variances(covariances, weights, means, reg_covar)
    else:
        flat = _flat_matrices(covariance, covariances, weights, means, reg_covar)
    # a component without rows under a common (pooled) covariance still has one: it is
    # not singular (mclust reports its fit), only spurious, as a collapsed one is
    pooled = _rules_name(covariance) == "tied"
    singular = too_small & (not pooled)
    return singular, (flat | too_small) & ~singular


def _floor(reg_covar: float, largest_spread: float) -> float:
    """The variance at or below which a component is at the reg_covar floor."""
    return FLOOR_FACTOR * reg_covar + RELATIVE_FLOOR * max(float(largest_spread), 0.0)


def _flat_matrices(covariance, covariances, weights, means, reg_covar) -> np.ndarray:
    """Rule 2 for any parametrisation: which components are at the floor along the
    directions in which the data spread (eigendecompositions of D x D matrices)."""
    n_components, n_features = means.shape
    matrices = covariance.full_matrices(covariances, n_components, n_features)
    matrices = np.broadcast_to(matrices, (n_components, n_features, n_features))
    centre = weights @ means
    spread = np.einsum("k,kij->ij", weights,
                       matrices + np.einsum("ki,kj->kij", means, means))
    spread = spread - np.outer(centre, centre)
    spread = 0.5 * (spread + spread.T)
    data_eigenvalues, data_axes = np.linalg.eigh(spread)
    floor = _floor(reg_covar, data_eigenvalues[-1])

    if _rules_name(covariance) in ("full", "tied"):
        # the components' variances along the directions in which the data spread
        spread_axes = data_axes[:, data_eigenvalues > floor]
        if spread_axes.shape[1] == 0:
            return np.zeros(n_components, dtype=bool)
        projected = spread_axes.T @ matrices @ spread_axes
        return np.linalg.eigvalsh(projected)[:, 0] <= floor
    variances = np.diagonal(matrices, axis1=1, axis2=2)
    return _flat_features(variances, np.diagonal(spread), floor)


def _flat_features(variances, spread_variances, floor: float) -> np.ndarray:
    """Components with a variance at the floor in a feature in which the data spread."""
    return np.any((variances <= floor) & (spread_variances > floor)[None, :], axis=1)


def _flat_variances(covariances, weights, means, reg_covar) -> np.ndarray:
    """Rule 2 for 'diag' and 'spherical' covariances ((K, D) or (K,) variances), as
    :func:`_flat_matrices` decides it, without its eigendecomposition: the data's largest
    variance, which sets the floor's relative part, lies between the largest diagonal
    entry of their covariance and its trace (it is positive semi-definite; the trace is
    widened by far more than round-off); it is computed only when a variance falls
    between the floors these two bounds give."""
    n_components = means.shape[0]
    variances = covariances.reshape(n_components, -1)  # (K, D), or (K, 1) spherical
    centre = weights @ means
    spread_variances = weights @ (variances + means * means) - centre * centre
    low = _floor(reg_covar, spread_variances.max())
    high = _floor(reg_covar, spread_variances.sum() * (1.0 + 1e-6))
    if (np.any((variances >= low) & (variances <= high))
            or np.any((spread_variances >= low) & (spread_variances <= high))):
        spread = ((means * weights[:, None]).T @ means - np.outer(centre, centre)
                  + np.diag(weights @ np.broadcast_to(variances, means.shape)))
        low = _floor(reg_covar, np.linalg.eigvalsh(0.5 * (spread + spread.T))[-1])
    return _flat_features(variances, spread_variances, low)


def advice(covariance, singular, collapsed, sizes, n_features: int, has_prior: bool) -> str:
    """What went wrong with a degenerate fit and what to try, worded by cause.

    ``covariance`` is the fit's CovarianceModel, ``singular`` and ``collapsed`` are from
    :func:`singular_and_collapsed`, ``sizes`` the components' effective rows;
    ``has_prior``: the estimator takes a ``prior``."""
    parts = []
    if len(singular):
        needed = minimum_component_size(_rules_name(covariance), n_features)
        rows = ", ".join(f"{sizes[k]:.3g}" for k in singular)
        remedies = (["prior='default' (a conjugate prior, as mclust's priorControl())"]
                    if has_prior else [])
        remedies += ["a constrained covariance type ('diag', 'spherical', 'tied', or "
                     "mclust's EII, EEI, EEE)", "fewer components"]
        parts.append(
            f"component(s) {[int(k) for k in singular]} are singular: {rows} effective "
            f"row(s), fewer than the {needed} a {covariance.name!r} covariance needs in "
            f"{n_features} feature(s), so reg_covar sets it (mclust reports such a fit as "
            f"NA). Use {', '.join(remedies[:-1])} or {remedies[-1]}.")
    if len(collapsed):
        parts.append(
            f"component(s) {[int(k) for k in collapsed]} collapsed: a covariance at the "
            "reg_covar floor in a direction where the data spread (rows repeated, or on a "
            "plane), or no rows left under a common covariance. Try a larger reg_covar, "
            "rescaled features, more starts (n_init) or init_params='hierarchical'.")
    return " ".join(parts)
