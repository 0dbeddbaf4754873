"""The fast E-steps (fused numba, whitened BLAS) equal the plain numpy reference."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from emkit.mixture import _kernels
from emkit.mixture._covariance import covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from conftest import COVARIANCE_TYPES

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU


def _theta(covariance_type, rng, K, D, dtype):
    cov = covariance_model(covariance_type)
    A = rng.randn(K, D, D) / np.sqrt(D)
    full = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(D)
    covariances = {"full": full, "tied": full[0], "diag": np.diagonal(full, axis1=1, axis2=2),
                   "spherical": np.diagonal(full, axis1=1, axis2=2).mean(1)}[covariance_type]
    weights = rng.dirichlet(np.ones(K))
    return GaussianMixtureParams(
        weights.astype(dtype), (rng.randn(K, D) * 3).astype(dtype), covariances.astype(dtype),
        cov.precisions_cholesky(covariances).astype(dtype))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n", [500, _kernels.PARALLEL_MIN_ROWS + 123])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("D", [3, 20, 100])  # tiles, row by row, whitened BLAS
def test_fast_statistics_equal_reference(covariance_type, n, weighted, D):
    rng = np.random.RandomState(0)
    K = 4
    theta = _theta(covariance_type, rng, K, D, np.float64)
    X = theta.means[rng.randint(K, size=n)] + rng.randn(n, D)
    w = rng.uniform(0, 2, size=n) if weighted else None
    if weighted:
        w[::7] = 0.0
    cov = covariance_model(covariance_type)
    fused = GaussianMixtureProblem(cov, 1e-6, kernel="fast")
    reference = GaussianMixtureProblem(cov, 1e-6, kernel="reference")
    s_f, ll_f = fused.e_step(X, theta, w)
    s_r, ll_r = reference.e_step(X, theta, w)
    assert_allclose(ll_f, ll_r, rtol=1e-12)
    for name in ("weight", "first", "second"):
        a, b = getattr(s_f, name), getattr(s_r, name)
        assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(), err_msg=name)
    assert_allclose(fused.weighted_log_prob(X, theta), reference.weighted_log_prob(X, theta),
                    rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fused_float32(covariance_type):
    rng = np.random.RandomState(1)
    theta64 = _theta(covariance_type, rng, 3, 2, np.float64)
    theta32 = GaussianMixtureParams(*(np.asarray(v, np.float32) for v in vars(theta64).values()))
    X = (theta64.means[rng.randint(3, size=2000)] + rng.randn(2000, 2))
    problem = GaussianMixtureProblem(covariance_model(covariance_type), 1e-6)
    s32, ll32 = problem.e_step(X.astype(np.float32), theta32, None)
    s64, ll64 = problem.e_step(X, theta64, None)
    assert s32.first.dtype == np.float32 and s32.second.dtype == np.float32
    assert_allclose(ll32, ll64, rtol=1e-5)
    assert_allclose(s32.weight, s64.weight, rtol=1e-4)


def test_row_with_zero_probability_everywhere_gives_no_nan():
    """A zero mixing weight (log -inf) in every component is handled, not NaN."""
    rng = np.random.RandomState(2)
    theta = _theta("diag", rng, 2, 2, np.float64)
    theta = GaussianMixtureParams(np.array([1.0, 0.0]), theta.means, theta.covariances,
                                  theta.precisions_cholesky)
    problem = GaussianMixtureProblem(covariance_model("diag"), 1e-6)
    stats, ll = problem.e_step(rng.randn(50, 2), theta, None)
    assert np.isfinite(ll)
    assert stats.weight[1] == 0.0 and np.all(np.isfinite(stats.second))
