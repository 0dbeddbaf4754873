"""MixtureDiscriminant: mclust's MclustDA and EDDA against the Bayes rule, scikit-learn's
linear and quadratic discriminant analysis, and R's MclustDA."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import (LinearDiscriminantAnalysis,
                                           QuadraticDiscriminantAnalysis)

from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit import load
from emkit.mixture import MixtureDiscriminant

from _mclust_script import run_mclust

pytestmark = pytest.mark.numerics

MEANS = np.array([[0.0, 0.0], [2.5, 0.5], [0.5, 3.0]])
COVARIANCES = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]],
                        [[0.8, 0.0], [0.0, 0.8]]])
PRIORS = np.array([0.5, 0.3, 0.2])


def planted(n, seed):
    """Rows of three Gaussian classes with known parameters; returns (X, y)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=PRIORS)
    X = np.array([rng.multivariate_normal(MEANS[c], COVARIANCES[c]) for c in y])
    return X, np.array(["a", "b", "c"])[y]


def bayes_posteriors(X, priors, means, covariances):
    joint = np.column_stack([p * multivariate_normal(m, c).pdf(X)
                             for p, m, c in zip(priors, means, covariances)])
    return joint / joint.sum(axis=1, keepdims=True)


def test_edda_posterior_is_the_bayes_rule_of_its_parameters():
    X, y = planted(3000, 0)
    X_test, y_test = planted(2000, 1)
    model = MixtureDiscriminant("EDDA", covariance_type="full").fit(X, y)
    assert model.classes_.tolist() == ["a", "b", "c"]
    # brute force: the posteriors are the Bayes rule with the fitted parameters ...
    fitted = bayes_posteriors(X_test, model.class_prior_, [m[0] for m in model.means_],
                              [c[0] for c in model.covariances_])
    assert model.predict_proba(X_test) == pytest.approx(fitted, abs=1e-10)
    # ... which are close to the true ones, so the accuracy is the Bayes rule's
    truth = bayes_posteriors(X_test, PRIORS, MEANS, COVARIANCES)
    assert np.abs(model.predict_proba(X_test) - truth).mean() < 0.01
    bayes_accuracy = np.mean(np.array(["a", "b", "c"])[truth.argmax(1)] == y_test)
    assert model.score(X_test, y_test) == pytest.approx(bayes_accuracy, abs=0.01)
    assert model.class_prior_ == pytest.approx(PRIORS, abs=0.03)


def test_mclustda_finds_a_class_made_of_two_clusters():
    # exclusive or: each class is two round clusters at opposite corners, which one
    # round Gaussian per class (EDDA) cannot separate
    rng = np.random.default_rng(2)
    corners = np.array([[-3, -3], [3, 3], [-3, 3], [3, -3]])
    X = np.vstack([rng.normal(size=(120, 2)) * 0.7 + c for c in corners])
    y = np.repeat([0, 0, 1, 1], 120)
    model = MixtureDiscriminant(n_components=[1, 2, 3], covariance_type="spherical",
                                random_state=0).fit(X, y)
    assert model.n_components_.tolist() == [2, 2]
    edda = MixtureDiscriminant("EDDA", covariance_type="spherical").fit(X, y)
    assert model.score(X, y) > 0.99 > 0.75 > edda.score(X, y)
    # the class densities are the fitted mixtures
    for k in range(2):
        density = sum(w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(
            model.weights_[k], model.means_[k], model.covariances_[k]))
        assert model._class_log_density(X)[:, k] == pytest.approx(np.log(density),
                                                                  rel=1e-10)


def test_iris_edda_tied_is_linear_discriminant_analysis():
    X, y = load_iris(return_X_y=True)
    model = MixtureDiscriminant("EDDA", covariance_type="tied", reg_covar=0.0).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    assert model.predict_proba(X) == pytest.approx(lda.predict_proba(X), abs=1e-10)
    assert np.array_equal(model.covariances_[0], model.covariances_[2])  # one, shared


def test_iris_edda_full_is_quadratic_discriminant_analysis():
    X, y = load_iris(return_X_y=True)
    qda = QuadraticDiscriminantAnalysis().fit(X, y)
    scatter = np.cov(X[y == 0].T, bias=True)
    if not np.isclose(np.sum(qda.scalings_[0]), np.trace(scatter), rtol=1e-10):
        pytest.skip("this scikit-learn's QDA divides the scatter by n - 1, not n (the "
                    "maximum-likelihood covariance of EDDA): scikit-learn >= 1.9 does")
    model = MixtureDiscriminant("EDDA", covariance_type="full", reg_covar=0.0).fit(X, y)
    assert model.predict_proba(X) == pytest.approx(qda.predict_proba(X), abs=1e-10)
    assert model.means_[1][0] == pytest.approx(qda.means_[1], abs=1e-12)


def test_row_weight_of_two_is_a_repeated_row():
    X, y = planted(400, 3)
    X_test, _ = planted(50, 4)
    # a weight of 2 counts a row twice
    doubled = MixtureDiscriminant("EDDA", covariance_type="tied").fit(
        np.vstack([X, X[:50]]), np.r_[y, y[:50]])
    weighted = MixtureDiscriminant("EDDA", covariance_type="tied").fit(
        X, y, sample_weight=np.r_[np.full(50, 2.0), np.ones(350)])
    assert weighted.predict_proba(X_test) == pytest.approx(doubled.predict_proba(X_test),
                                                           abs=1e-10)
    assert weighted.bic_ == pytest.approx(doubled.bic_, rel=1e-10)


def test_save_load_round_trip(tmp_path):
    X, y = planted(300, 5)
    for model in (MixtureDiscriminant(n_components=[1, 2], covariance_type="diag",
                                      random_state=0),
                  MixtureDiscriminant("EDDA", covariance_type=["tied", "spherical"])):
        model.fit(X, y)
        model.save(tmp_path / "da")
        again = load(tmp_path / "da.json")
        assert type(again) is MixtureDiscriminant
        assert np.array_equal(again.predict_proba(X), model.predict_proba(X))
        assert again.covariance_types_ == model.covariance_types_


@pytest.mark.parametrize("params, y, message", [
    (dict(covariance_type="VVX"), None, "covariance_type"),
    (dict(n_components=[0, 1]), None, "n_components"),
    (dict(model_type="QDA"), None, "model_type"),
    ({}, np.r_[np.zeros(29), 1], "at least 2 rows"),
    ({}, np.zeros(10), "inconsistent numbers of samples"),
])
def test_bad_input(params, y, message):
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = np.r_[np.zeros(15), np.ones(15)] if y is None else y
    with pytest.raises(ValueError, match=message):
        MixtureDiscriminant(**params).fit(X, y)


@parametrize_with_checks([MixtureDiscriminant("EDDA")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


MCLUST_DA = """
X <- as.matrix(iris[, 1:4])
write.csv(iris, "iris.csv", row.names = FALSE)
types <- c("VVV", "EEE", "VVI", "VII")
edda <- MclustDA(X, iris$Species, modelType = "EDDA", modelNames = types, verbose = FALSE)
da <- MclustDA(X, iris$Species, G = 1:3, modelNames = types, verbose = FALSE,
               control = emControl(tol = c(1e-10, sqrt(.Machine$double.eps))))
writeLines(sprintf("%.17g", c(edda$bic, da$bic)), "bic.txt")
writeLines(c(edda$models[[1]]$modelName, sapply(da$models, function(m) m$modelName)),
           "models.txt")
writeLines(sprintf("%d", sapply(da$models, function(m) m$G)), "G.txt")
write.csv(predict(edda, X)$z, "edda_z.csv", row.names = FALSE)
write.csv(predict(da, X)$z, "da_z.csv", row.names = FALSE)
"""

MCLUST_NAMES = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical",
                "XXX": "full", "XXI": "diag", "XII": "spherical"}


def test_iris_against_mclust(tmp_path):
    run_mclust(MCLUST_DA, tmp_path)
    import pandas as pd
    iris = pd.read_csv(tmp_path / "iris.csv")
    X, y = iris.iloc[:, :4].to_numpy(), iris["Species"].to_numpy()
    edda_bic, da_bic = np.loadtxt(tmp_path / "bic.txt")
    models = (tmp_path / "models.txt").read_text().split()
    types = ["full", "tied", "diag", "spherical"]
    edda = MixtureDiscriminant("EDDA", covariance_type=types, reg_covar=0.0).fit(X, y)
    assert edda.covariance_types_[0] == MCLUST_NAMES[models[0]]
    assert edda.bic_ == pytest.approx(-edda_bic, rel=1e-9)
    assert edda.predict_proba(X) == pytest.approx(
        pd.read_csv(tmp_path / "edda_z.csv").to_numpy(), abs=1e-8)
    da = MixtureDiscriminant(n_components=[1, 2, 3], covariance_type=types, reg_covar=0.0,
                             tol=1e-10, max_iter=1000).fit(X, y)
    # mclust names a one-component model 'XXX' ('full' or 'tied'), 'XXI' or 'XII'
    chosen = [MCLUST_NAMES[m] for m in models[1:]]
    assert da.n_components_.tolist() == np.loadtxt(tmp_path / "G.txt").astype(int).tolist()
    # with one component 'tied' and 'full' are one model (mclust's XXX): round-off
    # decides between their equal BICs
    assert [t if g > 1 else {"tied": "full"}.get(t, t) for t, g in
            zip(da.covariance_types_, da.n_components_)] == chosen
    assert da.bic_ == pytest.approx(-da_bic, abs=1e-3)
    assert da.predict_proba(X) == pytest.approx(
        pd.read_csv(tmp_path / "da_z.csv").to_numpy(), abs=1e-4)
