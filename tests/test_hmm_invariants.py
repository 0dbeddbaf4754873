"""Properties every emkit.hmm fit must have, whatever the data: a non-decreasing
log-likelihood, independence of the order of sequences, finite results on very long
sequences, kept structural zeros, unvisited states handled, save/load, and consistency
between the inference methods (and with hmmlearn's information criteria)."""

import warnings

import numpy as np
import pytest
from hmmlearn import hmm as hl
from scipy import stats

import emkit
from emkit._exceptions import LikelihoodDecreaseWarning, UnvisitedStateWarning
from emkit.hmm import CategoricalHMM, GaussianHMM, PoissonHMM

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


# -- data --------------------------------------------------------------------------------
def _chain(K, rng):
    return (rng.dirichlet(np.ones(K) * 2),
            rng.dirichlet(np.ones(K) * 2, size=K) * 0.4 + np.eye(K) * 0.6)


def markov_states(startprob, transmat, n, rng):
    """A state path of length n (a Python loop: keep n small)."""
    cdf = np.cumsum(transmat, axis=1)
    u = rng.rand(n)
    states = np.empty(n, dtype=int)
    states[0] = np.searchsorted(np.cumsum(startprob), u[0], side="right")
    for t in range(1, n):
        states[t] = min(np.searchsorted(cdf[states[t - 1]], u[t], side="right"),
                        len(startprob) - 1)
    return states


def long_states(K, n, rng, mean_run=20):
    """A piecewise-constant state path of length n, built without a Python loop over t."""
    runs = rng.geometric(1.0 / mean_run, size=2 * n // mean_run + 10)
    labels = rng.randint(K, size=runs.size)
    states = np.repeat(labels, runs)
    assert states.size >= n
    return states[:n]


def sequences(kind, K, D, lengths, seed):
    """Observations of a random K-state model of the given kind."""
    rng = np.random.RandomState(seed)
    startprob, transmat = _chain(K, rng)
    states = markov_states(startprob, transmat, sum(lengths), rng)
    if kind == "gaussian":
        means = rng.randn(K, D) * 2
        return means[states] + rng.randn(len(states), D) * rng.uniform(0.5, 1.5, D)
    if kind == "categorical":
        emissionprob = rng.dirichlet(np.ones(D) * 0.5, size=K)
        cdf = np.cumsum(emissionprob, axis=1)
        u = rng.rand(len(states))
        return np.minimum((u[:, None] > cdf[states]).sum(axis=1), D - 1)[:, None]
    return rng.poisson(rng.uniform(0.5, 10, (K, D))[states])


def make_model(kind, K, **kwargs):
    if kind.startswith("gaussian"):
        covariance_type = kind.split("-")[1] if "-" in kind else "diag"
        return GaussianHMM(K, covariance_type=covariance_type, **kwargs)
    return {"categorical": CategoricalHMM, "poisson": PoissonHMM}[kind](K, **kwargs)


def params_of(model):
    names = {GaussianHMM: ("means_", "covariances_"), CategoricalHMM: ("emissionprob_",),
             PoissonHMM: ("lambdas_",)}[type(model)]
    return {name: getattr(model, name) for name in ("startprob_", "transmat_") + names}


# -- (a) monotone log-likelihood ---------------------------------------------------------
MONOTONE_CASES = [(kind, seed) for seed in range(6)
                  for kind in ("gaussian-" + COVARIANCE_TYPES[seed % 4], "categorical",
                               "poisson")]


@pytest.mark.parametrize("kind,seed", MONOTONE_CASES)
def test_log_likelihood_never_decreases(kind, seed):
    """Maximum-likelihood Baum-Welch from hmmlearn's default start: the log-likelihood
    history never falls (beyond round-off) and no decrease is warned about."""
    rng = np.random.RandomState(seed)
    K, D = rng.randint(2, 5), rng.randint(1, 4)
    n_seq = rng.randint(1, 4)
    lengths = list(rng.randint(30, 120, size=n_seq))
    base = kind.split("-")[0]
    X = sequences(base, K, D if base != "categorical" else D + 2, lengths, seed)
    extra = dict(covars_prior=0.0) if base == "gaussian" else {}
    model = make_model(kind, K, random_state=seed, n_iter=25, tol=0, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        warnings.simplefilter("ignore", UnvisitedStateWarning)
        model.fit(X, lengths)
    lb = np.asarray(model.lower_bounds_)
    assert len(lb) == model.n_iter_ and np.all(np.isfinite(lb))
    assert np.all(np.diff(lb) >= -1e-9 * np.abs(lb[:-1])), np.diff(lb).min()
    assert model.score(X, lengths) >= lb[-1] - 1e-9 * abs(lb[-1])


def test_log_likelihood_never_decreases_with_hypothesis():
    """Random small Gaussian/Poisson models and data drawn by hypothesis."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=8, deadline=None, derandomize=True, database=None,
                         phases=[hypothesis.Phase.generate])
    @hypothesis.given(seed=st.integers(0, 2**31 - 1), K=st.integers(2, 4),
                      kind=st.sampled_from(["gaussian-diag", "gaussian-full", "poisson",
                                            "categorical"]))
    def check(seed, K, kind):
        base = kind.split("-")[0]
        X = sequences(base, K, 2 if base != "categorical" else 4, [60, 40], seed)
        extra = dict(covars_prior=0.0) if base == "gaussian" else {}
        model = make_model(kind, K, random_state=seed % 1000, n_iter=15, tol=0, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnvisitedStateWarning)
            model.fit(X, [60, 40])
        lb = np.asarray(model.lower_bounds_)
        assert np.all(np.diff(lb) >= -1e-9 * np.abs(lb[:-1]))

    check()


# -- (b) order of the sequences -----------------------------------------------------------
@pytest.mark.parametrize("kind", ["gaussian-full", "gaussian-spherical", "categorical",
                                  "poisson"])
def test_sequence_order_does_not_matter(kind):
    """Permuting the sequences (X and lengths together) gives the same fit to 1e-10."""
    base = kind.split("-")[0]
    lengths = [40, 25, 60, 10, 35]
    X = sequences(base, 3, 2 if base != "categorical" else 4, lengths, seed=3)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    order = [3, 0, 4, 2, 1]
    X_perm = np.vstack([X[offsets[i]:offsets[i + 1]] for i in order])
    lengths_perm = [lengths[i] for i in order]
    reference = make_model(kind, 3, random_state=0, n_iter=0).fit(X, lengths)
    fits = []
    for data, lens in ((X, lengths), (X_perm, lengths_perm)):
        model = make_model(kind, 3, init_params="", n_iter=10, tol=0)
        for name, value in params_of(reference).items():
            setattr(model, name, value.copy())
        fits.append(model.fit(data, lens))
    for name, value in params_of(fits[0]).items():
        np.testing.assert_allclose(params_of(fits[1])[name], value, rtol=1e-10, atol=1e-13,
                                   err_msg=name)
    np.testing.assert_allclose(fits[1].lower_bounds_, fits[0].lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(fits[0].score(X_perm, lengths_perm),
                               fits[0].score(X, lengths), rtol=1e-10)


# -- (c) a million steps ------------------------------------------------------------------
def _finite_everywhere(model, X):
    for name, value in params_of(model).items():
        assert np.all(np.isfinite(value)), name
    log_prob, posteriors = model.score_samples(X)
    assert np.isfinite(log_prob)
    assert not np.isnan(posteriors).any()
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, rtol=0, atol=1e-9)
    return log_prob


def test_million_step_gaussian_sequence():
    """GaussianHMM (diag, K=3, D=2) on one 1,000,000-step sequence: finite fit, finite
    score equal to score_samples', no NaN in parameters or posteriors."""
    rng = np.random.RandomState(0)
    n = 1_000_000
    states = long_states(3, n, rng)
    means = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 4.0]])
    X = means[states] + rng.randn(n, 2)
    # random start and transitions; means and variances given (k-means on 1e6 rows is slow)
    model = GaussianHMM(3, covariance_type="diag", random_state=0, n_iter=3, tol=0,
                        init_params="st")
    model.means_ = np.array([[1.0, 1.0], [2.0, 0.0], [-1.0, 2.0]])
    model.covars_ = np.full((3, 2), 2.0)
    model.fit(X)
    assert model.n_iter_ == 3 and np.all(np.isfinite(model.lower_bounds_))
    log_prob = _finite_everywhere(model, X)
    np.testing.assert_allclose(model.score(X), log_prob, rtol=1e-9)
    assert log_prob / n > -4.5  # ~ the entropy of the emissions, not a collapsed fit
    assert np.all(np.diff(model.lower_bounds_) > 0)


def test_million_step_categorical_sequence():
    """CategoricalHMM on one 1,000,000-step sequence: finite fit, score and posteriors."""
    rng = np.random.RandomState(1)
    n = 1_000_000
    states = long_states(3, n, rng)
    emissionprob = np.array([[0.7, 0.2, 0.05, 0.05], [0.1, 0.1, 0.7, 0.1],
                             [0.25, 0.25, 0.25, 0.25]])
    cdf = np.cumsum(emissionprob, axis=1)
    X = np.minimum((rng.rand(n)[:, None] > cdf[states]).sum(axis=1), 3)[:, None]
    model = CategoricalHMM(3, random_state=0, n_iter=3, tol=0).fit(X)
    assert model.n_iter_ == 3 and np.all(np.isfinite(model.lower_bounds_))
    log_prob = _finite_everywhere(model, X)
    np.testing.assert_allclose(model.score(X), log_prob, rtol=1e-9)
    assert -np.log(4) * n < log_prob < 0


# -- (d) structural zeros -----------------------------------------------------------------
LEFT_RIGHT = np.array([[0.6, 0.3, 0.1], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("kind", ["gaussian-full", "gaussian-diag", "categorical",
                                  "poisson"])
def test_left_right_zeros_stay_zero(kind):
    """A left-right transmat (zeros below the diagonal) and startprob [1, 0, 0] keep their
    zeros exactly through 15 iterations; the fit stays finite."""
    base = kind.split("-")[0]
    rng = np.random.RandomState(5)
    lengths = [30, 45, 25]
    blocks = []
    for n in lengths:  # each sequence walks 0 -> 1 -> 2
        cut = np.sort(rng.choice(np.arange(3, n - 3), 2, replace=False))
        blocks.append(np.repeat([0, 1, 2], np.diff(np.r_[0, cut, n])))
    states = np.concatenate(blocks)
    if base == "gaussian":
        X = np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 3.0]])[states] + rng.randn(len(states), 2)
    elif base == "categorical":
        X = np.where(rng.rand(len(states)) < 0.8, states, rng.randint(4, size=len(states)))
        X = X[:, None]
    else:
        X = rng.poisson(np.array([[1.0, 8.0], [5.0, 5.0], [9.0, 1.0]])[states])
    model = make_model(kind, 3, init_params="e" if base == "categorical" else "",
                       random_state=0, n_iter=15, tol=0)
    model.startprob_ = np.array([1.0, 0.0, 0.0])
    model.transmat_ = LEFT_RIGHT.copy()
    if base == "gaussian":
        model.means_ = np.array([[0.5, 0.0], [3.0, 0.0], [-2.0, 2.0]])
        model.covars_ = {"full": np.array([np.eye(2)] * 3),
                         "diag": np.ones((3, 2))}[model.covariance_type]
    elif base == "poisson":
        model.lambdas_ = np.array([[2.0, 6.0], [4.0, 4.0], [7.0, 2.0]])
    model.fit(X, lengths)
    assert np.all(model.transmat_[np.tril_indices(3, -1)] == 0.0)
    assert np.all(model.startprob_ == [1.0, 0.0, 0.0])
    assert np.all(np.diag(model.transmat_) > 0) and np.all(np.diag(model.transmat_, 1) > 0)
    assert model.transmat_[2, 2] == 1.0
    _, path = model.decode(X, lengths)
    offsets = np.r_[0, np.cumsum(lengths)]
    for t0, t1 in zip(offsets[:-1], offsets[1:]):
        assert path[t0] == 0 and np.all(np.diff(path[t0:t1]) >= 0)
    for value in params_of(model).values():
        assert np.all(np.isfinite(value))


# -- (e) unvisited states -----------------------------------------------------------------
UNREACHABLE_START = np.array([0.5, 0.5, 0.0])
UNREACHABLE_TRANS = np.array([[0.8, 0.2, 0.0], [0.3, 0.7, 0.0], [0.4, 0.4, 0.2]])


def _unreachable_model(kind):
    model = make_model(kind, 3, init_params="", n_iter=5, tol=0)
    model.startprob_ = UNREACHABLE_START.copy()
    model.transmat_ = UNREACHABLE_TRANS.copy()
    if kind.startswith("gaussian"):
        model.means_ = np.array([[0.0, 0.0], [3.0, 1.0], [1.5, 0.5]])
        model.covars_ = {"spherical": np.ones(3), "diag": np.ones((3, 2)),
                         "full": np.array([np.eye(2)] * 3), "tied": np.eye(2)
                         }[model.covariance_type]
    elif kind == "categorical":
        model.emissionprob_ = np.array([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3]])
    else:
        model.lambdas_ = np.array([[1.0, 6.0], [6.0, 1.0], [3.0, 3.0]])
    return model


@pytest.mark.parametrize("kind", ["gaussian-" + c for c in COVARIANCE_TYPES]
                         + ["categorical", "poisson"])
def test_unreachable_state_keeps_its_parameters(kind):
    """A state with start probability 0 and no transitions into it: fitting warns
    UnvisitedStateWarning, keeps its emission parameters and transition row, keeps it
    unreachable, and leaves no NaN in parameters, scores or posteriors."""
    base = kind.split("-")[0]
    X = sequences(base, 2, 2 if base != "categorical" else 3, [50, 70], seed=8)
    model = _unreachable_model(kind)
    before = {name: np.copy(value) for name, value in params_of(model).items()}
    with pytest.warns(UnvisitedStateWarning):
        model.fit(X, [50, 70])
    after = params_of(model)
    np.testing.assert_array_equal(after["transmat_"][2], before["transmat_"][2])
    assert after["startprob_"][2] == 0 and np.all(after["transmat_"][:2, 2] == 0)
    for name in after:
        assert np.all(np.isfinite(after[name])), name
        if name.startswith(("means", "emission", "lambdas")):
            np.testing.assert_array_equal(after[name][2], before[name][2])
            assert not np.array_equal(after[name][:2], before[name][:2])
        if name == "covariances_" and model.covariance_type != "tied":
            np.testing.assert_array_equal(after[name][2], before[name][2])
    assert np.all(np.isfinite(model.lower_bounds_))
    log_prob, posteriors = model.score_samples(X, [50, 70])
    assert np.isfinite(log_prob) and np.isfinite(model.score(X, [50, 70]))
    assert np.all(posteriors[:, 2] == 0)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)
    assert np.all(model.predict(X, [50, 70]) != 2)


def test_state_far_from_the_data_keeps_its_parameters():
    """A reachable Gaussian state so far from every sample that its posteriors underflow
    to 0: it keeps its mean and variance (warning), and nothing becomes NaN."""
    rng = np.random.RandomState(9)
    X = rng.randn(200, 2)
    model = GaussianHMM(3, covariance_type="diag", init_params="", n_iter=4, tol=0)
    model.startprob_ = np.full(3, 1 / 3)
    model.transmat_ = np.full((3, 3), 1 / 3)
    model.means_ = np.array([[-0.5, 0.0], [0.5, 0.0], [1e4, 1e4]])
    model.covars_ = np.ones((3, 2))
    with pytest.warns(UnvisitedStateWarning):
        model.fit(X)
    np.testing.assert_array_equal(model.means_[2], [1e4, 1e4])
    np.testing.assert_array_equal(model.covariances_[2], [1.0, 1.0])
    assert np.all(np.isfinite(model.transmat_)) and np.all(np.isfinite(model.covariances_))
    assert np.all(np.isfinite(model.predict_proba(X)))


# -- (f) save / load ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["gaussian-" + c for c in COVARIANCE_TYPES]
                         + ["categorical", "poisson"])
def test_save_load_round_trip(kind, tmp_path):
    """A fitted model saved and loaded back predicts exactly as before."""
    base = kind.split("-")[0]
    lengths = [40, 30]
    X = sequences(base, 3, 2 if base != "categorical" else 4, lengths, seed=10)
    model = make_model(kind, 3, random_state=1, n_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnvisitedStateWarning)
        model.fit(X, lengths)
    model.save(tmp_path / "model")
    loaded = emkit.load(tmp_path / "model")
    assert type(loaded) is type(model)
    assert loaded.get_params().keys() == model.get_params().keys()
    for name, value in params_of(model).items():
        np.testing.assert_array_equal(getattr(loaded, name), value)
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert (loaded.converged_, loaded.n_iter_) == (model.converged_, model.n_iter_)
    assert loaded.score(X, lengths) == model.score(X, lengths)
    np.testing.assert_array_equal(loaded.predict(X, lengths), model.predict(X, lengths))
    np.testing.assert_array_equal(loaded.predict_proba(X, lengths),
                                  model.predict_proba(X, lengths))
    np.testing.assert_array_equal(loaded.sample(20, random_state=3)[0],
                                  model.sample(20, random_state=3)[0])


# -- (g) consistency and information criteria ---------------------------------------------
@pytest.mark.parametrize("kind", ["gaussian-full", "gaussian-spherical", "categorical",
                                  "poisson"])
def test_inference_methods_agree(kind):
    """Posterior rows sum to 1; decode('map') is predict_proba's argmax; score equals
    score_samples' log-likelihood; the Viterbi log-probability is at most the score;
    predict follows ``algorithm``."""
    base = kind.split("-")[0]
    lengths = [50, 35, 45]
    X = sequences(base, 3, 2 if base != "categorical" else 4, lengths, seed=11)
    model = make_model(kind, 3, random_state=2, n_iter=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnvisitedStateWarning)
        model.fit(X, lengths)
    posteriors = model.predict_proba(X, lengths)
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    _, map_states = model.decode(X, lengths, algorithm="map")
    np.testing.assert_array_equal(map_states, posteriors.argmax(axis=1))
    log_prob, _ = model.score_samples(X, lengths)
    np.testing.assert_allclose(model.score(X, lengths), log_prob, rtol=1e-12)
    viterbi_logprob, viterbi_path = model.decode(X, lengths, algorithm="viterbi")
    assert viterbi_logprob <= log_prob
    np.testing.assert_array_equal(model.predict(X, lengths), viterbi_path)
    model.algorithm = "map"
    np.testing.assert_array_equal(model.predict(X, lengths), map_states)
    # scores of the sequences add up
    offsets = np.r_[0, np.cumsum(lengths)]
    parts = [model.score(X[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
    np.testing.assert_allclose(sum(parts), model.score(X, lengths), rtol=1e-12)


def _hmmlearn_twin(model):
    cls = {GaussianHMM: hl.GaussianHMM, CategoricalHMM: hl.CategoricalHMM,
           PoissonHMM: hl.PoissonHMM}[type(model)]
    kwargs = {"covariance_type": model.covariance_type} if isinstance(model, GaussianHMM) \
        else {}
    twin = cls(model.n_components, init_params="", **kwargs)
    twin.startprob_, twin.transmat_ = model.startprob_, model.transmat_
    if isinstance(model, GaussianHMM):
        twin.means_, twin.covars_ = model.means_, model.covariances_
    elif isinstance(model, CategoricalHMM):
        twin.emissionprob_ = model.emissionprob_
    else:
        twin.lambdas_ = model.lambdas_
    return twin


@pytest.mark.parametrize("kind,D", [("gaussian-spherical", 3), ("gaussian-diag", 2),
                                    ("gaussian-full", 3), ("gaussian-tied", 2),
                                    ("categorical", 5), ("poisson", 2)])
def test_bic_aic_match_hmmlearn(kind, D):
    """bic = -2 score + n_params log(n_samples), aic = -2 score + 2 n_params, with
    hmmlearn's parameter counts and values for the same parameters."""
    base = kind.split("-")[0]
    lengths = [60, 40]
    X = sequences(base, 3, D, lengths, seed=12)
    model = make_model(kind, 3, random_state=3, n_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnvisitedStateWarning)
        model.fit(X, lengths)
    twin = _hmmlearn_twin(model)
    score = model.score(X, lengths)
    n_params = model.n_parameters()
    twin.score(X, lengths)  # hmmlearn sets n_features while checking
    expected_n = sum(twin._get_n_fit_scalars_per_param().values())
    assert n_params == expected_n
    np.testing.assert_allclose(model.bic(X, lengths), -2 * score + n_params * np.log(len(X)),
                               rtol=1e-12)
    np.testing.assert_allclose(model.aic(X, lengths), -2 * score + 2 * n_params, rtol=1e-12)
    np.testing.assert_allclose(model.bic(X, lengths), twin.bic(X, lengths), rtol=1e-9)
    np.testing.assert_allclose(model.aic(X, lengths), twin.aic(X, lengths), rtol=1e-9)


def test_monitor_reports_the_fit():
    """monitor_ mirrors the fit: history = lower_bounds_, iter = n_iter_, converged."""
    X = sequences("gaussian", 2, 2, [150], seed=13)
    model = GaussianHMM(2, random_state=0, n_iter=100, tol=1e-4).fit(X)
    monitor = model.monitor_
    assert list(monitor.history) == model.lower_bounds_
    assert monitor.iter == model.n_iter_ < 100
    assert monitor.converged and model.converged_
    assert abs(model.lower_bounds_[-1] - model.lower_bounds_[-2]) < 1e-4
    capped = GaussianHMM(2, random_state=0, n_iter=2, tol=0).fit(X)
    assert capped.n_iter_ == 2 and not capped.converged_


def test_many_sequences_in_parallel_chunks_match_one_by_one():
    """Enough rows and sequences for the kernels' parallel chunks (>= 20,000 rows): score,
    posteriors, Viterbi and the expected counts equal those of each sequence on its own."""
    from emkit.hmm import _kernels

    rng = np.random.RandomState(14)
    lengths = list(rng.randint(200, 600, size=60))
    n = sum(lengths)
    assert n >= 20_000
    states = long_states(3, n, rng)
    X = np.array([[0.0, 0.0], [2.0, 1.0], [-1.0, 2.0]])[states] + rng.randn(n, 2)
    model = GaussianHMM(3, covariance_type="full", random_state=0, n_iter=1).fit(X, lengths)
    offsets = np.r_[0, np.cumsum(lengths)]
    pieces = [X[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    np.testing.assert_allclose(model.score(X, lengths),
                               sum(model.score(p) for p in pieces), rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X, lengths),
                               np.vstack([model.predict_proba(p) for p in pieces]),
                               rtol=1e-10, atol=1e-13)
    logprob, path = model.decode(X, lengths)
    np.testing.assert_array_equal(path, np.concatenate([model.predict(p) for p in pieces]))
    np.testing.assert_allclose(logprob, sum(model.decode(p)[0] for p in pieces), rtol=1e-12)
    # expected counts through the kernel directly
    log_frame = np.column_stack([stats.multivariate_normal(m, c).logpdf(X)
                                 for m, c in zip(model.means_, model.covars_)])
    _, start, trans, _ = _kernels.forward_backward(log_frame, offsets.astype(np.int64),
                                                   model.startprob_, model.transmat_)
    start_sum, trans_sum = np.zeros(3), np.zeros((3, 3))
    for a, b in zip(offsets[:-1], offsets[1:]):
        _, s, t, _ = _kernels.forward_backward(np.ascontiguousarray(log_frame[a:b]),
                                               np.array([0, b - a]), model.startprob_,
                                               model.transmat_)
        start_sum += s
        trans_sum += t
    np.testing.assert_allclose(start, start_sum, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(trans, trans_sum, rtol=1e-10, atol=1e-10)
