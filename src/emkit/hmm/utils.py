"""hmmlearn's public helpers (``hmmlearn.utils``): in-place normalisation and the full
covariance matrices of a compact form."""

from __future__ import annotations

import numpy as np

from ..mixture._covariance import COVARIANCE_MODELS


def normalize(a, axis=None):
    """Scale ``a`` in place so that it sums to 1 (along ``axis``; slices summing to 0 are
    left as they are).

    Parameters
    ----------
    a : ndarray of floats
    axis : int or None
        None: the whole array sums to 1.
    """
    total = a.sum(axis=axis, keepdims=axis is not None)
    if axis is not None:
        total[total == 0] = 1
    a /= total


def fill_covars(covars, covariance_type="full", n_components=1, n_features=1):
    """Covariances of any ``covariance_type`` as full matrices, (n_components, n_features,
    n_features); a spherical one may be given as (n_components,) or (n_components, 1)."""
    covars = np.asarray(covars)
    return COVARIANCE_MODELS[covariance_type].full_matrices(covars, n_components, n_features)
