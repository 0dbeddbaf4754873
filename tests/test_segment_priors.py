"""emkit.segment with spatial tissue priors and with several co-registered channels."""

import numpy as np
import pytest
from scipy import ndimage

from emkit.segment import dice_scores, make_phantom, phantom_truth, segment

pytestmark = pytest.mark.numerics

SEED = 0


def _blurred_priors(truth, sigma=2.0):
    """One map per class: the true class indicator blurred (an atlas roughly aligned)."""
    return [ndimage.gaussian_filter((truth == k).astype(float), sigma) for k in range(3)]


@pytest.mark.parametrize("smoothing", [0.0, 1.0])
def test_blurred_priors_raise_dice_at_low_contrast_to_noise(smoothing):
    image, truth = make_phantom((64, 64), snr=0.8, random_state=SEED)
    without = segment(image, 3, smoothing=smoothing, random_state=SEED)
    priors = _blurred_priors(truth)
    with_priors = segment(image, 3, smoothing=smoothing, priors=priors, random_state=SEED)
    before = np.mean(dice_scores(without.labels, truth, 3))
    after = np.mean(dice_scores(with_priors.labels, truth, 3))
    assert after >= before + 0.05
    assert np.all(np.diff(with_priors.lower_bounds) >= -1e-9)
    np.testing.assert_allclose(with_priors.probabilities.sum(axis=0), 1.0, atol=1e-9)


def test_classes_follow_the_order_of_the_priors():
    image, truth = make_phantom((48, 48), snr=2.0, random_state=SEED)
    priors = _blurred_priors(truth)
    order = [2, 0, 1]
    result = segment(image, 3, priors=[priors[k] for k in order], random_state=SEED)
    # class j is the class of priors[j], i.e. true class order[j]
    relabelled = np.asarray(order)[result.labels]
    assert np.mean(relabelled == truth) > 0.95
    np.testing.assert_allclose(result.model.means_[:, 0], [2.0, 0.0, 1.0], atol=0.1)


@pytest.mark.parametrize("priors, message", [
    ([np.ones((8, 8))] * 2, "2 maps, but n_classes is 3"),
    ([np.ones((8, 9))] * 3, r"priors\[0\] has shape"),
    ([np.ones((8, 8)), -np.ones((8, 8)), np.ones((8, 8))], "non-negative"),
    ([np.full((8, 8), np.nan)] * 3, "NaN"),
])
def test_bad_priors(priors, message):
    image, _ = make_phantom((8, 8), snr=2.0, random_state=SEED)
    with pytest.raises(ValueError, match=message):
        segment(image, 3, priors=priors)


def test_priors_at_sites_where_all_are_zero_are_uniform():
    image, truth = make_phantom((32, 32), snr=3.0, random_state=SEED)
    priors = _blurred_priors(truth, 1.0)
    for p in priors:
        p[:4] = 0.0
    result = segment(image, 3, priors=priors, random_state=SEED)
    assert np.all(np.isfinite(result.probabilities))
    assert np.mean(result.labels[:4] == truth[:4]) > 0.8


def test_a_second_channel_separates_what_the_first_cannot():
    truth = phantom_truth((64, 64))
    rng = np.random.default_rng(SEED)
    # channel 0 tells class 0 from classes 1 and 2 (hardly them apart); channel 1 tells
    # class 2 apart
    first = np.array([0.0, 1.0, 1.2])[truth] + 0.25 * rng.standard_normal(truth.shape)
    second = np.array([0.0, 0.0, 1.0])[truth] + 0.25 * rng.standard_normal(truth.shape)
    alone = segment(first, 3, random_state=SEED)
    both = segment([first, second], 3, random_state=SEED)
    assert both.feature_names == ["channel 0", "channel 1"]
    assert both.model.means_.shape == (3, 2)
    assert np.mean(both.labels == truth) > 0.95
    assert np.mean(dice_scores(both.labels, truth, 3)) > np.mean(
        dice_scores(alone.labels, truth, 3)) + 0.2
    # classes are ordered by the first channel
    assert np.all(np.diff(both.model.means_[:, 0]) >= -0.1)


def test_bad_channels():
    a = np.zeros((8, 8))
    with pytest.raises(ValueError, match="channel 1 has shape"):
        segment([a, np.zeros((8, 9))], 2)
    with pytest.raises(ValueError, match="a list of channels takes features='intensity'"):
        segment([a, a], 2, features="rgb")
    with pytest.raises(ValueError, match="NaN"):
        segment([a, np.full((8, 8), np.nan)], 2)


def test_the_command_takes_priors_and_the_bias_field(tmp_path):
    from click.testing import CliRunner

    from emkit.cli import main

    image, truth = make_phantom((32, 32), snr=2.0, intensities=(4.0, 6.0, 8.0),
                                random_state=SEED)
    np.save(tmp_path / "img.npy", image)
    args = ["segment", str(tmp_path / "img.npy"), "-k", "3", "-o", str(tmp_path / "seg.npy")]
    for k, p in enumerate(_blurred_priors(truth)):
        np.save(tmp_path / f"p{k}.npy", p)
        args += ["--prior", str(tmp_path / f"p{k}.npy")]
    result = CliRunner().invoke(main, args + ["--bias-field", "--bias-smoothing", "2"])
    assert result.exit_code == 0, result.output
    assert "bias field:" in result.output
    labels = np.load(tmp_path / "seg.npy")
    assert np.mean(labels - 1 == truth) > 0.9
    # a wrong number of maps is a one-line error
    result = CliRunner().invoke(main, args[:-2])
    assert result.exit_code != 0 and "2 maps, but n_classes is 3" in result.output
