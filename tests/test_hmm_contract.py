"""The engine's contract for every HMM: additive statistics, block-independent fits."""

import numpy as np
import pytest

from emkit.hmm import GMMHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from emkit.hmm import _base
from emkit.hmm._sequences import SequenceBlocks, check_lengths

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU


def _data(kind, seed=0):
    rng = np.random.default_rng(seed)
    lengths = [40, 25, 60, 35]
    states = np.repeat(np.arange(len(lengths)) % 2, lengths)
    if kind == "categorical":
        X = np.where(rng.random(states.size) < 0.8, states, rng.integers(0, 4, states.size))
        return X[:, None], lengths
    if kind == "multinomial":  # 6 trials per row, outcome 0 or 1 favoured by the state
        p = np.where(states[:, None] == np.arange(3), 0.6, 0.2)
        return np.array([rng.multinomial(6, row) for row in p]), lengths
    if kind == "poisson":
        return rng.poisson(2 + 6 * states[:, None], size=(states.size, 2)), lengths
    return rng.normal(size=(states.size, 2)) + 3 * states[:, None], lengths


MODELS = {
    "gaussian-full": (lambda: GaussianHMM(2, covariance_type="full", n_iter=4, random_state=0),
                      "gaussian"),
    "gaussian-tied": (lambda: GaussianHMM(2, covariance_type="tied", n_iter=4, random_state=0),
                      "gaussian"),
    "gmm-diag": (lambda: GMMHMM(2, n_mix=2, n_iter=4, random_state=0), "gaussian"),
    "categorical": (lambda: CategoricalHMM(2, n_iter=4, random_state=0), "categorical"),
    "poisson": (lambda: PoissonHMM(2, n_iter=4, random_state=0), "poisson"),
    "multinomial": (lambda: MultinomialHMM(2, n_iter=4, random_state=0), "multinomial"),
}


def _leaves(stats):
    """Every array inside an HMMStats, flattened, in a fixed order."""
    emission = stats.emission
    parts = [stats.start, stats.trans]
    for name in ("weight", "first", "second", "post", "obs"):
        if hasattr(emission, name):
            parts.append(getattr(emission, name))
    return np.concatenate([np.ravel(p) for p in parts])


@pytest.mark.parametrize("name", MODELS)
def test_statistics_of_all_sequences_are_the_sum_over_parts(name):
    make, kind = MODELS[name]
    X, lengths = _data(kind)
    model = make().fit(X, lengths)
    theta = model._theta()
    problem = model._problem(update="st" + model._emission_letters)
    X = model._check_X(X)
    offsets = check_lengths(lengths, X.shape[0])
    whole, loglik = problem.e_step(X, theta, offsets)
    parts = [problem.e_step(Xb, theta, ob) for Xb, ob in SequenceBlocks(X, offsets, 1)]
    assert len(parts) == len(lengths)
    total = parts[0][0]
    for stats, _ in parts[1:]:
        total = total + stats
    np.testing.assert_allclose(_leaves(total), _leaves(whole), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sum(ll for _, ll in parts), loglik, rtol=1e-12)
    np.testing.assert_allclose(_leaves(whole * 2.0), 2.0 * _leaves(whole), rtol=1e-15)


@pytest.mark.parametrize("name", MODELS)
def test_fit_does_not_depend_on_the_block_size(name, monkeypatch):
    make, kind = MODELS[name]
    X, lengths = _data(kind, seed=1)
    one_block = make().fit(X, lengths)
    monkeypatch.setattr(_base, "sequence_block_rows", lambda *args: 30)
    many_blocks = make().fit(X, lengths)
    np.testing.assert_allclose(many_blocks.lower_bounds_, one_block.lower_bounds_, rtol=1e-12)
    np.testing.assert_allclose(many_blocks.transmat_, one_block.transmat_, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_fit(name):
    make, kind = MODELS[name]
    X, lengths = _data(kind, seed=2)
    a, b = make().fit(X, lengths), make().fit(X, lengths)
    assert a.lower_bounds_ == b.lower_bounds_
    np.testing.assert_array_equal(a.transmat_, b.transmat_)
