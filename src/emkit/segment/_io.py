"""Reading images and volumes, writing labels, overlays and probability maps.

- PNG, JPEG, TIFF (and anything else Pillow reads) through Pillow; a multi-page TIFF is a
  volume (pages, H, W).
- Volumes as ``.npy`` (read with ``allow_pickle=False``), and NIfTI (``.nii``,
  ``.nii.gz``) when the optional package nibabel is installed.

Label files follow FSL FAST and ANTs Atropos: class k (0-based in memory) is written as
k + 1, and 0 marks the sites outside the mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._data_files import DataFileError, open_npy
from ._features import split_channels

_PILLOW_WRITE = {".png", ".tif", ".tiff"}
_NIFTI = (".nii", ".nii.gz")

#: Class colours of the overlay (matplotlib's tab10), class 0 first.
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)],
    dtype=np.float64)


class ImageFileError(DataFileError):
    """An image file is missing, unreadable, or cannot hold what is written to it."""


def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(_NIFTI)


def _nibabel(path: Path):
    try:
        import nibabel
    except ImportError:
        raise ImageFileError(f"{path}: reading or writing NIfTI needs the optional package "
                             "nibabel (pip install nibabel)") from None
    return nibabel


def read_image(path) -> np.ndarray:
    """Read an image or a volume.

    Parameters
    ----------
    path : str or path-like
        PNG, JPEG, TIFF (multi-page: a volume) or another format Pillow reads; ``.npy``;
        ``.nii`` / ``.nii.gz`` (needs nibabel).

    Returns
    -------
    image : ndarray
        (H, W) grey, (H, W, 3|4) colour, (pages, H, W) or a volume as stored. Palette
        images become RGB(A); grey-with-alpha becomes grey.

    Raises
    ------
    ImageFileError
        The file is missing or not a readable image, its header claims more data than the
        file holds or the memory can take (.npy), or it has more pixels than Pillow opens
        safely (a decompression bomb).
    """
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        image = open_npy(path, error=ImageFileError)
        if image.dtype.kind not in "buif":
            raise ImageFileError(f"{path}: holds {image.dtype} values, not numbers")
        return np.array(image)  # out of the memory map
    if _is_nifti(path):
        nibabel = _nibabel(path)
        try:
            return np.asarray(nibabel.load(str(path)).dataobj)
        except Exception as exc:  # nibabel raises several kinds
            raise ImageFileError(f"{path}: not a readable NIfTI file ({exc})") from None
    return _read_pillow(path)


def _read_pillow(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            frames = []
            for i in range(getattr(img, "n_frames", 1)):
                img.seek(i)
                frames.append(_pixels(img))
    except UnidentifiedImageError:
        raise ImageFileError(f"{path}: not an image file Pillow can read (PNG, JPEG, TIFF, "
                             "...); volumes can be .npy or NIfTI") from None
    except Image.DecompressionBombError as exc:
        raise ImageFileError(f"{path}: too many pixels to open safely "
                             f"({' '.join(str(exc).split())}); a volume this large can be "
                             ".npy or NIfTI") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageFileError(f"{path}: cannot read the image ({exc})") from None
    if len(frames) == 1:
        return frames[0]
    if len({f.shape for f in frames}) != 1:
        raise ImageFileError(f"{path}: the pages of the TIFF stack differ in size")
    return np.stack(frames)


def _pixels(img) -> np.ndarray:
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "PA"):
        img = img.convert("L")
    elif mode == "1":
        img = img.convert("L")
    elif mode not in ("L", "RGB", "RGBA", "I", "F") and not mode.startswith("I;16"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
    return np.asarray(img)


def check_output_path(path, what="labels", ndim=None) -> Path:
    """Raise ImageFileError now, before any work, when ``path`` cannot receive ``what``
    ('labels', 'probabilities' or 'overlay'): an unknown extension, NIfTI without nibabel,
    a missing folder, or (given ``ndim``, the number of spatial axes of the image) a format
    that cannot hold that many axes."""
    path = Path(path)
    suffix = path.suffix.lower()
    allowed = {"labels": (".png", ".tif", ".tiff", ".npy"),
               "probabilities": (".png", ".tif", ".tiff", ".npy"),
               "overlay": (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")}[what]
    if what != "overlay" and _is_nifti(path):
        _nibabel(path)
    elif suffix not in allowed:
        raise ImageFileError(f"{path}: cannot write {what} as "
                             f"{suffix or 'a file without an extension'}; use "
                             f"{', '.join(allowed)}"
                             f"{'' if what == 'overlay' else ' or .nii(.gz)'}")
    if not path.parent.is_dir():
        raise ImageFileError(f"{path}: the folder {path.parent} does not exist")
    flat = {"labels": (".png",), "probabilities": (".png", ".tif", ".tiff"),
            "overlay": ()}[what]
    if ndim is not None and ndim > 2 and suffix in flat:
        raise ImageFileError(f"{path}: cannot write the {what} of a {ndim}-D volume as "
                             f"{suffix} (2-D images only); use "
                             f"{'.tif, ' if what == 'labels' else ''}.npy or .nii(.gz)")
    return path


def _file_labels(labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    top = int(labels.max()) + 1 if labels.size else 0
    dtype = np.uint8 if top <= 255 else np.uint16
    if top > 65535:
        raise ValueError("too many classes for a label image")
    return np.where(labels < 0, 0, labels + 1).astype(dtype)


def _nifti_affine(reference):
    if reference is None:
        return np.eye(4), None
    reference = Path(reference)
    nibabel = _nibabel(reference)
    ref = nibabel.load(str(reference))
    return ref.affine, ref.header


def write_labels(path, labels, *, reference=None) -> Path:
    """Write a label image: class k as k + 1, 0 outside the mask (FAST / Atropos).

    Parameters
    ----------
    path : str or path-like
        ``.png`` or ``.tif`` (2-D; ``.tif`` also 3-D, one page per first-axis slice),
        ``.npy`` (any), ``.nii`` / ``.nii.gz`` (needs nibabel).
    labels : ndarray of int
        As in :attr:`Segmentation.labels` (-1 outside the mask).
    reference : str or path-like, optional
        A NIfTI file whose affine and header the NIfTI output takes (the segmented one).

    Returns
    -------
    path : Path
    """
    path = Path(path)
    data = _file_labels(labels)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, data)
    elif _is_nifti(path):
        nibabel = _nibabel(path)
        affine, header = _nifti_affine(reference)
        nibabel.save(nibabel.Nifti1Image(data, affine, header), str(path))
    elif suffix in _PILLOW_WRITE:
        _write_pages(path, data)
    else:
        what = suffix or "a file without an extension"
        raise ImageFileError(f"{path}: cannot write labels as {what}; use .png, .tif, .npy "
                             "or .nii(.gz)")
    return path


def _write_pages(path: Path, data: np.ndarray) -> None:
    from PIL import Image

    if data.ndim == 2:
        Image.fromarray(data).save(path)
        return
    if path.suffix.lower() == ".png" or data.ndim != 3:
        raise ImageFileError(f"{path}: a {data.ndim}-D array cannot be written as "
                             f"{path.suffix}; use .tif, .npy or .nii(.gz)")
    pages = [Image.fromarray(np.ascontiguousarray(page)) for page in data]
    pages[0].save(path, save_all=True, append_images=pages[1:])


def write_probabilities(path, probabilities, *, reference=None) -> list:
    """Write one probability map per class.

    Parameters
    ----------
    path : str or path-like
        ``.npy``: one float32 array (n_classes, ...); ``.tif``: a multi-page float32 TIFF,
        one page per class (2-D images); ``.png``: one 8-bit PNG per class (probability
        x 255), named ``<stem>_<k>.png`` for class k = 1 .. n_classes as in the label
        file; ``.nii`` / ``.nii.gz``: a 4-D float32 NIfTI with the classes last.
    probabilities : ndarray of shape (n_classes, *spatial_shape)
    reference : str or path-like, optional
        A NIfTI file whose affine the NIfTI output takes.

    Returns
    -------
    paths : list of Path
        The files written.
    """
    path = Path(path)
    maps = np.asarray(probabilities, dtype=np.float32)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, maps)
        return [path]
    if _is_nifti(path):
        nibabel = _nibabel(path)
        affine, _ = _nifti_affine(reference)
        nibabel.save(nibabel.Nifti1Image(np.moveaxis(maps, 0, -1), affine), str(path))
        return [path]
    if suffix in (".tif", ".tiff") and maps.ndim == 3:
        _write_pages(path, maps)
        return [path]
    if suffix == ".png" and maps.ndim == 3:
        from PIL import Image

        paths = []
        for k, p in enumerate(maps, start=1):
            out = path.with_name(f"{path.stem}_{k}.png")
            Image.fromarray(np.round(np.clip(p, 0, 1) * 255).astype(np.uint8)).save(out)
            paths.append(out)
        return paths
    what = suffix or "a file without an extension"
    raise ImageFileError(f"{path}: cannot write {maps.ndim - 1}-D probability maps as "
                         f"{what}; use .npy, .nii(.gz), or for 2-D images .tif or .png")


def _display_rgb(image, multichannel=None) -> np.ndarray:
    """The image as float RGB in [0, 1] for display: grey stretched between its 1st and
    99th percentiles; colour integers divided by their type's maximum."""
    image, colour = split_channels(image, multichannel)
    if colour:
        rgb = image.astype(np.float64)
        if image.dtype.kind in "ui":
            rgb /= np.iinfo(image.dtype).max
        elif rgb.size and rgb.max() > 1.0:
            rgb /= 255.0 if rgb.max() <= 255.0 else rgb.max()
        return np.clip(rgb, 0.0, 1.0)
    grey = np.where(np.isfinite(image), image, 0.0).astype(np.float64)
    low, high = np.percentile(grey, [1, 99]) if grey.size else (0.0, 1.0)
    grey = np.clip((grey - low) / (high - low if high > low else 1.0), 0.0, 1.0)
    return np.repeat(grey[..., None], 3, axis=-1)


def overlay(image, labels, *, alpha=0.5, axis=None, multichannel=None) -> np.ndarray:
    """The colour overlay of labels on an image, as (H, W, 3) uint8.

    Parameters
    ----------
    image : array-like
        The segmented image (grey, colour, or a volume).
    labels : ndarray of int
        Its labels (-1: not tinted).
    alpha : float, default=0.5
        Opacity of the class colours.
    axis : int, optional
        For a volume, the middle slice across this axis is shown; default: the shortest
        axis (the slicing direction of most stacks).
    multichannel : bool or None
        As in :func:`segment`.
    """
    rgb = _display_rgb(image, multichannel)
    labels = np.asarray(labels)
    if rgb.shape[:-1] != labels.shape:
        raise ValueError(f"labels have shape {labels.shape}, the image's spatial shape is "
                         f"{rgb.shape[:-1]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    if labels.ndim == 3:
        axis = int(np.argmin(labels.shape)) if axis is None else axis
        middle = labels.shape[axis] // 2
        rgb, labels = np.take(rgb, middle, axis=axis), np.take(labels, middle, axis=axis)
    colours = PALETTE[np.maximum(labels, 0) % len(PALETTE)] / 255.0
    tint = (labels >= 0)[..., None] * alpha
    out = (1.0 - tint) * rgb + tint * colours
    return np.round(out * 255).astype(np.uint8)


def write_overlay(path, image, labels, *, alpha=0.5, axis=None, multichannel=None) -> Path:
    """Write the colour overlay of :func:`overlay` as an image file (PNG, say).

    Returns
    -------
    path : Path
    """
    from PIL import Image

    path = check_output_path(path, "overlay")
    Image.fromarray(overlay(image, labels, alpha=alpha, axis=axis,
                            multichannel=multichannel)).save(path)
    return path
