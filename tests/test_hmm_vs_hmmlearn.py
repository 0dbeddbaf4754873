"""emkit.hmm against hmmlearn 0.3.3: same starting point, same Baum-Welch iterations.

Both estimators get the same constructor arguments (hmmlearn builds its convergence monitor
in ``__init__``, so n_iter and tol are always passed there) and, unless default
initialisation is under test, the same explicitly set starting parameters with
``init_params=""``. tol=0 makes both run exactly ``n_iter`` iterations.
"""

import numpy as np
import pytest
from hmmlearn import hmm as hl

from emkit.hmm import CategoricalHMM, GaussianHMM, PoissonHMM

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

RTOL = 1e-6
CLASSES = {"gaussian": (GaussianHMM, hl.GaussianHMM),
           "categorical": (CategoricalHMM, hl.CategoricalHMM),
           "poisson": (PoissonHMM, hl.PoissonHMM)}


def close(actual, expected, rtol=RTOL, atol=1e-9):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# -- data and starting points ----------------------------------------------------------
def _chain(K, rng):
    startprob = rng.dirichlet(np.ones(K) * 2)
    transmat = rng.dirichlet(np.ones(K) * 2, size=K) * 0.5 + np.eye(K) * 0.5
    return startprob, transmat


def _spd(D, rng):
    A = rng.randn(D, D)
    return A @ A.T / D + 0.3 * np.eye(D)


def _compact_covars(covariance_type, K, D, rng):
    return {"spherical": lambda: rng.uniform(0.5, 1.5, K),
            "diag": lambda: rng.uniform(0.5, 1.5, (K, D)),
            "full": lambda: np.array([_spd(D, rng) for _ in range(K)]),
            "tied": lambda: _spd(D, rng)}[covariance_type]()


def gaussian_data(K, D, lengths, seed):
    """Samples of a known full-covariance GaussianHMM (hmmlearn draws them)."""
    rng = np.random.RandomState(seed)
    gen = hl.GaussianHMM(K, covariance_type="full", init_params="")
    gen.startprob_, gen.transmat_ = _chain(K, rng)
    gen.means_ = rng.randn(K, D) * 1.5
    gen.covars_ = np.array([_spd(D, rng) for _ in range(K)])
    parts = [gen.sample(n, random_state=seed + i)[0] for i, n in enumerate(lengths)]
    return np.vstack(parts)


def categorical_data(K, n_symbols, lengths, seed):
    rng = np.random.RandomState(seed)
    gen = hl.CategoricalHMM(K, init_params="", n_features=n_symbols)
    gen.startprob_, gen.transmat_ = _chain(K, rng)
    gen.emissionprob_ = rng.dirichlet(np.ones(n_symbols) * 0.7, size=K)
    return np.vstack([gen.sample(n, random_state=seed + i)[0] for i, n in enumerate(lengths)])


def poisson_data(K, D, lengths, seed):
    rng = np.random.RandomState(seed)
    gen = hl.PoissonHMM(K, init_params="")
    gen.startprob_, gen.transmat_ = _chain(K, rng)
    gen.lambdas_ = rng.uniform(0.5, 12, (K, D))
    return np.vstack([gen.sample(n, random_state=seed + i)[0] for i, n in enumerate(lengths)])


def set_params(models, **attributes):
    for model in models:
        for name, value in attributes.items():
            setattr(model, name, np.array(value, copy=True))
    return models


def twins(kind, **kwargs):
    """An emkit model and an hmmlearn model built with the same arguments."""
    ours, theirs = CLASSES[kind]
    return ours(**kwargs), theirs(**kwargs)


def gaussian_twins(covariance_type, K, D, seed, **kwargs):
    rng = np.random.RandomState(seed + 1000)
    models = twins("gaussian", n_components=K, covariance_type=covariance_type,
                   init_params="", **kwargs)
    startprob, transmat = _chain(K, rng)
    return set_params(models, startprob_=startprob, transmat_=transmat,
                      means_=rng.randn(K, D) * 2,
                      covars_=_compact_covars(covariance_type, K, D, rng))


def categorical_twins(K, n_symbols, seed, **kwargs):
    rng = np.random.RandomState(seed + 1000)
    models = twins("categorical", n_components=K, init_params="", **kwargs)
    startprob, transmat = _chain(K, rng)
    return set_params(models, startprob_=startprob, transmat_=transmat,
                      emissionprob_=rng.dirichlet(np.ones(n_symbols), size=K))


def poisson_twins(K, D, seed, **kwargs):
    rng = np.random.RandomState(seed + 1000)
    models = twins("poisson", n_components=K, init_params="", **kwargs)
    startprob, transmat = _chain(K, rng)
    return set_params(models, startprob_=startprob, transmat_=transmat,
                      lambdas_=rng.uniform(1, 8, (K, D)))


def full_from_compact(covariance_type, covars, K, D):
    """Full covariance matrices from compact ones, computed here (hmmlearn's ``covars_``
    view is wrong for a fitted spherical model: it ravels its tiled (K, D) array)."""
    covars = np.asarray(covars)
    if covariance_type == "full":
        return covars
    if covariance_type == "tied":
        return np.repeat(covars[None], K, axis=0)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covars])
    return np.array([c * np.eye(D) for c in covars])


def hmmlearn_covariances(model):
    """hmmlearn's compact covariances in emkit's shapes (spherical: (K, D) tiled -> (K,))."""
    covars = np.asarray(model._covars_)
    if model.covariance_type == "spherical" and covars.ndim == 2:
        np.testing.assert_allclose(covars, covars[:, :1] * np.ones_like(covars))
        return covars[:, 0]
    return covars


def assert_same_fit(ours, theirs, X, lengths):
    """Every fitted parameter, the score and the log-likelihood history agree."""
    # hmmlearn stops ("converged") at the first decrease of the log-likelihood even with
    # tol=0 (round-off, or a MAP step under priors); emkit goes on. The setups here keep
    # improving for all n_iter iterations, which this checks first.
    assert theirs.monitor_.iter == theirs.n_iter or theirs.tol > 0, "hmmlearn stopped"
    close(ours.startprob_, theirs.startprob_)
    close(ours.transmat_, theirs.transmat_)
    if isinstance(ours, GaussianHMM):
        close(ours.means_, theirs.means_)
        close(ours.covariances_, hmmlearn_covariances(theirs))
        K, D = theirs.means_.shape
        close(ours.covars_, full_from_compact(ours.covariance_type,
                                              hmmlearn_covariances(theirs), K, D))
    elif isinstance(ours, CategoricalHMM):
        close(ours.emissionprob_, theirs.emissionprob_)
    else:
        close(ours.lambdas_, theirs.lambdas_)
    close(ours.lower_bounds_, list(theirs.monitor_.history))
    assert ours.n_iter_ == theirs.monitor_.iter == len(theirs.monitor_.history)
    close(ours.score(X, lengths), theirs.score(X, lengths))


# -- fits from the same starting point -------------------------------------------------
GAUSSIAN_SETUPS = [("spherical", 2, 2, 12), ("diag", 3, 3, 8), ("full", 4, 2, 15),
                   ("tied", 3, 3, 10), ("full", 2, 3, 20), ("diag", 4, 2, 5)]


@pytest.mark.parametrize("covariance_type,K,D,n_iter", GAUSSIAN_SETUPS)
def test_gaussian_fit_matches(covariance_type, K, D, n_iter):
    """GaussianHMM, every covariance type, several sequences: parameters, score and
    lower-bound history equal hmmlearn's after n_iter iterations."""
    lengths = [90, 60, 75, 40]
    X = gaussian_data(K, D, lengths, seed=K * 10 + D)
    ours, theirs = gaussian_twins(covariance_type, K, D, seed=n_iter, n_iter=n_iter, tol=0)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert ours.n_iter_ == n_iter
    assert_same_fit(ours, theirs, X, lengths)


@pytest.mark.parametrize("K,n_symbols,n_iter", [(2, 3, 10), (3, 5, 15), (4, 4, 7)])
def test_categorical_fit_matches(K, n_symbols, n_iter):
    """CategoricalHMM, several sequences: equal to hmmlearn after n_iter iterations."""
    lengths = [70, 50, 80]
    X = categorical_data(K, n_symbols, lengths, seed=K + n_symbols)
    ours, theirs = categorical_twins(K, n_symbols, seed=n_iter, n_iter=n_iter, tol=0)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert ours.n_iter_ == n_iter
    assert_same_fit(ours, theirs, X, lengths)


@pytest.mark.parametrize("K,D,n_iter", [(2, 1, 10), (3, 2, 12), (4, 3, 6)])
def test_poisson_fit_matches(K, D, n_iter):
    """PoissonHMM, several sequences: equal to hmmlearn after n_iter iterations."""
    lengths = [60, 90, 45]
    X = poisson_data(K, D, lengths, seed=K * 7 + D)
    ours, theirs = poisson_twins(K, D, seed=n_iter, n_iter=n_iter, tol=0)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert ours.n_iter_ == n_iter
    assert_same_fit(ours, theirs, X, lengths)


# -- inference on the fitted models ------------------------------------------------------
def _fitted_pairs():
    lengths = [50, 70, 30]
    Xg = gaussian_data(3, 2, lengths, seed=5)
    Xc = categorical_data(3, 4, lengths, seed=6)
    Xp = poisson_data(3, 2, lengths, seed=7)
    pairs = {}
    for ct in ("spherical", "diag", "full", "tied"):
        pairs[f"gaussian-{ct}"] = (gaussian_twins(ct, 3, 2, seed=3, n_iter=6, tol=0), Xg)
    pairs["categorical"] = (categorical_twins(3, 4, seed=3, n_iter=6, tol=0), Xc)
    pairs["poisson"] = (poisson_twins(3, 2, seed=3, n_iter=6, tol=0), Xp)
    return pairs, lengths


PAIR_NAMES = ["gaussian-spherical", "gaussian-diag", "gaussian-full", "gaussian-tied",
              "categorical", "poisson"]


@pytest.fixture(scope="module")
def fitted():
    pairs, lengths = _fitted_pairs()
    for (ours, theirs), X in pairs.values():
        ours.fit(X, lengths)
        theirs.fit(X, lengths)
    return pairs, lengths


@pytest.mark.parametrize("name", PAIR_NAMES)
def test_decode_matches(fitted, name):
    """Viterbi decoding: same paths and log-probabilities as hmmlearn; MAP decoding: same
    states. (hmmlearn's MAP "log_prob" is the sum of the largest posteriors, not of their
    logs; emkit returns the sum of logs, checked against hmmlearn's posteriors.)"""
    pairs, lengths = fitted
    (ours, theirs), X = pairs[name]
    logprob, path = ours.decode(X, lengths, algorithm="viterbi")
    their_logprob, their_path = theirs.decode(X, lengths, algorithm="viterbi")
    np.testing.assert_array_equal(path, their_path)
    close(logprob, their_logprob)
    np.testing.assert_array_equal(ours.predict(X, lengths), theirs.predict(X, lengths))
    logprob, states = ours.decode(X, lengths, algorithm="map")
    their_sum_of_max, their_states = theirs.decode(X, lengths, algorithm="map")
    np.testing.assert_array_equal(states, their_states)
    their_post = theirs.predict_proba(X, lengths)
    close(their_sum_of_max, their_post.max(axis=1).sum())
    close(logprob, np.log(their_post.max(axis=1)).sum())


@pytest.mark.parametrize("name", PAIR_NAMES)
def test_posteriors_and_scores_match(fitted, name):
    """predict_proba, score_samples and score equal hmmlearn's, also per single sequence."""
    pairs, lengths = fitted
    (ours, theirs), X = pairs[name]
    close(ours.predict_proba(X, lengths), theirs.predict_proba(X, lengths))
    log_prob, post = ours.score_samples(X, lengths)
    their_log_prob, their_post = theirs.score_samples(X, lengths)
    close(log_prob, their_log_prob)
    close(post, their_post)
    close(ours.score(X[:40]), theirs.score(X[:40]))


def _repair_spherical(theirs):
    """A fitted spherical hmmlearn model keeps (K, D) tiled variances, which its
    ``covars_`` view (used by its sample) misreads; give it the compact (K,) form back."""
    if getattr(theirs, "covariance_type", None) == "spherical":
        theirs.covars_ = hmmlearn_covariances(theirs)


@pytest.mark.parametrize("name", PAIR_NAMES)
def test_sample_matches(fitted, name):
    """sample(n, random_state=seed) draws the same states and observations as hmmlearn."""
    pairs, _ = fitted
    (ours, theirs), _ = pairs[name]
    _repair_spherical(theirs)
    for seed in (0, 11):
        X, states = ours.sample(200, random_state=seed)
        their_X, their_states = theirs.sample(200, random_state=seed)
        np.testing.assert_array_equal(states, their_states)
        assert X.shape == np.asarray(their_X).shape
        close(X, their_X, rtol=1e-12)


@pytest.mark.parametrize("name", PAIR_NAMES)
def test_sample_with_currstate_matches(fitted, name):
    """sample(..., currstate=k) starts from state k, as hmmlearn's does."""
    pairs, _ = fitted
    (ours, theirs), _ = pairs[name]
    _repair_spherical(theirs)
    X, states = ours.sample(30, random_state=4, currstate=2)
    their_X, their_states = theirs.sample(30, random_state=4, currstate=2)
    assert states[0] == 2
    np.testing.assert_array_equal(states, their_states)
    close(X, their_X, rtol=1e-12)


# -- default initialisation ------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_gaussian_default_init_matches(covariance_type):
    """Default init_params with the same integer random_state: hmmlearn's draws (Dirichlet
    start/transitions, k-means means, data covariance) and therefore the same fit."""
    lengths = [80, 60, 50]
    X = gaussian_data(3, 2, lengths, seed=21)
    kwargs = dict(n_components=3, covariance_type=covariance_type, random_state=7,
                  n_iter=8, tol=0)
    ours, theirs = twins("gaussian", **kwargs)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)


def test_gaussian_init_zero_iterations_matches():
    """n_iter=0: the starting parameters themselves equal hmmlearn's initialisation."""
    X = gaussian_data(3, 2, [100], seed=22)
    ours, theirs = twins("gaussian", n_components=3, covariance_type="full",
                         random_state=3, n_iter=0, tol=0)
    ours.fit(X)
    theirs.fit(X)
    assert ours.n_iter_ == theirs.monitor_.iter == 0
    close(ours.startprob_, theirs.startprob_, rtol=1e-12)
    close(ours.transmat_, theirs.transmat_, rtol=1e-12)
    close(ours.means_, theirs.means_, rtol=1e-12)
    close(ours.covars_, theirs.covars_, rtol=1e-12)


@pytest.mark.parametrize("n_features", [None, 6])
def test_categorical_default_init_matches(n_features):
    """CategoricalHMM default initialisation with an integer seed, with and without
    n_features (more symbols than seen)."""
    lengths = [60, 70]
    X = categorical_data(3, 5, lengths, seed=23)
    ours, theirs = twins("categorical", n_components=3, random_state=5, n_iter=9, tol=0,
                         n_features=n_features)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert ours.emissionprob_.shape == (3, n_features or X.max() + 1)
    assert_same_fit(ours, theirs, X, lengths)


def test_poisson_default_init_matches():
    """PoissonHMM default initialisation (Gamma draws) with an integer seed."""
    lengths = [50, 80]
    X = poisson_data(3, 2, lengths, seed=24)
    ours, theirs = twins("poisson", n_components=3, random_state=9, n_iter=9, tol=0)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)


# -- priors -------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_gaussian_priors_match(covariance_type):
    """Non-default Dirichlet priors on start/transitions (> 1), a Normal prior on the means
    and an inverse-gamma/-Wishart prior on the covariances: same MAP fit as hmmlearn."""
    K, D = 3, 2
    lengths = [40, 30, 50]
    X = gaussian_data(K, D, lengths, seed=31)
    covars_prior = {"spherical": 0.5, "diag": np.array([[0.3, 0.6]] * K),
                    "full": 0.2 * np.eye(D), "tied": 0.4 * np.eye(D)}[covariance_type]
    covars_weight = {"spherical": 3.0, "diag": 2.5, "full": 5.0, "tied": 4.0}[covariance_type]
    # per-state means_weight (K, 1) only where hmmlearn can broadcast it (not full/tied)
    means_weight = (2.0 if covariance_type in ("full", "tied")
                    else np.array([[2.0], [5.0], [1.0]]))
    ours, theirs = gaussian_twins(
        covariance_type, K, D, seed=32, n_iter=4, tol=0,
        startprob_prior=np.array([2.0, 3.0, 1.5]), transmat_prior=2.5 + np.eye(K),
        means_prior=np.array([[0.5, -0.5]] * K), means_weight=means_weight,
        covars_prior=covars_prior, covars_weight=covars_weight)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)


def test_categorical_priors_match():
    """Dirichlet priors on start, transitions and emission probabilities."""
    lengths = [50, 40]
    X = categorical_data(3, 4, lengths, seed=33)
    ours, theirs = categorical_twins(3, 4, seed=34, n_iter=10, tol=0, startprob_prior=3.0,
                                     transmat_prior=np.full((3, 3), 1.5) + np.eye(3),
                                     emissionprob_prior=np.array([[2.0, 1.5, 3.0, 1.2]] * 3))
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)


def test_poisson_priors_follow_the_per_state_gamma_update():
    """Gamma(lambdas_prior, lambdas_weight) prior on the rates: emkit's update is the
    per-state posterior mode (prior + sum_t g_tk x_t) / (weight + sum_t g_tk), with g the
    posteriors (taken from hmmlearn at the starting parameters); the chain's Dirichlet MAP
    update equals hmmlearn's. (hmmlearn 0.3.3 instead weighs every state's mean count by
    the total count over all states, n = post.sum(), so its rates differ.)"""
    lengths = [40, 60]
    X = poisson_data(2, 2, lengths, seed=35)
    ours, theirs = poisson_twins(2, 2, seed=36, n_iter=1, tol=0, startprob_prior=2.0,
                                 transmat_prior=3.0, lambdas_prior=2.0, lambdas_weight=0.5)
    gamma = theirs.predict_proba(X, lengths)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    close(ours.startprob_, theirs.startprob_)
    close(ours.transmat_, theirs.transmat_)
    close(ours.lower_bounds_, list(theirs.monitor_.history))
    close(ours.lambdas_, (2.0 + gamma.T @ X) / (0.5 + gamma.sum(axis=0))[:, None])


def test_poisson_without_rate_prior_matches_with_chain_priors():
    """Dirichlet priors on the chain, no rate prior: same fit as hmmlearn."""
    lengths = [40, 60]
    X = poisson_data(2, 2, lengths, seed=35)
    ours, theirs = poisson_twins(2, 2, seed=36, n_iter=8, tol=0, startprob_prior=2.0,
                                 transmat_prior=np.array([[3.0, 1.5], [2.0, 4.0]]))
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)


# -- parameter subsets ----------------------------------------------------------------------
@pytest.mark.parametrize("params", ["mc", "st", "s", "t", "m", "sm", "tmc", ""])
def test_gaussian_params_subsets_match(params):
    """Only the parameters named in ``params`` move, as in hmmlearn, and to the same values."""
    lengths = [60, 50]
    X = gaussian_data(3, 2, lengths, seed=41)
    ours, theirs = gaussian_twins("full", 3, 2, seed=42, n_iter=6, tol=0, params=params)
    before = {name: np.copy(getattr(ours, name))
              for name in ("startprob_", "transmat_", "means_", "covariances_")}
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)
    for letter, name in zip("stmc", before):
        moved = not np.allclose(getattr(ours, name), before[name], rtol=1e-12, atol=0)
        assert moved == (letter in params), name


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gaussian_covariances_only(covariance_type):
    """params="c": one step re-estimates the covariances about the fixed means,
    (covars_prior + sum_t g_tk (x_t - mu_k)(x_t - mu_k)^T) / sum_t g_tk, with g the
    posteriors (from hmmlearn at the starting parameters); nothing else moves.
    (hmmlearn 0.3.3 cannot do this: it only accumulates the state occupancies when 'm' is
    in params, so it divides by zero.)"""
    lengths = [60, 50]
    X = gaussian_data(3, 2, lengths, seed=52)
    ours, theirs = gaussian_twins(covariance_type, 3, 2, seed=53, n_iter=1, tol=0,
                                  params="c")
    gamma = theirs.predict_proba(X, lengths)
    start = {name: getattr(ours, name).copy() for name in ("startprob_", "transmat_",
                                                           "means_")}
    ours.fit(X, lengths)
    for name, value in start.items():  
        close(getattr(ours, name), value, rtol=1e-14, atol=0)
    weight = gamma.sum(axis=0)
    scatter = np.array([(gamma[:, k, None] * (X - start["means_"][k])).T
                        @ (X - start["means_"][k]) for k in range(3)])
    expected = (1e-2 + scatter) / weight[:, None, None]
    if covariance_type == "diag":
        expected = np.array([np.diag(c) for c in expected])
    close(ours.covariances_, expected)


@pytest.mark.parametrize("params", ["e", "st", "se"])
def test_categorical_params_subsets_match(params):
    lengths = [60, 50]
    X = categorical_data(2, 3, lengths, seed=43)
    ours, theirs = categorical_twins(2, 3, seed=44, n_iter=6, tol=0, params=params)
    emissionprob = ours.emissionprob_.copy()
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)
    assert np.allclose(ours.emissionprob_, emissionprob, rtol=1e-12) == ("e" not in params)


@pytest.mark.parametrize("params", ["l", "st", "tl"])
def test_poisson_params_subsets_match(params):
    lengths = [60, 50]
    X = poisson_data(2, 2, lengths, seed=45)
    ours, theirs = poisson_twins(2, 2, seed=46, n_iter=6, tol=0, params=params)
    lambdas = ours.lambdas_.copy()
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)
    assert np.array_equal(ours.lambdas_, lambdas) == ("l" not in params)


def test_partial_init_params_matches():
    """init_params="mc" with startprob_/transmat_ set by hand: the chain is kept, the
    emission parameters are initialised from the seed, as in hmmlearn."""
    lengths = [70, 60]
    X = gaussian_data(2, 2, lengths, seed=47)
    models = twins("gaussian", n_components=2, covariance_type="diag", init_params="mc",
                   random_state=1, n_iter=5, tol=0)
    ours, theirs = set_params(models, startprob_=[0.3, 0.7], transmat_=[[0.9, 0.1],
                                                                       [0.2, 0.8]])
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_same_fit(ours, theirs, X, lengths)


def test_tol_convergence_matches():
    """With a positive tol both stop at the same iteration with the same history."""
    lengths = [100, 80]
    X = gaussian_data(2, 2, lengths, seed=48)
    ours, theirs = gaussian_twins("diag", 2, 2, seed=49, n_iter=200, tol=1e-3)
    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert ours.converged_ and theirs.monitor_.converged
    assert ours.n_iter_ < 200
    assert_same_fit(ours, theirs, X, lengths)


def test_monitor_converged_follows_hmmlearn_when_n_iter_runs_out():
    """hmmlearn's gallery prints ``monitor_.converged`` after fits that ran out of
    iterations: both monitors say True, while emkit's converged_ says the fit did not
    settle; a settled fit is converged on every count."""
    lengths = [100, 80]
    X = gaussian_data(2, 2, lengths, seed=48)
    for n_iter, settled in ((2, False), (200, True)):
        ours, theirs = gaussian_twins("diag", 2, 2, seed=49, n_iter=n_iter, tol=1e-3)
        ours.fit(X, lengths)
        theirs.fit(X, lengths)
        assert ours.monitor_.converged is theirs.monitor_.converged is True
        assert ours.monitor_.iter == theirs.monitor_.iter
        assert ours.converged_ is settled


def test_parameters_not_in_params_are_kept_bit_for_bit():
    """params="mc": startprob_ (summing to 0.9999999999999999 in floating point) and
    transmat_ are exactly as set, as in hmmlearn."""
    X = gaussian_data(3, 2, [60], seed=50)
    ours, theirs = gaussian_twins("diag", 3, 2, seed=51, n_iter=3, tol=0, params="mc")
    startprob = np.array([0.7, 0.2, 0.1])
    assert startprob.sum() != 1.0
    set_params((ours, theirs), startprob_=startprob)
    ours.fit(X)
    theirs.fit(X)
    np.testing.assert_array_equal(theirs.startprob_, startprob)
    np.testing.assert_array_equal(ours.startprob_, startprob)
