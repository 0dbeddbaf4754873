"""Colour conversions for pixel features: luma and CIE L*a*b* from sRGB.

scikit-image is not a dependency, so the standard formulas live here, in one place:
sRGB (IEC 61966-2-1) -> linear RGB -> CIE XYZ (D65 white) -> CIE L*a*b* (CIE 1976).
"""

from __future__ import annotations

import numpy as np

#: ITU-R BT.601 luma weights (what Pillow's ``convert('L')`` uses).
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])

#: Linear sRGB -> XYZ, D65 white point (IEC 61966-2-1).
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPSILON = 216.0 / 24389.0   # (6/29)^3
_KAPPA = 24389.0 / 27.0      # (29/3)^3


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of colour pixels.

    Parameters
    ----------
    rgb : ndarray of shape (..., 3)

    Returns
    -------
    y : ndarray of shape (...)
        In the units of ``rgb``.
    """
    return rgb @ LUMA_WEIGHTS.astype(rgb.dtype if rgb.dtype.kind == "f" else np.float64)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of sRGB pixels.

    Parameters
    ----------
    rgb : ndarray of shape (..., 3)
        sRGB values in [0, 1].

    Returns
    -------
    lab : ndarray of shape (..., 3), float64
        L* in [0, 100]; a* and b* roughly in [-128, 127].
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = (linear @ _RGB_TO_XYZ.T) / _D65_WHITE
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16.0) / 116.0)
    L = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)
