"""Bootstrap standard errors and the bootstrap likelihood-ratio test (mclust's
MclustBootstrap and mclustBootstrapLRT) against known answers and simulations."""

import numpy as np
import pytest

from emkit.mixture import (GaussianMixture, GaussianMixtureWithNoise, bootstrap_lrt,
                           bootstrap_parameters)

pytestmark = pytest.mark.numerics


@pytest.mark.parametrize("method", ["nonparametric", "weighted"])
def test_one_component_standard_errors_are_the_textbook_ones(method):
    rng = np.random.default_rng(0)
    n, sd = 400, 2.0
    X = rng.normal(3.0, sd, size=(n, 1))
    gm = GaussianMixture(1).fit(X)
    result = bootstrap_parameters(gm, X, n_boot=200, method=method, random_state=0)
    assert result.means.shape == (200, 1, 1)
    se = result.standard_errors()
    # the mean's SE is sd / sqrt(n); a Gaussian variance's is sqrt(2 / n) variance
    assert se["means"][0, 0] == pytest.approx(X.std() / np.sqrt(n), rel=0.15)
    assert se["covariances"][0, 0, 0] == pytest.approx(np.sqrt(2 / n) * X.var(), rel=0.2)
    assert se["weights"] == pytest.approx([0.0], abs=1e-12)
    low, high = result.percentile_intervals(0.9)["means"]
    assert low[0, 0] < gm.means_[0, 0] < high[0, 0]
    assert high[0, 0] - low[0, 0] == pytest.approx(2 * 1.645 * X.std() / np.sqrt(n),
                                                   rel=0.25)


def test_weights_standard_error_is_binomial_for_separated_components():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(90, 2)), rng.normal(size=(210, 2)) + 12])
    gm = GaussianMixture(2, random_state=0).fit(X)
    result = bootstrap_parameters(gm, X, n_boot=150, random_state=1)
    # starting from the fit keeps the components' order in every replicate
    assert np.all(np.abs(result.means - gm.means_).max(axis=(1, 2)) < 1.0)
    assert result.standard_errors()["weights"] == pytest.approx(
        [np.sqrt(0.3 * 0.7 / 300)] * 2, rel=0.2)


def test_sample_weight_of_two_equals_a_repeated_row_in_the_resampling():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 1))
    gm = GaussianMixture(1).fit(X)
    weighted = bootstrap_parameters(gm, X[:100], n_boot=150, random_state=3,
                                    sample_weight=np.full(100, 2.0))
    plain = bootstrap_parameters(gm, X[:100], n_boot=150, random_state=3)
    # the same rows drawn in proportion to the weights: the same replicates
    assert weighted.means == pytest.approx(plain.means, abs=1e-12)


def test_noise_weight_is_bootstrapped():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(200, 2)) * 0.3,
                   rng.uniform(-30, 30, size=(100, 2))])
    mask = np.abs(X).max(axis=1) > 2
    gm = GaussianMixtureWithNoise(1, noise_init=mask, random_state=0).fit(X)
    result = bootstrap_parameters(gm, X, n_boot=100, random_state=0)
    p = gm.noise_weight_
    assert result.noise_weight.shape == (100,)
    assert result.standard_errors()["noise_weight"] == pytest.approx(
        np.sqrt(p * (1 - p) / 300), rel=0.3)


def test_lrt_p_values_under_the_null_are_not_small():
    p_values = []
    for seed in range(6):
        X = np.random.default_rng(100 + seed).normal(size=(60, 2))
        result = bootstrap_lrt(X, covariance_type="spherical", n_boot=9, max_components=1,
                               random_state=seed)
        assert result.n_components.tolist() == [1]
        p_values.append(result.p_value[0])
    # uniform on {0.1, ..., 1} under the null: mean 0.55 (sd of a mean of 6: 0.12)
    assert 0.25 < np.mean(p_values) < 0.85
    assert sum(p <= 0.1 for p in p_values) <= 2


def test_lrt_finds_two_components_and_stops():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 4])
    result = bootstrap_lrt(X, n_boot=9, level=0.1, random_state=0)
    assert result.n_components.tolist() == [1, 2]  # stops at the first p-value > level
    assert result.p_value[0] == pytest.approx(0.1)  # the least with 9 replicates
    assert result.p_value[1] > 0.1
    assert result.bootstrap.shape == (9, 2)
    expected = (1 + (result.bootstrap >= result.statistic).sum(axis=0)) / 10
    assert result.p_value == pytest.approx(expected)
    gm1, gm2 = (GaussianMixture(k, random_state=0).fit(X) for k in (1, 2))
    assert result.statistic[0] == pytest.approx(2 * len(X) * (gm2.score(X) - gm1.score(X)),
                                                rel=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_boot=1), "n_boot must be an int >= 2"),
    (dict(method="parametric"), "method must be one of"),
])
def test_bad_bootstrap_arguments(kwargs, message):
    X = np.random.default_rng(0).normal(size=(30, 1))
    gm = GaussianMixture(1).fit(X)
    with pytest.raises(ValueError, match=message):
        bootstrap_parameters(gm, X, **kwargs)
    with pytest.raises(ValueError, match="features"):
        bootstrap_parameters(gm, np.hstack([X, X]), n_boot=2)
    with pytest.raises(ValueError, match="max_components"):
        bootstrap_lrt(X, max_components=0)


def test_noise_model_with_no_row_labelled_noise_is_bootstrapped():
    X = np.random.default_rng(5).normal(size=(150, 2))
    gm = GaussianMixtureWithNoise(1, noise_init=np.arange(150) < 3, random_state=0).fit(X)
    assert np.all(gm.predict(X) != -1)
    result = bootstrap_parameters(gm, X, n_boot=5, random_state=0)
    assert np.all((result.noise_weight >= 0) & (result.noise_weight < 0.2))


MCLUST_BOOTSTRAP = """
write.csv(faithful, "faithful.csv", row.names = FALSE)
set.seed(0)
mod <- Mclust(faithful, G = 2, modelNames = "VVV", verbose = FALSE)
writeLines(sprintf("%.17g", c(mod$parameters$pro, mod$parameters$mean)), "fit.txt")
for (type in c("bs", "wlbs")) {
  se <- summary(MclustBootstrap(mod, nboot = 200, type = type, verbose = FALSE),
                what = "se")
  writeLines(sprintf("%.17g", c(se$pro, se$mean,
                                apply(se$variance, 3, diag))), paste0(type, ".txt"))
}
lrt <- mclustBootstrapLRT(faithful, modelName = "VVV", nboot = 19, maxG = 1,
                          verbose = FALSE)
writeLines(sprintf("%.17g", c(lrt$obs, lrt$p.value)), "lrt.txt")
"""


def test_standard_errors_agree_with_mclust(tmp_path):
    """Both bootstraps of a VVV fit to Old Faithful against MclustBootstrap's (different
    random draws: within what 200 replicates allow), and the observed statistics of
    mclustBootstrapLRT."""
    from _mclust_script import run_mclust
    run_mclust(MCLUST_BOOTSTRAP, tmp_path)
    X = np.loadtxt(tmp_path / "faithful.csv", delimiter=",", skiprows=1)
    fit = np.loadtxt(tmp_path / "fit.txt")
    gm = GaussianMixture(2, means_init=fit[2:].reshape(2, 2), weights_init=fit[:2],
                         tol=1e-8, reg_covar=0.0).fit(X)
    assert gm.means_ == pytest.approx(fit[2:].reshape(2, 2), rel=1e-4)
    for method, r_name in (("nonparametric", "bs"), ("weighted", "wlbs")):
        se = bootstrap_parameters(gm, X, n_boot=200, method=method,
                                  random_state=0).standard_errors()
        r_se = np.loadtxt(tmp_path / f"{r_name}.txt")
        ours = np.r_[se["weights"], se["means"].ravel(),
                     np.diagonal(se["covariances"], axis1=1, axis2=2).ravel()]
        assert ours == pytest.approx(r_se, rel=0.25)
    # the likelihood-ratio statistic of 1 against 2 components, and its p-value: the
    # least possible
    statistic, p_value = np.loadtxt(tmp_path / "lrt.txt")
    test = bootstrap_lrt(X, n_boot=19, max_components=1, tol=1e-8, random_state=0)
    assert test.statistic[0] == pytest.approx(statistic, rel=1e-5)
    assert test.p_value[0] == p_value == 0.05


def test_a_failed_refit_is_drawn_again_a_bounded_number_of_times():
    from emkit.mixture._bootstrap import MAX_REDRAWS, _retried
    calls = []

    def fails_twice():
        calls.append(1)
        if len(calls) <= 2:
            raise ValueError("collapsed")
        return "fit"

    assert _retried(fails_twice, "refit") == "fit" and len(calls) == 3

    def always_fails():
        calls.append(1)
        raise ValueError("collapsed")

    calls.clear()
    with pytest.raises(ValueError, match=f"Every one of {MAX_REDRAWS + 1} draws of a "
                                         "refit failed; the last: collapsed"):
        _retried(always_fails, "refit")
    assert len(calls) == MAX_REDRAWS + 1
