"""emkit.segment's bias field: the cosine basis, the objective, the exact M-step, and
recovery of a known field on an image whose classes are finer than the field."""

import warnings

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning

from emkit.mixture._covariance import covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureParams
from emkit.segment import segment
from emkit.segment._bias import BiasedParams, BiasModel, CosineBasis
from emkit.segment._features import pixel_features
from emkit.segment._potts import fit_potts

pytestmark = pytest.mark.numerics

SEED = 0


def _basis_rows(basis):
    """The centred basis at the sites, function by function, by its definition."""
    rows = []
    for k in basis.frequencies:
        value = np.ones(basis.shape)
        for axis, (n, kk) in enumerate(zip(basis.shape, k)):
            line = np.cos(np.pi * kk * (np.arange(n) + 0.5) / n)
            value = value * line.reshape((-1,) + (1,) * (len(basis.shape) - axis - 1))
        rows.append(value[basis_mask(basis)])
    rows = np.array(rows).T
    return rows - rows.mean(axis=0)


def basis_mask(basis):
    mask = np.zeros(basis.shape, dtype=bool)
    mask[basis._box] = basis._mask
    return mask


def _fine_image(shape=(72, 80), amplitude=0.3, seed=SEED):
    """Classes in 4 x 4 blocks (finer than any field), intensities 4, 6, 8, noise 0.4,
    times a ramp exp(amplitude * t), t from -1 to 1 along the last axis."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 3, size=(shape[0] // 4, shape[1] // 4))
    truth = np.kron(blocks, np.ones((4, 4), dtype=np.int64))
    clean = np.array([4.0, 6.0, 8.0])[truth] + 0.4 * rng.standard_normal(shape)
    log_field = amplitude * np.linspace(-1, 1, shape[1])[None, :] * np.ones(shape)
    return clean, clean * np.exp(log_field), truth, log_field


@pytest.mark.parametrize("shape", [(7, 9, 11), (12, 10)])
def test_cosine_basis_sums_equal_the_explicit_basis(shape):
    rng = np.random.default_rng(SEED)
    mask = rng.random(shape) > 0.3
    basis = CosineBasis(mask, order=3)
    rows = _basis_rows(basis)
    w, v = rng.random(mask.sum()), rng.normal(size=mask.sum())
    first, gram = basis.sums(w)
    np.testing.assert_allclose(first, rows.T @ w, atol=1e-10)
    np.testing.assert_allclose(gram, (rows * w[:, None]).T @ rows, atol=1e-10)
    np.testing.assert_allclose(basis.sums(w, v), rows.T @ (w * v), atol=1e-10)
    coef = rng.normal(size=(2, len(basis)))
    np.testing.assert_allclose(basis.field(coef, sites_only=True), rows @ coef.T, atol=1e-12)
    np.testing.assert_allclose(basis.field(coef)[:, mask], (rows @ coef.T).T, atol=1e-12)
    # centred: the field's mean over the mask is 0
    assert abs(basis.field(coef)[0][mask].mean()) < 1e-12


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_objective_is_the_penalised_log_density_of_the_intensities(covariance_type):
    _, image, _, _ = _fine_image((24, 28))
    feats = pixel_features(image)
    X = np.log(feats.X)
    bias = BiasModel(CosineBasis(feats.mask), X, 0.5)
    rng = np.random.default_rng(1)
    coef = 0.1 * rng.normal(size=(1, len(bias.basis)))
    means, sd = np.log([[4.0], [6.0], [8.0]]), np.array([0.12, 0.08, 0.06])
    weights = np.array([0.3, 0.3, 0.4])
    model = covariance_model(covariance_type)
    covariances = sd**2 if covariance_type == "spherical" else (sd**2)[:, None, None]
    theta = GaussianMixtureParams(weights, means, covariances,
                                  model.precisions_cholesky(covariances))
    run, _ = fit_potts(X, feats.index, theta, beta=0.0, covariance_type=covariance_type,
                       reg_covar=0.0, bias=bias, bias_start=coef, max_iter=1, tol=0.0)
    # by hand: log sum_k w_k N(log I - f | mu_k, s_k) - log I (the Jacobian of the log),
    # minus the prior's penalty, per site
    y = X[:, 0] - bias.values(coef)[:, 0]
    density = sum(w * norm.pdf(y, m, s) for w, m, s in zip(weights, means[:, 0], sd))
    penalty = 0.5 * 0.5 * X.shape[0] * np.sum(bias.basis.energy * coef[0] ** 2)
    expected = (np.sum(np.log(density) - X[:, 0]) - penalty) / X.shape[0]
    assert run.lower_bounds[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_m_step_is_the_exact_maximiser():
    _, image, _, _ = _fine_image((20, 24))
    feats = pixel_features(image)
    X = np.log(feats.X)
    bias = BiasModel(CosineBasis(feats.mask), X, 0.3)
    theta = GaussianMixtureParams(np.full(3, 1 / 3), np.log([[4.0], [6.0], [8.0]]),
                                  np.full((3, 1, 1), 0.01), np.full((3, 1, 1), 10.0))
    start = np.zeros((1, len(bias.basis)))
    run, q = fit_potts(X, feats.index, theta, beta=0.0, reg_covar=0.0, bias=bias,
                       bias_start=start, max_iter=1, tol=0.0)
    # the field given the fitted classes: weighted least squares by brute force
    problem_stats, _ = _stats_at(feats, X, bias, BiasedParams(theta, start))
    new = run.theta
    rows = _basis_rows(bias.basis)
    precision = 1.0 / new.gaussian.covariances[:, 0, 0]
    w = problem_stats["q"] * precision
    lhs = sum((rows * w[:, [k]]).T @ rows for k in range(3))
    lhs += np.diag(bias.penalty_weights)
    rhs = sum(rows.T @ (w[:, k] * (X[:, 0] - new.gaussian.means[k, 0])) for k in range(3))
    np.testing.assert_allclose(new.coef[0], np.linalg.solve(lhs, rhs), atol=1e-8)
    # and the classes given that field (the M-step's cycles stop when the field moves by
    # less than 1e-6): the weighted means of the corrected rows
    corrected = X[:, 0] - rows @ new.coef[0]
    qk = problem_stats["q"]
    means = (qk * corrected[:, None]).sum(axis=0) / qk.sum(axis=0)
    np.testing.assert_allclose(new.gaussian.means[:, 0], means, atol=1e-5)


def _stats_at(feats, X, bias, theta):
    from emkit.mixture._gaussian_problem import GaussianMixtureProblem
    from emkit.segment._potts import LabelField, Neighbourhood, PottsMixtureProblem

    field = LabelField(X, feats.index)
    problem = bias.problem(PottsMixtureProblem(
        GaussianMixtureProblem(covariance_model("full"), 0.0), 0.0, Neighbourhood("faces", 2),
        n_sites=X.shape[0], edge_weight=1.0))
    stats, _ = problem.field_e_step(field, theta)
    return {"q": field.q.copy(), "stats": stats}, problem


def test_corrected_statistics_equal_those_of_the_corrected_rows():
    _, image, _, _ = _fine_image((20, 24))
    feats = pixel_features([image, np.sqrt(image) + 1.0])
    X = np.log(feats.X)
    bias = BiasModel(CosineBasis(feats.mask), X, 1.0)
    theta = GaussianMixtureParams(np.full(3, 1 / 3), np.log([[4.0, 3], [6, 3.4], [8, 3.8]]),
                                  np.tile(0.01 * np.eye(2), (3, 1, 1)),
                                  np.tile(10.0 * np.eye(2), (3, 1, 1)))
    coef = 0.05 * np.random.default_rng(2).normal(size=(2, len(bias.basis)))
    out, _ = _stats_at(feats, X, bias, BiasedParams(theta, np.zeros_like(coef)))
    corrected_rows = X - bias.values(coef)
    for kind in ("full", "tied", "diag", "spherical"):
        cov = covariance_model(kind)
        got = out["stats"].corrected(coef, cov)
        first, second = cov.second_moments(corrected_rows, out["q"], theta.means)
        np.testing.assert_allclose(got.first, first, atol=1e-9)
        np.testing.assert_allclose(got.second, second, atol=1e-9)


@pytest.mark.parametrize("smoothing", [0.0, 1.0])
def test_bias_model_recovers_a_ramp_and_the_accuracy(smoothing):
    clean, biased, truth, log_field = _fine_image(amplitude=np.log(1.4))
    reference = segment(clean, 3, smoothing=smoothing, random_state=SEED)
    plain = segment(biased, 3, smoothing=smoothing, random_state=SEED)
    result = segment(biased, 3, smoothing=smoothing, bias_field=True, random_state=SEED)
    accuracy = {name: np.mean(r.labels == truth)
                for name, r in (("reference", reference), ("plain", plain),
                                ("bias", result))}
    assert accuracy["bias"] >= accuracy["reference"] - 0.02
    assert accuracy["bias"] >= accuracy["plain"] + 0.05
    # the field: positive, finite, the image's shape, geometric mean 1, close to the truth
    field = result.bias_field
    assert field.shape == biased.shape and np.all(np.isfinite(field)) and field.min() > 0
    assert abs(np.mean(np.log(field))) < 1e-9
    truth_field = log_field - log_field.mean()
    assert np.max(np.abs(np.log(field) - truth_field)) < 0.1
    np.testing.assert_allclose(result.corrected, biased / field, rtol=1e-12)
    assert result.feature_names == ["log intensity"]
    # EM never decreased the objective
    assert np.all(np.diff(result.lower_bounds) >= -1e-9)


def test_objective_is_monotone_with_potts_and_channels():
    clean, biased, truth, _ = _fine_image((48, 52), amplitude=0.3)
    second = np.exp(0.2 * np.linspace(-1, 1, 48))[:, None] * (2.0 + 0.5 * (truth == 2))
    channels = [biased, second + 0.05 * np.abs(clean)]
    result = segment(channels, 3, smoothing=0.8, bias_field=True, random_state=SEED)
    assert result.bias_field.shape == (2, 48, 52) and result.corrected.shape == (2, 48, 52)
    # the Potts and field EM from no field at all: many iterations, none decreasing
    feats = pixel_features(channels)
    X = np.log(feats.X)
    theta = GaussianMixtureParams(np.full(3, 1 / 3), result.model.means_ + 0.05,
                                  result.model.covariances_,
                                  result.model.precisions_cholesky_)
    bias = BiasModel(CosineBasis(feats.mask), X, 1.0)
    # (reg_covar=0: every M-step is then exact, and no decrease at all is allowed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no LikelihoodDecreaseWarning from the engine
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        run, _ = fit_potts(X, feats.index, theta, beta=0.8, reg_covar=0.0, bias=bias,
                           tol=0.0, max_iter=40)
    assert run.n_iter == 40
    assert np.all(np.diff(run.lower_bounds) >= -1e-9)


def test_bias_field_is_off_by_default():
    image, _, _, _ = _fine_image((16, 16))
    result = segment(image, 3, random_state=SEED)
    assert result.bias_field is None and result.corrected is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(bias_field=True, spatial=1.0), "spatial"),
    (dict(bias_field="yes"), "bias_field must be"),
    (dict(bias_field=True, bias_smoothing=-1.0), "bias_smoothing"),
    (dict(bias_smoothing=float("nan")), "bias_smoothing"),
])
def test_bad_bias_parameters(kwargs, message):
    image, _, _, _ = _fine_image((16, 16))
    with pytest.raises(ValueError, match=message):
        segment(image, 3, **kwargs)


def test_non_positive_intensities_are_refused_unless_masked():
    image, _, _, _ = _fine_image((16, 16))
    image[0, :3] = 0.0
    with pytest.raises(ValueError, match="> 0 inside the mask; 3 sites"):
        segment(image, 3, bias_field=True)
    mask = image > 0
    result = segment(image, 3, bias_field=True, mask=mask, random_state=SEED)
    assert np.all(result.labels[~mask] == -1) and np.all(np.isfinite(result.bias_field))
