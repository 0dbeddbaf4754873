"""GaussianMixtureWithNoise: a uniform noise component beside the Gaussians (mclust's)."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from emkit import load
from emkit.mixture import GaussianMixture, GaussianMixtureWithNoise
from emkit.mixture._noise import NOISE_LABEL, noise_log_volume

from _mclust_script import run_mclust

pytestmark = pytest.mark.numerics


def planted(seed=0, n_noise=150):
    """Two Gaussian blobs and uniform noise over a box around them; returns (X, truth)
    with truth -1 for noise."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) * 0.7 + [5, 1],
                   rng.uniform([-10, -8], [14, 10], size=(n_noise, 2))])
    return X, np.r_[np.zeros(200), np.ones(200), -np.ones(n_noise)].astype(int)


def a_guess(X, seed=1):
    """A rough noise guess: rows far from the middle, and a random tenth of the rest."""
    far = np.abs(X - np.median(X, axis=0)).max(axis=1) > 7
    return far | (np.random.default_rng(seed).random(len(X)) < 0.1)


def test_planted_noise_recovered():
    X, truth = planted()
    gm = GaussianMixtureWithNoise(2, noise_init=a_guess(X), tol=1e-8, random_state=0).fit(X)
    assert adjusted_rand_score(truth, gm.predict(X)) > 0.85
    assert gm.noise_weight_ == pytest.approx(150 / 550, abs=0.05)
    assert np.sort(gm.means_[:, 0]) == pytest.approx([0, 5], abs=0.25)
    # without the noise component the Gaussians stretch over the noise
    plain = GaussianMixture(2, random_state=0).fit(X)
    assert adjusted_rand_score(truth, plain.predict(X)) < 0.6


def test_weights_sum_to_one_and_likelihood_monotone():
    X, _ = planted(seed=3)
    gm = GaussianMixtureWithNoise(3, covariance_type="diag", noise_init=a_guess(X),
                                  tol=1e-10, max_iter=500, random_state=0).fit(X)
    assert gm.weights_.sum() + gm.noise_weight_ == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(gm.lower_bounds_) > -1e-10)
    proba = gm.predict_proba(X)
    assert proba.shape == (len(X), 4)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(np.where(proba.argmax(1) == 3, NOISE_LABEL, proba.argmax(1)),
                          gm.predict(X))


def test_score_samples_is_the_mixture_density_brute_force():
    X, _ = planted(seed=4, n_noise=60)
    gm = GaussianMixtureWithNoise(2, noise_init=a_guess(X), random_state=0).fit(X)
    from scipy.stats import multivariate_normal
    density = sum(w * multivariate_normal(m, c).pdf(X)
                  for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_))
    density = density + gm.noise_weight_ * np.exp(-gm.noise_log_volume_)
    assert gm.score_samples(X) == pytest.approx(np.log(density), rel=1e-10, abs=1e-10)
    assert gm.fit_predict(X) == pytest.approx(gm.predict(X))


def test_hypervolume_is_the_smaller_box():
    rng = np.random.default_rng(0)
    square = rng.uniform(0, 1, size=(4000, 2))
    assert np.exp(noise_log_volume(square)) == pytest.approx(1.0, abs=0.01)
    # a thin diagonal band: its box along the principal axes is far smaller than its
    # bounding box (2 x 2)
    t = rng.uniform(0, 2, 4000)
    band = np.column_stack([t, t]) + rng.uniform(-0.05, 0.05, size=(4000, 2))
    assert np.exp(noise_log_volume(band)) < 0.5
    with pytest.raises(ValueError, match="span no volume"):
        noise_log_volume(np.column_stack([t, np.ones_like(t)]))


def test_given_volume_bic_counts_two_more_parameters():
    X, _ = planted(seed=5, n_noise=80)
    gm = GaussianMixtureWithNoise(2, noise_init=a_guess(X), noise_volume=500.0,
                                  random_state=0).fit(X)
    assert gm.noise_log_volume_ == pytest.approx(np.log(500.0), abs=1e-12)
    assert gm.n_parameters() == GaussianMixture(2).fit(X).n_parameters() + 2
    assert gm.bic(X) == pytest.approx(-2 * gm.score(X) * len(X) + gm.n_parameters()
                                      * np.log(len(X)), rel=1e-12)


def test_save_load_round_trip(tmp_path):
    X, _ = planted(seed=6, n_noise=50)
    gm = GaussianMixtureWithNoise(2, noise_init=a_guess(X), random_state=0).fit(X)
    gm.save(tmp_path / "noisy")
    again = load(tmp_path / "noisy.json")
    assert type(again) is GaussianMixtureWithNoise
    assert again.noise_weight_ == gm.noise_weight_
    assert np.array_equal(again.predict(X), gm.predict(X))
    assert np.array_equal(again.noise_init, gm.noise_init)


@pytest.mark.parametrize("noise_init, message", [
    (None, "noise_init is required"),
    (np.zeros(5, bool), "boolean array of shape"),
    (np.zeros(300, int), "boolean array of shape"),
    (np.zeros(300, bool), "at least one row as noise"),
])
def test_bad_noise_init(noise_init, message):
    X = np.random.default_rng(0).normal(size=(300, 2))
    with pytest.raises(ValueError, match=message):
        GaussianMixtureWithNoise(2, noise_init=noise_init).fit(X)


def test_missing_values_and_streams_refused():
    X = np.random.default_rng(0).normal(size=(50, 2))
    mask = np.arange(50) < 5
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        GaussianMixtureWithNoise(1, noise_init=mask).fit(X)
    with pytest.raises(ValueError, match="not a stream"):
        GaussianMixtureWithNoise(1, noise_init=mask).fit([X[:25], X[25:]])


MCLUST_NOISE = """
chev <- as.matrix(chevron[, -1])
write.csv(chevron, "chevron.csv", row.names = FALSE)
noise <- scan("mask.txt", quiet = TRUE) == 1
# Mclust's own start with a noise guess: the hierarchical clustering of the other rows
start <- hclass(hc(chev[!noise, ], modelName = "VVV", use = "SVD"), 2)
writeLines(sprintf("%d", start), "start.txt")
for (m in c("VVV", "EEV")) {
  fit <- Mclust(chev, G = 2, modelNames = m, initialization = list(noise = noise),
                control = emControl(tol = c(1e-12, sqrt(.Machine$double.eps))),
                verbose = FALSE)
  writeLines(sprintf("%.17g", c(fit$loglik, fit$bic, fit$df, fit$parameters$pro,
                                log(fit$parameters$Vinv))), paste0(m, "_fit.txt"))
  writeLines(sprintf("%d", fit$classification), paste0(m, "_class.txt"))
}
"""


@pytest.fixture(scope="module")
def chevron(tmp_path_factory):
    """mclust's chevron data, a random noise guess, mclust's start from it (the
    hierarchical clustering of the other rows), and mclust's VVV and EEV fits with noise
    (exported by R into a temporary folder)."""
    folder = tmp_path_factory.mktemp("chevron")
    mask = np.random.default_rng(1).random(1104) < 0.5
    np.savetxt(folder / "mask.txt", mask.astype(int), fmt="%d")
    run_mclust(MCLUST_NOISE, folder)
    import pandas as pd
    table = pd.read_csv(folder / "chevron.csv")
    fits = {m: (np.loadtxt(folder / f"{m}_fit.txt"), np.loadtxt(folder / f"{m}_class.txt"))
            for m in ("VVV", "EEV")}
    start = np.loadtxt(folder / "start.txt").astype(int) - 1
    return table[["x", "y"]].to_numpy(), (table["class"] == "noise").to_numpy(), mask, \
        start, fits


def start_from_labels(X, labels):
    """weights_init, means_init, precisions_init of 'full' components: the M-step on
    the rows' labels (maximum likelihood, as mclust's mstep)."""
    groups = [X[labels == k] for k in range(labels.max() + 1)]
    return dict(weights_init=np.array([len(g) for g in groups]) / len(X),
                means_init=np.array([g.mean(axis=0) for g in groups]),
                precisions_init=np.array([np.linalg.inv(np.cov(g.T, bias=True))
                                          for g in groups]))


def test_chevron_against_mclust_vvv(chevron):
    X, is_noise, mask, start, fits = chevron
    (loglik, bic, df, *pro, log_vinv), r_class = fits["VVV"]
    gm = GaussianMixtureWithNoise(2, noise_init=mask, reg_covar=0.0, tol=1e-12,
                                  max_iter=2000, **start_from_labels(X[~mask], start)).fit(X)
    assert gm.noise_log_volume_ == pytest.approx(-log_vinv, rel=1e-12)
    assert gm.n_parameters() == df
    n = len(X)
    assert gm.score(X) * n == pytest.approx(loglik, abs=1e-5 * n)
    assert -gm.bic(X) == pytest.approx(bic, abs=2e-5 * n)
    # mclust's components may come in another order
    assert np.sort(gm.weights_) == pytest.approx(np.sort(pro[:2]), abs=1e-5)
    assert gm.noise_weight_ == pytest.approx(pro[2], abs=1e-5)
    labels = gm.predict(X)
    r_labels = np.where(r_class == 0, NOISE_LABEL, r_class)
    assert adjusted_rand_score(r_labels, labels) > 0.99
    # the noise component separates the chevron from the noise; without it, it does not
    truth = np.where(is_noise, 0, 1)
    assert adjusted_rand_score(truth, labels) > 0.65
    plain = GaussianMixture(2, init_params="hierarchical").fit(X).predict(X)
    assert adjusted_rand_score(truth, plain) < 0.2


def test_warm_start_continues_from_the_fit():
    X, _ = planted(seed=7, n_noise=80)
    gm = GaussianMixtureWithNoise(2, noise_init=a_guess(X), tol=1e-10, max_iter=500,
                                  random_state=0).fit(X)
    gm.set_params(warm_start=True, max_iter=5).fit(X)
    assert gm.n_iter_ <= 2  # already converged: it starts where it ended
    assert gm.weights_.sum() + gm.noise_weight_ == pytest.approx(1.0, abs=1e-12)


def test_chevron_against_mclust_eev(chevron):
    """mclust's EEV with noise, from mclust's start, once GaussianMixture has EEV."""
    from emkit.mixture._covariance import COVARIANCE_MODELS, covariance_model
    from emkit.mixture._gaussian_problem import GaussianMixtureProblem
    if "EEV" not in COVARIANCE_MODELS:
        pytest.skip("covariance_type='EEV' is not in this emkit yet")
    X, is_noise, mask, start, fits = chevron
    (loglik, bic, df, *pro, log_vinv), r_class = fits["EEV"]
    covariance = covariance_model("EEV")
    theta = GaussianMixtureProblem(covariance, 0.0).params_from_resp(
        X[~mask], np.eye(2)[start], None)
    gm = GaussianMixtureWithNoise(
        2, covariance_type="EEV", noise_init=mask, reg_covar=0.0, tol=1e-12, max_iter=2000,
        weights_init=theta.weights / theta.weights.sum(), means_init=theta.means,
        precisions_init=covariance.precisions(theta.precisions_cholesky)).fit(X)
    assert gm.n_parameters() == df
    assert gm.score(X) * len(X) == pytest.approx(loglik, abs=1e-5 * len(X))
    assert gm.noise_weight_ == pytest.approx(pro[2], abs=1e-4)
    assert adjusted_rand_score(np.where(r_class == 0, NOISE_LABEL, r_class),
                               gm.predict(X)) > 0.99
