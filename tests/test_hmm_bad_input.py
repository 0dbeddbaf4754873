"""emkit.hmm on bad input: each mistake raises ValueError (or NotFittedError) with a
message naming the problem, and a failed fit leaves a fitted model as it was."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from emkit.hmm import CategoricalHMM, GaussianHMM, PoissonHMM

RNG = np.random.RandomState(0)
XG = RNG.randn(30, 2)
XC = RNG.randint(3, size=(30, 1))
XP = RNG.poisson(3.0, size=(30, 2))


def gaussian(**kwargs):
    return GaussianHMM(2, **{"n_iter": 2, "random_state": 0, **kwargs})


def categorical(**kwargs):
    return CategoricalHMM(2, **{"n_iter": 2, "random_state": 0, **kwargs})


def poisson(**kwargs):
    return PoissonHMM(2, **{"n_iter": 2, "random_state": 0, **kwargs})


FACTORIES = {"gaussian": (gaussian, XG), "categorical": (categorical, XC),
             "poisson": (poisson, XP)}


@pytest.fixture(scope="module")
def fitted():
    return {name: (make().fit(X), X) for name, (make, X) in FACTORIES.items()}


# -- lengths ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("lengths,match", [
    ([10, 10], r"lengths sum to 20, but X has 30 rows"),
    ([20, 20], r"lengths sum to 40, but X has 30 rows"),
    ([30, 0], r"lengths must be positive; sequence 1 has length 0"),
    ([35, -5], r"lengths must be positive; sequence 1 has length -5"),
    ([], r"lengths must be a 1-d sequence"),
    ([[10, 20]], r"lengths must be a 1-d sequence"),
    ([10.5, 19.5], r"lengths must be integers"),
    (["a", "b"], r"lengths must be integers"),
])
def test_bad_lengths_at_fit(name, lengths, match):
    make, X = FACTORIES[name]
    with pytest.raises(ValueError, match=match):
        make().fit(X, lengths)


def test_non_integer_lengths_small():
    """The brief's example: lengths [1.5, 2.5] for 4 rows (they sum to 4)."""
    with pytest.raises(ValueError, match=r"lengths must be integers.*1\.5"):
        gaussian().fit(XG[:4], [1.5, 2.5])


def test_whole_float_lengths_are_accepted():
    """Floats holding whole numbers are lengths like any other."""
    a = gaussian().fit(XG, [10.0, 20.0])
    b = gaussian().fit(XG, [10, 20])
    np.testing.assert_array_equal(a.transmat_, b.transmat_)


@pytest.mark.parametrize("method", ["score", "score_samples", "predict", "predict_proba",
                                    "decode", "bic", "aic"])
def test_bad_lengths_at_inference(fitted, method):
    model, X = fitted["gaussian"]
    with pytest.raises(ValueError, match=r"lengths sum to 20, but X has 30 rows"):
        getattr(model, method)(X, [10, 10])
    with pytest.raises(ValueError, match=r"lengths must be positive"):
        getattr(model, method)(X, [30, 0])


# -- symbols and counts --------------------------------------------------------------------
def test_symbol_out_of_range_at_fit():
    """A symbol >= n_features at fit."""
    with pytest.raises(ValueError, match=r"Largest symbol is 2 .* up to 1"):
        categorical(n_features=2).fit(XC)


def test_symbol_out_of_range_at_score(fitted):
    model, _ = fitted["categorical"]
    for method in ("score", "predict", "predict_proba", "decode"):
        with pytest.raises(ValueError, match=r"Largest symbol is 3 .* up to 2"):
            getattr(model, method)(np.array([[0], [3], [1]]))


def test_symbol_out_of_range_for_given_emissionprob():
    """Symbols beyond emissionprob_'s columns, with emissionprob_ given (init_params="")."""
    model = CategoricalHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.emissionprob_ = np.array([[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"Largest symbol is 2 .* up to 1"):
        model.fit(XC)
    with pytest.raises(ValueError, match=r"Largest symbol is 2 .* up to 1"):
        model.score(XC)


@pytest.mark.parametrize("X,match", [
    (np.array([[0], [-1], [2]]), r"Symbols must be non-negative"),
    (np.array([[0], [1.5], [2]]), r"Symbols must be integers, got .*1\.5"),
    (np.array([[0.0], [np.nan]]), r"Symbols contain NaN or infinity"),
    (np.array([[0.0], [np.inf]]), r"Symbols contain NaN or infinity"),
    (np.array([["a"], ["b"]]), r"Symbols must be integers"),
    (np.array([[0, 1], [1, 2]]), r"one symbol per sample.*2 columns"),
    (np.empty((0, 1)), r"non-empty"),
])
def test_bad_symbols(fitted, X, match):
    """Negative, fractional, non-finite, non-numeric or multi-column symbols, at fit and at
    score time."""
    with pytest.raises(ValueError, match=match):
        categorical().fit(X)
    with pytest.raises(ValueError, match=match):
        fitted["categorical"][0].score(X)


@pytest.mark.parametrize("X,match", [
    (np.array([[1, 2], [-1, 2]]), r"Counts must be non-negative"),
    (np.array([[1, 2], [1.5, 2]]), r"Counts must be integers, got .*1\.5"),
    (np.array([[1, 2], [np.nan, 2]]), r"Counts contain NaN or infinity"),
    (np.empty((0, 2)), r"non-empty"),
])
def test_bad_counts(fitted, X, match):
    with pytest.raises(ValueError, match=match):
        poisson().fit(X)
    with pytest.raises(ValueError, match=match):
        fitted["poisson"][0].score(X)


# -- feature counts ------------------------------------------------------------------------
@pytest.mark.parametrize("name,cls", [("gaussian", "GaussianHMM"), ("poisson", "PoissonHMM")])
@pytest.mark.parametrize("method", ["score", "score_samples", "predict", "predict_proba",
                                    "decode", "bic"])
def test_wrong_feature_count_at_score(fitted, name, cls, method):
    model, _ = fitted[name]
    X = RNG.poisson(2.0, size=(5, 3))
    with pytest.raises(ValueError, match=rf"X has 3 features, but {cls} is expecting 2"):
        getattr(model, method)(X)


def test_wrong_feature_count_for_hand_set_gaussian():
    model = GaussianHMM(2, init_params="")
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.means_ = np.zeros((2, 2))
    model.covars_ = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"features"):
        model.score(RNG.randn(5, 3))


def test_hand_set_poisson_can_score():
    model = PoissonHMM(2, init_params="")
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.lambdas_ = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.isfinite(model.score(XP))
    with pytest.raises(ValueError, match=r"X has 3 features"):
        model.score(RNG.poisson(2.0, size=(5, 3)))


def test_means_do_not_match_X_at_fit():
    model = GaussianHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.means_ = np.zeros((2, 3))
    model.covars_ = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"X has 2 features, but GaussianHMM is expecting 3"):
        model.fit(XG)


def test_lambdas_do_not_match_X_at_fit():
    model = PoissonHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.lambdas_ = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"X has 2 features, but PoissonHMM is expecting 3"):
        model.fit(XP)


# -- parameters given with init_params="" -------------------------------------------------------
def _gaussian_given(covariance_type="diag", **attributes):
    model = GaussianHMM(2, covariance_type=covariance_type, init_params="", n_iter=2)
    defaults = dict(startprob_=[0.5, 0.5], transmat_=[[0.5, 0.5], [0.5, 0.5]],
                    means_=np.zeros((2, 2)),
                    covars_={"diag": np.ones((2, 2)), "spherical": np.ones(2),
                             "full": np.array([np.eye(2)] * 2), "tied": np.eye(2)
                             }[covariance_type])
    defaults.update(attributes)
    for name, value in defaults.items():
        setattr(model, name, np.array(value, dtype=float))
    return model


@pytest.mark.parametrize("attributes,match", [
    (dict(startprob_=[0.5, 0.6]), r"startprob_ must sum to 1"),
    (dict(startprob_=[1.5, -0.5]), r"startprob_ has negative probabilities"),
    (dict(startprob_=[1 / 3] * 3), r"startprob_ must have shape \(2,\), got \(3,\)"),
    (dict(startprob_=[np.nan, 1.0]), r"startprob_ has non-finite values"),
    (dict(transmat_=[[0.5, 0.6], [0.5, 0.5]]), r"transmat_ rows must each sum to 1"),
    (dict(transmat_=[[1.5, -0.5], [0.5, 0.5]]), r"transmat_ has negative probabilities"),
    (dict(transmat_=[[1.0]]), r"transmat_ must have shape \(2, 2\), got \(1, 1\)"),
    (dict(means_=np.zeros((3, 2))), r"means_ must be a finite array of shape"),
    (dict(means_=np.zeros(2)), r"means_ must be a finite array of shape"),
    (dict(means_=[[0.0, np.inf], [0.0, 0.0]]), r"means_ must be a finite array"),
    (dict(covars_=np.ones((2, 3))), r"'diag' covars_ must have shape \(2, 2\), got \(2, 3\)"),
    (dict(covars_=-np.ones((2, 2))), r"'diag' covars_ must be positive"),
    (dict(covars_=np.zeros((2, 2))), r"'diag' covars_ must be positive"),
    (dict(covars_=[[1.0, np.nan], [1.0, 1.0]]), r"covars_ has non-finite values"),
])
def test_bad_given_parameters(attributes, match):
    with pytest.raises(ValueError, match=match):
        _gaussian_given(**attributes).fit(XG)


@pytest.mark.parametrize("covariance_type,covars,match", [
    ("full", [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]],
     r"'full' covars_ must be symmetric, positive-definite"),
    ("full", [[[1.0, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]],
     r"'full' covars_ must be symmetric, positive-definite"),
    ("full", np.ones((2, 2)), r"'full' covars_ must have shape \(2, 2, 2\)"),
    ("tied", [[1.0, 2.0], [2.0, 1.0]], r"'tied' covars_ must be symmetric, positive-definite"),
    ("tied", np.ones((2, 2, 2)), r"'tied' covars_ must have shape \(2, 2\)"),
    ("spherical", [1.0, -1.0], r"'spherical' covars_ must be positive"),
    ("spherical", np.ones((2, 2)), r"'spherical' covars_ must have shape \(2,\)"),
])
def test_bad_given_covariances(covariance_type, covars, match):
    with pytest.raises(ValueError, match=match):
        _gaussian_given(covariance_type, covars_=covars).fit(XG)


def _categorical_given(emissionprob):
    model = CategoricalHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.emissionprob_ = np.array(emissionprob)
    return model


@pytest.mark.parametrize("emissionprob,match", [
    ([[0.5, 0.6, 0.0], [0.2, 0.3, 0.5]], r"emissionprob_ rows must each sum to 1"),
    ([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]], r"emissionprob_ has negative probabilities"),
    ([[0.5, 0.5, 0.0]], r"emissionprob_ must have shape \(2, 3\)"),
])
def test_bad_given_emissionprob(emissionprob, match):
    with pytest.raises(ValueError, match=match):
        _categorical_given(emissionprob).fit(XC)


def test_emissionprob_of_the_wrong_width_for_n_features():
    model = _categorical_given([[0.5, 0.5], [0.5, 0.5]])
    model.n_features = 3
    with pytest.raises(ValueError, match=r"emissionprob_ must have shape \(2, 3\)"):
        model.fit(XC)


@pytest.mark.parametrize("lambdas,match", [
    ([[1.0, -1.0], [1.0, 1.0]], r"lambdas_ must be finite and non-negative"),
    ([[1.0, np.nan], [1.0, 1.0]], r"lambdas_ must be finite and non-negative"),
    ([[1.0, 1.0]], r"lambdas_ must have shape \(n_components=2"),
])
def test_bad_given_lambdas(lambdas, match):
    model = PoissonHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.lambdas_ = np.array(lambdas)
    with pytest.raises(ValueError, match=match):
        model.fit(XP)


# -- observations ----------------------------------------------------------------------------
@pytest.mark.parametrize("X,match", [
    (np.r_[XG[:5], [[np.nan, 1.0]]], r"Input X contains NaN"),
    (np.r_[XG[:5], [[np.inf, 1.0]]], r"Input X contains infinity"),
    (np.empty((0, 2)), r"0 sample\(s\)"),
    (np.arange(5.0), r"Expected 2D array"),
])
def test_bad_gaussian_observations(fitted, X, match):
    with pytest.raises(ValueError, match=match):
        gaussian().fit(X)
    with pytest.raises(ValueError, match=match):
        fitted["gaussian"][0].score(X)


def test_more_states_than_samples():
    with pytest.raises(ValueError, match=r"3 (rows|should be).*(n_components|n_clusters)=5"):
        GaussianHMM(5).fit(XG[:3])


# -- zero-probability data -----------------------------------------------------------------------
def test_impossible_symbol_scores_minus_inf():
    model = _categorical_given([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    assert model.score(XC) == -np.inf


def test_impossible_data_at_fit_raises():
    model = _categorical_given([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    with pytest.raises(ValueError, match=r"zero probability"):
        model.fit(XC)


def test_impossible_poisson_count():
    model = PoissonHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.lambdas_ = np.array([[0.0, 1.0], [0.0, 2.0]])
    X = np.array([[1, 1], [0, 2]])
    model.n_features_in_ = 2
    assert model.score(X) == -np.inf
    with pytest.raises(ValueError, match=r"zero probability"):
        model.fit(X)


# -- hyper-parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(n_components=0), r"'n_components' parameter .* range \[1, inf\)"),
    (dict(n_components=1.5), r"'n_components' parameter"),
    (dict(covariance_type="bogus"), r"'covariance_type' parameter .* Got 'bogus'"),
    (dict(algorithm="bogus"), r"'algorithm' parameter .* Got 'bogus'"),
    (dict(n_iter=-1), r"'n_iter' parameter .* Got -1"),
    (dict(tol=np.nan), r"'tol' parameter .* Got nan"),  # any other float is fine
    (dict(min_covar=-1), r"'min_covar' parameter"),
    (dict(implementation="bogus"), r"'implementation' parameter"),
    (dict(params=3), r"params must be a string"),
    (dict(init_params=None), r"init_params must be a string"),
    (dict(startprob_prior=np.ones(3)), r"startprob_prior must be .* shape \(2,\)"),
    (dict(transmat_prior=np.nan), r"transmat_prior must be a finite number"),
])
def test_bad_hyperparameters(kwargs, match):
    kwargs = {"n_components": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        GaussianHMM(**kwargs).fit(XG)


@pytest.mark.parametrize("n_features", [0, -2, 2.5, True])
def test_bad_n_features(n_features):
    with pytest.raises(ValueError, match=r"n_features must be a positive int or None"):
        CategoricalHMM(2, n_features=n_features).fit(XC)


@pytest.mark.parametrize("cls,X", [(CategoricalHMM, XC), (PoissonHMM, XP)])
def test_bad_hyperparameters_other_classes(cls, X):
    with pytest.raises(ValueError, match=r"'n_components' parameter"):
        cls(0).fit(X)
    with pytest.raises(ValueError, match=r"'n_iter' parameter"):
        cls(2, n_iter=-1).fit(X)


def test_bad_decoder(fitted):
    model, X = fitted["gaussian"]
    with pytest.raises(ValueError, match=r"Unknown decoder 'bogus'"):
        model.decode(X, algorithm="bogus")


# -- unfitted models -------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("method", ["score", "score_samples", "predict", "predict_proba",
                                    "decode", "bic", "aic", "sample"])
def test_unfitted_model_raises_not_fitted(name, method):
    make, X = FACTORIES[name]
    with pytest.raises(NotFittedError, match=r"not fitted yet"):
        if method == "sample":
            make().sample(3)
        else:
            getattr(make(), method)(X)


# -- a failed fit changes nothing ------------------------------------------------------------------
def _fitted_attributes(model):
    return {k: v for k, v in vars(model).items() if k.endswith("_")}


def _snapshot(model):
    return {k: (np.copy(v) if isinstance(v, np.ndarray) else
                list(v) if isinstance(v, list) else v)
            for k, v in _fitted_attributes(model).items()}


def _assert_unchanged(model, snapshot):
    assert set(_fitted_attributes(model)) == set(snapshot)
    for name, value in _fitted_attributes(model).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, snapshot[name], err_msg=name)
        else:
            assert value == snapshot[name], name


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_failed_fit_leaves_the_model_unchanged(name):
    """Fit once; a second fit with bad lengths or bad data raises and leaves every
    attribute (parameters, history, n_iter_, ...) as the first fit left it."""
    make, X = FACTORIES[name]
    model = make(n_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, [12, 18])
    snapshot = _snapshot(model)
    score = model.score(X)
    bad_data, bad_match = {
        "gaussian": lambda: (np.r_[X[:5], [[np.nan, 0.0]]], "NaN"),
        "categorical": lambda: (np.array([[0], [-1]]), "non-negative"),
        "poisson": lambda: (np.array([[1, 2], [1.5, 0]]), "integers")}[name]()
    for data, lengths, match in ((X, [10, 10], "lengths sum"), (X, [30, 0], "positive"),
                                 (bad_data, None, bad_match)):
        with pytest.raises(ValueError, match=match):
            model.fit(data, lengths)
        _assert_unchanged(model, snapshot)
    assert model.score(X) == score


def test_failed_fit_with_bad_given_parameters_keeps_the_fit():
    """A refit that fails on an invalid hyper-parameter keeps the fitted attributes."""
    model = gaussian(n_iter=3).fit(XG)
    snapshot = _snapshot(model)
    model.set_params(covariance_type="bogus")
    with pytest.raises(ValueError, match=r"covariance_type"):
        model.fit(XG)
    _assert_unchanged(model, snapshot)
