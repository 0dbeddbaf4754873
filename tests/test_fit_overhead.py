"""The shortcuts that keep a fit of a few hundred rows cheap give what the general paths give:
input checks, parameter checks, random states, the BLAS thread limit, the degeneracy rule."""

import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils.validation import validate_data

from emkit import GaussianMixture
from emkit._em import _blas, maximisation
from emkit._exceptions import InvalidParameterError
from emkit._validation import check_float_rows, random_state_of, validate_rows
from emkit.mixture._covariance import covariance_model
from emkit.mixture._degeneracy import _flat_matrices, _flat_variances
from emkit.mixture._gaussian_problem import SERIAL_BLAS_FEATURES, GaussianMixtureProblem

pytestmark = pytest.mark.numerics  # the degeneracy rule compares floating-point decisions


# -- input checks ----------------------------------------------------------------------------
def test_a_float_array_is_taken_as_it_is_and_sets_what_validate_data_sets():
    X = np.random.default_rng(0).normal(size=(20, 3))
    model = GaussianMixture()
    model.feature_names_in_ = np.array(["a", "b", "c"], dtype=object)  # from an earlier fit
    assert validate_rows(model, X, ensure_min_samples=2) is X
    assert model.n_features_in_ == 3 and not hasattr(model, "feature_names_in_")
    X32 = X.astype(np.float32)
    assert validate_rows(model, X32) is X32
    assert check_float_rows(X) is X


@pytest.mark.parametrize("bad", [
    np.array([[1.0, np.inf], [2.0, 3.0]]),   # not finite
    np.array([[1.0, 2.0]]),                   # one row, two needed
    np.empty((0, 2)),                         # no rows
    np.empty((3, 0)),                         # no columns
    np.ones((2, 2, 2)),                       # 3-d
    np.array([[1e308, 1e308], [1e308, 1e308]]),  # finite, but its sum overflows
])
def test_anything_else_gets_scikit_learns_check_and_error(bad):
    def outcome(check):
        try:
            return np.asarray(check())
        except ValueError as error:
            return str(error)

    ours = outcome(lambda: validate_rows(GaussianMixture(), bad, ensure_min_samples=2))
    theirs = outcome(lambda: validate_data(SklearnGaussianMixture(), bad,
                                           dtype=[np.float64, np.float32],
                                           ensure_min_samples=2))
    if isinstance(theirs, str):
        assert ours == theirs
    else:
        np.testing.assert_array_equal(ours, theirs)


def test_names_ints_and_nan_go_through_the_full_check():
    frame = pd.DataFrame({"height": [1.0, 2.0, 3.0], "mass": [3, 4, 6]})
    model = GaussianMixture()
    X = validate_rows(model, frame)
    assert X.dtype == np.float64 and list(model.feature_names_in_) == ["height", "mass"]
    ints = np.array([[1, 2], [3, 4]])
    assert check_float_rows(ints).dtype == np.float64
    with_nan = np.array([[1.0, np.nan], [2.0, 3.0]])
    assert np.isnan(validate_rows(model, with_nan, allow_nan=True)).sum() == 1
    with pytest.raises(ValueError, match="NaN"):
        validate_rows(model, with_nan)
    with pytest.raises(ValueError, match="NaN"):
        check_float_rows(with_nan)


# -- hyper-parameters --------------------------------------------------------------------------
def test_accepted_settings_are_remembered_but_bad_ones_always_rejected():
    GaussianMixture(n_components=2).fit(np.arange(20.0).reshape(10, 2))  # accepted once
    for bad in (True, 2.0, 0, -1):  # True and 2.0 compare equal to accepted ints
        with pytest.raises(InvalidParameterError, match="n_components"):
            GaussianMixture(n_components=bad).fit(np.arange(20.0).reshape(10, 2))


# -- random states -----------------------------------------------------------------------------
def test_a_seed_draws_as_numpys_random_state_even_nested():
    with random_state_of(7) as outer:
        first = outer.random_sample(3)
        with random_state_of(7) as inner:  # a second generator, not the outer one re-seeded
            assert inner is not outer
            np.testing.assert_array_equal(inner.random_sample(5),
                                          np.random.RandomState(7).random_sample(5))
        np.testing.assert_array_equal(np.concatenate([first, outer.random_sample(2)]),
                                      np.random.RandomState(7).random_sample(5))
    with random_state_of(np.int64(3)) as rng:  # used again, re-seeded
        np.testing.assert_array_equal(rng.standard_normal(4),
                                      np.random.RandomState(3).standard_normal(4))
    given = np.random.RandomState(1)
    with random_state_of(given) as rng:
        assert rng is given
    with pytest.raises(ValueError, match="Seed must be between 0 and 2\\*\\*32 - 1"):
        with random_state_of(-1):
            pass


def test_fits_from_a_seed_equal_scikit_learns():
    X = np.random.default_rng(1).normal(size=(120, 3))
    for covariance_type in ("diag", "spherical"):
        ours = GaussianMixture(3, covariance_type=covariance_type, random_state=5).fit(X)
        theirs = SklearnGaussianMixture(3, covariance_type=covariance_type,
                                        random_state=5).fit(X)
        assert ours.n_iter_ == theirs.n_iter_
        np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-10)
        np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8, atol=1e-10)


# -- BLAS thread limit -------------------------------------------------------------------------
@pytest.mark.parametrize("n_features", [SERIAL_BLAS_FEATURES, SERIAL_BLAS_FEATURES + 1])
def test_the_m_step_holds_blas_to_one_thread_only_where_it_could_thread(n_features):
    problem = GaussianMixtureProblem(covariance_model("full"), 1e-6)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4 * n_features, n_features))
    resp = rng.dirichlet(np.ones(2), size=len(X))
    theta = problem.params_from_resp(X, resp, None)
    stats, _ = problem.e_step(X, theta, None)
    seen = []
    m_step = problem.m_step
    problem.m_step = lambda *args: seen.append(_blas["depth"]) or m_step(*args)
    maximisation(problem, stats, theta)
    assert seen == [0 if n_features <= SERIAL_BLAS_FEATURES else 1]


# -- degeneracy of diagonal covariances without eigendecompositions ------------------------------
def _variances_case(rng, covariance_type, K, D):
    weights = rng.dirichlet(np.ones(K))
    means = rng.normal(size=(K, D)) * rng.uniform(0.1, 10)
    shape = (K, D) if covariance_type == "diag" else (K,)
    variances = np.exp(rng.uniform(-30, 2, size=shape))
    return weights, means, variances


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_diagonal_rule_equals_the_eigendecomposition_rule(covariance_type):
    cov = covariance_model(covariance_type)
    rng = np.random.default_rng(3)
    decided = []
    for _ in range(300):
        K, D = rng.integers(1, 5), rng.integers(1, 6)
        weights, means, variances = _variances_case(rng, covariance_type, K, D)
        if rng.random() < 0.3:
            means[:, rng.integers(D)] = 1.5  # a feature in which the data do not spread
        reg_covar = float(rng.choice([0.0, 1e-6, 1e-3]))
        expected = _flat_matrices(cov, variances, weights, means, reg_covar)
        np.testing.assert_array_equal(_flat_variances(variances, weights, means, reg_covar),
                                      expected)
        decided.append(expected.any())
    assert 0 < np.mean(decided) < 1  # both verdicts occur


def test_a_variance_between_the_two_floors_is_decided_by_the_largest_eigenvalue():
    # two features that vary together: the data's covariance is [[1.5, 1], [1, 2]], its
    # largest eigenvalue 2.78 lies between its largest diagonal entry 2 and its trace 3.5;
    # with reg_covar=0 the floors are 1e-10 times these
    means = np.array([[-1.0, -1.0], [1.0, 1.0]])
    weights = np.array([0.5, 0.5])
    largest = np.linalg.eigvalsh(np.array([[1.5, 1.0], [1.0, 2.0]]))[-1]
    for variance, flat in ((2.4e-10, True), (3.0e-10, False)):
        variances = np.array([[variance, 1.0], [1.0, 1.0]])
        assert (variance <= 1e-10 * largest) == flat
        expected = _flat_matrices(covariance_model("diag"), variances, weights, means, 0.0)
        assert expected.tolist() == [flat, False]
        np.testing.assert_array_equal(_flat_variances(variances, weights, means, 0.0),
                                      expected)


# -- the start's statistics ----------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["diag", "spherical", "full", "tied"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_starts_statistics_equal_the_reference_ones(covariance_type, dtype):
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(90, 3)) * [1.0, 10.0, 0.1] + 5.0).astype(dtype)
    resp = rng.dirichlet(np.ones(4), size=len(X)).astype(dtype)
    anchor = ((resp.T @ X) / resp.sum(axis=0)[:, None]).astype(dtype)
    cov = covariance_model(covariance_type)
    fast = GaussianMixtureProblem(cov, 1e-6).statistics(X, resp, anchor)
    reference = GaussianMixtureProblem(cov, 1e-6, kernel="reference").statistics(X, resp, anchor)
    for name in ("weight", "first", "second"):
        ours, theirs = getattr(fast, name), getattr(reference, name)
        assert ours.dtype == theirs.dtype == dtype and ours.shape == theirs.shape
        scale = 1e-4 if dtype == np.float32 else 1e-11
        np.testing.assert_allclose(ours, theirs, rtol=scale,
                                   atol=scale * np.abs(theirs).max())


# -- the compiled M-step of 'diag' and 'spherical' -----------------------------------------------
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_the_compiled_m_step_equals_the_general_one(covariance_type):
    rng = np.random.default_rng(4)
    for n_features, reg_covar in ((1, 1e-6), (5, 1e-6), (12, 1e-3)):
        X = rng.normal(size=(60, n_features)) * rng.uniform(0.01, 100, size=n_features)
        X[:7] = X[0]  # a component may sit on one repeated row: its variance is the floor
        resp = rng.dirichlet(np.full(4, 0.3), size=len(X))
        resp[:7] = [1.0, 0.0, 0.0, 0.0]
        compiled = GaussianMixtureProblem(covariance_model(covariance_type), reg_covar)
        theta = compiled.params_from_resp(X, resp, rng.uniform(0.5, 2.0, size=len(X)))
        stats, _ = compiled.e_step(X, theta, None)
        assert compiled._compiled_m_step(stats) is not None
        general = GaussianMixtureProblem(covariance_model(covariance_type), reg_covar)
        general._compiled_m_step = lambda stats: None
        ours, theirs = compiled.m_step(stats, theta), general.m_step(stats, theta)
        for name in ("weights", "means", "covariances", "precisions_cholesky"):
            a, b = getattr(ours, name), getattr(theirs, name)
            assert a.shape == b.shape and a.dtype == b.dtype == np.float64
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)


def test_float32_and_unregularised_fits_take_the_general_m_step():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    resp = rng.dirichlet(np.ones(2), size=len(X))
    for dtype, reg_covar in ((np.float32, 1e-6), (np.float64, 0.0)):
        problem = GaussianMixtureProblem(covariance_model("diag"), reg_covar)
        theta = problem.params_from_resp(X.astype(dtype), resp.astype(dtype), None)
        stats, _ = problem.e_step(X.astype(dtype), theta, None)
        assert problem._compiled_m_step(stats) is None
        assert problem.m_step(stats, theta).covariances.dtype == dtype
    assert GaussianMixtureProblem(covariance_model("VVI"), 1e-6)._compiled_m_step(stats) is None


# -- the compiled E-step of 'diag' and 'spherical' on small data ---------------------------------
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_the_compiled_e_step_equals_the_general_one(covariance_type):
    rng = np.random.default_rng(6)
    for n_features in (1, 4, 15):
        X = rng.normal(size=(230, n_features)) * rng.uniform(0.01, 100, size=n_features)
        resp = rng.dirichlet(np.full(3, 0.5), size=len(X))
        compiled = GaussianMixtureProblem(covariance_model(covariance_type), 1e-6)
        theta = compiled.params_from_resp(X, resp, None)
        general = GaussianMixtureProblem(covariance_model(covariance_type), 1e-6)
        general._compiled_e_step = lambda X, theta: False
        for weights in (None, rng.uniform(0.0, 3.0, size=len(X))):
            assert compiled._compiled_e_step(X, theta)
            (ours, our_loglik), (theirs, their_loglik) = (
                problem.e_step(X, theta, weights) for problem in (compiled, general))
            np.testing.assert_allclose(our_loglik, their_loglik, rtol=1e-13)
            for name in ("weight", "first", "second"):
                a, b = getattr(ours, name), getattr(theirs, name)
                assert a.shape == b.shape and a.dtype == b.dtype == np.float64
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


def test_float32_wide_or_many_rows_take_the_general_e_step():
    from emkit.mixture._kernels import PARALLEL_MIN_ROWS, WIDE_MIN_FEATURES

    problem = GaussianMixtureProblem(covariance_model("diag"), 1e-6)
    rng = np.random.default_rng(7)
    for n_samples, n_features, dtype in ((50, 3, np.float64), (50, 3, np.float32),
                                         (50, WIDE_MIN_FEATURES, np.float64),
                                         (PARALLEL_MIN_ROWS, 2, np.float64)):
        X = rng.normal(size=(n_samples, n_features)).astype(dtype)
        theta = problem.params_from_resp(X, rng.dirichlet(np.ones(2), size=n_samples)
                                         .astype(dtype), None)
        expected = dtype == np.float64 and n_samples < PARALLEL_MIN_ROWS \
            and n_features < WIDE_MIN_FEATURES
        assert problem._compiled_e_step(X, theta) == expected
