"""Variational HMMs: hmmlearn's numbers from the same random_state, unneeded states switched
off on sampled data, a lower bound that never decreases (also BayesianGaussianMixture's
with row weights), and the engine's features (blocks, restarts, save/load)."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import emkit
from emkit import BayesianGaussianMixture
from emkit._exceptions import ConvergenceWarning, LikelihoodDecreaseWarning
from emkit.hmm import (CategoricalHMM, GaussianHMM, VariationalCategoricalHMM,
                       VariationalGaussianHMM)

pytestmark = pytest.mark.numerics

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# -- data -------------------------------------------------------------------------------
def gaussian_chain(n_features=2, scale=0.5):
    """A 3-state Gaussian HMM with well separated means and sticky transitions."""
    model = GaussianHMM(3, "full", init_params="")
    model.n_features = n_features
    model.startprob_ = np.array([0.6, 0.3, 0.1])
    model.transmat_ = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    means = np.zeros((3, n_features))
    means[1, 0] = means[2, -1] = 5.0
    if n_features == 1:
        means[2, 0] = -5.0
    model.means_ = means
    model.covars_ = np.tile(np.eye(n_features) * scale, (3, 1, 1))
    return model


def categorical_chain():
    """A 3-state categorical HMM over 4 symbols, each state mostly emitting its own."""
    model = CategoricalHMM(3, init_params="")
    model.n_features = 4
    model.startprob_ = np.array([0.5, 0.3, 0.2])
    model.transmat_ = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    model.emissionprob_ = np.full((3, 4), 0.02 / 3)
    model.emissionprob_[[0, 1, 2], [0, 1, 3]] = 0.98
    return model


def sampled(model, lengths, seed):
    rng = np.random.RandomState(seed)
    parts = [model.sample(n, random_state=rng) for n in lengths]
    return np.vstack([X for X, _ in parts]), np.concatenate([Z for _, Z in parts])


# -- hmmlearn's numbers -----------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("params", ["stmc", "tmc"])
def test_gaussian_fit_is_hmmlearns(covariance_type, params):
    """Same random_state: every iteration's lower bound and every posterior agree with
    hmmlearn's to 1e-6 (they agree to about 1e-12)."""
    hl = pytest.importorskip("hmmlearn.vhmm")
    X, _ = sampled(gaussian_chain(), [150, 100, 50], seed=1)
    lengths = [150, 100, 50]
    kwargs = dict(n_components=4, covariance_type=covariance_type, n_iter=20, tol=-np.inf,
                  random_state=3, params=params)
    theirs = hl.VariationalGaussianHMM(**kwargs).fit(X, lengths)
    ours = VariationalGaussianHMM(**kwargs).fit(X, lengths)
    history = np.asarray(ours.lower_bounds_)
    assert len(history) == 20
    np.testing.assert_allclose(history, list(theirs.monitor_.history), rtol=1e-6, atol=1e-6)
    names = ["means_posterior_", "beta_posterior_", "dof_posterior_", "scale_posterior_",
             "transmat_posterior_", "startprob_posterior_", "means_prior_", "scale_prior_"]
    for name in names:
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6,
                                   atol=1e-8, err_msg=name)
    np.testing.assert_allclose(ours._covars_, theirs._covars_, rtol=1e-6, atol=1e-10)
    if "s" in params:  # hmmlearn sets startprob_ only when it updates it
        assert ours.score(X, lengths) == pytest.approx(theirs.score(X, lengths), rel=1e-9,
                                                                     abs=1e-9)
        np.testing.assert_array_equal(ours.predict(X, lengths), theirs.predict(X, lengths))


@pytest.mark.parametrize("random_state", [0, 5])
def test_categorical_fit_is_hmmlearns(random_state):
    hl = pytest.importorskip("hmmlearn.vhmm")
    X, _ = sampled(categorical_chain(), [200, 100], seed=2)
    kwargs = dict(n_components=4, n_iter=20, tol=-np.inf, random_state=random_state)
    theirs = hl.VariationalCategoricalHMM(**kwargs).fit(X, [200, 100])
    ours = VariationalCategoricalHMM(**kwargs).fit(X, [200, 100])
    np.testing.assert_allclose(ours.lower_bounds_, list(theirs.monitor_.history), rtol=1e-6,
                               atol=1e-6)
    for name in ("emissionprob_posterior_", "transmat_posterior_", "startprob_posterior_",
                 "emissionprob_prior_", "emissionprob_", "transmat_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6,
                                   atol=1e-10, err_msg=name)
    assert ours.score(X, [200, 100]) == pytest.approx(theirs.score(X, [200, 100]), rel=1e-9,
                                                                 abs=1e-9)


# -- unneeded states switched off (hmmlearn's plot_variational_inference workload) -------
def _used_states(occupancy, n_rows):
    return np.flatnonzero(occupancy > 0.02 * n_rows)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gaussian_switches_off_unneeded_states(covariance_type):
    """Data from a 3-state chain fitted with 6 states: the best of a few restarts uses 3,
    decodes the generating path, and its transitions among them are the chain's."""
    lengths = [200] * 5
    X, Z = sampled(gaussian_chain(), lengths, seed=7)
    model = VariationalGaussianHMM(6, covariance_type=covariance_type, n_iter=300,
                                   random_state=1, n_init=3).fit(X, lengths)
    assert model.converged_
    used = _used_states(model.beta_posterior_ - model.beta_prior_, len(X))
    assert len(used) == 3
    assert adjusted_rand_score(Z, model.predict(X, lengths)) > 0.955
    # match each used state to the generating state whose mean is nearest
    truth = gaussian_chain()
    order = [int(np.argmin(np.linalg.norm(truth.means_ - model.means_[k], axis=1)))
             for k in used]
    assert sorted(order) == [0, 1, 2]
    transitions = model.transmat_[np.ix_(used, used)]
    transitions /= transitions.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(transitions, truth.transmat_[np.ix_(order, order)], atol=0.05)


def test_categorical_switches_off_unneeded_states():
    lengths = [300] * 5
    X, Z = sampled(categorical_chain(), lengths, seed=7)
    model = VariationalCategoricalHMM(4, n_iter=300, random_state=1, n_init=8).fit(X, lengths)
    occupancy = (model.emissionprob_posterior_ - model.emissionprob_prior_).sum(axis=1)
    used = _used_states(occupancy, len(X))
    assert len(used) == 3, occupancy
    assert adjusted_rand_score(Z, model.predict(X, lengths)) > 0.95
    # each used state emits mostly one symbol, as a generating state does, and the
    # transitions among them are the chain's
    symbols = model.emissionprob_[used].argmax(axis=1)
    assert sorted(symbols.tolist()) == [0, 1, 3]
    order = [{0: 0, 1: 1, 3: 2}[int(s)] for s in symbols]
    transitions = model.transmat_[np.ix_(used, used)]
    transitions /= transitions.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(transitions, categorical_chain().transmat_[np.ix_(order, order)],
                               atol=0.05)


# -- the lower bound never decreases --------------------------------------------------
def _assert_monotone(lower_bounds):
    lb = np.asarray(lower_bounds)
    assert np.all(np.isfinite(lb))
    assert np.all(np.diff(lb) >= -1e-9 * np.maximum(1.0, np.abs(lb[:-1]))), np.diff(lb).min()


def test_lower_bound_never_decreases_with_hypothesis():
    """Random data, numbers of states, covariance types and priors: the ELBO the engine
    records never falls (and the engine's decrease guard never fires)."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=10, deadline=None, derandomize=True, database=None,
                         phases=[hypothesis.Phase.generate])
    @hypothesis.given(seed=st.integers(0, 2**31 - 1), K=st.integers(1, 4),
                      kind=st.sampled_from(COVARIANCE_TYPES + ("categorical",)),
                      prior=st.floats(0.05, 5.0), beta=st.floats(0.1, 10.0),
                      extra_dof=st.floats(0.0, 5.0), scale=st.floats(1e-3, 10.0))
    def check(seed, K, kind, prior, beta, extra_dof, scale):
        rng = np.random.RandomState(seed)
        lengths = [int(n) for n in rng.randint(5, 60, size=3)]
        with warnings.catch_warnings():
            warnings.simplefilter("error", LikelihoodDecreaseWarning)
            if kind == "categorical":
                X = rng.randint(0, 3, size=(sum(lengths), 1))
                X[:3, 0] = [0, 1, 2]
                model = VariationalCategoricalHMM(K, startprob_prior=prior,
                                                  transmat_prior=prior,
                                                  emissionprob_prior=prior, n_iter=15,
                                                  tol=-np.inf, random_state=seed % 1000)
            else:
                D = 2
                X = rng.normal(size=(sum(lengths), D)) * rng.uniform(0.1, 10, size=D)
                X[: sum(lengths) // 2] += 4.0
                dof = D + extra_dof if kind == "tied" else np.full(K, D + extra_dof)
                shape = {"full": np.eye(D), "tied": np.eye(D), "diag": np.ones(D),
                         "spherical": 1.0}[kind] * scale
                model = VariationalGaussianHMM(
                    K, covariance_type=kind, startprob_prior=prior, transmat_prior=prior,
                    beta_prior=beta, dof_prior=dof, scale_prior=shape, n_iter=15,
                    tol=-np.inf, random_state=seed % 1000)
            model.fit(X, lengths)
        _assert_monotone(model.lower_bounds_)

    check()


def test_bayesian_mixture_lower_bound_never_decreases_with_weights():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=10, deadline=None, derandomize=True, database=None,
                         phases=[hypothesis.Phase.generate])
    @hypothesis.given(seed=st.integers(0, 2**31 - 1), K=st.integers(1, 5),
                      kind=st.sampled_from(COVARIANCE_TYPES),
                      prior_type=st.sampled_from(["dirichlet_process",
                                                  "dirichlet_distribution"]),
                      concentration=st.floats(1e-3, 10.0))
    def check(seed, K, kind, prior_type, concentration):
        rng = np.random.RandomState(seed)
        X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 5.0])
        weights = rng.uniform(0.0, 3.0, size=len(X))
        with warnings.catch_warnings():
            warnings.simplefilter("error", LikelihoodDecreaseWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)  # 30 iterations, tol=0
            model = BayesianGaussianMixture(
                n_components=K, covariance_type=kind, weight_concentration_prior_type=prior_type,
                weight_concentration_prior=concentration, max_iter=30, tol=0,
                random_state=seed % 1000).fit(X, sample_weight=weights)
        _assert_monotone(model.lower_bounds_)

    check()


# -- the engine's features -------------------------------------------------------------
def test_blocks_of_sequences_give_the_one_block_fit():
    """Each block carries its share of the divergence term: a fit in blocks of a few
    sequences is the fit in one block."""
    lengths = [40, 25, 60, 10, 35, 30]
    X, _ = sampled(gaussian_chain(), lengths, seed=4)
    whole = VariationalGaussianHMM(3, n_iter=10, tol=-np.inf, random_state=0).fit(X, lengths)
    blocked = VariationalGaussianHMM(3, n_iter=10, tol=-np.inf, random_state=0,
                                     block_size=50).fit(X, lengths)
    np.testing.assert_allclose(blocked.lower_bounds_, whole.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(blocked.means_posterior_, whole.means_posterior_, rtol=1e-10,
                               atol=1e-12)


def test_restarts_keep_the_best_lower_bound():
    lengths = [100, 100]
    X, _ = sampled(gaussian_chain(), lengths, seed=5)
    model = VariationalGaussianHMM(4, n_iter=50, random_state=0, n_init=3).fit(X, lengths)
    finals = [history[-1] for history in model.restart_lower_bounds_]
    assert len(finals) == 3
    assert model.lower_bound_ == max(finals)


@pytest.mark.parametrize("make", [
    lambda: VariationalGaussianHMM(3, covariance_type="diag", n_iter=5, random_state=0),
    lambda: VariationalCategoricalHMM(3, n_iter=5, random_state=0)])
def test_save_and_load_round_trip(tmp_path, make):
    model = make()
    chain = categorical_chain() if isinstance(model, VariationalCategoricalHMM) \
        else gaussian_chain()
    X, _ = sampled(chain, [60, 40], seed=6)
    model.fit(X, [60, 40])
    model.save(tmp_path / "model")
    loaded = emkit.load(tmp_path / "model.json")
    assert type(loaded) is type(model)
    assert loaded.score(X, [60, 40]) == model.score(X, [60, 40])
    np.testing.assert_array_equal(loaded.transmat_posterior_, model.transmat_posterior_)
    # a loaded model continues fitting from its posteriors
    loaded.set_params(init_params="", n_iter=1).fit(X, [60, 40])


def test_bad_input_and_parameters():
    X, _ = sampled(gaussian_chain(), [50], seed=0)
    assert not hasattr(VariationalGaussianHMM(), "partial_fit")
    with pytest.raises(ValueError, match="block sources"):
        VariationalGaussianHMM(2).fit([X[:25], X[25:]])
    model = VariationalGaussianHMM(2, init_params="stc")
    model.means_prior_ = np.zeros((3, 2))
    model.means_posterior_ = np.zeros((2, 2))
    model.beta_prior_ = model.beta_posterior_ = np.ones(2)
    with pytest.raises(ValueError, match=r"means_prior_ must have shape \(2, 2\)"):
        model.fit(X)
    assert not hasattr(model, "startprob_")  # a failed fit leaves the model as it was
    with pytest.raises(ValueError, match="dof_prior_ must exceed"):
        VariationalGaussianHMM(2, dof_prior=0.5).fit(X)
    with pytest.raises(ValueError, match="startprob_prior"):
        VariationalGaussianHMM(2, startprob_prior=-1.0).fit(X)
    with pytest.raises(ValueError, match="Largest symbol"):
        VariationalCategoricalHMM(2, n_features=2).fit(np.array([[0], [1], [2]]))


def test_constant_feature_gives_finite_posteriors():
    """Degenerate data: the Wishart prior keeps every covariance positive."""
    X, _ = sampled(gaussian_chain(), [80], seed=3)
    X[:, 1] = 1.0
    for covariance_type in COVARIANCE_TYPES:
        model = VariationalGaussianHMM(3, covariance_type=covariance_type, n_iter=20,
                                       random_state=0).fit(X)
        assert np.all(np.isfinite(model.lower_bounds_))
        assert np.isfinite(model.score(X))


def test_categorical_init_with_only_posteriors_given_counts_parameters(caplog):
    """``_init`` (as hmmlearn's tests call it) with init_params='' and only the posteriors
    set: the too-little-data warning counts the emission parameters from the posterior's
    shape (2 states x 2 free probabilities + 1 + 2 = 7) instead of failing."""
    rng = np.random.RandomState(0)
    model = VariationalCategoricalHMM(n_components=2, init_params="", random_state=0)
    model.startprob_posterior_ = np.array([3.0, 2.0])
    model.transmat_posterior_ = np.full((2, 2), 2.0)
    model.emissionprob_posterior_ = rng.uniform(1, 3, size=(2, 3))
    with caplog.at_level("WARNING", logger="emkit.hmm"):
        model._init(np.array([[0], [2]]))
    assert "7 free scalar parameters with only 2 data points" in caplog.text
