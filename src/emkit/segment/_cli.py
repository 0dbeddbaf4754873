"""The ``emkit segment`` command."""

from __future__ import annotations

from pathlib import Path

import click

from .._cli_support import COVARIANCE_TYPES, Command, check_outputs, option

_FEATURES = ("intensity", "rgb", "lab")


def _nifti(path: Path) -> bool:
    return path.name.lower().endswith((".nii", ".nii.gz"))


@click.command(name="segment", cls=Command)
@click.argument("image", type=click.Path(path_type=Path, dir_okay=False))
@option("-k", "--n-components", "n_classes", old=("--classes",), type=click.IntRange(min=1),
        required=True, help="Number of classes.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              required=True,
              help="Label image (.png, .tif, .npy, .nii[.gz]): classes written as "
                   "1..K in increasing mean intensity, 0 outside the mask (as FAST).")
@click.option("--smoothing", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Potts MRF strength beta (0: plain pixel mixture).")
@click.option("--features", type=click.Choice(_FEATURES), default="intensity",
              show_default=True, help="Pixel features the mixture is fitted to.")
@click.option("--spatial", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Weight of the pixel coordinates as extra features (0: none).")
@click.option("--covariance-type", type=click.Choice(COVARIANCE_TYPES), default="full",
              show_default=True, help="Covariance of each class's features.")
@click.option("--neighbourhood", type=click.Choice(("faces", "full")), default="faces",
              show_default=True,
              help="MRF neighbours: 'faces' 4 (2-D) / 6 (3-D), 'full' 8 / 26.")
@click.option("--mask", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Image of the same shape, non-zero where pixels take part.")
@click.option("--overlay", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write a colour overlay of the labels on the image (PNG; a volume's "
                   "middle slice).")
@click.option("--probabilities", type=click.Path(path_type=Path, dir_okay=False),
              default=None,
              help="Write the class probability maps (.npy, .tif, .nii[.gz], or .png: one "
                   "file per class).")
@click.option("--bias-field", is_flag=True,
              help="Fit a smooth multiplicative bias field (MR intensity non-uniformity) "
                   "with the classes; needs intensities > 0 inside the mask.")
@click.option("--bias-smoothing", type=click.FloatRange(min=0), default=1.0,
              show_default=True, help="Weight of the bias field's smoothness prior.")
@click.option("--prior", "priors", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="A tissue prior map aligned with the image, one per class in class "
                   "order (repeat the option): voxel-wise mixing weights.")
@click.option("--max-iter", type=click.IntRange(min=1), default=100, show_default=True,
              help="Most EM iterations.")
@option("--random-state", "seed", old=("--seed",), type=int, default=0, show_default=True,
        help="Random seed of the k-means starts.")
def command(image, n_classes, output, smoothing, features, spatial, covariance_type,
            neighbourhood, mask, overlay, probabilities, bias_field, bias_smoothing, priors,
            max_iter, seed):
    """Segment an image or a volume into classes by EM.

    IMAGE is PNG, JPEG, TIFF, .npy or a NIfTI volume. A Gaussian mixture over the pixel
    features; with --smoothing > 0 a Potts Markov random field prior makes neighbours agree
    (as FSL FAST and ANTs Atropos).

    Example: emkit segment brain.nii.gz -k 3 --smoothing 1.0 -o seg.nii.gz
    """
    from . import read_image, segment, write_labels, write_overlay, write_probabilities
    from ._features import split_channels
    from ._io import check_output_path

    outputs = ((output, "labels"), (overlay, "overlay"), (probabilities, "probabilities"))
    try:
        for path, what in outputs:
            if path is not None:
                check_output_path(path, what)
        check_outputs([(image, "IMAGE"), (mask, "the --mask image")]
                      + [(p, "a --prior map") for p in priors],
                      [(output, "-o"), (overlay, "--overlay"),
                       (probabilities, "--probabilities")])
        pixels = read_image(image)
        n_axes = split_channels(pixels)[0].ndim  # 2: an image, 3: a volume
        for path, what in outputs:
            if path is not None:
                check_output_path(path, what, ndim=n_axes)
        mask_array = read_image(mask) if mask is not None else None
        prior_maps = [read_image(p) for p in priors] or None
        result = segment(pixels, n_classes, features=features, spatial=spatial,
                         smoothing=smoothing, covariance_type=covariance_type,
                         mask=mask_array, random_state=seed, neighbourhood=neighbourhood,
                         max_iter=max_iter, priors=prior_maps, bias_field=bias_field,
                         bias_smoothing=bias_smoothing)
        reference = image if _nifti(image) else None
        written = [write_labels(output, result.labels, reference=reference)]
        if overlay is not None:
            written.append(write_overlay(overlay, pixels, result.labels))
        if probabilities is not None:
            written += write_probabilities(probabilities, result.probabilities,
                                           reference=reference)
    except ValueError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from exc
    click.echo(f"{image}: {' x '.join(map(str, result.labels.shape))} sites")
    click.echo(result.summary())
    if result.bias_field is not None:
        field = result.bias_field
        click.echo(f"bias field: {field.min():.3f} .. {field.max():.3f}")
    click.echo("wrote " + ", ".join(str(path) for path in written))
