"""Pixel (voxel) features of an image: the rows the mixture is fitted to.

An image is a 2-D grey image (H, W), a colour image (H, W, 3) or (H, W, 4) (alpha is
dropped), a grey volume (Z, Y, X), a colour volume (Z, Y, X, 3), or a list of
co-registered channels (T1, T2, ... volumes of one grid), one feature each. Its sites (pixels or
voxels) inside the mask become rows; the site grid is kept beside them as an index (one
int32 per site, -1 outside the mask), so that the Markov random field can find neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._colour import LUMA_WEIGHTS, luma, srgb_to_lab

FEATURES = ("intensity", "rgb", "lab")

#: Above this many sites the features (and the label field) are float32: a 256 x 256 x 128
#: volume then fits well under 2 GB. Below, float64.
FLOAT32_SITES = 2**22


@dataclass(frozen=True)
class PixelFeatures:
    """Feature rows of the sites inside the mask, and where they sit.

    Attributes
    ----------
    X : ndarray of shape (n_sites_in_mask, n_features)
        Rows in C order of the sites (the order of ``image[mask]``).
    index : ndarray of shape (Z, Y, X), int32
        Row of each site of the grid, -1 outside the mask; a 2-D image is one slice (Z = 1).
    mask : ndarray of bool, the image's spatial shape
    intensity_weights : ndarray of shape (n_features,)
        ``means @ intensity_weights`` is a class's mean intensity (classes are ordered by
        it); zero on coordinate columns.
    names : list of str
        One name per feature column.
    grey : ndarray of float, the image's spatial shape
        The image's intensity (luma for colour), for overlays.
    """

    X: np.ndarray
    index: np.ndarray
    mask: np.ndarray
    intensity_weights: np.ndarray
    names: list
    grey: np.ndarray

    @property
    def shape(self) -> tuple:
        """The image's spatial shape (2-D or 3-D)."""
        return self.mask.shape


def split_channels(image, multichannel=None):
    """``(spatial_array, is_colour)`` of an image array, colour pixels in the last axis.

    ``multichannel=None`` decides from the shape: a 3-D or 4-D array whose last axis has
    length 3 or 4 is colour (RGB, or RGBA whose alpha is dropped); other 3-D arrays are
    volumes.
    """
    image = np.asarray(image)
    if image.dtype.kind not in "buif":
        raise ValueError(f"image must hold real numbers, got dtype {image.dtype}")
    if multichannel is None:
        multichannel = image.ndim in (3, 4) and image.shape[-1] in (3, 4)
    if multichannel:
        if image.ndim not in (3, 4) or image.shape[-1] not in (3, 4):
            raise ValueError(
                "a colour image must have shape (H, W, 3|4) or (Z, Y, X, 3|4), got "
                f"{image.shape}")
        image = image[..., :3]
    spatial = image.shape[:-1] if multichannel else image.shape
    if len(spatial) not in (2, 3):
        raise ValueError(
            "image must be 2-D (H, W), a colour image (H, W, 3), or a 3-D volume (Z, Y, X); "
            f"got an array of shape {image.shape}")
    if min(spatial) < 1 or int(np.prod(spatial)) < 2:
        raise ValueError(f"image of shape {image.shape} has too few pixels")
    return image, bool(multichannel)


def _unit_rgb(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1]: 8- and 16-bit integers divided by their type's maximum, wider
    integers by the image's maximum, floats as they are (they must lie in [0, 1])."""
    if rgb.dtype.kind in "ui":
        top = np.iinfo(rgb.dtype).max if rgb.dtype.itemsize <= 2 else max(1, rgb.max())
        return rgb.astype(np.float64) / float(top)
    if rgb.dtype.kind == "b":
        return rgb.astype(np.float64)
    if rgb.size and (rgb.min() < 0.0 or rgb.max() > 1.0):
        raise ValueError("features='lab' needs sRGB values in [0, 1] for a float image "
                         "(or an integer image, scaled by its type's maximum); got values in "
                         f"[{rgb.min():g}, {rgb.max():g}]")
    return rgb.astype(np.float64)


def check_mask(mask, shape) -> np.ndarray:
    """The mask as a bool array of the image's spatial shape (all True when None)."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask has shape {mask.shape}, but the image's spatial shape is "
                         f"{tuple(shape)}")
    if mask.dtype.kind not in "buif":
        raise ValueError(f"mask must be boolean or numeric, got dtype {mask.dtype}")
    mask = mask != 0
    if not mask.any():
        raise ValueError("mask selects no pixels")
    return mask


def pixel_features(image, features="intensity", spatial=0.0, mask=None,
                   multichannel=None) -> PixelFeatures:
    """Feature rows of an image's sites inside ``mask``.

    Parameters
    ----------
    image : array-like
        (H, W) grey, (H, W, 3|4) colour, (Z, Y, X) grey volume or (Z, Y, X, 3|4) colour;
        or a list of numpy arrays of one 2-D or 3-D shape: co-registered channels.
    features : {'intensity', 'rgb', 'lab'}
        'intensity': the grey value (BT.601 luma of a colour image); 'rgb': the three
        colour values in the image's units; 'lab': CIE L*a*b* of sRGB pixels.
    spatial : float
        When > 0, the site coordinates are appended as features, scaled so that moving
        across the image's longest side counts as much as ``spatial`` times the pooled
        standard deviation of the other features.
    mask : array-like of the image's spatial shape, optional
        Non-zero where sites take part; None: every site.
    multichannel : bool or None
        Whether the last axis holds colour channels (None: decided from the shape).

    Returns
    -------
    PixelFeatures
    """
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    if is_channel_list(image):
        return _channel_features(image, features, spatial, mask)
    image, colour = split_channels(image, multichannel)
    shape = image.shape[:-1] if colour else image.shape
    mask = check_mask(mask, shape)
    dtype = np.float32 if mask.size > FLOAT32_SITES else np.float64
    inside = image[mask]  # (n, 3) colour or (n,) grey
    if not np.all(np.isfinite(inside)):
        raise ValueError("image has NaN or infinite values inside the mask")
    if features == "intensity":
        X = (luma(inside.astype(np.float64)) if colour else inside)[:, None]
        weights, names = [1.0], ["intensity"]
    elif not colour:
        raise ValueError(f"features={features!r} needs a colour image (H, W, 3); got a grey "
                         f"image of shape {image.shape}")
    elif features == "rgb":
        X, weights, names = inside, list(LUMA_WEIGHTS), ["red", "green", "blue"]
    else:
        X, weights, names = srgb_to_lab(_unit_rgb(inside)), [1.0, 0.0, 0.0], ["L*", "a*", "b*"]
    return _assembled(np.asarray(X, dtype=dtype), weights, names, mask, spatial,
                      _grey(image, colour))


def is_channel_list(image) -> bool:
    """Whether ``image`` is a list (or tuple) of co-registered channel arrays."""
    return isinstance(image, (list, tuple)) and len(image) > 0 \
        and all(isinstance(c, np.ndarray) for c in image)


def _channel_features(channels, features, spatial, mask) -> PixelFeatures:
    """One feature column per co-registered volume (T1, T2, PD, ...); classes are ordered
    by the first channel."""
    if features != "intensity":
        raise ValueError(f"features={features!r} needs one colour image; a list of channels "
                         "takes features='intensity' (one column per channel)")
    shape = channels[0].shape
    for c, channel in enumerate(channels):
        if channel.dtype.kind not in "buif":
            raise ValueError(f"channel {c} must hold real numbers, got dtype {channel.dtype}")
        if channel.shape != shape:
            raise ValueError(f"channel {c} has shape {channel.shape}, but channel 0 has "
                             f"shape {shape}; channels must be co-registered, same grid")
    if len(shape) not in (2, 3) or int(np.prod(shape)) < 2:
        raise ValueError(f"each channel must be a 2-D image or a 3-D volume with at least 2 "
                         f"sites, got shape {shape}")
    mask = check_mask(mask, shape)
    dtype = np.float32 if mask.size > FLOAT32_SITES else np.float64
    X = np.stack([channel[mask] for channel in channels], axis=1).astype(dtype)
    if not np.all(np.isfinite(X)):
        raise ValueError("image has NaN or infinite values inside the mask")
    weights = [1.0] + [0.0] * (len(channels) - 1)
    names = [f"channel {c}" for c in range(len(channels))]
    return _assembled(X, weights, names, mask, spatial, _grey(channels[0], False))


def _assembled(X, weights, names, mask, spatial, grey) -> PixelFeatures:
    """The features with the coordinates appended (``spatial`` > 0) and the site index."""
    shape = mask.shape
    if spatial < 0 or not np.isfinite(spatial):
        raise ValueError(f"spatial must be a finite number >= 0, got {spatial!r}")
    if spatial > 0:
        X = np.hstack([X, _coordinates(mask, spatial, X)])
        names = names + ["z", "y", "x"][-len(shape):]
        weights = weights + [0.0] * len(shape)
    grid = mask.reshape((1,) + shape if len(shape) == 2 else shape)
    index = np.full(grid.shape, -1, dtype=np.int32)
    index[grid] = np.arange(X.shape[0], dtype=np.int32)
    return PixelFeatures(np.ascontiguousarray(X), index, mask, np.asarray(weights), names,
                         grey)


def _coordinates(mask, spatial, X):
    scale = float(np.sqrt(np.mean(np.var(X, axis=0, dtype=np.float64))))
    scale = spatial * (scale if scale > 0 else 1.0) / max(mask.shape)
    coords = np.nonzero(mask)
    return np.stack([c * scale for c in coords], axis=1).astype(X.dtype)


def _grey(image, colour):
    grey = luma(image.astype(np.float64)) if colour else image.astype(np.float64)
    return np.where(np.isfinite(grey), grey, 0.0)
