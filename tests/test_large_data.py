"""GaussianMixture beyond one in-memory array: memmaps, re-iterable block sources, Dask
(threaded and on a distributed cluster, including a worker killed mid-fit), online EM
(partial_fit) and mini-batch EM (batch_size).

The reference everywhere is the ordinary in-memory fit from the same starting parameters:
a streamed or distributed E-step only sums the same statistics in another order, so the
parameters must agree to round-off (1e-9 relative in float64).
"""

import math
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from conftest import COVARIANCE_TYPES, make_blobs
from emkit import ConvergenceWarning, GaussianMixture, InvalidParameterError, load
from emkit._online import OnlineState, step_size
from emkit.mixture._covariance import covariance_model
from emkit.mixture._gaussian_problem import GaussianMixtureParams
from emkit.mixture._missing import MissingDataProblem

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")
pd = pytest.importorskip("pandas")

PARAMS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
K = 3


# -- helpers ------------------------------------------------------------------------------
def blobs(n_per=(400, 300, 200), seed=0):
    X, _ = make_blobs(n_per=n_per, n_features=3, seed=seed)
    return X


def user_init(covariance_type, X, n_components=K, seed=0):
    """Every starting parameter given: the fit is then deterministic, whatever the source."""
    rng = np.random.RandomState(seed)
    D = X.shape[1]
    means = np.asarray(X[np.sort(rng.choice(X.shape[0], n_components, replace=False))],
                       dtype=np.float64)
    means = np.where(np.isnan(means), 0.0, means)
    precisions = {
        "full": np.repeat(np.eye(D)[None], n_components, axis=0) * 0.2,
        "tied": np.eye(D) * 0.2,
        "diag": np.full((n_components, D), 0.2),
        "spherical": np.full(n_components, 0.2),
    }[covariance_type]
    return dict(n_components=n_components, covariance_type=covariance_type,
                weights_init=np.full(n_components, 1.0 / n_components), means_init=means,
                precisions_init=precisions)


def assert_same_fit(actual, desired, rtol=1e-9):
    """Same parameters to ``rtol`` relative to each array's scale; same iteration count."""
    for name in PARAMS:
        a, d = getattr(actual, name), getattr(desired, name)
        assert a.dtype == d.dtype, name
        assert a.shape == d.shape, name
        scale = float(np.max(np.abs(d)))
        assert_allclose(a, d, rtol=rtol, atol=rtol * scale, err_msg=name)
    assert actual.n_iter_ == desired.n_iter_
    assert actual.converged_ == desired.converged_
    assert actual.lower_bound_ == pytest.approx(desired.lower_bound_, rel=rtol, abs=rtol)
    assert_allclose(actual.lower_bounds_, desired.lower_bounds_, rtol=rtol, atol=rtol)


def model_state(gm):
    """A comparable copy of everything a fit sets."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(gm).items()}


def assert_state_equal(state, gm):
    now = vars(gm)
    assert set(now) == set(state)
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            assert_array_equal(now[k], v, err_msg=k)
        elif k != "_online":
            assert now[k] == v, k


def write_memmap(path, X, dtype=np.float64):
    mm = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    return np.memmap(path, dtype=dtype, mode="r", shape=X.shape)


def split(X, sizes):
    """Consecutive uneven row blocks of X."""
    out, start = [], 0
    while start < X.shape[0]:
        size = sizes[len(out) % len(sizes)]
        out.append(X[start:start + size])
        start += size
    return out


class Reiterable:
    """An object whose __iter__ starts over (a file reader, say); counts the passes."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        for block in self.blocks:
            yield block


def threaded():
    return dask.config.set(scheduler="threads")


# -- out of core: memmaps -----------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_memmap_float64_matches_in_memory(tmp_path, covariance_type):
    X = blobs()
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    ref = GaussianMixture(**kw).fit(X)
    mm = write_memmap(tmp_path / "X.f8", X)
    gm = GaussianMixture(block_size=128, **kw).fit(mm)  # 8 blocks of at most 128 rows
    assert ref.converged_ and ref.n_iter_ > 2
    assert_same_fit(gm, ref)
    assert gm.n_features_in_ == 3
    # predict / score read the memmap like any array
    assert_array_equal(gm.predict(mm), ref.predict(X))
    assert gm.score(mm) == pytest.approx(ref.score(X), rel=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_memmap_float32_matches_in_memory_float32(tmp_path, covariance_type):
    X = blobs().astype(np.float32)
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    mm = write_memmap(tmp_path / "X.f4", X, np.float32)
    gm = GaussianMixture(block_size=128, **kw).fit(mm)
    assert gm.means_.dtype == np.float32
    # the same blocks in memory: the same float32 sums, so the same numbers
    assert_same_fit(gm, GaussianMixture(block_size=128, **kw).fit(X))
    # other blocks only reorder float32 sums (round-off, carried through the iterations)
    ref = GaussianMixture(**kw).fit(X)
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-5)
    for name in PARAMS:
        d = getattr(ref, name)
        assert_allclose(getattr(gm, name), d, rtol=5e-3, atol=5e-3 * np.max(np.abs(d)))


def test_memmap_sample_weight_matches_in_memory(tmp_path):
    X = blobs()
    w = np.random.RandomState(3).uniform(0.1, 2.0, X.shape[0])
    kw = dict(tol=1e-6, **user_init("full", X))
    mm = write_memmap(tmp_path / "X.f8", X)
    gm = GaussianMixture(block_size=100, **kw).fit(mm, sample_weight=w)
    assert_same_fit(gm, GaussianMixture(**kw).fit(X, sample_weight=w))


def test_memmap_default_init_runs_and_fits(tmp_path):
    """No user init, more rows than INIT_ROWS: the starting values come from a sample of
    rows, and the fit is as good as the in-memory one."""
    rng = np.random.RandomState(0)
    n = GaussianMixture.INIT_ROWS + 20_000
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = centers[rng.randint(0, 3, n)] + rng.randn(n, 2)
    mm = write_memmap(tmp_path / "big.f8", X)
    gm = GaussianMixture(3, random_state=0, block_size=30_000).fit(mm)
    ref = GaussianMixture(3, random_state=0).fit(X)
    assert gm.converged_
    assert np.all(np.isfinite(gm.means_))
    assert gm.score(X) == pytest.approx(ref.score(X), rel=1e-3)
    found = gm.means_[np.argsort(gm.means_ @ [1.0, 10.0])]
    assert_allclose(found, centers[np.argsort(centers @ [1.0, 10.0])], atol=0.05)


def test_memmap_small_default_init_equals_in_memory(tmp_path):
    """At most INIT_ROWS rows: the starting values see every row, as in memory."""
    X = blobs()
    mm = write_memmap(tmp_path / "X.f8", X)
    kw = dict(n_components=3, random_state=7, tol=1e-6)
    assert_same_fit(GaussianMixture(block_size=64, **kw).fit(mm), GaussianMixture(**kw).fit(X))


# -- block sources ------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_list_of_blocks_matches_in_memory(covariance_type):
    X = blobs()
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    blocks = split(X, [150, 77, 260])
    assert len(blocks) > 4
    assert_same_fit(GaussianMixture(**kw).fit(blocks), GaussianMixture(**kw).fit(X))
    assert_same_fit(GaussianMixture(**kw).fit(tuple(blocks)), GaussianMixture(**kw).fit(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_callable_and_reiterable_sources_match_in_memory(covariance_type):
    X = blobs()
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    ref = GaussianMixture(**kw).fit(X)
    calls = []

    def source():  # a fresh iterator on every call; the rows are made as they are read
        calls.append(1)
        for start in range(0, X.shape[0], 128):
            yield X[start:start + 128].copy()

    assert_same_fit(GaussianMixture(**kw).fit(source), ref)
    assert len(calls) >= ref.n_iter_  # streamed once per iteration, never held whole
    reiterable = Reiterable(split(X, [128]))
    assert_same_fit(GaussianMixture(**kw).fit(reiterable), ref)
    assert reiterable.passes >= ref.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_pairs_match_in_memory_sample_weight(covariance_type):
    X = blobs()
    w = np.random.RandomState(1).uniform(0.0, 3.0, X.shape[0])
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    ref = GaussianMixture(**kw).fit(X, sample_weight=w)

    def pairs():
        for start in range(0, X.shape[0], 100):
            yield X[start:start + 100], w[start:start + 100]

    assert_same_fit(GaussianMixture(**kw).fit(pairs), ref)
    # weights of 2 count a row twice: the stream of doubled rows gives the same fit
    doubled = [np.repeat(X[i:i + 90], 2, axis=0) for i in range(0, X.shape[0], 90)]
    twos = [(b, np.full(b.shape[0], 2.0)) for b in split(X, [90])]
    assert_same_fit(GaussianMixture(**kw).fit(lambda: iter(twos)),
                    GaussianMixture(**kw).fit(doubled), rtol=1e-9)


def test_list_of_weighted_pairs_matches_in_memory_sample_weight():
    X = blobs()
    w = np.random.RandomState(1).uniform(0.0, 3.0, X.shape[0])
    kw = dict(tol=1e-6, **user_init("full", X))
    pairs = [(X[i:i + 100], w[i:i + 100]) for i in range(0, X.shape[0], 100)]
    assert_same_fit(GaussianMixture(**kw).fit(pairs),
                    GaussianMixture(**kw).fit(X, sample_weight=w))


def test_float32_blocks_fit_in_float32():
    X = blobs().astype(np.float32)
    kw = dict(tol=1e-6, block_size=100, **user_init("diag", X))
    gm = GaussianMixture(**kw).fit(split(X, [100]))
    assert gm.means_.dtype == np.float32
    assert_same_fit(gm, GaussianMixture(**kw).fit(X))


# -- Dask, threaded -----------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_array_matches_in_memory(covariance_type):
    X = blobs()
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    dX = da.from_array(X, chunks=(math.ceil(X.shape[0] / 8), 3))
    assert dX.numblocks == (8, 1)
    with threaded():
        gm = GaussianMixture(**kw).fit(dX)
        ref = GaussianMixture(**kw).fit(X)
        assert_same_fit(gm, ref)
        # inference on the Dask array: lazy, partition by partition, same values
        assert_array_equal(np.asarray(gm.predict(dX)), ref.predict(X))
        assert_allclose(np.asarray(gm.score_samples(dX)), ref.score_samples(X), rtol=1e-12,
                        atol=1e-12)
        assert_allclose(np.asarray(gm.predict_proba(dX)), ref.predict_proba(X), rtol=1e-9,
                        atol=1e-15)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_dataframe_matches_in_memory(covariance_type):
    X = blobs()
    kw = dict(tol=1e-6, max_iter=200, **user_init(covariance_type, X))
    df = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=8)
    with threaded():
        gm = GaussianMixture(**kw).fit(df)
    assert_same_fit(gm, GaussianMixture(**kw).fit(X))


def test_dask_sample_weight_and_column_chunks_match_in_memory():
    X = blobs()
    w = np.random.RandomState(2).uniform(0.1, 2.0, X.shape[0])
    kw = dict(tol=1e-6, **user_init("tied", X))
    ref = GaussianMixture(**kw).fit(X, sample_weight=w)
    dX = da.from_array(X, chunks=(113, 2))  # columns split too: rechunked to whole rows
    with threaded():
        assert_same_fit(GaussianMixture(**kw).fit(dX, sample_weight=da.from_array(w, 200)), ref)
        assert_same_fit(GaussianMixture(**kw).fit(dX, sample_weight=w), ref)


# -- NaN in streamed data: marginalised exactly as in memory -------------------------------
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_nan_in_streamed_blocks_matches_in_memory_nan(tmp_path, covariance_type):
    X = blobs().copy()
    rng = np.random.RandomState(5)
    X[rng.rand(*X.shape) < 0.15] = np.nan
    X[rng.choice(X.shape[0], 5), :] = np.nan  # a few rows with nothing observed
    # a fixed number of iterations (the streamed E-step of NaN rows is slow in small blocks)
    kw = dict(tol=0, max_iter=12, **user_init(covariance_type, X))
    ref = GaussianMixture(**kw).fit(X)
    assert np.all(np.isfinite(ref.means_))
    mm = write_memmap(tmp_path / "nan.f8", X)
    assert_same_fit(GaussianMixture(block_size=128, **kw).fit(mm), ref)
    assert_same_fit(GaussianMixture(**kw).fit(split(X, [100, 57])), ref)
    with threaded():
        assert_same_fit(GaussianMixture(**kw).fit(da.from_array(X, chunks=(113, 3))), ref)


# -- bad input ----------------------------------------------------------------------------
def test_one_shot_generator_is_refused():
    X = blobs()
    with pytest.raises(ValueError, match="one-shot"):
        GaussianMixture(3).fit(b for b in split(X, [100]))
    with pytest.raises(ValueError, match="one-shot"):
        GaussianMixture(3).fit(iter(split(X, [100])))


def test_blocks_with_different_feature_counts_are_refused():
    X = blobs()
    with pytest.raises(ValueError, match="features"):
        GaussianMixture(3).fit([X[:300], X[300:600, :2], X[600:]])
    # a bad block after the starting sample, met during EM itself
    with pytest.raises(ValueError, match="features"):
        GaussianMixture(3, block_size=10).fit(lambda: iter([X, X[:50, :2]]))


def test_infinity_in_a_block_is_refused(tmp_path):
    X = blobs().copy()
    X[700, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3).fit(split(X, [100]))
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3).fit(lambda: iter(split(X, [100])))
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3, block_size=100).fit(write_memmap(tmp_path / "inf.f8", X))
    with threaded(), pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3).fit(da.from_array(X, chunks=(113, 3)))


def test_sample_weight_with_a_block_source_is_refused():
    X = blobs()
    for source in (split(X, [100]), lambda: iter(split(X, [100])), Reiterable(split(X, [100]))):
        with pytest.raises(ValueError, match="pairs"):
            GaussianMixture(3).fit(source, sample_weight=np.ones(X.shape[0]))


def test_bad_block_weights_and_empty_sources_are_refused():
    X = blobs()
    with pytest.raises(ValueError, match="sample_weight"):
        GaussianMixture(3).fit(lambda: iter([(X, np.ones(10))]))
    with pytest.raises(ValueError):
        GaussianMixture(3).fit(lambda: iter([]))
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(3).fit([X[:2]])


def test_failed_streamed_fit_leaves_the_fitted_model_unchanged(tmp_path):
    X = blobs()
    gm = GaussianMixture(3, random_state=0).fit(X)
    before = model_state(gm)

    class FailsOnThirdPass(Reiterable):
        def __iter__(self):
            if self.passes == 2:
                self.passes += 1
                raise OSError("disk went away")
            return super().__iter__()

    with pytest.raises(OSError, match="disk went away"):
        gm.fit(FailsOnThirdPass(split(X, [100])))
    assert_state_equal(before, gm)
    bad = X.copy()
    bad[899, 0] = np.inf
    for source in (split(bad, [100]), write_memmap(tmp_path / "bad.f8", bad)):
        with pytest.raises(ValueError):
            gm.fit(source)
        assert_state_equal(before, gm)
    with pytest.raises(ValueError):
        gm.fit([X[:400], X[400:, :2]])
    assert_state_equal(before, gm)
    with pytest.raises(ValueError):
        gm.partial_fit(X[:, :2])  # wrong feature count for the fitted model
    assert_state_equal(before, gm)
    assert_array_equal(gm.predict(X), GaussianMixture(3, random_state=0).fit(X).predict(X))


# -- online EM ----------------------------------------------------------------------------
TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_MEANS = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 6.0]])
TRUE_COVS = np.array([[[1.0, 0.4], [0.4, 0.8]], [[0.6, -0.2], [-0.2, 1.2]],
                      [[1.5, 0.0], [0.0, 0.5]]])


def draw(n, rng):
    z = rng.choice(3, size=n, p=TRUE_WEIGHTS)
    L = np.linalg.cholesky(TRUE_COVS)
    return TRUE_MEANS[z] + np.einsum("nij,nj->ni", L[z], rng.standard_normal((n, 2)))


def mixture_stream(n_batches=100, batch_rows=2000, seed=1):
    """A function returning a fresh stream of the same batches: 200,000 rows by default,
    made batch by batch, never as one array."""
    def batches():
        rng = np.random.default_rng(seed)
        for _ in range(n_batches):
            yield draw(batch_rows, rng)
    return batches


def true_mean_loglik(X):
    terms = [np.log(w) + multivariate_normal.logpdf(X, m, c)
             for w, m, c in zip(TRUE_WEIGHTS, TRUE_MEANS, TRUE_COVS)]
    return float(np.mean(logsumexp(np.stack(terms, axis=1), axis=1)))


def test_step_size_schedule():
    assert step_size(0, 10.0, 0.7) == 1.0  # the first batch starts the running statistics
    for t in (1, 2, 5, 100):
        for offset, decay in ((10.0, 0.7), (0.0, 1.0), (3.5, 0.51)):
            assert step_size(t, offset, decay) == pytest.approx((t + offset) ** -decay,
                                                                rel=1e-15)
    assert step_size(1, 0.0, 1.0) == 1.0
    etas = [step_size(t, 10.0, 0.7) for t in range(1, 50)]
    assert all(a > b for a, b in zip(etas, etas[1:]))


def test_online_state_update_algebra():
    offset, decay = 4.0, 0.8
    batches = [np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 0.5]),
               np.array([10.0, 0.0])]
    state = OnlineState()
    expected = None
    for t, b in enumerate(batches):
        running = state.update(b, offset, decay)
        eta = 1.0 if t == 0 else (t + offset) ** -decay
        expected = b if expected is None else (1.0 - eta) * expected + eta * b
        assert_allclose(running, expected, rtol=1e-15, atol=1e-15)
        assert state.n_updates == t + 1
    # learning_decay = 1, offset = 1: eta_t = 1 / (t + 1), the running mean of the batches
    state = OnlineState()
    for b in batches:
        running = state.update(b, 1.0, 1.0)
    assert_allclose(running, np.mean(batches, axis=0), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_partial_fit_is_stepwise_em(covariance_type):
    """Each partial_fit: E-step of the batch under the current parameters, running
    statistics s = (1 - eta) s + eta stats, M-step on s."""
    rng = np.random.default_rng(0)
    A, B, C = draw(500, rng), draw(300, rng), draw(400, rng)
    kw = dict(learning_offset=2.0, learning_decay=0.6, **user_init(covariance_type, A))
    gm = GaussianMixture(**kw)
    start = GaussianMixture(max_iter=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(A)  # no iteration: the user-given starting parameters
    theta = GaussianMixtureParams(start.weights_, start.means_, start.covariances_,
                                  start.precisions_cholesky_)
    problem = MissingDataProblem(covariance_model(covariance_type), gm.reg_covar)
    running = None
    for t, batch in enumerate((A, B, C)):
        stats, loglik = problem.e_step(batch, theta, None)
        eta = 1.0 if t == 0 else (t + 2.0) ** -0.6
        running = stats if running is None else running * (1.0 - eta) + stats * eta
        theta = problem.m_step(running, theta)
        gm.partial_fit(batch)
        assert gm.n_batches_ == t + 1
        assert gm.lower_bound_ == pytest.approx(loglik / batch.shape[0], rel=1e-12)
        for name, value in (("weights_", theta.weights), ("means_", theta.means),
                            ("covariances_", theta.covariances),
                            ("precisions_cholesky_", theta.precisions_cholesky)):
            assert_allclose(getattr(gm, name), value, rtol=1e-10,
                            atol=1e-12 * np.max(np.abs(value)), err_msg=name)
    assert len(gm.lower_bounds_) == 3


def test_partial_fit_stream_reaches_batch_fit_loglik():
    stream = mixture_stream()
    held_out = draw(20_000, np.random.default_rng(99))
    batch = GaussianMixture(3, random_state=0, tol=1e-6).fit(stream)  # batch EM, streamed
    online = GaussianMixture(3, random_state=0)
    for n, rows in enumerate(stream(), start=1):
        online.partial_fit(rows)
        assert online.n_batches_ == n
    assert online.n_batches_ == 100
    batch_ll, online_ll = batch.score(held_out), online.score(held_out)
    assert abs(online_ll - batch_ll) <= 0.005 * abs(batch_ll)
    assert abs(batch_ll - true_mean_loglik(held_out)) <= 0.005 * abs(batch_ll)
    order = np.argsort(online.means_[:, 0] + 10 * online.means_[:, 1])
    assert_allclose(online.means_[order], TRUE_MEANS[[0, 1, 2]], atol=0.1)
    assert_allclose(online.weights_[order], TRUE_WEIGHTS, atol=0.02)


def test_partial_fit_after_fit_continues_from_fitted_parameters():
    rng = np.random.default_rng(3)
    X, batch = draw(20_000, rng), draw(2_000, rng)
    gm = GaussianMixture(3, random_state=0).fit(X)
    fitted = model_state(gm)
    expected_loglik = gm.score(batch)
    gm.partial_fit(batch)
    # the batch's E-step ran under the fitted parameters (no new start)
    assert gm.lower_bound_ == pytest.approx(expected_loglik, rel=1e-10)
    assert gm.lower_bounds_[:-1] == fitted["lower_bounds_"]
    assert gm.n_batches_ == 1
    # same components, in the same order, barely moved
    assert_allclose(gm.means_, fitted["means_"], atol=0.15)
    assert_allclose(gm.weights_, fitted["weights_"], atol=0.03)
    gm.partial_fit(draw(2_000, rng))
    assert gm.n_batches_ == 2
    assert_allclose(gm.means_, fitted["means_"], atol=0.15)


def test_partial_fit_sample_weight_and_float32():
    rng = np.random.default_rng(4)
    X = draw(1_000, rng)
    kw = dict(random_state=0, **user_init("full", X))
    weighted = GaussianMixture(**kw).partial_fit(X, sample_weight=np.full(1_000, 2.0))
    doubled = GaussianMixture(**kw).partial_fit(np.repeat(X, 2, axis=0))
    for name in PARAMS:
        assert_allclose(getattr(weighted, name), getattr(doubled, name), rtol=1e-9,
                        atol=1e-12)
    gm32 = GaussianMixture(3, random_state=0).partial_fit(X.astype(np.float32))
    gm32.partial_fit(draw(500, rng))  # float64 batches follow the model's dtype
    assert gm32.means_.dtype == np.float32


@pytest.mark.parametrize("decay", [0.5, 1.5, 0.0, -1.0])
def test_bad_learning_decay_is_refused(decay):
    X = blobs()
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        GaussianMixture(3, learning_decay=decay).partial_fit(X)
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        GaussianMixture(3, learning_decay=decay, batch_size=100).fit(X)
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        GaussianMixture(3, learning_decay=decay).fit(split(X, [100]))


def test_bad_online_parameters_are_refused():
    X = blobs()
    for params in (dict(learning_offset=-1.0), dict(batch_size=0), dict(block_size=0),
                   dict(batch_size=2.5)):
        with pytest.raises(InvalidParameterError):
            GaussianMixture(3, **params).fit(X)
    GaussianMixture(3, learning_decay=1.0, random_state=0).partial_fit(X)  # 1 is allowed


def test_minibatch_em_reaches_batch_em_loglik():
    X = draw(20_000, np.random.default_rng(5))
    batch = GaussianMixture(3, random_state=0, tol=1e-6).fit(X)
    mini = GaussianMixture(3, random_state=0, batch_size=1_000, tol=1e-4, max_iter=50).fit(X)
    assert mini.converged_ and mini.n_iter_ >= 2
    assert abs(mini.score(X) - batch.score(X)) <= 0.005 * abs(batch.score(X))
    assert abs(mini.lower_bound_ - batch.lower_bound_) <= 0.005 * abs(batch.lower_bound_)
    # on a block source the batches are the source's blocks
    blocks = split(X, [1_000])
    mini_stream = GaussianMixture(3, random_state=0, batch_size=1_000, tol=1e-4,
                                  max_iter=50).fit(blocks)
    assert abs(mini_stream.score(X) - batch.score(X)) <= 0.005 * abs(batch.score(X))


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_minibatch_em_on_memmap_uses_batch_size(tmp_path):
    X = draw(9_000, np.random.default_rng(6))
    kw = dict(batch_size=1_000, tol=0, max_iter=4, **user_init("full", X))
    mm = write_memmap(tmp_path / "mb.f8", X)
    assert_same_fit(GaussianMixture(**kw).fit(mm), GaussianMixture(**kw).fit(X))


def test_minibatch_em_on_dask_works_or_is_refused_clearly():
    X = draw(4_000, np.random.default_rng(7))
    dX = da.from_array(X, chunks=(500, 2))
    with threaded():
        try:
            gm = GaussianMixture(3, batch_size=500, random_state=0, max_iter=20).fit(dX)
        except ValueError as exc:
            assert "batch_size" in str(exc)
        else:
            ref = GaussianMixture(3, random_state=0).fit(X)
            assert abs(gm.score(X) - ref.score(X)) <= 0.005 * abs(ref.score(X))


def test_fit_after_partial_fit_does_not_keep_a_stale_batch_count():
    X = draw(3_000, np.random.default_rng(8))
    gm = GaussianMixture(3, random_state=0)
    for i in range(3):
        gm.partial_fit(X[i * 1000:(i + 1) * 1000])
    assert gm.n_batches_ == 3
    gm.fit(X)
    assert getattr(gm, "n_batches_", 0) == 0


def test_warm_start_is_honoured_by_streamed_fit(tmp_path):
    X = blobs()
    kw = dict(warm_start=True, tol=1e-6, **user_init("full", X))
    ref = GaussianMixture(**kw).fit(X)
    gm = GaussianMixture(**kw).fit(X)
    ref.fit(X)
    gm.fit(write_memmap(tmp_path / "ws.f8", X))
    assert_same_fit(gm, ref)


def test_dask_dataframe_records_feature_names():
    X = blobs()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with threaded():
        gm = GaussianMixture(3, random_state=0).fit(dd.from_pandas(frame, npartitions=4))
    ref = GaussianMixture(3, random_state=0).fit(frame)
    assert_array_equal(gm.feature_names_in_, ref.feature_names_in_)


# -- save / load after partial_fit ----------------------------------------------------------
def test_save_load_after_partial_fit(tmp_path):
    rng = np.random.default_rng(9)
    gm = GaussianMixture(3, covariance_type="diag", random_state=0)
    for _ in range(4):
        gm.partial_fit(draw(1_000, rng))
    gm.save(tmp_path / "online")
    loaded = load(tmp_path / "online")
    assert loaded.n_batches_ == gm.n_batches_ == 4
    assert loaded.get_params() == gm.get_params()
    for name in PARAMS:
        assert_array_equal(getattr(loaded, name), getattr(gm, name))
    assert loaded.lower_bounds_ == gm.lower_bounds_
    X = draw(500, rng)
    assert_array_equal(loaded.predict(X), gm.predict(X))
    assert loaded.score(X) == gm.score(X)
    loaded.partial_fit(X)  # a loaded model learns on (its running statistics start anew)
    assert loaded.n_batches_ >= 1
    assert np.all(np.isfinite(loaded.means_))
    assert loaded.means_.shape == (3, 2)


# -- Dask on a distributed cluster (2 worker processes; fixture in conftest.py) ----------
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_distributed_fit_matches_in_memory(cluster_client, covariance_type):
    client, _ = cluster_client
    X = blobs()
    rng = np.random.RandomState(4)
    w = rng.uniform(0.5, 1.5, X.shape[0])
    kw = dict(tol=0, max_iter=6, **user_init(covariance_type, X))  # few iterations: fast
    dX = da.from_array(X, chunks=(math.ceil(X.shape[0] / 8), 3))
    assert dX.numblocks == (8, 1)
    gm = GaussianMixture(**kw).fit(dX)
    assert_same_fit(gm, GaussianMixture(**kw).fit(X))
    if covariance_type == "full":
        weighted = GaussianMixture(**kw).fit(dX, sample_weight=da.from_array(w, 113))
        assert_same_fit(weighted, GaussianMixture(**kw).fit(X, sample_weight=w))
        df = dd.from_pandas(pd.DataFrame(X, columns=list("abc")), npartitions=8)
        assert_same_fit(GaussianMixture(**kw).fit(df), GaussianMixture(**kw).fit(X))
    assert len(client.scheduler_info()["workers"]) == 2


@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def fit_while_killing_a_worker(cluster, fit, delay):
    """Run ``fit()`` in a thread and SIGKILL one worker process of ``cluster`` after
    ``delay`` seconds, while it runs. Returns ``{"model": ...}`` or ``{"error": exc}``;
    asserts the kill happened mid-fit, that the fit did not hang, and that an error (if
    any) is an Exception with a message."""
    outcome = {}

    def run():
        try:
            outcome["model"] = fit()
        except BaseException as exc:  # reported to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(delay)
    assert thread.is_alive(), "the fit ended before a worker could be killed"
    pid = next(iter(cluster.workers.values())).process.pid
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    killed_mid_fit = thread.is_alive()
    thread.join(timeout=90)
    assert not thread.is_alive(), "the fit hung after a worker was killed"
    assert killed_mid_fit
    if "error" in outcome:
        assert isinstance(outcome["error"], Exception) and str(outcome["error"])
    return outcome


def test_worker_killed_mid_fit_does_not_corrupt_the_result(cluster_client):
    """SIGKILL one of the two worker processes while a distributed fit runs: the fit
    either returns exactly the in-memory parameters (the lost partitions recomputed) or
    raises; it never returns other parameters."""
    client, cluster = cluster_client
    client.wait_for_workers(2, timeout=60)
    rng = np.random.RandomState(0)
    n, D = 80_000, 4
    X = np.vstack([rng.randn(n // 4, D) + 4.0 * k for k in range(4)])
    kw = dict(tol=0, **user_init("full", X, n_components=4))
    dX = da.from_array(X, chunks=(n // 8, D))
    assert dX.numblocks == (8, 1)
    t0 = time.perf_counter()
    GaussianMixture(max_iter=3, **kw).fit(dX)  # warm the workers; time an iteration
    per_iteration = (time.perf_counter() - t0) / 3
    max_iter = int(np.clip(math.ceil(4.0 / per_iteration), 20, 200))  # a fit of ~4 s
    ref = GaussianMixture(max_iter=max_iter, **kw).fit(X)

    model = GaussianMixture(max_iter=max_iter, **kw)
    outcome = fit_while_killing_a_worker(cluster, lambda: model.fit(dX),
                                         min(1.0, 0.25 * max_iter * per_iteration))
    if "error" in outcome:
        assert not hasattr(model, "means_")  # a failed fit leaves nothing half-done
    else:
        assert outcome["model"] is model
        assert model.n_iter_ == max_iter
        assert_same_fit(model, ref)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the worker
