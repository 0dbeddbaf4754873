"""mclust's fourteen covariance models without R: mclust's parameter counts, each model's
constraint on the fitted covariances, M-steps that no constrained perturbation improves,
monotone EM, weights as repeated rows, scikit-learn's four as special cases, save/load."""

import warnings

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import multivariate_normal, ortho_group

from emkit import GaussianMixture, LikelihoodDecreaseWarning, io
from emkit.mixture._covariance import covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureProblem
from emkit.mixture._mclust_covariances import MCLUST_MODEL_NAMES

pytestmark = pytest.mark.numerics

MODELS = tuple(name for name in MCLUST_MODEL_NAMES if len(name) == 3)

#: mclust's nVarParams(model, d, G) for (d=4, G=3) and (d=2, G=5), from R's mclust 6.0.
N_VAR_PARAMS = {
    "EII": (1, 1), "VII": (3, 5), "EEI": (4, 2), "VEI": (6, 6), "EVI": (10, 6),
    "VVI": (12, 10), "EEE": (10, 3), "VEE": (12, 7), "EVE": (16, 7), "VVE": (18, 11),
    "EEV": (22, 7), "VEV": (24, 11), "EVV": (28, 11), "VVV": (30, 15),
}


def _data(n=90, seed=0):
    """Three elongated, differently oriented clusters in 3-D."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k, scale in enumerate(([3.0, 1.0, 0.3], [1.0, 0.5, 0.5], [2.0, 2.0, 0.2])):
        rotation = ortho_group.rvs(3, random_state=seed + k)
        blocks.append(rng.standard_normal((n // 3, 3)) * scale @ rotation + 4.0 * k)
    return np.vstack(blocks)


def _soft_partition(X, seed=1):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), len(X) // 3)
    resp = np.eye(3)[labels] * 0.7 + rng.uniform(0.0, 0.3, (len(X), 3))
    return resp / resp.sum(axis=1, keepdims=True)


def _m_step(name, X, resp, weights=None, reg_covar=0.0):
    problem = GaussianMixtureProblem(covariance_model(name), reg_covar)
    return problem.params_from_resp(X, resp, weights)


def _expected_loglik(X, resp, means, covariances):
    """sum_ik r_ik log N(x_i | mu_k, Sigma_k): what the covariance M-step maximises."""
    return sum(resp[:, k] @ multivariate_normal(means[k], covariances[k]).logpdf(X)
               for k in range(len(means)))


@pytest.mark.parametrize("name", MODELS)
def test_parameter_counts_are_mclusts(name):
    model = covariance_model(name)
    assert (model.n_covariance_parameters(3, 4),
            model.n_covariance_parameters(5, 2)) == N_VAR_PARAMS[name]
    assert model.n_parameters(3, 4) == N_VAR_PARAMS[name][0] + 3 * 4 + 2


def _decomposition(covariances):
    """Volumes (K,), shapes (K, D, descending) and orientations (K, D, D) of each matrix."""
    eigenvalues, vectors = np.linalg.eigh(covariances)
    eigenvalues, vectors = eigenvalues[:, ::-1], vectors[:, :, ::-1]
    volumes = np.exp(np.mean(np.log(eigenvalues), axis=1))
    return volumes, eigenvalues / volumes[:, None], vectors


def _check_constraint(name, covariances):
    volumes, shapes, _ = _decomposition(covariances)
    volume, shape, orientation = name
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=1e-8)
    if shape == "E":
        np.testing.assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape),
                                   rtol=1e-6)
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=1e-8)
    if orientation == "I":
        off = covariances - np.einsum("kii->ki", covariances)[:, :, None] * np.eye(3)
        np.testing.assert_array_equal(off, 0.0)
    if orientation == "E":  # every covariance is diagonal in the first one's axes
        axes = np.linalg.eigh(covariances[0])[1]
        rotated = np.einsum("ji,kjl,lm->kim", axes, covariances, axes)
        off = rotated - np.einsum("kii->ki", rotated)[:, :, None] * np.eye(3)
        assert np.max(np.abs(off)) <= 1e-7 * np.max(np.abs(rotated))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("reg_covar", [0.0, 1e-4])
def test_fitted_covariances_keep_the_constraint(name, reg_covar):
    X = _data()
    gm = GaussianMixture(3, covariance_type=name, reg_covar=reg_covar, random_state=0,
                         max_iter=20).fit(X)
    assert gm.covariances_.shape == gm.precisions_.shape == (3, 3, 3)
    _check_constraint(name, gm.covariances_)
    np.testing.assert_allclose(gm.precisions_ @ gm.covariances_,
                               np.broadcast_to(np.eye(3), (3, 3, 3)), atol=1e-8)


def _perturbations(name, covariances, rng, size=1e-4):
    """Covariances of the same model near ``covariances``: volume, shape or orientation
    moved by +-``size`` along random directions within the model's constraint (common
    moves for E, one per component for V, none for I). Away from the maximiser one of
    each pair raises the expected log-likelihood to first order."""
    K, D = covariances.shape[:2]
    volume, shape, orientation = name
    if orientation == "E":
        axes = np.broadcast_to(np.linalg.eigh(covariances[0])[1], covariances.shape)
    elif orientation == "V":
        axes = np.linalg.eigh(covariances)[1]
    else:
        axes = np.broadcast_to(np.eye(D), covariances.shape)
    eigenvalues = np.einsum("kji,kjl,kli->ki", axes, covariances, axes)

    def direction(letter, width):
        values = rng.standard_normal((1 if letter == "E" else K, width))
        return np.broadcast_to(values, (K, width))

    for group, letter in (("volume", volume), ("shape", shape), ("orientation", orientation)):
        if letter == "I":
            continue
        for _ in range(3):
            d = direction(letter, 1 if group == "volume" else D * D if group == "orientation"
                          else D)
            for sign in (1.0, -1.0):
                step = sign * size * d
                moved, turned = eigenvalues, axes
                if group == "volume":
                    moved = eigenvalues * np.exp(step)
                elif group == "shape":
                    moved = eigenvalues * np.exp(step - step.mean(axis=1, keepdims=True))
                else:
                    generators = step.reshape(K, D, D)
                    turned = np.stack([expm(g - g.T) @ a for g, a in zip(generators, axes)])
                yield np.einsum("kij,kj,klj->kil", turned, moved, turned)


@pytest.mark.parametrize("name", MODELS)
def test_no_constrained_perturbation_improves_the_m_step(name):
    X = _data(60)
    resp = _soft_partition(X)
    theta = _m_step(name, X, resp)
    best = _expected_loglik(X, resp, theta.means, theta.covariances)
    rng = np.random.default_rng(3)
    for nearby in _perturbations(name, theta.covariances, rng):
        _check_constraint(name, nearby)
        assert _expected_loglik(X, resp, theta.means, nearby) <= best + 1e-11 * abs(best)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tol=0
@pytest.mark.parametrize("name", MODELS)
def test_log_likelihood_never_decreases(name):
    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        gm = GaussianMixture(3, covariance_type=name, reg_covar=0.0, tol=0.0, max_iter=25,
                             init_params="random", random_state=1).fit(X)
    bounds = np.asarray(gm.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


@pytest.mark.parametrize("name", ["VEI", "EVE", "VVE", "VEV", "EVV"])
def test_weights_are_repeated_rows(name):
    X = _data(30)
    resp = _soft_partition(X)
    counts = np.arange(len(X)) % 3 + 1
    weighted = _m_step(name, X, resp, counts.astype(float))
    repeated = _m_step(name, np.repeat(X, counts, axis=0), np.repeat(resp, counts, axis=0))
    np.testing.assert_allclose(weighted.covariances, repeated.covariances, rtol=1e-7,
                               atol=1e-10)
    np.testing.assert_allclose(weighted.means, repeated.means, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, sklearn_name", [("VVV", "full"), ("EEE", "tied"),
                                                ("VVI", "diag"), ("VII", "spherical")])
def test_sklearns_four_are_mclust_models(name, sklearn_name):
    X = _data()
    kwargs = dict(n_components=3, random_state=0, max_iter=15, reg_covar=1e-3)
    ours = GaussianMixture(covariance_type=name, **kwargs).fit(X)
    theirs = GaussianMixture(covariance_type=sklearn_name, **kwargs).fit(X)
    full = covariance_model(sklearn_name).full_matrices(theirs.covariances_, 3, 3)
    np.testing.assert_allclose(ours.covariances_, full, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-9, atol=1e-12)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-12)
    assert ours.n_parameters() == theirs.n_parameters()


def test_univariate_models():
    X = _data()[:, :1]
    for name, multivariate in (("E", "EII"), ("V", "VII")):
        ours = GaussianMixture(2, covariance_type=name, random_state=0).fit(X)
        same = GaussianMixture(2, covariance_type=multivariate, random_state=0).fit(X)
        np.testing.assert_allclose(ours.covariances_, same.covariances_, rtol=1e-12)
        assert ours.n_parameters() == same.n_parameters()
    with pytest.raises(ValueError, match="univariate model and needs one feature"):
        GaussianMixture(2, covariance_type="E").fit(_data())


def test_unknown_name_is_rejected():
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixture(2, covariance_type="VVX").fit(_data())


@pytest.mark.parametrize("name", ["EVI", "VVE"])
def test_save_load_round_trip(name, tmp_path):
    X = _data()
    gm = GaussianMixture(3, covariance_type=name, random_state=0, max_iter=10).fit(X)
    io.save(gm, tmp_path / "model")
    loaded = io.load(tmp_path / "model")
    assert loaded.covariance_type == name
    np.testing.assert_array_equal(loaded.covariances_, gm.covariances_)
    np.testing.assert_array_equal(loaded.predict_proba(X), gm.predict_proba(X))
    assert loaded.bic(X) == gm.bic(X)


@pytest.mark.parametrize("name", ["EVE", "VVE"])
def test_orientation_steps_start_from_the_current_covariances(name, monkeypatch):
    """EVE's and VVE's M-steps start their iterations at the current covariances, so even
    a single iteration never lowers the expected log-likelihood (generalised EM)."""
    from emkit.mixture import _mclust_covariances

    X = _data()
    problem = GaussianMixtureProblem(covariance_model(name), 0.0)
    current = problem.params_from_resp(X, _soft_partition(X, seed=1), None)
    resp = _soft_partition(X, seed=2)
    stats = problem.statistics(X, resp, current.means)
    monkeypatch.setattr(_mclust_covariances, "INNER_MAX_ITER", 1)
    new = problem.m_step(stats, current)
    before = _expected_loglik(X, resp, new.means, current.covariances)
    assert _expected_loglik(X, resp, new.means, new.covariances) >= before - 1e-12 * abs(before)
