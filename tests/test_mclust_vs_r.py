"""mclust's fourteen covariance models against R's mclust itself: from the same soft
partition of iris, one M-step (``mstep``) and the E-step's log-likelihood (``estep``), and
mclust's parameter counts. Runs where ``Rscript`` with mclust is installed."""

import shutil
import subprocess

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import load_iris

from emkit.mixture._covariance import covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureProblem
from emkit.mixture._mclust_prior import PRIOR_MODELS, ConjugatePrior, MapGaussianMixtureProblem

pytestmark = pytest.mark.numerics

MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV",
          "VEV", "EVV", "VVV")

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.table(args[1])); z <- as.matrix(read.table(args[2]))
if (ncol(X) == 1) X <- X[, 1]
control <- emControl(tol = c(1e-10, 1e-14))
prior <- if (args[4] == "prior") priorControl() else NULL
for (m in strsplit(args[3], ",")[[1]]) {
  ms <- if (args[5] == "me") me(modelName = m, data = X, z = z, prior = prior,
                                control = emControl(tol = c(1e-13, 1e-14)))
        else mstep(modelName = m, data = X, z = z, control = control, prior = prior)
  es <- estep(modelName = m, data = X, parameters = ms$parameters)
  v <- ms$parameters$variance
  sigma <- if (NCOL(X) == 1) rep(v$sigmasq, length.out = ncol(z)) else as.vector(v$sigma)
  cat(m, nVarParams(m, NCOL(X), ncol(z)), format(es$loglik, digits = 17),
      format(c(ms$parameters$pro, as.vector(ms$parameters$mean), sigma), digits = 17), "\n")
}
"""


def _r_mclust_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True)
    return probe.returncode == 0


pytestmark = [pytestmark, pytest.mark.skipif(not _r_mclust_available(),
                                             reason="needs Rscript with R's mclust package")]


def _soft_partition(n, seed=0):
    rng = np.random.default_rng(seed)
    resp = np.eye(3)[np.repeat(np.arange(3), n // 3)] * 0.8 + rng.uniform(0, 0.2, (n, 3))
    return resp / resp.sum(axis=1, keepdims=True)


def _mclust(X, z, models, tmp_path, prior=False, em=False):
    """{model: (n_var_params, loglik, weights, means (K, D), covariances (K, D, D))} of
    mclust's ``mstep`` from ``z`` (``em``: ``me``, EM to convergence from ``z``), with
    ``priorControl()`` when ``prior``."""
    (tmp_path / "fit.R").write_text(R_SCRIPT)
    np.savetxt(tmp_path / "X.txt", X, fmt="%.17g")
    np.savetxt(tmp_path / "z.txt", z, fmt="%.17g")
    out = subprocess.run(["Rscript", str(tmp_path / "fit.R"), str(tmp_path / "X.txt"),
                          str(tmp_path / "z.txt"), ",".join(models),
                          "prior" if prior else "none", "me" if em else "mstep"],
                         capture_output=True, text=True, check=True).stdout
    K, D = z.shape[1], X.shape[1]
    found = {}
    for line in out.splitlines():
        name, n_var, *values = line.split()
        values = np.array(values, dtype=float)
        means = values[1 + K:1 + K + K * D].reshape(K, D)
        sigma = values[1 + K + K * D:]
        if sigma.size == K:  # univariate variances
            sigma = sigma.reshape(K, 1, 1)
        else:  # R's p x p x G array, column-major
            sigma = sigma.reshape(K, D, D).transpose(0, 2, 1)
        found[name] = (int(n_var), values[0], values[1:1 + K], means, sigma)
    return found


@pytest.fixture(autouse=True)
def _inner_tolerance_as_rs(monkeypatch):
    """R runs with an inner tolerance of 1e-14 (``emControl(tol = c(., 1e-14))``), far
    below mclust's default sqrt(eps) that emkit's orientation iterations stop at: compare
    at R's."""
    from emkit.mixture import _mclust_covariances

    monkeypatch.setattr(_mclust_covariances, "ORIENTATION_TOL", 1e-14)


def _emkit(name, X, z, prior=False, em=False):
    """emkit's M-step from ``z`` (``em``: then EM to convergence) and the E-step's
    log-likelihood."""
    covariance = covariance_model(name)
    if prior:
        resolved = ConjugatePrior().resolved(X, None, z.shape[1], covariance)
        problem = MapGaussianMixtureProblem(covariance, 0.0, resolved)
    else:
        problem = GaussianMixtureProblem(covariance, 0.0)
    theta = problem.params_from_resp(X, z, None)
    stats, loglik = problem.e_step(X, theta, None)
    for _ in range(5000 if em else 0):
        theta = problem.m_step(stats)
        stats, new = problem.e_step(X, theta, None)
        if abs(new - loglik) <= 1e-14 * abs(new):
            break
        loglik = new
    return theta, problem.e_step(X, theta, None)[1]


def _expected_loglik(X, z, means, covariances):
    return sum(z[:, k] @ multivariate_normal(means[k], covariances[k]).logpdf(X)
               for k in range(len(means)))


@pytest.fixture(scope="module")
def iris_mclust(tmp_path_factory):
    X = load_iris().data
    z = _soft_partition(len(X))
    return X, z, _mclust(X, z, MODELS, tmp_path_factory.mktemp("mclust"))


@pytest.mark.parametrize("name", [m for m in MODELS if m != "VVE"])
def test_m_step_and_log_likelihood_equal_mclusts(name, iris_mclust):
    X, z, found = iris_mclust
    n_var, loglik, weights, means, covariances = found[name]
    theta, ours = _emkit(name, X, z)
    assert covariance_model(name).n_covariance_parameters(3, 4) == n_var
    np.testing.assert_allclose(theta.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(theta.means, means, rtol=1e-12)
    np.testing.assert_allclose(theta.covariances, covariances, rtol=1e-5, atol=1e-6)
    assert ours == pytest.approx(loglik, rel=1e-7)


def test_vve_m_step_is_at_least_as_good_as_mclusts(iris_mclust):
    """mclust's VVE orientation step leaves the volumes out of its weights, so its
    M-step falls short of the maximiser; ours maximises the same objective further."""
    X, z, found = iris_mclust
    n_var, _, _, means, covariances = found["VVE"]
    theta, _ = _emkit("VVE", X, z)
    assert covariance_model("VVE").n_covariance_parameters(3, 4) == n_var
    ours = _expected_loglik(X, z, theta.means, theta.covariances)
    theirs = _expected_loglik(X, z, means, covariances)
    assert ours >= theirs - 1e-9 * abs(theirs)
    np.testing.assert_allclose(theta.covariances, covariances, rtol=0.05, atol=0.01)


@pytest.mark.parametrize("name", ["E", "V"])
def test_univariate_models_equal_mclusts(name, tmp_path):
    X = load_iris().data[:, 2:3]
    z = _soft_partition(len(X), seed=1)
    n_var, loglik, weights, means, covariances = _mclust(X, z, [name], tmp_path)[name]
    theta, ours = _emkit(name, X, z)
    assert covariance_model(name).n_covariance_parameters(3, 1) == n_var
    np.testing.assert_allclose(theta.covariances, covariances, rtol=1e-10)
    assert ours == pytest.approx(loglik, rel=1e-10)


@pytest.fixture(scope="module")
def iris_mclust_prior(tmp_path_factory):
    X = load_iris().data
    z = _soft_partition(len(X))
    models = [m for m in MODELS if m in PRIOR_MODELS]
    return X, z, _mclust(X, z, models, tmp_path_factory.mktemp("prior"), prior=True)


#: mclust's EM (``me``) divides EEI's and EVI's MAP covariances by nu + n + 2, its
#: ``mstep`` by nu + n + 2 + K: emkit's EM is mclust's EM (checked against ``me`` below).
ME_DIFFERS_FROM_MSTEP = ("EEI", "EVI")


@pytest.mark.parametrize("name", [m for m in MODELS if m in PRIOR_MODELS
                                  and m not in ME_DIFFERS_FROM_MSTEP])
def test_map_m_step_equals_mclusts(name, iris_mclust_prior):
    X, z, found = iris_mclust_prior
    _, loglik, weights, means, covariances = found[name]
    theta, ours = _emkit(name, X, z, prior=True)
    np.testing.assert_allclose(theta.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(theta.means, means, rtol=1e-12)
    np.testing.assert_allclose(theta.covariances, covariances, rtol=1e-9, atol=1e-12)
    assert ours == pytest.approx(loglik, rel=1e-10)


@pytest.mark.parametrize("name", ["E", "V"])
def test_univariate_map_equals_mclusts(name, tmp_path):
    X = load_iris().data[:, 2:3]
    z = _soft_partition(len(X), seed=1)
    _, loglik, _, means, covariances = _mclust(X, z, [name], tmp_path, prior=True)[name]
    theta, ours = _emkit(name, X, z, prior=True)
    np.testing.assert_allclose(theta.means, means, rtol=1e-12)
    np.testing.assert_allclose(theta.covariances, covariances, rtol=1e-10)
    assert ours == pytest.approx(loglik, rel=1e-10)


@pytest.mark.parametrize("name, prior", [("VEV", False), ("EVE", False), ("VVV", True),
                                         ("VEI", True), ("EEI", True), ("EVI", True)])
def test_em_to_convergence_equals_mclusts_me(name, prior, tmp_path):
    X = load_iris().data
    z = np.eye(3)[np.repeat(np.arange(3), 50)]
    _, loglik, weights, means, covariances = _mclust(X, z, [name], tmp_path, prior=prior,
                                                     em=True)[name]
    theta, ours = _emkit(name, X, z, prior=prior, em=True)
    assert ours == pytest.approx(loglik, rel=1e-8)
    np.testing.assert_allclose(theta.means, means, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theta.covariances, covariances, rtol=1e-4, atol=1e-6)

