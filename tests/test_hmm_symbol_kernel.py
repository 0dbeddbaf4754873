"""forward_backward_symbols (categorical emissions looked up per symbol, symbol counts made in
the same pass): brute force over every path, including parameters that send the scaled
recursion to its log-space fallback; the same answers as forward_backward on the looked-up
log-densities, serial or parallel; and the variational categorical E-step it serves gives
the statistics of the unfused path."""

import dataclasses

import numba
import numpy as np
import pytest
from test_hmm_brute_force import brute_force

from emkit.hmm import _kernels
from emkit.hmm._variational_categorical_hmm import VariationalCategoricalEmission
from emkit.hmm._variational_problem import (DirichletPosterior, VariationalHMMParams,
                                            VariationalHMMProblem)

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

TOL = dict(rtol=1e-9, atol=1e-12)


def _offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _chain(rng, K, extreme):
    """Start and transition probabilities; ``extreme``: structural zeros (a left-to-right
    step that cannot be undone) that make the scaled recursion check for lost states."""
    startprob = rng.dirichlet(np.ones(K))
    transmat = rng.dirichlet(np.ones(K), size=K)
    if extreme:
        startprob[-1] = 0.0
        transmat[:, -1] = 0.0
        transmat[0, -1] = 0.3
        transmat[-1] = np.eye(K)[-1]
        startprob, transmat = startprob / startprob.sum(), transmat / transmat.sum(1)[:, None]
    return startprob, transmat


def _log_emission(rng, K, M, extreme):
    """log p(symbol | state); ``extreme``: some entries astronomically small (as the expected
    log-probabilities of a near-zero Dirichlet posterior are), so no state's scaled filter
    survives them."""
    log_emission = np.log(rng.dirichlet(np.ones(M), size=K))
    if extreme:
        log_emission[0, 0] = log_emission[1, 1] = -2.5e13
        log_emission[:, 2] = -900.0 + rng.normal(size=K)
    return log_emission


@pytest.mark.parametrize("extreme", [False, True], ids=["ordinary", "extreme"])
def test_symbol_kernel_is_exact(extreme):
    """Posteriors, expected first states and transitions, per-sequence log-likelihoods and
    posterior-weighted symbol counts equal brute force over every state path."""
    rng = np.random.default_rng(3)
    K, M, lengths = 3, 4, [5, 3, 6]
    symbols = rng.integers(0, M, sum(lengths))
    symbols[:4] = [0, 1, 2, 2]  # every extreme entry is met
    startprob, transmat = _chain(rng, K, extreme)
    log_emission = _log_emission(rng, K, M, extreme)
    exact = brute_force(log_emission.T[symbols], startprob, transmat, lengths)
    gamma, start, trans, loglik, counts = _kernels.forward_backward_symbols(
        symbols, log_emission, _offsets(lengths), startprob, transmat)
    np.testing.assert_allclose(gamma, exact["gamma"], **TOL)
    np.testing.assert_allclose(start, exact["start"], **TOL)
    np.testing.assert_allclose(trans, exact["trans"], **TOL)
    np.testing.assert_allclose(loglik.sum(), exact["loglik"], **TOL)
    expected_counts = np.array([np.bincount(symbols, weights=exact["gamma"][:, k],
                                            minlength=M) for k in range(K)])
    np.testing.assert_allclose(counts, expected_counts, **TOL)


@pytest.mark.parametrize("extreme", [False, True], ids=["ordinary", "extreme"])
@pytest.mark.parametrize("threads", [1, 2])
def test_symbol_kernel_is_the_log_frame_kernel(extreme, threads):
    """On data large enough for the parallel chunks, the symbol kernel gives what
    forward_backward gives on the looked-up log-densities (the same on one thread or two)."""
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("one numba thread only")
    rng = np.random.default_rng(4)
    K, M, length = 6, 10, 500
    n_sequences = _kernels.PARALLEL_MIN_ROWS // length + 3
    symbols = rng.integers(0, M, n_sequences * length)
    offsets = _offsets([length] * n_sequences)
    startprob, transmat = _chain(rng, K, extreme)
    log_emission = _log_emission(rng, K, M, extreme)
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        gamma, start, trans, loglik, counts = _kernels.forward_backward_symbols(
            symbols, log_emission, offsets, startprob, transmat)
        expected = _kernels.forward_backward(np.ascontiguousarray(log_emission.T[symbols]),
                                             offsets, startprob, transmat)
    finally:
        numba.set_num_threads(before)
    for ours, theirs in zip((gamma, start, trans, loglik), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    assert np.all(np.isfinite(loglik))
    np.testing.assert_allclose(counts.sum(axis=1), gamma.sum(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(counts[:, 3], gamma[symbols == 3].sum(axis=0), rtol=1e-9,
                               atol=1e-9)


class _UnfusedEmission(VariationalCategoricalEmission):
    """The same emission model without its fused E-step: log-densities, then statistics."""

    fused_e_step = None


@pytest.mark.parametrize("update", ["ste", "se"])
def test_variational_categorical_e_step_is_the_unfused_one(update):
    """The fused E-step of VariationalCategoricalHMM gives the statistics and lower-bound
    share of forward-backward on expected log-densities followed by symbol counting, from
    posteriors with near-zero parameters (hmmlearn's starting draws give such)."""
    rng = np.random.default_rng(5)
    K, M, lengths = 4, 6, [40, 25, 60]
    X = rng.integers(0, M, (sum(lengths), 1))
    emission = rng.gamma(1.0, 5.0, (K, M))
    emission[0, :2] = np.finfo(np.float64).tiny
    transitions = rng.gamma(1.0, 5.0, (K, K))
    transitions[1, 2] = np.finfo(np.float64).tiny
    theta = VariationalHMMParams(
        DirichletPosterior(np.full(K, 0.25), rng.gamma(1.0, 2.0, K)),
        DirichletPosterior(np.full((K, K), 0.25), transitions),
        DirichletPosterior(np.full((K, M), 1.0 / M), emission))
    offsets = _offsets(lengths)
    fused = VariationalHMMProblem(VariationalCategoricalEmission(None, update), update,
                                  len(X)).e_step(X, theta, offsets)
    unfused = VariationalHMMProblem(_UnfusedEmission(None, update), update,
                                    len(X)).e_step(X, theta, offsets)
    (stats, value), (expected, expected_value) = fused, unfused
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    for name in ("start", "trans"):
        np.testing.assert_allclose(getattr(stats, name), getattr(expected, name), **TOL)
    for field in dataclasses.fields(stats.emission):
        np.testing.assert_allclose(getattr(stats.emission, field.name),
                                   getattr(expected.emission, field.name), **TOL)
    assert stats.trans.any() == ("t" in update)
