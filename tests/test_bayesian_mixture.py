"""emkit.BayesianGaussianMixture: scikit-learn's results, a monotone lower bound, row
weights, bad input."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from emkit import BayesianGaussianMixture, LikelihoodDecreaseWarning, ModelFileError, load
from emkit._em import Monitor, RowBlocks, run_em
from emkit.mixture._covariance import covariance_model
from emkit.mixture._init import initial_responsibilities
from conftest import COVARIANCE_TYPES, make_blobs

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
RTOL = 1e-7
PARAMETERS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
              "mean_precision_", "degrees_of_freedom_")


def _fit_both(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(**kw).fit(X)
        ref = SkBayesianGaussianMixture(**kw).fit(X)
    return ours, ref


def _assert_same_fit(ours, ref, X):
    # scikit-learn's 'tied' lower bounds are arrays of shape (1,)
    ref_bounds = np.ravel(np.asarray(ref.lower_bounds_, dtype=np.float64))
    assert ours.n_iter_ == ref.n_iter_ == len(ours.lower_bounds_)
    assert ours.converged_ == ref.converged_
    assert_allclose(ours.lower_bounds_, ref_bounds, rtol=RTOL)
    assert_allclose(ours.lower_bound_, float(np.ravel(ref.lower_bound_)[0]), rtol=RTOL)
    for name in PARAMETERS:
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=RTOL, atol=1e-12,
                        err_msg=name)
    assert_allclose(ours.weight_concentration_, ref.weight_concentration_, rtol=RTOL,
                    atol=1e-12)
    assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=RTOL)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-10)
    (rows, components), (ref_rows, ref_components) = ours.sample(50), ref.sample(50)
    assert_array_equal(components, ref_components)
    assert_allclose(rows, ref_rows, rtol=1e-6, atol=1e-9)


@pytest.mark.numerics
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_as_scikit_learn(covariance_type, prior_type):
    X, _ = make_blobs(seed=2)
    kw = dict(n_components=5, covariance_type=covariance_type, random_state=7, n_init=2,
              weight_concentration_prior_type=prior_type, max_iter=300)
    ours, ref = _fit_both(X, **kw)
    _assert_same_fit(ours, ref, X)
    assert ours.converged_
    for name in ("weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
                 "degrees_of_freedom_prior_", "covariance_prior_"):
        assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-12, err_msg=name)


@pytest.mark.numerics
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["random", "k-means++", "random_from_data"])
def test_same_fit_from_every_init(covariance_type, init_params):
    if covariance_type == "tied" and init_params in ("k-means++", "random_from_data"):
        pytest.skip("scikit-learn's tied covariance of responsibilities that do not sum to "
                    "one per row (one-hot on K rows) is not the M-step's; starts differ")
    X, _ = make_blobs(seed=4)
    kw = dict(n_components=4, covariance_type=covariance_type, init_params=init_params,
              random_state=3, tol=1e-6, max_iter=400, reg_covar=0.0,
              weight_concentration_prior=0.5, mean_precision_prior=0.2,
              degrees_of_freedom_prior=4.5)
    _assert_same_fit(*_fit_both(X, **kw), X)


@pytest.mark.numerics
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_with_given_priors(covariance_type):
    X, _ = make_blobs(seed=5)
    D = X.shape[1]
    covariance_prior = {"full": 2.0 * np.eye(D) + 0.5, "tied": 2.0 * np.eye(D) + 0.5,
                        "diag": np.linspace(0.5, 2.0, D), "spherical": 1.5}[covariance_type]
    kw = dict(n_components=4, covariance_type=covariance_type, random_state=1,
              weight_concentration_prior_type="dirichlet_distribution",
              mean_prior=np.arange(D, dtype=float), covariance_prior=covariance_prior)
    _assert_same_fit(*_fit_both(X, **kw), X)


@pytest.mark.numerics
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type, prior_type):
    X, _ = make_blobs(seed=6, spread=2.0)
    model = BayesianGaussianMixture(
        n_components=8, covariance_type=covariance_type, init_params="random",
        weight_concentration_prior_type=prior_type, tol=0.0, max_iter=150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 150 and np.all(np.isfinite(bounds))
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    assert bounds[-1] > bounds[0] + 1.0


def test_decrease_is_warned_about_and_never_converged(monkeypatch):
    """The engine's guard watches the lower bound: a made-up fall is caught."""
    X, _ = make_blobs(seed=0)
    model = BayesianGaussianMixture(n_components=3, random_state=0, tol=10.0)
    problem_class = type(model.fit(X)._problem())
    honest = problem_class.lower_bound
    calls = []

    def falling(self, stats, theta):
        calls.append(None)
        return honest(self, stats, theta) - 100.0 * len(calls)

    monkeypatch.setattr(problem_class, "lower_bound", falling)
    with pytest.warns(LikelihoodDecreaseWarning), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(max_iter=3).fit(X)
    assert not model.converged_ and model.n_iter_ == 3


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type, prior_type):
    """From the same starting responsibilities, weighted rows and repeated rows give the
    same priors, the same lower bounds and the same posteriors."""
    X, _ = make_blobs(seed=3)
    rng = np.random.RandomState(0)
    w = rng.randint(0, 4, size=X.shape[0]).astype(float)
    repeated = np.repeat(X, w.astype(int), axis=0)
    resp = rng.dirichlet(np.ones(4), size=X.shape[0])
    runs = []
    for rows, weights, start_resp in ((X, w, resp),
                                      (repeated, None, np.repeat(resp, w.astype(int), 0))):
        model = BayesianGaussianMixture(n_components=4, covariance_type=covariance_type,
                                        weight_concentration_prior_type=prior_type)
        model._check_parameters(rows, weights)
        problem = model._problem()
        start = problem.params_from_resp(rows, start_resp, weights)
        run = run_em(problem, RowBlocks(rows, weights, 64), start, tol=0.0, max_iter=15,
                     monitor=Monitor())
        runs.append((model, run))
    (weighted, a), (plain, b) = runs
    assert_allclose(weighted.mean_prior_, plain.mean_prior_, rtol=1e-12)
    assert_allclose(weighted.covariance_prior_, plain.covariance_prior_, rtol=1e-10)
    assert_allclose(a.lower_bounds, b.lower_bounds, rtol=1e-10)
    for name in ("means", "covariances", "mean_precision", "degrees_of_freedom"):
        assert_allclose(getattr(a.theta, name), getattr(b.theta, name), rtol=1e-9,
                        atol=1e-12, err_msg=name)
    assert_allclose(a.theta.weight_concentration, b.theta.weight_concentration, rtol=1e-9)


def test_integer_weights_equal_repeated_rows_in_fit():
    """Through fit: well-separated blobs, components matched by their means."""
    X, _ = make_blobs(seed=0, spread=8.0)
    w = np.random.RandomState(1).randint(1, 4, size=X.shape[0])
    kw = dict(n_components=3, weight_concentration_prior_type="dirichlet_distribution",
              tol=1e-12, max_iter=1000, random_state=0)
    weighted = BayesianGaussianMixture(**kw).fit(X, sample_weight=w)
    plain = BayesianGaussianMixture(**kw).fit(np.repeat(X, w, axis=0))
    order_w, order_p = np.argsort(weighted.means_[:, 0]), np.argsort(plain.means_[:, 0])
    assert_allclose(weighted.lower_bound_, plain.lower_bound_, rtol=1e-9)
    # the two runs stop at the same fixed point, reached along different paths
    assert_allclose(weighted.means_[order_w], plain.means_[order_p], rtol=1e-5, atol=1e-7)
    assert_allclose(weighted.covariances_[order_w], plain.covariances_[order_p], rtol=1e-5,
                    atol=1e-7)
    assert_allclose(weighted.weights_[order_w], plain.weights_[order_p], rtol=1e-5)


def test_statistics_of_a_batch_are_the_sum_of_its_parts():
    X, _ = make_blobs(seed=1)
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    problem, theta = model._problem(), model._theta()
    whole, loglik = problem.e_step(X, theta, None)
    first, loglik_1 = problem.e_step(X[:100], theta, None)
    second, loglik_2 = problem.e_step(X[100:], theta, None)
    parts = first + second
    # the entropy is the log-likelihood less the statistics' share: its round-off is that
    # of terms the size of the log-likelihood, and it is near zero for separated clusters
    assert_allclose(parts.entropy, whole.entropy, rtol=1e-12, atol=1e-12 * abs(loglik))
    assert_allclose(loglik_1 + loglik_2, loglik, rtol=1e-12)
    for name in ("weight", "first", "second"):
        assert_allclose(getattr(parts.gaussian, name), getattr(whole.gaussian, name),
                        rtol=1e-10, atol=1e-9)


def _posteriors_of(ref):
    """A scikit-learn model's posteriors as emkit's parameters."""
    from emkit.mixture._variational_problem import VariationalParams
    concentration = ref.weight_concentration_
    return VariationalParams(tuple(concentration) if isinstance(concentration, tuple)
                             else concentration, ref.mean_precision_, ref.means_,
                             ref.degrees_of_freedom_, ref.covariances_,
                             ref.precisions_cholesky_)


@pytest.mark.numerics
@pytest.mark.parametrize("covariance_type, n_features",
                         [(kind, 3) for kind in COVARIANCE_TYPES] + [("full", 100)])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_e_step_is_scikit_learns_responsibilities(covariance_type, n_features, weighted):
    # the E-step's one pass (entropy from the statistics, no responsibilities kept) against
    # scikit-learn's responsibilities of the same posteriors, summed by hand
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(300, n_features) + shift * np.sqrt(3 / n_features)
                   for shift in (0.0, 1.5, 6.0)])
    w = rng.uniform(0.0, 3.0, len(X)) if weighted else None
    kw = dict(n_components=3, covariance_type=covariance_type, init_params="random",
              max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkBayesianGaussianMixture(**kw).fit(X)
        problem = BayesianGaussianMixture(**kw).fit(X)._problem()
    stats, loglik = problem.e_step(X, _posteriors_of(ref), w)
    log_norm, log_resp = ref._estimate_log_prob_resp(X)
    row_weights = np.ones(len(X)) if w is None else w
    resp = np.exp(log_resp)
    entropy = -row_weights @ np.sum(resp * log_resp, axis=1)
    assert entropy > 1.0  # overlapping components: a bound far from zero to compare
    assert_allclose(loglik, row_weights @ log_norm, rtol=1e-12)
    assert_allclose(stats.entropy, entropy, rtol=1e-10, atol=1e-12 * abs(loglik))
    expected = problem.statistics(X, resp * row_weights[:, None], ref.means_).gaussian
    for name in ("weight", "first", "second"):
        value = getattr(expected, name)
        assert_allclose(getattr(stats.gaussian, name), value, rtol=1e-10,
                        atol=1e-10 * np.abs(value).max(), err_msg=name)


def test_warm_starts_of_one_iteration_equal_one_fit():
    X, _ = make_blobs(seed=2)
    kw = dict(n_components=4, random_state=0, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        once = BayesianGaussianMixture(max_iter=6, **kw).fit(X)
        stepped = BayesianGaussianMixture(max_iter=1, warm_start=True, **kw)
        bounds = [stepped.fit(X).lower_bound_ for _ in range(6)]
    assert_allclose(bounds, once.lower_bounds_, rtol=1e-12)
    assert_allclose(stepped.means_, once.means_, rtol=1e-12, atol=1e-12)


def test_predictions_sampling_and_scores():
    X, labels = make_blobs(seed=0, spread=8.0)
    model = BayesianGaussianMixture(n_components=6, random_state=0, max_iter=500)
    fitted_labels = model.fit_predict(X)
    assert_array_equal(fitted_labels, model.predict(X))
    proba = model.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert model.score(X) == pytest.approx(model.score_samples(X).mean(), rel=1e-12)
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(labels, fitted_labels) > 0.95
    rows, components = model.sample(500)
    assert rows.shape == (500, X.shape[1]) and components.shape == (500,)
    assert np.all(np.bincount(components, minlength=6)[model.weights_ < 1e-3] < 5)
    # the three blobs take nearly all the weight
    assert np.sort(model.weights_)[-3:].sum() > 0.99


def test_max_iter_zero_keeps_the_start():
    X, _ = make_blobs(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = BayesianGaussianMixture(n_components=3, max_iter=0, random_state=0).fit(X)
    ref = SkBayesianGaussianMixture(n_components=3, max_iter=0, random_state=0).fit(X)
    assert model.n_iter_ == 0 and model.lower_bound_ == -np.inf and model.lower_bounds_ == []
    assert not model.converged_
    assert_allclose(model.means_, ref.means_, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", ["identical rows", "constant feature", "scale 1e-8",
                                  "collinear features"])
def test_degenerate_data_give_no_nan(covariance_type, case):
    """No NaN; and no decrease of the lower bound where the covariance prior is
    positive-definite or only the data's zero variance makes it singular (the bound may
    then fall by what reg_covar allows, and no more). Collinear features make the default
    prior singular in a direction of spread: near-empty components then have covariances
    conditioned at 1e14, whose round-off may move the bound either way."""
    rng = np.random.RandomState(0)
    X = {"identical rows": np.tile(rng.randn(1, 3), (40, 1)),
         "constant feature": np.c_[rng.randn(40, 2), np.full(40, 7.0)],
         "scale 1e-8": rng.randn(40, 3) * 1e-8,
         "collinear features": (lambda z: np.c_[z, 2 * z - 1, rng.randn(40)])(rng.randn(40)),
         }[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if case != "collinear features":
            warnings.simplefilter("error", LikelihoodDecreaseWarning)
        else:
            warnings.simplefilter("ignore", LikelihoodDecreaseWarning)
        model = BayesianGaussianMixture(n_components=3, covariance_type=covariance_type,
                                        random_state=0, max_iter=300).fit(X)
    for name in PARAMETERS + ("lower_bounds_",):
        assert np.all(np.isfinite(getattr(model, name))), name
    assert np.all(np.isfinite(model.score_samples(X)))


def test_float32_rows_are_fitted():
    X, _ = make_blobs(seed=0)
    a = BayesianGaussianMixture(n_components=3, random_state=0).fit(X.astype(np.float32))
    b = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-4)


BAD_PARAMETERS = [
    ({"weight_concentration_prior": 0.0}, "'weight_concentration_prior' parameter"),
    ({"weight_concentration_prior": -1.0}, "'weight_concentration_prior' parameter"),
    ({"weight_concentration_prior_type": "dirichlet"},
     "'weight_concentration_prior_type' parameter"),
    ({"mean_precision_prior": 0.0}, "'mean_precision_prior' parameter"),
    ({"degrees_of_freedom_prior": 2.0}, "'degrees_of_freedom_prior' should be greater than 2"),
    ({"mean_prior": [0.0, 1.0]}, r"'means' should have the shape of \(3,\)"),
    ({"covariance_prior": np.eye(2)}, r"'full covariance_prior' should have the shape"),
    ({"covariance_prior": -np.eye(3)}, "covariance_prior must be symmetric, positive-definite"),
    ({"covariance_type": "diag", "covariance_prior": [1.0, 0.0, 1.0]},
     "covariance_prior must be positive"),
    ({"covariance_type": "spherical", "covariance_prior": [1.0]},
     "covariance_prior must be a positive float"),
    ({"init_params": "hierarchical"}, "'init_params' parameter"),
    ({"n_components": 0}, "'n_components' parameter"),
    ({"covariance_type": "toeplitz"}, "'covariance_type' parameter"),
    ({"total_samples": 0.0}, "'total_samples' parameter"),
]


@pytest.mark.parametrize("params, message", BAD_PARAMETERS)
def test_bad_hyper_parameters_get_clear_errors(params, message):
    X, _ = make_blobs(seed=0)
    model = BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    before = {k: v for k, v in vars(model).items() if k.endswith("_")}
    with pytest.raises(ValueError, match=message):
        model.set_params(**params).fit(X)
    after = {k: v for k, v in vars(model).items() if k.endswith("_")}
    assert after.keys() == before.keys()
    for name, value in before.items():  # a failed fit leaves the model as it was
        assert after[name] is value, name


def test_bad_input_gets_clear_errors():
    X, _ = make_blobs(seed=0)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BayesianGaussianMixture().predict(X)
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        BayesianGaussianMixture(n_components=5).fit(X[:3])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        BayesianGaussianMixture().fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        BayesianGaussianMixture().fit(np.where(X > 3, np.nan, X))
    with pytest.raises(ValueError, match="at least n_components = 3 rows with a positive"):
        BayesianGaussianMixture(n_components=3).fit(X, sample_weight=np.r_[1.0, 1.0, np.zeros(
            len(X) - 2)])
    normalised = np.full(len(X), 1.0 / len(X))
    with pytest.raises(ValueError, match="needs sample_weight to sum to more than 1"):
        BayesianGaussianMixture().fit(X, sample_weight=normalised)
    given = BayesianGaussianMixture(covariance_prior=np.eye(3)).fit(X, sample_weight=normalised)
    assert np.all(np.isfinite(given.means_))
    with pytest.raises(ValueError, match="needs at least 2 rows; got 1"):
        BayesianGaussianMixture().partial_fit(X[:1])  # the first batch sets the priors
    model = BayesianGaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def _expected_failures(estimator):
    if estimator.n_components == 1:
        return {}
    # weighted and repeated rows draw different k-means starts (see GaussianMixture's
    # checks); from the same start they agree: test_integer_weights_equal_repeated_rows
    return {"check_sample_weight_equivalence_on_dense_data":
            "random initialisation differs between weighted and repeated rows"}


@parametrize_with_checks(
    [BayesianGaussianMixture(),
     BayesianGaussianMixture(n_components=2, covariance_type="diag", random_state=0,
                             weight_concentration_prior_type="dirichlet_distribution")],
    expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_save_and_load_predict_the_same(tmp_path, covariance_type, prior_type):
    X, _ = make_blobs(seed=0)
    model = BayesianGaussianMixture(n_components=4, covariance_type=covariance_type,
                                    weight_concentration_prior_type=prior_type,
                                    random_state=0).fit(X)
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model.json")
    assert type(loaded) is BayesianGaussianMixture
    assert loaded.get_params() == model.get_params()
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert type(loaded.weight_concentration_) is type(model.weight_concentration_)


@pytest.mark.parametrize("attribute, value", [
    ("means_", lambda m: m.means_[:, :2]),
    ("mean_precision_", lambda m: -m.mean_precision_),
    ("degrees_of_freedom_", lambda m: np.zeros_like(m.degrees_of_freedom_)),
    ("weight_concentration_", lambda m: (m.weight_concentration_[0],)),
    ("covariances_", lambda m: m.covariances_[:2]),  # (NaN is refused by save itself)
])
def test_inconsistent_model_files_are_refused(tmp_path, attribute, value):
    X, _ = make_blobs(seed=0)
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    setattr(model, attribute, value(model))
    model.save(tmp_path / "model")
    with pytest.raises(ModelFileError, match=f"inconsistent model.*{attribute.rstrip('_')}"):
        load(tmp_path / "model")


@pytest.mark.parametrize("covariance_type, reg_covar, seed", [
    ("full", 0.1, 2), ("diag", 1.0, 1), ("spherical", 0.1, 0)])
def test_falls_of_the_bound_stay_within_what_reg_covar_allows(covariance_type, reg_covar,
                                                               seed):
    """A large reg_covar makes the update inexact and the bound does fall (so the slack is
    needed), never by more than the problem's likelihood_slack."""
    X, _ = make_blobs(seed=6, spread=2.0)
    model = BayesianGaussianMixture(n_components=8, covariance_type=covariance_type,
                                    init_params="random", reg_covar=reg_covar, max_iter=0,
                                    random_state=seed).fit(X)
    problem, theta = model._problem(), model._theta()
    previous, falls = -np.inf, []
    for _ in range(150):
        stats, _ = problem.e_step(X, theta, None)
        new = problem.m_step(stats)
        bound = problem.lower_bound(stats, new)
        if bound < previous:
            falls.append(previous - bound)
            slack = problem.likelihood_slack(stats, new, theta)
            assert previous - bound <= slack + 1e-9 * abs(bound)
        previous, theta = bound, new
    assert max(falls) > 1e-3


def test_verbose_output_is_scikit_learns(capsys):
    X, _ = make_blobs(seed=0)
    kw = dict(n_components=3, random_state=0, verbose=1, verbose_interval=2, n_init=2)
    BayesianGaussianMixture(**kw).fit(X)
    ours = capsys.readouterr().out
    SkBayesianGaussianMixture(**kw).fit(X)
    assert ours == capsys.readouterr().out
    assert "Initialization 1" in ours and "  Iteration 2" in ours


def test_dask_input_is_scored_partition_by_partition_as_in_memory():
    """predict, predict_proba and score_samples take a Dask array (the inference shared
    with GaussianMixture) and give, lazily, what they give on the array itself."""
    da = pytest.importorskip("dask.array")
    X, _ = make_blobs(seed=3)
    model = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    chunked = da.from_array(X, chunks=(70, 2))
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(model, method)(chunked)
        assert isinstance(lazy, da.Array)
        expected = getattr(model, method)(X)
        got = lazy.compute(scheduler="threads")
        assert got.shape == expected.shape
        if method == "predict":
            assert np.array_equal(got, expected)
        else:
            assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_moments_of_streamed_rows_are_the_weighted_mean_and_covariance():
    """The priors' defaults of a streamed fit, read in one pass over blocks, are the
    in-memory weighted mean and unbiased covariance (integer weights: repeated rows)."""
    from emkit.mixture._data_moments import data_moments

    X, _ = make_blobs(seed=4)
    w = np.random.default_rng(0).integers(1, 4, size=X.shape[0]).astype(np.float64)
    total, mean, covariance = data_moments(RowBlocks(X, w, 37), X[0])
    assert total == w.sum()
    assert_allclose(mean, np.average(X, axis=0, weights=w), rtol=1e-12, atol=1e-12)
    assert_allclose(covariance, np.cov(X.T, fweights=w.astype(int)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_prior_moments_in_slices_are_numpys(monkeypatch, weighted):
    """The default covariance prior is read in slices of rows (here 7, the last one
    short): the covariance is np.cov's and the variances np.var's (ddof=1), with integer
    weights counting repeated rows."""
    from emkit.mixture import _bayesian_mixture as bgm

    monkeypatch.setattr(bgm, "MOMENT_ROWS", 7)
    X, _ = make_blobs(seed=6)
    w = (np.random.default_rng(1).integers(1, 4, size=X.shape[0]).astype(np.float64)
         if weighted else None)
    fweights = None if w is None else w.astype(int)
    mean = np.average(X, axis=0, weights=w)
    expected = np.cov(X.T, fweights=fweights)
    assert_allclose(bgm.weighted_covariance(X, w, mean), expected, rtol=1e-12, atol=1e-12)
    assert_allclose(bgm.weighted_variances(X, w, mean), np.diag(expected), rtol=1e-12,
                    atol=1e-12)
    if w is None:
        assert_allclose(bgm.weighted_variances(X, None, mean), np.var(X, axis=0, ddof=1),
                        rtol=1e-12, atol=1e-12)


def test_a_block_source_fits_as_the_array_and_refuses_missing_values():
    X, _ = make_blobs(seed=5)
    params = dict(n_components=3, covariance_type="diag", random_state=1, tol=1e-8,
                  max_iter=40)
    whole = BayesianGaussianMixture(**params).fit(X)
    blocks = [X[i:i + 50] for i in range(0, X.shape[0], 50)]
    streamed = BayesianGaussianMixture(**params)
    streamed.fit(blocks)
    assert_allclose(streamed.lower_bounds_, whole.lower_bounds_, rtol=1e-8)
    assert_allclose(streamed.means_, whole.means_, rtol=1e-7, atol=1e-9)
    assert_allclose(streamed.covariance_prior_, whole.covariance_prior_, rtol=1e-10)
    assert streamed.n_features_in_ == X.shape[1]
    with_nan = [block.copy() for block in blocks]
    with_nan[1][2, 0] = np.nan
    fresh = BayesianGaussianMixture(**params)
    with pytest.raises(ValueError, match="NaN"):
        fresh.fit(with_nan)
    assert not hasattr(fresh, "means_")


def _natural_parameters(theta):
    """The Gaussian-Wishart posteriors' natural parameters ('full'): beta, beta m, nu,
    W^-1 + beta m m^T, and the sticks' Beta parameters; affine in the statistics."""
    beta, means, nu = theta.mean_precision, theta.means, theta.degrees_of_freedom
    scale = theta.covariances * nu[:, None, None]  # W^-1
    return (beta, beta[:, None] * means, nu,
            scale + beta[:, None, None] * means[:, :, None] * means[:, None, :],
            *theta.weight_concentration)


def test_partial_fit_is_stochastic_variational_inference(tmp_path):
    """Each batch moves the posteriors' natural parameters to (1 - rho) old + rho (prior +
    N / |B| stats(batch)), with rho = (t + learning_offset) ** -learning_decay, the
    statistics the problem's own E-step of the batch under the current posteriors, and N
    the weight of the batches read so far (total_samples=None) or total_samples; the model
    saves and loads between batches."""
    X, _ = make_blobs(seed=7)
    first, second = X[::2], X[1::2]
    model = BayesianGaussianMixture(n_components=3, random_state=0, learning_offset=4.0,
                                    learning_decay=0.6)
    model.partial_fit(first)
    reference = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=0)
    reference._check_parameters(first)
    problem = reference._problem()
    resp = initial_responsibilities("kmeans", first, 3, None, np.random.RandomState(0))
    start = problem.params_from_resp(first, resp, None)
    running, loglik = problem.e_step(first, start, None)  # N = |B|: the batch's own units
    expected = problem.m_step(running)
    assert_allclose(model.means_, expected.means, rtol=1e-12, atol=1e-12)
    assert model.lower_bound_ == pytest.approx(loglik / first.shape[0], rel=1e-12)
    assert (model.n_batches_, model.converged_) == (1, False)

    model.save(tmp_path / "model")
    assert load(tmp_path / "model.json").n_batches_ == 1
    model.partial_fit(second)
    rho = (1 + 4.0) ** -0.6
    stats, _ = problem.e_step(second, expected, None)
    seen = first.shape[0] + second.shape[0]
    target = problem.m_step(stats * (seen / second.shape[0]))
    for got, old, new in zip(_natural_parameters(model._theta()),
                             _natural_parameters(expected), _natural_parameters(target)):
        assert_allclose(got, (1 - rho) * old + rho * new, rtol=1e-10, atol=1e-10)
    assert model.n_batches_ == 2 and len(model.lower_bounds_) == 2

    # total_samples: N given, row weights: |B| is the batch's weight
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=second.shape[0])
    given = BayesianGaussianMixture(n_components=3, random_state=0, total_samples=1000.0)
    given.partial_fit(second, sample_weight=weights)
    given_problem = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=0)
    given_problem._check_parameters(second, weights)
    given_problem = given_problem._problem()
    resp = initial_responsibilities("kmeans", second, 3, weights, np.random.RandomState(0))
    start = given_problem.params_from_resp(second, resp, weights)
    stats, _ = given_problem.e_step(second, start, weights)
    expected = given_problem.m_step(stats * (1000.0 / weights.sum()))
    for got, want in zip(_natural_parameters(given._theta()), _natural_parameters(expected)):
        assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="zero for every row"):
        given.partial_fit(second, sample_weight=np.zeros(second.shape[0]))
    assert given.n_batches_ == 1
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2])
    assert model.n_batches_ == 2


@pytest.mark.numerics
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_streamed_partial_fit_approaches_the_batch_fit(covariance_type):
    """1,200 rows in 12 blocks, 10 passes over the blocks in shuffled orders, N given:
    stochastic variational inference settles near the batch fit's optimum.

    Tolerances: the last step is rho = 130 ** -0.7 (about 0.033), so the running
    statistics average the last few passes' blocks and the posteriors sit within a few
    thousandths of the batch fit's (measured: means 0.005, weights 0.001, covariances'
    eigenvalue ratios 0.95 to 1.07, score 0.001); the bounds leave about ten times that
    for other CPUs' round-off to grow through 120 updates, and are far below what
    statistics in the units of one block gave (means 0.2 off, covariances 1.6 to 4 times
    the batch fit's, score 0.14 to 0.28 lower)."""
    X, _ = make_blobs(n_per=(500, 400, 300), n_features=2, seed=0)
    rng = np.random.default_rng(0)
    X = X[rng.permutation(X.shape[0])]
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    batch = BayesianGaussianMixture(max_iter=500, tol=1e-6, **params).fit(X)
    stream = BayesianGaussianMixture(total_samples=X.shape[0], **params)
    blocks = np.array_split(X, 12)
    for _ in range(10):
        for b in rng.permutation(len(blocks)):
            stream.partial_fit(blocks[b])
    # the same components, in the order of the batch fit's
    order = [int(np.argmin(np.sum((stream.means_ - mean) ** 2, axis=1)))
             for mean in batch.means_]
    assert sorted(order) == [0, 1, 2]
    assert_allclose(stream.means_[order], batch.means_, atol=0.05)
    assert_allclose(stream.weights_[order], batch.weights_, atol=0.003)
    as_matrices = covariance_model(covariance_type).full_matrices
    covariances = as_matrices(stream.covariances_, 3, 2)
    batch_covariances = as_matrices(batch.covariances_, 3, 2)
    for ours, theirs in zip(covariances[order], batch_covariances):
        ratios = np.linalg.eigvals(np.linalg.solve(theirs, ours)).real
        assert np.all((ratios > 1 / 1.15) & (ratios < 1.15)), ratios
    assert stream.score(X) == pytest.approx(batch.score(X), abs=0.01)
