"""Model selection over K and covariance types by BIC / AIC / ICL."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from emkit import InvalidParameterError
from emkit.datasets import load_iris, make_gaussian_mixture
from emkit.mixture import classification_entropy, select
from conftest import COVARIANCE_TYPES


def test_iris_table_matches_scikit_learn():
    """Every row's BIC and AIC equal those of the same model fitted by scikit-learn."""
    X, _, _ = load_iris()
    result = select(X, range(1, 7), random_state=0)
    assert len(result.table) == 6 * 4
    for row in result.table:
        ref = SkGaussianMixture(row["n_components"], covariance_type=row["covariance_type"],
                                random_state=0).fit(X)
        assert_allclose(row["bic"], ref.bic(X), rtol=1e-6, err_msg=str(row))
        assert_allclose(row["aic"], ref.aic(X), rtol=1e-6, err_msg=str(row))
        assert row["n_parameters"] == ref._n_parameters()
        assert_allclose(row["log_likelihood"], ref.score(X) * len(X), rtol=1e-6)
    best = min(result.table, key=lambda r: r["bic"])
    assert (result.best_.n_components, result.best_.covariance_type) == (
        best["n_components"], best["covariance_type"])
    frame = result.to_frame()
    assert list(frame.columns) == ["n_components", "covariance_type", "log_likelihood",
                                   "n_parameters", "bic", "aic", "icl", "converged", "n_iter",
                                   "degenerate", "singular"]


@pytest.mark.parametrize("seed", range(20))
def test_bic_finds_four_separated_components(seed):
    data = make_gaussian_mixture(600, n_components=4, n_features=2, separation=12.0,
                                 random_state=seed)
    result = select(data.X, range(1, 8), covariance_types=("full",), n_init=2,
                    random_state=seed)
    assert result.best_.n_components == 4


def test_icl_is_bic_plus_twice_the_entropy():
    X, _, _ = load_iris()
    result = select(X, [2, 3], covariance_types="full", criterion="icl", random_state=0)
    for row in result.table:
        model = result.models_[(row["n_components"], "full")]
        resp = model.predict_proba(X)
        entropy = -np.sum(resp[resp > 0] * np.log(resp[resp > 0]))
        assert entropy >= 0
        assert_allclose(row["icl"], row["bic"] + 2 * entropy, rtol=1e-10)
    assert result.criterion == "icl"
    best = min(result.table, key=lambda r: r["icl"])
    assert result.best_ is result.models_[(best["n_components"], "full")]


def test_entropy_of_hard_and_uniform_assignments():
    assert classification_entropy(np.eye(3)) == 0.0
    assert_allclose(classification_entropy(np.full((5, 4), 0.25)), 5 * np.log(4))


def test_parallel_equals_sequential():
    X, _, _ = load_iris()
    a = select(X, range(1, 4), COVARIANCE_TYPES, random_state=0)
    b = select(X, range(1, 4), COVARIANCE_TYPES, random_state=0, n_jobs=2)
    assert_allclose([r["bic"] for r in a.table], [r["bic"] for r in b.table], rtol=1e-12)


def test_weights_count_like_repeated_rows():
    X, _, _ = load_iris()
    w = np.random.RandomState(0).randint(1, 3, size=len(X))
    weighted = select(X, [2], "diag", sample_weight=w, random_state=0, init_params="random")
    row = weighted.table[0]
    model = weighted.best_
    n = w.sum()
    assert_allclose(row["bic"], -2 * (w @ model.score_samples(X)) + row["n_parameters"]
                    * np.log(n), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(criterion="bac"), "criterion must be one of"),
    (dict(n_components=[0, 1]), "n_components must be positive ints"),
    (dict(n_components=[]), "n_components must be positive ints"),
    (dict(covariance_types=["ful"]), "covariance_types must be among"),
])
def test_bad_arguments(kwargs, match):
    X, _, _ = load_iris()
    with pytest.raises(InvalidParameterError, match=match):
        select(X, **kwargs)


def test_more_components_than_rows():
    with pytest.raises(ValueError, match="needs at least as many rows"):
        select(np.random.RandomState(0).randn(5, 2), range(1, 8))


def test_progress_is_reported_after_each_fit():
    X, _, _ = load_iris()
    seen = []
    select(X, [1, 2, 3], "diag", random_state=0, progress=lambda done, total: seen.append(
        (done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_cell_with_no_covariance_estimate_is_an_na_row_not_a_failed_grid():
    # rows on a line: with reg_covar=0 a full covariance has no estimate (mclust's NA),
    # a diagonal one has
    t = np.random.RandomState(0).randn(60)
    X = np.c_[t, 2 * t]
    result = select(X, [1, 2], ["full", "diag"], reg_covar=0.0, random_state=0)
    rows = {(row["n_components"], row["covariance_type"]): row for row in result.table}
    for k in (1, 2):
        assert rows[k, "full"]["singular"] and np.isnan(rows[k, "full"]["bic"])
        assert not rows[k, "diag"]["singular"] and np.isfinite(rows[k, "diag"]["bic"])
    assert result.best_.covariance_type == "diag"
    with pytest.raises(ValueError, match="every fit of the grid failed"):
        select(X, [1, 2], ["full"], reg_covar=0.0, random_state=0)
