"""mclust's conjugate prior (MAP EM) without R: the MAP M-step maximises the posterior
(brute force), the prior keeps a fit finite where maximum likelihood breaks down, weights
are repeated rows, bad priors are refused, and BIC is mclust's (the data's likelihood)."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emkit import DegenerateFitWarning, GaussianMixture, LikelihoodDecreaseWarning, io
from emkit.mixture._covariance import covariance_model
from emkit.mixture._mclust_prior import (PRIOR_MODELS, ConjugatePrior,
                                         MapGaussianMixtureProblem)

pytestmark = pytest.mark.numerics


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, 0.0], [0.0, 5.0, 2.0]])
    return np.vstack([rng.standard_normal((n // 3, 3)) * [1.0, 0.6, 0.3] + c
                      for c in centres])


def _resp(X, seed=1):
    rng = np.random.default_rng(seed)
    resp = np.eye(3)[np.repeat(np.arange(3), len(X) // 3)] * 0.7 + rng.uniform(
        0, 0.3, (len(X), 3))
    return resp / resp.sum(axis=1, keepdims=True)


def _problem(name, X, weights=None, prior=ConjugatePrior()):
    covariance = covariance_model(name)
    return MapGaussianMixtureProblem(covariance, 0.0,
                                     prior.resolved(X, weights, 3, covariance))


def _log_posterior(problem, X, resp, means, covariances):
    """sum_ik r_ik log N(x_i | mu_k, Sigma_k) + the normal-inverse-Wishart log prior."""
    loglik = sum(resp[:, k] @ multivariate_normal(means[k], covariances[k]).logpdf(X)
                 for k in range(3))
    return loglik + problem.log_prior(
        problem.m_step(problem.statistics(X, resp, means)).__class__(
            np.full(3, 1 / 3), means, covariances, covariances))


@pytest.mark.parametrize("name", ["VVV", "EEE"])
def test_map_m_step_maximises_the_posterior(name):
    """For VVV and EEE, mclust's MAP step is the mode of the normal-inverse-Wishart
    posterior: no nearby means or (constrained) covariances score higher."""
    X = _data()
    resp = _resp(X)
    problem = _problem(name, X)
    theta = problem.params_from_resp(X, resp, None)
    best = _log_posterior(problem, X, resp, theta.means, theta.covariances)
    rng = np.random.default_rng(2)
    for _ in range(8):
        for sign in (1.0, -1.0):
            step = sign * 1e-4 * rng.standard_normal((3, 3, 3))
            step = step + np.swapaxes(step, 1, 2)
            if name == "EEE":
                step = np.broadcast_to(step[0], step.shape)
            moved_means = theta.means + sign * 1e-4 * rng.standard_normal((3, 3))
            assert _log_posterior(problem, X, resp, theta.means,
                                  theta.covariances + step) <= best + 1e-11 * abs(best)
            assert _log_posterior(problem, X, resp, moved_means,
                                  theta.covariances) <= best + 1e-11 * abs(best)


def test_shrinkage_pulls_the_means_to_the_prior_mean():
    X = _data()
    resp = _resp(X)
    far = np.array([100.0, -50.0, 20.0])
    weak = _problem("VVV", X, prior=ConjugatePrior(shrinkage=1e-3, mean=far))
    strong = _problem("VVV", X, prior=ConjugatePrior(shrinkage=1e6, mean=far))
    free = covariance_model("VVV")
    nk = resp.sum(axis=0)
    data_means = resp.T @ X / nk[:, None]
    np.testing.assert_allclose(strong.params_from_resp(X, resp, None).means,
                               np.broadcast_to(far, (3, 3)), rtol=1e-3)
    expected = (nk[:, None] * data_means + 1e-3 * far) / (nk[:, None] + 1e-3)
    np.testing.assert_allclose(weak.params_from_resp(X, resp, None).means, expected,
                               rtol=1e-12)
    assert free.name == "VVV"


COLLAPSED = np.vstack([_data(), np.tile([[10.0, 10.0, 10.0]], (5, 1))])
STARTS = [[0, 0, 0], [4, 1, 0], [0, 5, 2], [10, 10, 10]]


def test_maximum_likelihood_breaks_down_on_a_collapsed_cluster():
    with pytest.raises(ValueError, match="ill-defined"):
        GaussianMixture(4, covariance_type="VVV", reg_covar=0.0, means_init=STARTS,
                        max_iter=20).fit(COLLAPSED)


@pytest.mark.parametrize("name", ["VII", "VEI", "EVI", "VVI", "VEV", "VVV"])
def test_prior_keeps_a_fit_finite_where_maximum_likelihood_breaks_down(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        gm = GaussianMixture(4, covariance_type=name, reg_covar=0.0, prior="default",
                             means_init=STARTS, max_iter=100).fit(COLLAPSED)
    assert np.all(np.isfinite(gm.covariances_))
    assert np.all(np.linalg.eigvalsh(gm.covariances_) > 0)
    assert gm.predict(COLLAPSED[-5:]).tolist() == [3] * 5


@pytest.mark.parametrize("name", PRIOR_MODELS[2:])
def test_map_em_never_warns_of_a_decrease(name):
    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        gm = GaussianMixture(3, covariance_type=name, prior="default", reg_covar=0.0,
                             tol=1e-10, max_iter=200, random_state=0).fit(X)
    assert np.isfinite(gm.lower_bound_)


@pytest.mark.parametrize("name", ["VEI", "VEV", "EEV", "EII"])
def test_weights_are_repeated_rows(name):
    X = _data(30)
    resp = _resp(X)
    counts = np.arange(len(X)) % 3 + 1
    weighted = _problem(name, X, counts.astype(float)).params_from_resp(
        X, resp, counts.astype(float))
    repeated_X = np.repeat(X, counts, axis=0)
    repeated = _problem(name, repeated_X).params_from_resp(
        repeated_X, np.repeat(resp, counts, axis=0), None)
    np.testing.assert_allclose(weighted.covariances, repeated.covariances, rtol=1e-9)
    np.testing.assert_allclose(weighted.means, repeated.means, rtol=1e-12, atol=1e-12)


def test_bic_is_the_datas_likelihood_at_the_map_fit():
    X = _data()
    gm = GaussianMixture(3, covariance_type="VVV", prior="default", random_state=0).fit(X)
    loglik = gm.score(X) * len(X)
    assert gm.bic(X) == pytest.approx(-2 * loglik + 29 * np.log(len(X)), rel=1e-12)


@pytest.mark.parametrize("prior, message", [
    (ConjugatePrior(shrinkage=-1.0), "shrinkage"),
    (ConjugatePrior(shrinkage=0.0, mean=[0, 0, 0]), "prior mean is given but shrinkage is 0"),
    (ConjugatePrior(mean=[0, 0]), "prior mean must be 3"),
    (ConjugatePrior(dof=0.0), "dof"),
    (ConjugatePrior(scale=np.eye(2)), "prior scale"),
])
def test_bad_priors_are_refused(prior, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3, covariance_type="VVV", prior=prior).fit(_data())


@pytest.mark.parametrize("name", ["VEE", "EVE", "VVE", "EVV", "full"])
def test_models_without_a_prior_refuse_one(name):
    with pytest.raises(ValueError, match="defines no conjugate prior"):
        GaussianMixture(3, covariance_type=name, prior="default").fit(_data())


def test_prior_is_validated_and_needs_in_memory_data_without_missing_values():
    X = _data()
    with pytest.raises(ValueError, match="'prior' parameter"):
        GaussianMixture(3, covariance_type="VVV", prior="mclust").fit(X)
    missing = X.copy()
    missing[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        GaussianMixture(3, covariance_type="VVV", prior="default").fit(missing)
    with pytest.raises(ValueError, match="in memory"):
        GaussianMixture(3, covariance_type="VVV", prior="default").fit([X[:30], X[30:]])


def test_a_map_fit_saves_and_loads(tmp_path):
    X = _data()
    gm = GaussianMixture(3, covariance_type="VEV", prior="default", random_state=0).fit(X)
    io.save(gm, tmp_path / "model")
    loaded = io.load(tmp_path / "model")
    assert loaded.prior == "default"
    np.testing.assert_array_equal(loaded.predict_proba(X), gm.predict_proba(X))
    prior = ConjugatePrior(shrinkage=0.1, mean=X.mean(axis=0) + 1.0, dof=7.5,
                           scale=np.cov(X.T))
    custom = GaussianMixture(3, covariance_type="VEV", prior=prior, random_state=0).fit(X)
    io.save(custom, tmp_path / "custom")
    loaded = io.load(tmp_path / "custom")
    assert isinstance(loaded.prior, ConjugatePrior)
    assert (loaded.prior.shrinkage, loaded.prior.dof) == (0.1, 7.5)
    np.testing.assert_array_equal(loaded.prior.mean, prior.mean)
    np.testing.assert_array_equal(loaded.prior.scale, prior.scale)
    np.testing.assert_array_equal(loaded.predict_proba(X), custom.predict_proba(X))
    refit = loaded.fit(X)  # the loaded prior is the same prior: the same fit
    np.testing.assert_allclose(refit.means_, custom.means_, rtol=1e-12)
    # the fields left to the data's defaults stay None
    io.save(GaussianMixture(2, covariance_type="VII", prior=ConjugatePrior(), max_iter=5)
            .fit(X), tmp_path / "defaults")
    assert io.load(tmp_path / "defaults").prior == ConjugatePrior()


def test_a_malformed_saved_prior_is_refused(tmp_path):
    import json

    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        io.save(GaussianMixture(2, covariance_type="VII", prior=ConjugatePrior(dof=5.0),
                                max_iter=5).fit(X), tmp_path / "m")
    text = (tmp_path / "m.json").read_text()
    assert '"__conjugate_prior__"' in json.dumps(json.loads(text))
    (tmp_path / "m.json").write_text(text.replace('"dof": 5.0', '"dof": "five"'))
    with pytest.raises(ValueError, match="prior dof must be a number"):
        io.load(tmp_path / "m")


def test_the_noise_model_refuses_a_prior():
    from emkit.mixture import GaussianMixtureWithNoise

    with pytest.raises(ValueError, match="prior is not supported by GaussianMixtureWithNoise"):
        X = _data()
        GaussianMixtureWithNoise(2, covariance_type="VVV", prior="default",
                                 noise_init=np.arange(len(X)) % 7 == 0).fit(X)


def test_one_component_of_a_diagonal_model_is_mclusts_mvnxxi():
    # mclust fits G = 1 of every diagonal model by mvnXXI: VEI's one component is VVI's
    X = _data()
    fits = [GaussianMixture(1, covariance_type=name, prior="default").fit(X)
            for name in ("VEI", "VVI")]
    np.testing.assert_allclose(fits[0].covariances_, fits[1].covariances_, rtol=1e-12)
    assert fits[0].bic(X) == pytest.approx(fits[1].bic(X), rel=1e-12)  # same parameters


def test_selection_with_a_prior_reports_a_bic_for_a_near_empty_component():
    # without a prior a component of one row has no estimate (NaN, mclust's NA); with one,
    # mclust reports a BIC, and so does select
    from emkit.mixture import select

    X = np.vstack([_data(), [[30.0, 30.0, 30.0]]])
    starts = dict(means_init=[[0, 0, 0], [4, 1, 0], [0, 5, 2], [30, 30, 30]])
    plain = select(X, 4, covariance_types=["VVV"], **starts)
    assert plain.table[0]["singular"] and np.isnan(plain.table[0]["bic"])
    prior = select(X, 4, covariance_types=["VVV"], prior="default", **starts)
    assert not prior.table[0]["singular"] and np.isfinite(prior.table[0]["bic"])


@pytest.mark.parametrize("name", ["EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV",
                                  "VEV", "VVV"])
def test_no_decrease_warning_under_the_default_prior_on_iris(name):
    # mclust's approximate MAP M-steps (APPROXIMATE_MAP_MODELS) may lower the likelihood a
    # little, as in mclust; the exact ones fall only by what the log prior rises
    from emkit.datasets import load_iris

    X = load_iris()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        for k in (2, 3, 5):
            GaussianMixture(k, covariance_type=name, prior="default",
                            init_params="hierarchical", tol=1e-8, max_iter=300).fit(X)
