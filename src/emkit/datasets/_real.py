"""Real data sets available offline."""

from __future__ import annotations

import numpy as np


def load_iris():
    """Fisher's iris measurements (150 x 4, three species), shipped with scikit-learn.

    Returns
    -------
    X : ndarray of shape (150, 4)
    species : ndarray of shape (150,)
        Integer species labels 0, 1, 2 (the known answer for 3 clusters).
    feature_names : list of str
    """
    from sklearn.datasets import load_iris as _sklearn_iris

    data = _sklearn_iris()
    return np.asarray(data.data, dtype=np.float64), data.target, list(data.feature_names)
