"""emkit.hmm against exact answers from enumerating every hidden state path.

Tiny models (2-3 states, sequences of at most 6 steps) let us sum over all K**T paths:
the log-likelihood, the state posteriors, the best path and the expected counts of one
Baum-Welch step are then known exactly, computed in log space without any recursion.
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from emkit._exceptions import UnvisitedStateWarning
from emkit.hmm import CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM, _kernels

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

TOL = dict(rtol=1e-10, atol=1e-12)


# -- brute force ------------------------------------------------------------------------
def _log(values):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(values, dtype=float))


def _offsets(lengths, n):
    lengths = [n] if lengths is None else list(lengths)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(int)


def brute_force(log_frame, startprob, transmat, lengths=None):
    """Exact answers by summing over every path of every sequence.

    Returns a dict: loglik (summed over sequences), gamma (n_samples, K), viterbi_logprob
    (summed), viterbi_path, start (expected first states, summed), trans (expected
    transition counts, summed).
    """
    log_frame = np.asarray(log_frame, dtype=float)
    n, K = log_frame.shape
    log_start, log_trans = _log(startprob), _log(transmat)
    offsets = _offsets(lengths, n)
    out = dict(loglik=0.0, gamma=np.zeros((n, K)), viterbi_logprob=0.0,
               viterbi_path=np.zeros(n, dtype=int), start=np.zeros(K), trans=np.zeros((K, K)))
    for t0, t1 in zip(offsets[:-1], offsets[1:]):
        T = t1 - t0
        paths = np.array(list(itertools.product(range(K), repeat=T)))
        lp = log_start[paths[:, 0]] + log_frame[t0 + np.arange(T), paths].sum(axis=1)
        if T > 1:
            lp = lp + log_trans[paths[:, :-1], paths[:, 1:]].sum(axis=1)
        ll = logsumexp(lp)
        w = np.exp(lp - ll)
        out["loglik"] += ll
        for t in range(T):
            out["gamma"][t0 + t] = np.bincount(paths[:, t], weights=w, minlength=K)
        for t in range(T - 1):
            np.add.at(out["trans"], (paths[:, t], paths[:, t + 1]), w)
        out["start"] += out["gamma"][t0]
        order = np.argsort(lp)[::-1]
        # the comparison of best paths is only meaningful without ties
        assert lp[order[0]] - lp[order[1]] > 1e-6, "tie between best paths"
        out["viterbi_logprob"] += lp[order[0]]
        out["viterbi_path"][t0:t1] = paths[order[0]]
    return out


def gaussian_log_frame(X, means, full_covars):
    return np.column_stack([stats.multivariate_normal(m, c).logpdf(X).reshape(len(X))
                            for m, c in zip(means, full_covars)])


def categorical_log_frame(X, emissionprob):
    return _log(emissionprob).T[np.asarray(X)[:, 0]]


def poisson_log_frame(X, lambdas):
    return np.column_stack([stats.poisson(lam).logpmf(X).sum(axis=1) for lam in lambdas])


def multinomial_log_frame(X, emissionprob):
    return np.column_stack([stats.multinomial(X.sum(axis=1), p).logpmf(X)
                            for p in emissionprob])


def normalized_update(counts, old):
    """Rows of counts normalised; rows without counts keep ``old`` (emkit's rule)."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    return np.where(total > 0, counts / np.where(total > 0, total, 1), old)


# -- models -----------------------------------------------------------------------------
START3 = np.array([0.5, 0.3, 0.2])
TRANS3 = np.array([[0.7, 0.2, 0.1], [0.15, 0.6, 0.25], [0.3, 0.1, 0.6]])
START3_ZEROS = np.array([0.8, 0.2, 0.0])
TRANS3_ZEROS = np.array([[0.6, 0.4, 0.0], [0.0, 0.7, 0.3], [0.1, 0.0, 0.9]])
START2 = np.array([0.65, 0.35])
TRANS2 = np.array([[0.8, 0.2], [0.3, 0.7]])


def _full(covariance_type, covars, K, D):
    """Full covariance matrices from the compact form, computed independently of emkit."""
    covars = np.asarray(covars, dtype=float)
    if covariance_type == "full":
        return covars
    if covariance_type == "tied":
        return np.array([covars] * K)
    if covariance_type == "diag":
        return np.array([np.diag(c) for c in covars])
    return np.array([c * np.eye(D) for c in covars])


COMPACT_COVARS = {
    "spherical": lambda K, D, rng: rng.uniform(0.5, 2.0, K),
    "diag": lambda K, D, rng: rng.uniform(0.5, 2.0, (K, D)),
    "full": lambda K, D, rng: np.array([(lambda A: A @ A.T + 0.5 * np.eye(D))(
        rng.randn(D, D)) for _ in range(K)]),
    "tied": lambda K, D, rng: (lambda A: A @ A.T + 0.5 * np.eye(D))(rng.randn(D, D)),
}


def set_chain(model, K, zeros=False):
    """The start and transition probabilities of the cases (structural zeros for K=3 when
    ``zeros``)."""
    if K == 3:
        model.startprob_ = START3_ZEROS if zeros else START3
        model.transmat_ = TRANS3_ZEROS if zeros else TRANS3
    else:
        model.startprob_, model.transmat_ = START2, TRANS2


def emission_rows(rng, K, n_outcomes, zeros=False):
    """Random emission probabilities; with ``zeros``, state 0 never emits the last
    outcome."""
    emissionprob = rng.dirichlet(np.ones(n_outcomes), size=K)
    if zeros:
        emissionprob[0, n_outcomes - 1] = 0.0
        emissionprob[0] /= emissionprob[0].sum()
    return emissionprob


def gaussian_case(covariance_type, K, D, lengths, seed, zeros=False):
    rng = np.random.RandomState(seed)
    model = GaussianHMM(K, covariance_type=covariance_type, init_params="")
    set_chain(model, K, zeros)
    model.means_ = rng.randn(K, D) * 1.5
    compact = COMPACT_COVARS[covariance_type](K, D, rng)
    model.covars_ = compact
    X = rng.randn(sum(lengths), D) * 1.5
    full = _full(covariance_type, compact, K, D)
    return model, X, gaussian_log_frame(X, model.means_, full)


def categorical_case(K, n_symbols, lengths, seed, zeros=False):
    rng = np.random.RandomState(seed)
    model = CategoricalHMM(K, init_params="")
    set_chain(model, K, zeros)
    emissionprob = emission_rows(rng, K, n_symbols, zeros)
    model.emissionprob_ = emissionprob
    X = rng.randint(n_symbols, size=(sum(lengths), 1))
    return model, X, categorical_log_frame(X, emissionprob)


def poisson_case(K, D, lengths, seed, zeros=False):
    rng = np.random.RandomState(seed)
    model = PoissonHMM(K, init_params="")
    set_chain(model, K, zeros)
    model.lambdas_ = rng.uniform(0.5, 6.0, (K, D))
    # scoring a PoissonHMM needs n_features_in_ (see test_hmm_bad_input for hand-set models)
    model.n_features_in_ = D
    X = rng.poisson(3.0, size=(sum(lengths), D))
    return model, X, poisson_log_frame(X, model.lambdas_)


def multinomial_case(K, D, lengths, seed, n_trials=5, zeros=False):
    rng = np.random.RandomState(seed)
    model = MultinomialHMM(K, n_trials=n_trials, init_params="")
    set_chain(model, K, zeros)
    emissionprob = emission_rows(rng, K, D, zeros)
    model.emissionprob_ = emissionprob
    X = rng.multinomial(n_trials, np.full(D, 1.0 / D), size=sum(lengths))
    return model, X, multinomial_log_frame(X, emissionprob)


CASES = {
    "gauss-diag-K2-one": (lambda L: gaussian_case("diag", 2, 2, L, 0), [6]),
    "gauss-full-K3-several": (lambda L: gaussian_case("full", 3, 2, L, 1), [4, 3, 2]),
    "gauss-tied-K3": (lambda L: gaussian_case("tied", 3, 3, L, 2), [5, 1]),
    "gauss-spherical-K3": (lambda L: gaussian_case("spherical", 3, 2, L, 3), [5]),
    "gauss-diag-K3-zeros": (lambda L: gaussian_case("diag", 3, 2, L, 4, zeros=True), [5, 4]),
    "gauss-full-K3-zeros": (lambda L: gaussian_case("full", 3, 1, L, 5, zeros=True), [6, 2]),
    "cat-K2": (lambda L: categorical_case(2, 3, L, 6), [6, 4]),
    "cat-K3": (lambda L: categorical_case(3, 4, L, 7), [5]),
    "cat-K3-zeros": (lambda L: categorical_case(3, 4, L, 8, zeros=True), [4, 5, 3]),
    "poisson-K2": (lambda L: poisson_case(2, 1, L, 9), [6]),
    "poisson-K3-several": (lambda L: poisson_case(3, 2, L, 10), [3, 5, 2]),
    "poisson-K3-zeros": (lambda L: poisson_case(3, 2, L, 11, zeros=True), [5, 4]),
    "multinomial-K2": (lambda L: multinomial_case(2, 3, L, 12), [6, 3]),
    "multinomial-K3-zeros": (lambda L: multinomial_case(3, 4, L, 13, zeros=True), [5, 4]),
}


def _possible(name):
    """The case, with its brute-force answers (every sequence must be possible)."""
    factory, lengths = CASES[name]
    model, X, log_frame = factory(lengths)
    exact = brute_force(log_frame, model.startprob_, model.transmat_, lengths)
    assert np.isfinite(exact["loglik"]), f"{name}: data impossible under the model"
    return model, X, log_frame, lengths, exact


# -- inference --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_score_is_exact(name):
    """score() equals the log of the sum over all paths (summed over sequences)."""
    model, X, _, lengths, exact = _possible(name)
    np.testing.assert_allclose(model.score(X, lengths), exact["loglik"], **TOL)
    np.testing.assert_allclose(model.score_samples(X, lengths)[0], exact["loglik"], **TOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_posteriors_are_exact(name):
    """predict_proba() equals P(z_t = k | X) summed over paths."""
    model, X, _, lengths, exact = _possible(name)
    np.testing.assert_allclose(model.predict_proba(X, lengths), exact["gamma"], **TOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_viterbi_is_exact(name):
    """decode('viterbi') gives the most probable path and its joint log-probability."""
    model, X, _, lengths, exact = _possible(name)
    logprob, path = model.decode(X, lengths, algorithm="viterbi")
    np.testing.assert_array_equal(path, exact["viterbi_path"])
    np.testing.assert_allclose(logprob, exact["viterbi_logprob"], **TOL)
    np.testing.assert_array_equal(model.predict(X, lengths), exact["viterbi_path"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_map_decoding_is_exact(name):
    """decode('map') is the per-sample argmax of the exact posteriors; its log-prob is the
    sum of the logs of the largest posteriors."""
    model, X, _, lengths, exact = _possible(name)
    logprob, states = model.decode(X, lengths, algorithm="map")
    np.testing.assert_array_equal(states, exact["gamma"].argmax(axis=1))
    np.testing.assert_allclose(logprob, np.log(exact["gamma"].max(axis=1)).sum(), **TOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_expected_counts_are_exact(name):
    """forward_backward's expected first states and transition counts equal brute force."""
    model, X, log_frame, lengths, exact = _possible(name)
    gamma, start, trans, loglik = _kernels.forward_backward(
        np.ascontiguousarray(log_frame), _offsets(lengths, len(X)), model.startprob_,
        model.transmat_)
    np.testing.assert_allclose(gamma, exact["gamma"], **TOL)
    np.testing.assert_allclose(start, exact["start"], **TOL)
    np.testing.assert_allclose(trans, exact["trans"], **TOL)
    np.testing.assert_allclose(loglik.sum(), exact["loglik"], **TOL)


# -- one Baum-Welch step -----------------------------------------------------------------
def _one_step(model, X, lengths):
    model.set_params(n_iter=1, tol=0, init_params="")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no state is unvisited in these cases
        return model.fit(X, lengths)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_baum_welch_step_is_exact(name):
    """fit(n_iter=1) from known parameters gives the brute-force re-estimates: startprob_
    and transmat_ from expected counts (structural zeros stay zero), and the emission
    parameters from posterior-weighted data; lower_bounds_ holds the exact log-likelihood
    of the starting parameters."""
    model, X, _, lengths, exact = _possible(name)
    old_start, old_trans = model.startprob_.copy(), model.transmat_.copy()
    gamma = exact["gamma"]
    _one_step(model, X, lengths)
    np.testing.assert_allclose(model.lower_bounds_, [exact["loglik"]], **TOL)
    np.testing.assert_allclose(model.startprob_, exact["start"] / len(lengths), **TOL)
    np.testing.assert_allclose(model.transmat_, normalized_update(exact["trans"], old_trans),
                               **TOL)
    assert np.all(model.transmat_[old_trans == 0] == 0)
    assert np.all(model.startprob_[old_start == 0] == 0)
    weight = gamma.sum(axis=0)
    if isinstance(model, GaussianHMM):
        means = gamma.T @ X / weight[:, None]
        np.testing.assert_allclose(model.means_, means, **TOL)
    elif isinstance(model, MultinomialHMM):  # outcome counts over all trials, per state
        counts = gamma.T @ X
        np.testing.assert_allclose(model.emissionprob_,
                                   counts / counts.sum(axis=1, keepdims=True), **TOL)
    elif isinstance(model, CategoricalHMM):
        counts = np.array([np.bincount(X[:, 0], weights=gamma[:, k],
                                       minlength=model.emissionprob_.shape[1])
                           for k in range(gamma.shape[1])])
        np.testing.assert_allclose(model.emissionprob_, counts / weight[:, None], **TOL)
    else:
        np.testing.assert_allclose(model.lambdas_, gamma.T @ X / weight[:, None], **TOL)


def test_one_step_diag_covariances_are_exact():
    """With no covariance prior, one step gives the posterior-weighted variances about the
    new means."""
    model, X, _, lengths, exact = _possible("gauss-diag-K3-zeros")
    model.set_params(covars_prior=0.0, covars_weight=1.0)
    gamma = exact["gamma"]
    _one_step(model, X, lengths)
    weight = gamma.sum(axis=0)
    means = gamma.T @ X / weight[:, None]
    var = np.array([(gamma[:, k, None] * (X - means[k]) ** 2).sum(axis=0) / weight[k]
                    for k in range(3)])
    np.testing.assert_allclose(model.covariances_, var, **TOL)


def test_one_step_full_covariances_are_exact():
    """Full covariances after one step: posterior-weighted scatter about the new means."""
    model, X, _, lengths, exact = _possible("gauss-full-K3-several")
    model.set_params(covars_prior=0.0, covars_weight=1.0)
    gamma = exact["gamma"]
    _one_step(model, X, lengths)
    weight = gamma.sum(axis=0)
    means = gamma.T @ X / weight[:, None]
    cov = np.array([(gamma[:, k, None] * (X - means[k])).T @ (X - means[k]) / weight[k]
                    for k in range(3)])
    np.testing.assert_allclose(model.covars_, cov, **TOL)


# -- log-space fallback -------------------------------------------------------------------
def _scaled_forward_fails(log_frame, startprob, transmat):
    """Whether Rabiner's scaled forward recursion (emission probabilities taken relative
    to each row's largest, as a probability-space kernel must) underflows: some step's
    normaliser is zero or below 1e-300. Computed here in numpy, independently of emkit."""
    alpha = None
    for row in np.asarray(log_frame, dtype=float):
        with np.errstate(under="ignore"):
            frame = np.exp(row - row.max())
        alpha = startprob * frame if alpha is None else (alpha @ transmat) * frame
        c = alpha.sum()
        if not c > 1e-300:
            return True
        alpha = alpha / c
    return False


def _far_gaussian_model():
    """State 2 is unreachable (start 0, column 0) but sits on the data; states 0 and 1 are
    some 40 standard deviations away: their log-densities are ~800 below state 2's, so
    exp(row - row max) underflows for every reachable state."""
    model = GaussianHMM(3, covariance_type="diag", init_params="")
    model.startprob_ = np.array([0.6, 0.4, 0.0])
    model.transmat_ = np.array([[0.7, 0.3, 0.0], [0.2, 0.8, 0.0], [0.5, 0.5, 0.0]])
    model.means_ = np.array([[40.0, 40.0], [-40.0, 41.0], [0.0, 0.0]])
    model.covars_ = np.array([[1.0, 1.0], [1.0, 1.2], [1.0, 1.0]])
    rng = np.random.RandomState(12)
    X = rng.randn(9, 2) * 0.5
    lengths = [5, 4]
    log_frame = gaussian_log_frame(X, model.means_, _full("diag", model.covars_, 3, 2))
    return model, X, lengths, log_frame


def test_far_gaussian_forces_the_fallback():
    """The far-away model really defeats the scaled recursion (else the next tests would
    not test the fallback)."""
    model, X, lengths, log_frame = _far_gaussian_model()
    assert np.all(log_frame[:, :2].max(axis=1) - log_frame[:, 2] < -700)
    assert _scaled_forward_fails(log_frame[:5], model.startprob_, model.transmat_)


def test_fallback_inference_matches_log_space_brute_force():
    """score, predict_proba and Viterbi of the far-away model equal brute force in logs."""
    model, X, lengths, log_frame = _far_gaussian_model()
    exact = brute_force(log_frame, model.startprob_, model.transmat_, lengths)
    assert exact["loglik"] < -1500
    np.testing.assert_allclose(model.score(X, lengths), exact["loglik"], **TOL)
    log_prob, posteriors = model.score_samples(X, lengths)
    np.testing.assert_allclose(log_prob, exact["loglik"], **TOL)
    np.testing.assert_allclose(posteriors, exact["gamma"], **TOL)
    assert np.all(posteriors[:, 2] == 0)
    logprob, path = model.decode(X, lengths)
    np.testing.assert_array_equal(path, exact["viterbi_path"])
    np.testing.assert_allclose(logprob, exact["viterbi_logprob"], **TOL)


def test_fallback_baum_welch_step_matches_brute_force():
    """One Baum-Welch step through the log-space fallback: transitions and means equal
    brute force; the unreachable state keeps its row and emission (with a warning)."""
    model, X, lengths, log_frame = _far_gaussian_model()
    exact = brute_force(log_frame, model.startprob_, model.transmat_, lengths)
    old_trans, old_means = model.transmat_.copy(), model.means_.copy()
    model.set_params(n_iter=1, tol=0, params="stm")
    with pytest.warns(UnvisitedStateWarning):
        model.fit(X, lengths)
    np.testing.assert_allclose(model.lower_bounds_, [exact["loglik"]], **TOL)
    np.testing.assert_allclose(model.transmat_, normalized_update(exact["trans"], old_trans),
                               **TOL)
    np.testing.assert_array_equal(model.transmat_[2], old_trans[2])
    np.testing.assert_allclose(model.startprob_, exact["start"] / 2, **TOL)
    gamma = exact["gamma"]
    np.testing.assert_allclose(model.means_[:2], (gamma.T @ X)[:2] / gamma.sum(0)[:2, None],
                               **TOL)
    np.testing.assert_array_equal(model.means_[2], old_means[2])


def test_kernel_fallback_on_hand_made_log_frame():
    """forward_backward on a log_frame whose reachable states are all ~800 nats below an
    unreachable one: results equal brute force in log space, including transition counts."""
    rng = np.random.RandomState(13)
    startprob = np.array([0.5, 0.5, 0.0])
    transmat = np.array([[0.4, 0.6, 0.0], [0.9, 0.1, 0.0], [0.3, 0.3, 0.4]])
    log_frame = np.column_stack([-800 + rng.randn(6, 2) * 3, np.zeros(6)])
    assert _scaled_forward_fails(log_frame, startprob, transmat)
    exact = brute_force(log_frame, startprob, transmat)
    offsets = np.array([0, 6])
    gamma, start, trans, loglik = _kernels.forward_backward(log_frame, offsets, startprob,
                                                            transmat)
    np.testing.assert_allclose(loglik, [exact["loglik"]], **TOL)
    np.testing.assert_allclose(gamma, exact["gamma"], **TOL)
    np.testing.assert_allclose(start, exact["start"], **TOL)
    np.testing.assert_allclose(trans, exact["trans"], **TOL)
    np.testing.assert_allclose(_kernels.forward(log_frame, offsets, startprob, transmat),
                               [exact["loglik"]], **TOL)
    logprob, path = _kernels.viterbi(log_frame, offsets, startprob, transmat)
    np.testing.assert_allclose(logprob, [exact["viterbi_logprob"]], **TOL)
    np.testing.assert_array_equal(path, exact["viterbi_path"])


def test_kernel_mixes_scaled_and_fallback_sequences():
    """With several sequences, one needing the fallback and others not, every sequence's
    log-likelihood and posteriors are right."""
    rng = np.random.RandomState(14)
    startprob = np.array([0.5, 0.5, 0.0])
    transmat = np.array([[0.4, 0.6, 0.0], [0.9, 0.1, 0.0], [0.3, 0.3, 0.4]])
    easy = rng.randn(4, 3)
    hard = np.column_stack([-800 + rng.randn(5, 2), np.zeros(5)])
    log_frame = np.ascontiguousarray(np.vstack([easy, hard, easy[::-1]]))
    lengths = [4, 5, 4]
    exact = brute_force(log_frame, startprob, transmat, lengths)
    offsets = _offsets(lengths, len(log_frame))
    gamma, start, trans, loglik = _kernels.forward_backward(log_frame, offsets, startprob,
                                                            transmat)
    np.testing.assert_allclose(loglik.sum(), exact["loglik"], **TOL)
    np.testing.assert_allclose(gamma, exact["gamma"], **TOL)
    np.testing.assert_allclose(trans, exact["trans"], **TOL)
    np.testing.assert_allclose(start, exact["start"], **TOL)
    np.testing.assert_allclose(_kernels.forward(log_frame, offsets, startprob,
                                                transmat).sum(), exact["loglik"], **TOL)


def test_impossible_sequence_gets_minus_inf_and_zero_posteriors():
    """A sequence with probability exactly zero: log-likelihood -inf, posteriors all 0."""
    startprob = np.array([1.0, 0.0])
    transmat = np.array([[1.0, 0.0], [0.0, 1.0]])
    log_frame = np.array([[-np.inf, 0.0], [-1.0, -2.0]])  # state 0 cannot emit x_0
    gamma, _, _, loglik = _kernels.forward_backward(log_frame, np.array([0, 2]), startprob,
                                                    transmat)
    assert loglik[0] == -np.inf
    np.testing.assert_array_equal(gamma, 0.0)
    assert _kernels.forward(log_frame, np.array([0, 2]), startprob, transmat)[0] == -np.inf


# Forward filtering in probability space loses a state whose filtered probability
# underflows to exactly 0; when later evidence makes that state the likely one, the scaled
# score is off by hundreds of nats without any scale factor falling below the floor.
LOST_STATE_LOG_FRAME = np.array([[-300.0, 0.0], [-300.0, 0.0], [-300.0, 0.0],
                                 [0.0, -400.0], [0.0, -400.0], [0.0, -400.0]])


def test_lost_state_posteriors_are_exact():
    """forward_backward (used by fit, predict_proba, score_samples) detects the lost state
    through its backward pass and gets the exact answer."""
    startprob, transmat = np.array([0.5, 0.5]), np.eye(2)
    exact = brute_force(LOST_STATE_LOG_FRAME, startprob, transmat)
    np.testing.assert_allclose(exact["loglik"], logsumexp([np.log(0.5) - 900,
                                                            np.log(0.5) - 1200]), **TOL)
    gamma, _, trans, ll = _kernels.forward_backward(LOST_STATE_LOG_FRAME, np.array([0, 6]),
                                                    startprob, transmat)
    np.testing.assert_allclose(ll, [exact["loglik"]], **TOL)
    np.testing.assert_allclose(gamma, exact["gamma"], **TOL)
    np.testing.assert_allclose(trans, exact["trans"], **TOL)


def test_lost_state_score_is_exact():
    """forward() (used by score, bic, aic) on the lost-state log_frame."""
    startprob, transmat = np.array([0.5, 0.5]), np.eye(2)
    exact = brute_force(LOST_STATE_LOG_FRAME, startprob, transmat)
    np.testing.assert_allclose(
        _kernels.forward(LOST_STATE_LOG_FRAME, np.array([0, 6]), startprob, transmat),
        [exact["loglik"]], **TOL)


def test_lost_state_left_right_gaussian_score():
    """A 2-state left-right GaussianHMM whose data first look like state 1 (100 steps) and
    then like state 0 (200 steps): score() must equal score_samples()'s log-likelihood,
    which is brute force over the only possible paths (switch 0 -> 1 at some step)."""
    model = GaussianHMM(2, covariance_type="diag", init_params="")
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.array([[0.9, 0.1], [0.0, 1.0]])
    model.means_ = np.array([[0.0], [4.0]])
    model.covars_ = np.array([[1.0], [1.0]])
    X = np.r_[np.full(100, 4.0), np.full(200, 0.0)][:, None]
    T = len(X)
    log_frame = gaussian_log_frame(X, model.means_, _full("diag", model.covars_, 2, 1))
    # paths: state 0 for steps < s, state 1 from s on (s = T: never switches)
    cum0 = np.concatenate([[0], np.cumsum(log_frame[:, 0])])
    cum1 = np.concatenate([[0], np.cumsum(log_frame[:, 1])])
    lp = [cum0[s] + (cum1[T] - cum1[s]) + (s - 1) * np.log(0.9) + np.log(0.1)
          for s in range(1, T)] + [cum0[T] + (T - 1) * np.log(0.9)]
    loglik = logsumexp(lp)
    np.testing.assert_allclose(model.score_samples(X)[0], loglik, rtol=1e-10)
    np.testing.assert_allclose(model.score(X), loglik, rtol=1e-10)
