"""emkit.segment: the plain pixel mixture, the Potts MRF, class order, masks, volumes."""

import warnings

import numpy as np
import pytest

from emkit import GaussianMixture, LikelihoodDecreaseWarning
from emkit.mixture._gaussian_problem import GaussianMixtureParams
from emkit.segment import dice_scores, make_phantom, phantom_truth, segment
from emkit.segment._colour import srgb_to_lab
from emkit.segment._features import pixel_features
from emkit.segment._potts import fit_potts

SEED = 0


@pytest.fixture(scope="module")
def phantom():
    return make_phantom((48, 48), snr=1.0, random_state=SEED)


def _kmeans_labels(image):
    from sklearn.cluster import KMeans

    km = KMeans(3, n_init=10, random_state=SEED).fit(image.reshape(-1, 1))
    return np.argsort(np.argsort(km.cluster_centers_.ravel()))[km.labels_].reshape(image.shape)


# -- the plain mixture is emkit.GaussianMixture ------------------------------------------
def test_plain_mixture_is_a_gaussian_mixture_fit_of_the_pixels():
    image, truth = make_phantom((40, 40), snr=4.0, random_state=SEED)
    result = segment(image, 3, random_state=SEED, tol=1e-10, max_iter=2000)
    X = image.reshape(-1, 1)
    peer = GaussianMixture(3, n_init=10, random_state=SEED, tol=1e-10, max_iter=2000,
                           reg_covar=result.model.reg_covar).fit(X)
    # same optimum, up to the order of the components
    order = np.argsort(peer.means_.ravel())
    np.testing.assert_allclose(result.model.means_, peer.means_[order], atol=1e-4)
    np.testing.assert_allclose(result.model.weights_, peer.weights_[order], atol=1e-4)
    rank = np.argsort(order)
    assert np.mean(result.labels.ravel() == rank[peer.predict(X)]) > 0.999
    assert result.lower_bounds[-1] == pytest.approx(peer.lower_bound_, abs=1e-7)
    # and the returned model labels the pixels as the segmentation does
    np.testing.assert_array_equal(result.model.predict(X), result.labels.ravel())
    np.testing.assert_allclose(result.model.predict_proba(X).T.reshape((3,) + image.shape),
                               result.probabilities, atol=1e-9)


def test_starts_robust_to_a_dominant_background():
    # the default GaussianMixture start (one k-means) splits the background of this phantom
    image, truth = make_phantom((64, 64), snr=2.0, random_state=SEED)
    X = image.reshape(-1, 1)
    naive = GaussianMixture(3, random_state=SEED).fit(X)
    result = segment(image, 3, random_state=SEED)
    assert result.lower_bounds[-1] >= naive.lower_bound_ - 1e-9
    np.testing.assert_allclose(np.sort(result.model.means_.ravel()), [0, 1, 2], atol=0.15)


def test_potts_at_zero_smoothing_is_exactly_the_gaussian_mixture():
    image, _ = make_phantom((30, 36), snr=1.5, random_state=SEED)
    feats = pixel_features(image)
    start = GaussianMixture(3, max_iter=1, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(feats.X)
    theta = GaussianMixtureParams(start.weights_, start.means_, start.covariances_,
                                  start.precisions_cholesky_)
    peer = GaussianMixture(3, weights_init=start.weights_, means_init=start.means_,
                           precisions_init=start.precisions_, tol=1e-10, max_iter=25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer.fit(feats.X)
        run, q = fit_potts(feats.X, feats.index, theta, beta=0.0, tol=1e-10, max_iter=25)
    np.testing.assert_allclose(run.lower_bounds, peer.lower_bounds_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run.theta.means, peer.means_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(q, peer.predict_proba(feats.X), atol=1e-10)


@pytest.mark.parametrize("neighbourhood", ["faces", "full"])
@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_potts_objective_never_decreases(phantom, neighbourhood, covariance_type):
    image, _ = phantom
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = segment(image, 3, smoothing=0.8, neighbourhood=neighbourhood,
                         covariance_type=covariance_type, random_state=SEED, tol=1e-6,
                         max_iter=40)
    assert not [w for w in caught if issubclass(w.category, LikelihoodDecreaseWarning)]
    bounds = np.asarray(result.lower_bounds)
    assert len(bounds) > 3 and np.all(np.isfinite(bounds))
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_more_mean_field_sweeps_reach_a_higher_objective_per_iteration(phantom):
    # each sweep is an exact block-coordinate ascent step: more sweeps, at least as high
    image, _ = phantom
    one = segment(image, 3, smoothing=0.8, random_state=SEED, max_iter=2, tol=0.0)
    three = segment(image, 3, smoothing=0.8, random_state=SEED, max_iter=2, tol=0.0,
                    mean_field_sweeps=3)
    assert three.lower_bounds[0] >= one.lower_bounds[0] - 1e-12


# -- accuracy on phantoms ----------------------------------------------------------------
def test_smoothing_beats_plain_mixture_at_low_snr_and_both_beat_kmeans():
    image, truth = make_phantom((48, 48), snr=1.5, random_state=SEED)
    plain = dice_scores(segment(image, 3, random_state=SEED).labels, truth, 3)
    mrf = dice_scores(segment(image, 3, smoothing=1.0, random_state=SEED).labels, truth, 3)
    kmeans = dice_scores(_kmeans_labels(image), truth, 3)
    assert mrf.mean() > plain.mean() + 0.15
    assert mrf.mean() > 0.85
    assert plain.mean() > kmeans.mean() and mrf.mean() > kmeans.mean()


def test_volume_with_smoothing():
    image, truth = make_phantom((16, 24, 24), snr=2.0, random_state=SEED)
    plain = segment(image, 3, random_state=SEED)
    mrf = segment(image, 3, smoothing=0.5, random_state=SEED)
    assert mrf.labels.shape == image.shape and mrf.probabilities.shape == (3,) + image.shape
    assert dice_scores(mrf.labels, truth, 3).mean() > dice_scores(plain.labels, truth,
                                                                  3).mean()
    assert dice_scores(mrf.labels, truth, 3).mean() > 0.8


def test_high_snr_is_segmented_exactly():
    image, truth = make_phantom((32, 32), snr=20.0, random_state=SEED)
    for smoothing in (0.0, 0.5):
        np.testing.assert_array_equal(segment(image, 3, smoothing=smoothing,
                                              random_state=SEED).labels, truth)


# -- class order, reproducibility, probabilities -----------------------------------------
def test_classes_ordered_by_mean_intensity_whatever_the_values():
    # class k of the phantom is the k-th darkest; reversing the intensities reverses labels
    image, truth = make_phantom((32, 32), snr=10.0, intensities=(0.0, 1.0, 2.0),
                                random_state=SEED)
    bright = segment(image, 3, random_state=SEED)
    dark = segment(-image, 3, random_state=SEED)
    assert np.all(np.diff(bright.model.means_.ravel()) > 0)
    assert np.all(np.diff(dark.model.means_.ravel()) > 0)
    np.testing.assert_array_equal(bright.labels, truth)
    np.testing.assert_array_equal(dark.labels, 2 - truth)


def test_same_seed_same_result_and_seed_free_class_order(phantom):
    image, _ = phantom
    a = segment(image, 3, smoothing=0.5, random_state=3)
    b = segment(image, 3, smoothing=0.5, random_state=3)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)
    c = segment(image, 3, smoothing=0.5, random_state=7)
    assert np.mean(a.labels == c.labels) > 0.98  # another seed: same classes, same order


@pytest.mark.parametrize("smoothing", [0.0, 0.7])
def test_probabilities_sum_to_one_and_labels_are_their_argmax(phantom, smoothing):
    image, _ = phantom
    result = segment(image, 3, smoothing=smoothing, random_state=SEED)
    p = result.probabilities
    assert p.shape == (3,) + image.shape and np.all(np.isfinite(p))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, atol=1e-9)
    np.testing.assert_array_equal(result.labels, np.argmax(p, axis=0))
    fractions = result.class_fractions()
    np.testing.assert_allclose(fractions, np.bincount(result.labels.ravel(), minlength=3)
                               / result.labels.size)


@pytest.mark.parametrize("smoothing", [0.0, 0.5])
@pytest.mark.filterwarnings("ignore:Every one of")  # the classes sit at the reg_covar floor
def test_constant_regions_give_no_nan(smoothing):
    # integer image with large exactly-constant regions: no class may collapse to NaN
    image = np.zeros((40, 40), dtype=np.uint8)
    image[10:30, 5:20] = 100
    image[5:15, 25:38] = 200
    result = segment(image, 3, smoothing=smoothing, random_state=SEED)
    assert np.all(np.isfinite(result.probabilities)) and np.all(np.isfinite(
        result.lower_bounds))
    truth = np.select([image == 0, image == 100], [0, 1], 2)
    np.testing.assert_array_equal(result.labels, truth)


# -- masks ---------------------------------------------------------------------------------
def test_mask_excludes_pixels_and_they_get_minus_one(phantom):
    image, truth = phantom
    mask = np.zeros(image.shape, dtype=bool)
    mask[4:44, 6:40] = True
    garbage = image.copy()
    garbage[~mask] = np.nan  # never read
    result = segment(garbage, 3, smoothing=0.5, mask=mask, random_state=SEED)
    assert np.all(result.labels[~mask] == -1)
    assert np.all(result.labels[mask] >= 0)
    assert np.all(result.probabilities[:, ~mask] == 0)
    np.testing.assert_allclose(result.probabilities[:, mask].sum(axis=0), 1.0, atol=1e-9)
    # the fit sees only the masked pixels: the plain mixture equals a fit of those rows
    image, _ = make_phantom(image.shape, snr=4.0, random_state=SEED)
    plain = segment(image, 3, mask=mask, random_state=SEED, tol=1e-10, max_iter=2000)
    peer = GaussianMixture(3, n_init=10, random_state=SEED, tol=1e-10, max_iter=2000,
                           reg_covar=plain.model.reg_covar).fit(image[mask][:, None])
    np.testing.assert_allclose(plain.model.means_.ravel(), np.sort(peer.means_.ravel()),
                               atol=1e-4)
    assert plain.lower_bounds[-1] == pytest.approx(peer.lower_bound_, abs=1e-7)


def test_mask_leaves_out_a_region_of_another_class():
    # without the mask a bright outside region would need its own class
    image, truth = make_phantom((40, 40), snr=8.0, random_state=SEED)
    image[:, :8] = 50.0
    mask = np.ones(image.shape, dtype=bool)
    mask[:, :8] = False
    result = segment(image, 3, mask=mask, random_state=SEED)
    np.testing.assert_array_equal(result.labels[mask], truth[mask])


# -- features ------------------------------------------------------------------------------
def _colour_phantom():
    truth = phantom_truth((40, 40))
    colours = np.array([[30, 60, 200], [200, 40, 40], [40, 190, 60]], dtype=float)  # B R G
    rng = np.random.RandomState(SEED)
    image = np.clip(colours[truth] + rng.normal(0, 20, truth.shape + (3,)), 0, 255)
    return image.astype(np.uint8), truth


@pytest.mark.parametrize("features", ["rgb", "lab"])
def test_colour_features_separate_colours_of_similar_brightness(features):
    image, truth = _colour_phantom()
    result = segment(image, 3, features=features, smoothing=0.5, random_state=SEED)
    assert result.feature_names == (["red", "green", "blue"] if features == "rgb"
                                    else ["L*", "a*", "b*"])
    # each true class is one found class (blue < red < green in luma and in L*)
    assert np.mean(result.labels == truth) > 0.98


def test_intensity_of_a_colour_image_is_its_luma():
    image, _ = _colour_phantom()
    feats = pixel_features(image, "intensity")
    expected = image.astype(float) @ [0.299, 0.587, 0.114]
    np.testing.assert_allclose(feats.X[:, 0], expected.ravel())


def test_lab_of_reference_colours():
    # CIE L*a*b* (D65) of sRGB primaries and white, standard published values
    rgb = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                    [0.0, 0.0, 0.0]])
    expected = np.array([[100.0, 0.0, 0.0], [53.24, 80.09, 67.20], [87.73, -86.18, 83.18],
                         [32.30, 79.19, -107.86], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(srgb_to_lab(rgb), expected, atol=0.02)


@pytest.mark.filterwarnings("ignore:Every one of")  # noise-free coordinates: tight classes
def test_spatial_coordinates_split_equal_intensities_by_place():
    # two separate squares of the same intensity: with coordinates they become two classes
    rng = np.random.RandomState(SEED)
    image = rng.normal(0, 0.1, (40, 60))
    image[10:30, 5:25] += 5.0
    image[10:30, 35:55] += 5.0
    plain = segment(image, 3, random_state=SEED)
    spatial = segment(image, 3, spatial=20.0, random_state=SEED)
    assert spatial.feature_names == ["intensity", "y", "x"]
    left, right = spatial.labels[10:30, 5:25], spatial.labels[10:30, 35:55]
    assert len(np.unique(left)) == 1 and len(np.unique(right)) == 1
    assert left[0, 0] != right[0, 0]
    assert len(np.unique(plain.labels[10:30, 5:55][:, list(range(20)) + list(
        range(30, 50))])) == 1


# -- a real photograph ---------------------------------------------------------------------
def test_real_photograph_flower_class_covers_the_flower():
    from emkit.segment._demo import FLOWER_DISC, disc_mask, load_flower

    scale = 4
    photo = load_flower(scale)
    result = segment(photo, 3, features="lab", smoothing=0.5, random_state=SEED)
    row, col, radius = (v // scale for v in FLOWER_DISC)
    heart = disc_mask(photo.shape[:2], row, col, radius)
    flower = result.labels == 2  # the brightest class (L*)
    assert np.mean(flower[heart]) > 0.9
    # the dark foliage in the image's left and right margins is mostly not flower
    margins = np.zeros(photo.shape[:2], dtype=bool)
    margins[:, : photo.shape[1] // 8] = margins[:, -photo.shape[1] // 8:] = True
    assert np.mean(flower[margins]) < 0.15
    # and the flower's class is the yellow one: high b*, far above the foliage's
    assert result.model.means_[2, 2] > result.model.means_[0, 2] + 20


def test_demo_runs(capsys):
    from emkit.segment._demo import run_demo

    summary = run_demo(seed=SEED)
    out = capsys.readouterr().out
    assert "flower.jpg" in out and "Dice" in out
    assert summary["flower_disc_coverage"] > 0.9
    assert summary["phantom_dice_mrf"] > summary["phantom_dice_plain"]


# -- the Potts field's bookkeeping -----------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 5, 7), (4, 5, 6)])
def test_edge_weight_counts_neighbour_pairs_inside_the_mask(shape):
    from emkit.segment._potts import LabelField, Neighbourhood

    Z, Y, X = shape
    ndim = 2 if Z == 1 else 3
    index = np.arange(Z * Y * X, dtype=np.int32).reshape(shape)
    field = LabelField(np.zeros((index.size, 1)), index)
    faces = (Z - 1) * Y * X + Z * (Y - 1) * X + Z * Y * (X - 1)
    assert field.edge_weight(Neighbourhood("faces", ndim)) == pytest.approx(faces)
    # brute force over every pair of sites for the full neighbourhood: weights 1/distance,
    # scaled so that a site's weights sum to 2 * ndim (4 or 6) as for the faces
    sites = np.argwhere(np.ones(shape, dtype=bool))
    diff = np.abs(sites[:, None, :] - sites[None, :, :])
    near = diff.max(axis=2) == 1
    inverse = 1.0 / np.sqrt((diff**2).sum(axis=2).clip(min=1))
    scale = 2 * ndim / {2: 4 + 4 / np.sqrt(2), 3: 6 + 12 / np.sqrt(2) + 8 / np.sqrt(3)}[ndim]
    full = scale * np.sum(inverse[near]) / 2
    full_neighbours = Neighbourhood("full", ndim)
    assert full_neighbours.weights.sum() == pytest.approx(2 * ndim)
    assert field.edge_weight(full_neighbours) == pytest.approx(full)
    # a site outside the mask takes its pairs with it
    index[0, 0, 0] = -1
    masked = LabelField(np.zeros((index.size, 1)), index)
    assert masked.edge_weight(Neighbourhood("faces", ndim)) == pytest.approx(faces - ndim)


def test_large_images_run_in_float32_with_the_same_answer(monkeypatch):
    import emkit.segment._features as features

    image, truth = make_phantom((24, 24), snr=3.0, random_state=SEED)
    reference = segment(image, 3, smoothing=0.5, random_state=SEED)
    monkeypatch.setattr(features, "FLOAT32_SITES", 100)  # this image now counts as large
    small = segment(image, 3, smoothing=0.5, random_state=SEED)
    assert small.probabilities.dtype == np.float32 and small.model.means_.dtype == np.float32
    np.testing.assert_allclose(small.probabilities.sum(axis=0), 1.0, atol=1e-5)
    assert np.mean(small.labels == reference.labels) > 0.99
    np.testing.assert_allclose(small.model.means_, reference.model.means_, atol=1e-3)


def test_colour_volume():
    truth = phantom_truth((6, 16, 16))
    colours = np.array([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    rng = np.random.RandomState(SEED)
    volume = np.clip(colours[truth] + rng.normal(0, 0.05, truth.shape + (3,)), 0, 1)
    result = segment(volume, 3, features="lab", smoothing=0.5, random_state=SEED)
    assert result.labels.shape == truth.shape
    # classes by L*: blue < red < green
    np.testing.assert_array_equal(result.labels, truth)
