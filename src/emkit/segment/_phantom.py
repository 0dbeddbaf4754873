"""A synthetic phantom with known classes: piecewise-constant regions plus Gaussian noise."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

#: (class, centre, radii) in coordinates relative to the image's extent along each axis,
#: painted in order (later shapes cover earlier ones): a large ellipse (class 1) holding
#: two discs (class 2), and small discs of both classes in the background. Class 0, the
#: background, covers about 60 % of a 2-D image; the 3-D ellipsoids are larger so that a
#: volume has about the same class fractions.
_SHAPES_2D = (
    (1, (0.50, 0.50), (0.30, 0.35)),
    (2, (0.45, 0.40), (0.10, 0.10)),
    (2, (0.60, 0.62), (0.07, 0.07)),
    (2, (0.12, 0.12), (0.06, 0.06)),
    (1, (0.88, 0.85), (0.05, 0.05)),
    (2, (0.12, 0.88), (0.04, 0.04)),
)
_SHAPES_3D = (
    (1, (0.50, 0.50, 0.50), (0.42, 0.44, 0.40)),
    (2, (0.45, 0.40, 0.50), (0.20, 0.18, 0.18)),
    (2, (0.62, 0.64, 0.45), (0.14, 0.14, 0.14)),
    (2, (0.12, 0.12, 0.15), (0.10, 0.10, 0.10)),
    (1, (0.88, 0.85, 0.80), (0.09, 0.09, 0.09)),
    (2, (0.12, 0.88, 0.50), (0.08, 0.08, 0.15)),
)


def phantom_truth(shape) -> np.ndarray:
    """The noise-free class image of :func:`make_phantom` (ints 0, 1, 2).

    Parameters
    ----------
    shape : tuple of 2 or 3 ints

    Returns
    -------
    truth : ndarray of int64 of ``shape``
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"shape must be 2 or 3 positive ints, got {shape}")
    axes = np.meshgrid(*[(np.arange(n) + 0.5) / n for n in shape], indexing="ij",
                       sparse=True)
    truth = np.zeros(shape, dtype=np.int64)
    for label, centre, radii in (_SHAPES_3D if len(shape) == 3 else _SHAPES_2D):
        inside = sum(((a - c) / r) ** 2 for a, c, r in zip(axes, centre, radii)) <= 1.0
        truth[inside] = label
    return truth


def make_phantom(shape=(128, 128), snr=2.0, *, intensities=(0.0, 1.0, 2.0),
                 random_state=None, dtype=np.float64):
    """A phantom image with known classes, for testing segmentation.

    Three classes: a dominant background (0, about 60 % of the sites), a large ellipse (1)
    and small discs (2), in 2-D or as ellipsoids in 3-D, each of constant intensity, plus
    white Gaussian noise.

    Parameters
    ----------
    shape : tuple of 2 or 3 ints, default=(128, 128)
    snr : float, default=2.0
        Contrast-to-noise ratio: the smallest gap between two class intensities divided
        by the noise standard deviation.
    intensities : sequence of 3 floats, default=(0, 1, 2)
        Intensity of classes 0, 1, 2 (increasing, so class k is the k-th darkest).
    random_state : int, RandomState instance or None
    dtype : numpy dtype, default=float64

    Returns
    -------
    image : ndarray of ``shape``
    truth : ndarray of int64 of ``shape``
    """
    intensities = np.asarray(intensities, dtype=np.float64)
    if intensities.shape != (3,) or np.any(np.diff(intensities) <= 0):
        raise ValueError("intensities must be 3 increasing numbers")
    if not snr > 0:
        raise ValueError(f"snr must be > 0, got {snr!r}")
    truth = phantom_truth(shape)
    sigma = np.min(np.diff(intensities)) / snr
    rng = check_random_state(random_state)
    image = intensities[truth].astype(dtype)
    image += (sigma * rng.standard_normal(truth.shape)).astype(dtype)
    return image, truth


def dice_scores(labels, truth, n_classes=None) -> np.ndarray:
    """Dice overlap 2 |A_k & B_k| / (|A_k| + |B_k|) of each class k.

    Parameters
    ----------
    labels, truth : array-like of int, same shape
        Labels below 0 (outside a mask) belong to no class.
    n_classes : int, optional
        Default: one more than the largest label in either.

    Returns
    -------
    dice : ndarray of shape (n_classes,)
        NaN for a class absent from both.
    """
    labels, truth = np.asarray(labels), np.asarray(truth)
    if labels.shape != truth.shape:
        raise ValueError(f"labels {labels.shape} and truth {truth.shape} differ in shape")
    if n_classes is None:
        n_classes = int(max(labels.max(), truth.max())) + 1
    scores = np.empty(n_classes)
    for k in range(n_classes):
        a, b = labels == k, truth == k
        total = a.sum() + b.sum()
        scores[k] = 2.0 * np.logical_and(a, b).sum() / total if total else np.nan
    return scores
