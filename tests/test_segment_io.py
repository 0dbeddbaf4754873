"""emkit.segment: reading and writing images, the overlay, the command, bad input."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from emkit.segment import (
    ImageFileError,
    make_phantom,
    read_image,
    segment,
    write_labels,
    write_overlay,
    write_probabilities,
)
from emkit.segment._cli import command
from emkit.segment._io import PALETTE, overlay

SEED = 0


@pytest.fixture(scope="module")
def small():
    image, truth = make_phantom((24, 32), snr=6.0, random_state=SEED)
    return image, truth, segment(image, 3, random_state=SEED)


# -- reading -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_grey_and_colour_images_round_trip_through_pillow(tmp_path, suffix):
    rng = np.random.RandomState(SEED)
    grey = rng.randint(0, 256, (12, 17)).astype(np.uint8)
    colour = rng.randint(0, 256, (12, 17, 3)).astype(np.uint8)
    for name, array in (("grey", grey), ("colour", colour)):
        path = tmp_path / f"{name}{suffix}"
        Image.fromarray(array).save(path)
        np.testing.assert_array_equal(read_image(path), array)


def test_sixteen_bit_png_and_palette_and_alpha(tmp_path):
    deep = (np.arange(20 * 10).reshape(20, 10) * 300).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png"), deep)
    rgba = np.zeros((5, 6, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert read_image(tmp_path / "rgba.png").shape == (5, 6, 4)
    palette = Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.save(tmp_path / "palette.png")
    np.testing.assert_array_equal(read_image(tmp_path / "palette.png"), rgba[..., :3])


def test_multipage_tiff_is_a_volume_and_npy_round_trips(tmp_path):
    volume = (np.arange(3 * 8 * 9).reshape(3, 8, 9) % 251).astype(np.uint8)
    pages = [Image.fromarray(page) for page in volume]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    np.testing.assert_array_equal(read_image(tmp_path / "stack.tif"), volume)
    np.save(tmp_path / "v.npy", volume.astype(np.float32))
    np.testing.assert_array_equal(read_image(tmp_path / "v.npy"), volume)


# -- writing -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".tif", ".npy"])
def test_labels_written_as_one_based_with_zero_outside_mask(tmp_path, small, suffix):
    _, _, result = small
    labels = result.labels.copy()
    labels[:3, :4] = -1  # outside a mask
    path = write_labels(tmp_path / f"labels{suffix}", labels)
    back = read_image(path)
    np.testing.assert_array_equal(back, np.where(labels < 0, 0, labels + 1))
    assert back.dtype == np.uint8


def test_volume_labels_as_multipage_tiff(tmp_path):
    labels = np.random.RandomState(SEED).randint(-1, 3, (4, 6, 7))
    back = read_image(write_labels(tmp_path / "v.tif", labels))
    np.testing.assert_array_equal(back, labels + 1)
    with pytest.raises(ImageFileError, match="3-D.*png"):
        write_labels(tmp_path / "v.png", labels)


def test_probability_maps(tmp_path, small):
    _, _, result = small
    [npy] = write_probabilities(tmp_path / "p.npy", result.probabilities)
    np.testing.assert_allclose(np.load(npy), result.probabilities, atol=1e-7)
    [tif] = write_probabilities(tmp_path / "p.tif", result.probabilities)
    np.testing.assert_allclose(read_image(tif), result.probabilities, atol=1e-7)
    pngs = write_probabilities(tmp_path / "p.png", result.probabilities)
    assert [p.name for p in pngs] == ["p_1.png", "p_2.png", "p_3.png"]
    for k, path in enumerate(pngs):
        np.testing.assert_allclose(read_image(path) / 255.0, result.probabilities[k],
                                   atol=0.5 / 255 + 1e-9)


def test_overlay_png_tints_each_class_with_its_colour(tmp_path, small):
    image, _, result = small
    path = write_overlay(tmp_path / "overlay.png", image, result.labels, alpha=1.0)
    rgb = read_image(path)
    assert rgb.shape == image.shape + (3,) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, PALETTE[result.labels].astype(np.uint8))
    # alpha 0: the grey image itself, stretched
    plain = overlay(image, result.labels, alpha=0.0)
    assert np.all(plain[..., 0] == plain[..., 1])
    # a volume shows its middle slice across its shortest axis
    volume = np.stack([image] * 3)
    labels = np.stack([result.labels] * 3)
    assert overlay(volume, labels).shape == image.shape + (3,)


def test_nifti_needs_nibabel_or_round_trips(tmp_path, small):
    _, _, result = small
    try:
        import nibabel  # noqa: F401
    except ImportError:
        with pytest.raises(ImageFileError, match="nibabel"):
            write_labels(tmp_path / "l.nii.gz", result.labels)
        (tmp_path / "x.nii").write_bytes(b"not nifti")
        with pytest.raises(ImageFileError, match="nibabel"):
            read_image(tmp_path / "x.nii")
        return
    path = write_labels(tmp_path / "l.nii.gz", result.labels)
    np.testing.assert_array_equal(read_image(path), result.labels + 1)


# -- the command ---------------------------------------------------------------------------
def test_cli_writes_labels_overlay_and_probabilities(tmp_path):
    image, truth = make_phantom((30, 30), snr=1.5, random_state=SEED)
    grey = np.round(np.clip(image * 60 + 60, 0, 255)).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "in.png")
    out = tmp_path / "labels.png"
    result = CliRunner().invoke(command, [
        str(tmp_path / "in.png"), "-k", "3", "--smoothing", "1.0", "-o", str(out),
        "--overlay", str(tmp_path / "ov.png"), "--probabilities", str(tmp_path / "p.npy")])
    assert result.exit_code == 0, result.output
    assert "3 classes" in result.output and "wrote" in result.output
    labels = read_image(out)
    assert set(np.unique(labels)) == {1, 2, 3}
    expected = segment(grey, 3, smoothing=1.0, random_state=0).labels + 1
    np.testing.assert_array_equal(labels, expected)
    assert read_image(tmp_path / "ov.png").shape == (30, 30, 3)
    assert np.load(tmp_path / "p.npy").shape == (3, 30, 30)


def test_cli_mask_and_registered_in_emkit(tmp_path):
    image, _ = make_phantom((20, 20), snr=4.0, random_state=SEED)
    np.save(tmp_path / "img.npy", image)
    mask = np.zeros((20, 20), dtype=np.uint8)
    mask[2:18, 2:18] = 1
    Image.fromarray(mask * 255).save(tmp_path / "mask.png")
    from emkit.cli import main

    result = CliRunner().invoke(main, ["segment", str(tmp_path / "img.npy"), "-k", "3",
                                       "--mask", str(tmp_path / "mask.png"),
                                       "-o", str(tmp_path / "l.npy")])
    assert result.exit_code == 0, result.output
    labels = np.load(tmp_path / "l.npy")
    assert np.all(labels[mask == 0] == 0) and np.all(labels[mask == 1] > 0)


@pytest.mark.parametrize("args, message", [
    (["missing.png", "-k", "3", "-o", "o.png"], "no such file"),
    (["bad.png", "-k", "3", "-o", "o.png"], "not an image file"),
    (["img.npy", "-k", "3", "-o", "o.xyz"], "cannot write labels"),
    (["img.npy", "-k", "9", "-o", "o.png"], "distinct"),
    (["img.npy", "-k", "2", "--mask", "small.npy", "-o", "o.png"], "mask has shape"),
])
def test_cli_errors_are_one_clear_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.png").write_text("this is not a PNG")
    np.save(tmp_path / "img.npy", np.repeat(np.arange(4.0), 25).reshape(10, 10))
    np.save(tmp_path / "small.npy", np.ones((5, 5)))
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


# -- bad input to segment --------------------------------------------------------------------
@pytest.mark.parametrize("image, kwargs, message", [
    (np.zeros(10), {}, "2-D"),
    (np.zeros((2, 3, 4, 5, 6)), {}, "2-D"),
    (np.zeros((4, 4, 4, 2)), {"multichannel": True}, "colour image must have shape"),
    (np.array([[1, 2], [3, np.nan]]), {}, "NaN"),
    (np.array([["a", "b"], ["c", "d"]]), {}, "real numbers"),
    (np.arange(16.0).reshape(4, 4), {"mask": np.ones((3, 4))}, "mask has shape"),
    (np.arange(16.0).reshape(4, 4), {"mask": np.zeros((4, 4))}, "selects no pixels"),
    (np.arange(16.0).reshape(4, 4), {"features": "rgb"}, "needs a colour image"),
    (np.arange(16.0).reshape(4, 4), {"features": "hsv"}, "features must be one of"),
    (np.full((4, 4, 3), 2.0), {"features": "lab"}, r"\[0, 1\]"),
    (np.arange(16.0).reshape(4, 4), {"smoothing": -1.0}, "smoothing"),
    (np.arange(16.0).reshape(4, 4), {"spatial": -1.0}, "spatial"),
    (np.arange(16.0).reshape(4, 4), {"covariance_type": "round"}, "covariance_type"),
    (np.arange(16.0).reshape(4, 4), {"neighbourhood": "king"}, "neighbourhood"),
])
def test_bad_input_gets_a_clear_error(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        segment(image, 2, **kwargs)


@pytest.mark.filterwarnings("ignore:Every one of")  # two exact values: classes at the floor
def test_more_classes_than_distinct_values():
    image = np.repeat([0.0, 5.0], 50).reshape(10, 10)
    with pytest.raises(ValueError, match=r"larger than the number of distinct pixel values "
                                         r"in the mask \(2\)"):
        segment(image, 3)
    with pytest.raises(ValueError, match="n_classes must be an integer"):
        segment(image, 0)
    assert set(np.unique(segment(image, 2, random_state=SEED).labels)) == {0, 1}


def test_unreadable_files(tmp_path):
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ImageFileError, match="x.npy"):
        read_image(tmp_path / "x.npy")
    with pytest.raises(ImageFileError, match="no such file"):
        read_image(tmp_path / "none.tif")
    assert issubclass(ImageFileError, ValueError)
