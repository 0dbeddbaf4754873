"""The HMMs beyond one in-memory array: memmaps, re-iterable sources of sequence blocks,
Dask (threaded, and on a distributed cluster with a worker killed mid-fit).

The reference everywhere is the ordinary in-memory fit from the same starting values: a
streamed or distributed E-step only sums the same per-sequence statistics in another order,
so the parameters and the log-likelihood history must agree to round-off (1e-9 relative).
"""

import math
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from emkit.hmm import GMMHMM, CategoricalHMM, GaussianHMM, PoissonHMM
from emkit.hmm import _base, _large_data
from test_large_data import Reiterable, fit_while_killing_a_worker, write_memmap

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")
pd = pytest.importorskip("pandas")

TRANSMAT = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.15, 0.8]])
STARTPROB = np.array([0.5, 0.3, 0.2])


@pytest.fixture(autouse=True)
def one_thread():
    """The k-means starting values crawl with OpenMP threads on a loaded machine; every fit
    compared here runs under the same limit."""
    with threadpool_limits(1):
        yield


# -- data and models ----------------------------------------------------------------------
def hidden_states(n, rng):
    states = [rng.choice(3, p=STARTPROB)]
    for _ in range(n - 1):
        states.append(rng.choice(3, p=TRANSMAT[states[-1]]))
    return np.array(states)


def make_data(kind, n_sequences=16, seed=0):
    """(X, lengths): sequences of 40..250 rows from a 3-state chain, emissions per kind."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(40, 250, size=n_sequences)
    z = np.concatenate([hidden_states(n, rng) for n in lengths])
    if kind == "categorical":
        X = np.where(rng.random(z.size) < 0.7, z, rng.integers(0, 5, z.size))[:, None]
    elif kind == "poisson":
        X = rng.poisson(np.array([[1.0, 4.0], [6.0, 1.0], [3.0, 9.0]])[z])
    else:
        X = np.array([[0.0, 0.0], [3.0, 2.0], [-2.0, 3.0]])[z] + rng.standard_normal((z.size, 2))
    return X, lengths


MODELS = {
    "gaussian-full": (lambda **kw: GaussianHMM(3, covariance_type="full", **kw), "gaussian"),
    "gaussian-diag": (lambda **kw: GaussianHMM(3, covariance_type="diag", **kw), "gaussian"),
    "gmm-tied": (lambda **kw: GMMHMM(3, n_mix=2, covariance_type="tied", **kw), "gaussian"),
    "categorical": (lambda **kw: CategoricalHMM(3, **kw), "categorical"),
    "poisson": (lambda **kw: PoissonHMM(3, **kw), "poisson"),
}
FIT = dict(n_iter=25, tol=1e-6, random_state=0)


def fitted_state(model):
    return {name: getattr(model, name) for name in model._current_attributes()}


def assert_same_fit(actual, desired, rtol=1e-9):
    """Same parameters to ``rtol`` relative to each array's scale, the same log-likelihood
    history, iterations and convergence."""
    a, d = fitted_state(actual), fitted_state(desired)
    assert set(a) == set(d)
    assert desired.n_iter_ > 2  # real iterations, not just the starting values
    assert actual.n_iter_ == desired.n_iter_
    assert actual.converged_ == desired.converged_
    assert_allclose(actual.lower_bounds_, desired.lower_bounds_, rtol=rtol)
    assert_allclose(actual.lower_bound_, desired.lower_bound_, rtol=rtol)
    for name, value in d.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert a[name].shape == value.shape, name
            assert_allclose(a[name], value, rtol=rtol, atol=rtol * np.max(np.abs(value)),
                            err_msg=name)
        elif name not in ("lower_bounds_", "lower_bound_", "restart_lower_bounds_",
                          "monitor_"):
            assert a[name] == value, name


def offsets_of(lengths):
    return np.concatenate([[0], np.cumsum(lengths)])


def sequence_blocks(X, lengths, per_block):
    """``(X_block, lengths_block)`` pairs of ``per_block`` consecutive sequences each."""
    offsets = offsets_of(lengths)
    return [(X[offsets[i]:offsets[min(i + per_block, len(lengths))]],
             lengths[i:i + per_block]) for i in range(0, len(lengths), per_block)]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of whole sequences of about 300 rows (the automatic size would take all the
    data at once); returns the rows of every block the fit validates."""
    monkeypatch.setattr(_base, "sequence_block_rows", lambda *args: 300)
    seen = []
    check = _large_data.SequenceBlockCheck.__call__

    def recording(self, X):
        X = check(self, X)
        seen.append(X.shape[0])
        return X

    monkeypatch.setattr(_large_data.SequenceBlockCheck, "__call__", recording)
    return seen


def threaded():
    return dask.config.set(scheduler="threads")


# -- out of core: memmaps -----------------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
def test_memmap_matches_in_memory(tmp_path, small_blocks, name):
    make, kind = MODELS[name]
    X, lengths = make_data(kind)
    ref = make(**FIT).fit(X, lengths)
    small_blocks.clear()
    mm = write_memmap(tmp_path / "X.bin", X, X.dtype)
    model = make(**FIT).fit(mm, lengths)
    assert_same_fit(model, ref)
    # the starting sample (every row: there are fewer than INIT_ROWS), then blocks of
    # whole sequences, each at most 300 rows unless one sequence is longer
    assert small_blocks[0] == X.shape[0]
    blocks = small_blocks[1:]
    assert sum(blocks) == X.shape[0] * model.n_iter_
    assert max(blocks) <= max(300, max(lengths)) and len(blocks) >= 10 * model.n_iter_
    assert model.n_features_in_ == ref.n_features_in_


def test_float32_memmap_matches_in_memory_float32(tmp_path, small_blocks):
    X, lengths = make_data("gaussian")
    X = X.astype(np.float32)
    mm = write_memmap(tmp_path / "X.f4", X, np.float32)
    make = MODELS["gaussian-full"][0]
    assert_same_fit(make(**FIT).fit(mm, lengths), make(**FIT).fit(X, lengths))


def test_memmap_starting_sample_is_bounded(tmp_path, small_blocks):
    """More rows than INIT_ROWS: the starting values come from a random sample of rows,
    never the whole file. With every parameter given the fit is the in-memory one, and
    with k-means starting values from the sample it is as good."""
    X, lengths = make_data("gaussian", n_sequences=30)
    mm = write_memmap(tmp_path / "X.f8", X)
    given = GaussianHMM(3, init_params="", n_iter=25, tol=1e-6)
    given.startprob_, given.transmat_ = np.full(3, 1 / 3), np.full((3, 3), 1 / 3)
    given.means_, given.covars_ = np.array([[1.0, 1.0], [2.0, 1.0], [-1.0, 2.0]]), np.ones((3, 2))
    ref = GaussianHMM(**given.get_params())
    vars(ref).update(fitted_state(given))
    ref.fit(X, lengths)
    given.INIT_ROWS = 500
    small_blocks.clear()
    assert_same_fit(given.fit(mm, lengths), ref)
    assert 400 < small_blocks[0] <= 500  # distinct random rows
    sampled = GaussianHMM(3, **FIT)
    sampled.INIT_ROWS = 500
    sampled.fit(mm, lengths)
    in_memory = GaussianHMM(3, **FIT).fit(X, lengths)
    assert sampled.score(X, lengths) == pytest.approx(in_memory.score(X, lengths), rel=1e-3)


# -- block sources ------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
def test_block_sources_match_in_memory(name):
    make, kind = MODELS[name]
    X, lengths = make_data(kind)
    ref = make(**FIT).fit(X, lengths)
    pairs = sequence_blocks(X, lengths, 3)
    assert len(pairs) == 6
    assert_same_fit(make(**FIT).fit(pairs), ref)
    if name != "gaussian-diag":
        return  # the kinds of source below feed every model alike
    calls = []

    def source():  # a fresh iterator on every call, the blocks copied as they are read
        calls.append(1)
        for block, block_lengths in pairs:
            yield block.copy(), list(block_lengths)

    assert_same_fit(make(**FIT).fit(source), ref)
    assert len(calls) == ref.n_iter_ + 1  # the starting rows, then once per iteration
    reiterable = Reiterable(pairs)
    assert_same_fit(make(**FIT).fit(reiterable), ref)
    assert reiterable.passes == ref.n_iter_ + 1


def test_bare_blocks_are_one_sequence_each():
    X, lengths = make_data("gaussian")
    make = MODELS["gaussian-diag"][0]
    offsets = offsets_of(lengths)
    bare = [X[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    assert_same_fit(make(**FIT).fit(bare), make(**FIT).fit(X, lengths))
    assert_same_fit(make(**FIT).fit(tuple(bare)), make(**FIT).fit(X, lengths))


# -- Dask, threaded -----------------------------------------------------------------------
def test_sequence_partitions_hold_whole_sequences():
    """Each chunk boundary moves to the nearest sequence boundary; brute force over many
    chunkings."""
    rng = np.random.default_rng(1)
    for _ in range(30):
        lengths = rng.integers(1, 60, size=rng.integers(1, 25))
        offsets = offsets_of(lengths)
        n = int(offsets[-1])
        chunk = int(rng.integers(1, n + 1))
        X = da.from_array(np.arange(n, dtype=float)[:, None], chunks=(chunk, 1))
        aligned, parts = _large_data.sequence_partitions(X, offsets)
        cuts = offsets_of(aligned.chunks[0])
        assert cuts[-1] == n and len(parts) == aligned.numblocks[0] <= X.numblocks[0]
        assert set(cuts) <= set(offsets)  # only at sequence boundaries
        for bound in offsets_of(X.chunks[0])[1:-1]:
            nearest = np.min(np.abs(offsets - bound))
            assert np.min(np.abs(cuts - bound)) == nearest
        for (a, b), part in zip(zip(cuts[:-1], cuts[1:]), parts):
            assert_array_equal(part, offsets[(offsets >= a) & (offsets <= b)] - a)
        assert_array_equal(np.asarray(aligned).ravel(), np.arange(n))
        if all(c in offsets for c in offsets_of(X.chunks[0])):
            assert aligned.chunks == X.chunks  # already whole: left as it is


@pytest.mark.parametrize("name", ["gaussian-full", "categorical", "poisson"])
def test_dask_array_matches_in_memory(name):
    make, kind = MODELS[name]
    X, lengths = make_data(kind)
    ref = make(**FIT).fit(X, lengths)
    dX = da.from_array(X, chunks=(math.ceil(X.shape[0] / 8), X.shape[1]))  # not aligned
    with threaded():
        model = make(**FIT).fit(dX, lengths)
        assert_same_fit(model, ref)
        # inference on the Dask array, partition by partition: the in-memory values
        assert model.score(dX, lengths) == pytest.approx(model.score(X, lengths), rel=1e-12)
        assert_array_equal(np.asarray(model.predict(dX, lengths)), model.predict(X, lengths))
        assert_allclose(np.asarray(model.predict_proba(dX, lengths)),
                        model.predict_proba(X, lengths), rtol=1e-12, atol=1e-15)


def test_dask_dataframe_and_column_chunks_match_in_memory():
    X, lengths = make_data("gaussian")
    make = MODELS["gaussian-full"][0]
    ref = make(**FIT).fit(X, lengths)
    with threaded():
        df = dd.from_pandas(pd.DataFrame(X, columns=["a", "b"]), npartitions=5)
        assert_same_fit(make(**FIT).fit(df, lengths), ref)
        split_columns = da.from_array(X, chunks=(700, 1))
        assert_same_fit(make(**FIT).fit(split_columns, da.from_array(lengths)), ref)


# -- bad input ----------------------------------------------------------------------------
def test_lengths_that_do_not_match_are_refused(tmp_path):
    X, lengths = make_data("gaussian")
    wrong = np.append(lengths, 5)
    mm = write_memmap(tmp_path / "X.f8", X)
    with pytest.raises(ValueError, match="lengths sum to"):
        GaussianHMM(3).fit(mm, wrong)
    with threaded(), pytest.raises(ValueError, match="lengths sum to"):
        GaussianHMM(3).fit(da.from_array(X, chunks=500), wrong)
    with pytest.raises(ValueError, match="a block of the source: lengths sum to"):
        GaussianHMM(3).fit([(X[:500], [200, 200]), (X[500:], None)])
    with pytest.raises(ValueError, match="lengths must be positive"):
        GaussianHMM(3).fit(lambda: iter([(X[:500], [600, -100])]))


def test_lengths_with_a_block_source_are_refused():
    X, lengths = make_data("gaussian")
    with pytest.raises(ValueError, match="lengths_block"):
        GaussianHMM(3).fit(sequence_blocks(X, lengths, 4), lengths)


def test_one_shot_generators_and_empty_sources_are_refused():
    X, lengths = make_data("gaussian")
    with pytest.raises(ValueError, match="one-shot"):
        GaussianHMM(3).fit(b for b in sequence_blocks(X, lengths, 4))
    with pytest.raises(ValueError, match="no blocks"):
        GaussianHMM(3).fit(lambda: iter([]))


def test_blocks_that_do_not_agree_are_refused():
    X, lengths = make_data("gaussian")
    with pytest.raises(ValueError, match="a block of X has 1 features, the first had 2"):
        GaussianHMM(3).fit([X[:500], X[500:, :1]])
    # a larger symbol than the starting sample saw, met during EM itself
    symbols = np.zeros((600, 1), dtype=int)
    symbols[::7] = 1
    symbols[550] = 4
    model = CategoricalHMM(2)
    model.INIT_ROWS = 500
    with pytest.raises(ValueError, match="does not fit the starting parameters: Largest "
                                         "symbol is 4"):
        model.fit(lambda: iter([symbols[:300], symbols[300:]]))
    CategoricalHMM(2, n_features=5, n_iter=2).fit(lambda: iter([symbols[:300], symbols[300:]]))


def test_dask_input_of_unknown_size_or_wrong_shape_is_refused():
    X, lengths = make_data("gaussian")
    dX = da.from_array(X, chunks=500)
    with threaded():
        with pytest.raises(ValueError, match="compute_chunk_sizes"):
            GaussianHMM(3).fit(dX[dX[:, 0] > -np.inf], lengths)
        with pytest.raises(ValueError, match="must be 2-d"):
            GaussianHMM(3).fit(dX[:, 0], lengths)
        bad = X.copy()
        bad[1000, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            GaussianHMM(3).fit(da.from_array(bad, chunks=500), lengths)


def test_failed_streamed_fit_leaves_the_model_unchanged(tmp_path):
    X, lengths = make_data("gaussian")
    model = GaussianHMM(3, **FIT).fit(X, lengths)
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(model).items()}

    class FailsOnThirdPass(Reiterable):
        def __iter__(self):
            if self.passes == 2:
                self.passes += 1
                raise OSError("disk went away")
            return super().__iter__()

    with pytest.raises(OSError, match="disk went away"):
        model.fit(FailsOnThirdPass(sequence_blocks(X, lengths, 4)))
    bad = X.copy()
    bad[-1, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        model.fit(write_memmap(tmp_path / "bad.f8", bad), lengths)
    assert set(vars(model)) == set(before)
    for name, value in before.items():
        assert_array_equal(vars(model)[name], value, err_msg=name)


# -- Dask on a distributed cluster (2 worker processes; fixture in conftest.py) ----------
def aligned_chunks(lengths, n_partitions):
    """Row chunks of whole sequences, ``n_partitions`` of them."""
    groups = np.array_split(np.asarray(lengths), n_partitions)
    return tuple(int(g.sum()) for g in groups)


def test_distributed_fit_matches_in_memory(cluster_client):
    client, _ = cluster_client
    make, kind = MODELS["gaussian-full"]
    X, lengths = make_data(kind)
    dX = da.from_array(X, chunks=(aligned_chunks(lengths, 8), X.shape[1]))
    assert dX.numblocks == (8, 1)
    assert_same_fit(make(**FIT).fit(dX, lengths), make(**FIT).fit(X, lengths))
    assert len(client.scheduler_info()["workers"]) == 2


def test_worker_killed_mid_fit_does_not_corrupt_the_result(cluster_client):
    """SIGKILL one of the two worker processes while a distributed fit runs: the fit
    either returns exactly the in-memory parameters (the lost partitions recomputed) or
    raises; it never returns other parameters."""
    client, cluster = cluster_client
    client.wait_for_workers(2, timeout=60)
    X, lengths = make_data("gaussian", n_sequences=160, seed=3)
    kw = dict(covariance_type="full", tol=0, random_state=0)
    dX = da.from_array(X, chunks=(aligned_chunks(lengths, 8), 2))
    t0 = time.perf_counter()
    GaussianHMM(3, n_iter=3, **kw).fit(dX, lengths)  # warm the workers; time an iteration
    per_iteration = (time.perf_counter() - t0) / 3
    n_iter = int(np.clip(math.ceil(3.0 / per_iteration), 20, 200))  # a fit of ~3 s
    ref = GaussianHMM(3, n_iter=n_iter, **kw).fit(X, lengths)

    model = GaussianHMM(3, n_iter=n_iter, **kw)
    outcome = fit_while_killing_a_worker(cluster, lambda: model.fit(dX, lengths),
                                         min(1.0, 0.25 * n_iter * per_iteration))
    if "error" in outcome:
        assert not hasattr(model, "startprob_")  # a failed fit leaves nothing half-done
    else:
        assert outcome["model"] is model
        assert model.n_iter_ == n_iter
        assert_allclose(model.lower_bounds_, ref.lower_bounds_, rtol=1e-9)
        for name, value in fitted_state(ref).items():
            if isinstance(value, np.ndarray):
                assert_allclose(getattr(model, name), value, rtol=1e-9,
                                atol=1e-9 * np.max(np.abs(value)), err_msg=name)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the worker


def test_block_size_bounds_the_blocks_and_keeps_the_fit():
    from emkit.hmm._sequences import SequenceBlocks

    rng = np.random.RandomState(3)
    lengths = rng.randint(20, 60, size=30)
    X = rng.randn(lengths.sum(), 2) + rng.randint(0, 2, lengths.sum())[:, None] * 3
    reference = GaussianHMM(2, random_state=0, n_iter=5).fit(X, lengths)
    seen = []
    original = SequenceBlocks.__iter__

    def spy(self):
        for block in original(self):
            seen.append(len(block[0]))
            yield block

    SequenceBlocks.__iter__ = spy
    try:
        small = GaussianHMM(2, random_state=0, n_iter=5, block_size=100).fit(X, lengths)
    finally:
        SequenceBlocks.__iter__ = original
    assert seen and max(seen) <= 100 + lengths.max()
    np.testing.assert_allclose(small.means_, reference.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(small.transmat_, reference.transmat_, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="block_size"):
        GaussianHMM(2, block_size=0).fit(X, lengths)
