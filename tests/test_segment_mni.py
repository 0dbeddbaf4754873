"""emkit.segment on a real brain: nilearn's MNI152 T1 template (2 mm, shipped inside the
package) with noise and an intensity ramp, against the argmax of its tissue maps."""

import numpy as np
import pytest

from emkit.segment import segment

pytestmark = pytest.mark.numerics

SEED = 0
#: axial slices kept (of 95): a slab through the ventricles and the deep grey matter
SLAB = slice(36, 56)


@pytest.fixture(scope="module")
def brain():
    datasets = pytest.importorskip(
        "nilearn.datasets", reason="nilearn is not installed (pip install nilearn)")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nilearn's own deprecation notes
        t1 = datasets.load_mni152_template(resolution=2).get_fdata()[..., SLAB]
        gm = datasets.load_mni152_gm_template(resolution=2).get_fdata()[..., SLAB]
        wm = datasets.load_mni152_wm_template(resolution=2).get_fdata()[..., SLAB]
        mask = datasets.load_mni152_brain_mask(resolution=2).get_fdata()[..., SLAB] > 0
    csf = np.clip(1.0 - gm - wm, 0.0, None)
    reference = np.argmax(np.stack([csf, gm, wm]), axis=0)
    rng = np.random.default_rng(SEED)
    noisy = t1 + 0.05 * t1[mask].max() * rng.standard_normal(t1.shape)
    noisy = np.where(mask, np.clip(noisy, 1e-3, None), 0.0)
    return noisy, mask, reference


def _accuracy(image, mask, reference, bias_field):
    result = segment(image, 3, mask=mask, smoothing=1.0, bias_field=bias_field,
                     bias_smoothing=1.0, random_state=SEED)
    return float(np.mean(result.labels[mask] == reference[mask])), result


@pytest.fixture(scope="module")
def unbiased(brain):
    noisy, mask, reference = brain
    return _accuracy(noisy, mask, reference, True)[0]


@pytest.mark.parametrize("amplitude", [0.2, 0.4])
def test_bias_model_undoes_an_intensity_ramp(brain, unbiased, amplitude):
    noisy, mask, reference = brain
    ramp = 1.0 + amplitude * np.linspace(-1.0, 1.0, noisy.shape[1])[None, :, None]
    biased = noisy * ramp
    corrected, result = _accuracy(biased, mask, reference, True)
    plain, _ = _accuracy(biased, mask, reference, False)
    assert unbiased > 0.85
    assert abs(corrected - unbiased) <= 0.02
    assert corrected >= plain + 0.02
    # the field found is the ramp, up to a constant factor
    log_field = np.log(result.bias_field[mask])
    log_ramp = np.log(np.broadcast_to(ramp, noisy.shape)[mask])
    assert np.corrcoef(log_field, log_ramp)[0, 1] > 0.9
