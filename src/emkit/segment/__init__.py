"""Image and volume segmentation by EM.

:func:`segment` fits a Gaussian mixture to pixel (voxel) features, optionally with a Potts
Markov random field prior on the labels (as FSL FAST and ANTs Atropos do), by the emkit EM
engine. Images are read and written by :func:`read_image`, :func:`write_labels`,
:func:`write_overlay` and :func:`write_probabilities` (PNG, JPEG, TIFF through Pillow;
volumes as .npy, and NIfTI when nibabel is installed).
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "ImageFileError": "._io",
    "read_image": "._io",
    "write_labels": "._io",
    "write_overlay": "._io",
    "write_probabilities": "._io",
    "dice_scores": "._phantom",
    "make_phantom": "._phantom",
    "phantom_truth": "._phantom",
    "Segmentation": "._segment",
    "segment": "._segment",
})

__all__ = [
    "ImageFileError",
    "Segmentation",
    "dice_scores",
    "make_phantom",
    "phantom_truth",
    "read_image",
    "segment",
    "write_labels",
    "write_overlay",
    "write_probabilities",
]
