"""Spatial tissue priors: per-site prior probabilities of the classes (an atlas's grey,
white and CSF maps aligned with the image), used as voxel-wise mixing weights, as SPM and
ANTs Atropos do.

The maps are normalised to sum to 1 at each site (a site where they are all 0 gets the
uniform prior), then mixed with the uniform prior by a small weight (``PRIOR_FLOOR``) so
that no class is impossible anywhere: an atlas is never exactly right for one subject.
"""

from __future__ import annotations

import numpy as np

#: Weight of the uniform prior mixed into the maps.
PRIOR_FLOOR = 1e-3


def prior_log_rows(priors, n_classes: int, mask: np.ndarray, dtype) -> np.ndarray:
    """Log prior probabilities of the sites inside ``mask``, shape (n_sites, n_classes).

    Parameters
    ----------
    priors : sequence of n_classes arrays, or an array of shape (n_classes, *shape)
        One non-negative map per class, of the image's spatial shape.
    n_classes : int
    mask : ndarray of bool, the image's spatial shape
    dtype : numpy dtype of the result

    Raises
    ------
    ValueError
        Another number of maps than classes, a map of another shape, negative or
        non-finite values.
    """
    maps = [np.asarray(p) for p in priors]
    if len(maps) != n_classes:
        raise ValueError(f"priors holds {len(maps)} maps, but n_classes is {n_classes}")
    for k, p in enumerate(maps):
        if p.shape != mask.shape:
            raise ValueError(f"priors[{k}] has shape {p.shape}, but the image's spatial "
                             f"shape is {mask.shape}")
        if p.dtype.kind not in "buif":
            raise ValueError(f"priors[{k}] must hold real numbers, got dtype {p.dtype}")
    rows = np.stack([p[mask] for p in maps], axis=1).astype(np.float64)
    if not np.all(np.isfinite(rows)):
        raise ValueError("priors have NaN or infinite values inside the mask")
    if np.any(rows < 0):
        raise ValueError("priors must be non-negative (probabilities)")
    total = rows.sum(axis=1, keepdims=True)
    rows = np.divide(rows, total, out=np.full_like(rows, 1.0 / n_classes), where=total > 0)
    rows = (1.0 - PRIOR_FLOOR) * rows + PRIOR_FLOOR / n_classes
    return np.log(rows).astype(dtype)
