"""The compiled pieces of mclust's M-steps against plain numpy on the same numbers."""

import numpy as np
import pytest

from emkit.mixture import _mclust_kernels as kernels
from emkit.mixture._covariance import _precision_cholesky_of, covariance_model

pytestmark = pytest.mark.numerics


def _spd(seed, K=4, D=5):
    A = np.random.RandomState(seed).randn(K, D, D)
    return A @ A.transpose(0, 2, 1) + 0.1 * np.eye(D)


@pytest.mark.parametrize("seed", range(4))
def test_nearest_rotation_is_the_polar_factor_of_the_svd(seed):
    f = np.random.RandomState(seed).randn(6, 6)
    u, _, vt = np.linalg.svd(f)
    np.testing.assert_allclose(kernels._nearest_rotation(f), (u @ vt).T, atol=1e-12)


def test_nearest_rotation_of_a_singular_matrix_is_still_orthogonal():
    f = np.random.RandomState(5).randn(5, 5)
    f[:, 0] = f[:, 1]
    rotation = kernels._nearest_rotation(f)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(5), atol=1e-12)
    # it maximises tr(R^T f) over rotations as the SVD's factor does
    u, s, vt = np.linalg.svd(f)
    assert np.trace(rotation @ f) == pytest.approx(s.sum(), rel=1e-12)


def test_precision_factors_and_log_normaliser_equal_fulls():
    covariances = _spd(1)
    factors, ok = kernels.precisions_cholesky(covariances)
    assert ok
    np.testing.assert_allclose(factors, _precision_cholesky_of(covariances), rtol=1e-12,
                               atol=1e-14)
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    ours = covariance_model("VVV").log_normaliser(weights, factors, 5)
    np.testing.assert_allclose(ours, covariance_model("full").log_normaliser(
        weights, factors, 5), rtol=1e-13)
    bad = covariances.copy()
    bad[2] = -np.eye(5)
    assert not kernels.precisions_cholesky(bad)[1]


def test_regularised_scatter_equals_the_moment_formula():
    rng = np.random.RandomState(2)
    X, resp = rng.randn(50, 3), rng.dirichlet(np.ones(4), 50)
    anchor = rng.randn(4, 3)
    weight = resp.sum(axis=0)
    first = np.stack([(resp[:, k:k + 1] * (X - anchor[k])).sum(axis=0) for k in range(4)])
    second = np.stack([(resp[:, k:k + 1] * (X - anchor[k])).T @ (X - anchor[k])
                       for k in range(4)])
    shift = first / weight[:, None]
    scatter = kernels.regularised_scatter(second, first, weight, shift, weight, 1e-3, 0.0)
    means = anchor + shift
    for k in range(4):
        expected = (resp[:, k:k + 1] * (X - means[k])).T @ (X - means[k])
        expected += weight[k] * 1e-3 * np.eye(3)
        np.testing.assert_allclose(scatter[k], expected, rtol=1e-10, atol=1e-12)
