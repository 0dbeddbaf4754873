"""Image and volume segmentation by EM.

:func:`segment` fits a Gaussian mixture to pixel (voxel) features, optionally with a Potts
Markov random field prior on the labels (as FSL FAST and ANTs Atropos do), by the emkit EM
engine. Images are read and written by :func:`read_image`, :func:`write_labels`,
:func:`write_overlay` and :func:`write_probabilities` (PNG, JPEG, TIFF through Pillow;
volumes as .npy, and NIfTI when nibabel is installed).
"""

from ._io import ImageFileError, read_image, write_labels, write_overlay, write_probabilities
from ._phantom import dice_scores, make_phantom, phantom_truth
from ._segment import Segmentation, segment

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
