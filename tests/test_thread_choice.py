"""A parallel kernel runs on all threads or on the calling thread alone, whichever has been
faster, with the same results either way."""

import numba
import numpy as np
import pytest

from emkit import _thread_choice
from emkit.mixture import _kernels

pytestmark = pytest.mark.numerics

needs_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                   reason="numba has a single thread here")


@pytest.fixture
def two_threads():
    threads = numba.get_num_threads()
    numba.set_num_threads(2)
    yield
    numba.set_num_threads(threads)


def _slow_when(parallel_slow, now):
    """A stand-in kernel that takes 20 ms of ``now`` (a fake clock) on the slow way and
    1 ms on the other; returns its thread count."""
    def kernel():
        threads = numba.get_num_threads()
        now[0] += 0.02 if (threads > 1) == parallel_slow else 0.001
        return threads
    return kernel


@needs_threads
@pytest.mark.parametrize("parallel_slow", [True, False])
def test_the_faster_way_is_chosen_and_the_other_probed(two_threads, parallel_slow,
                                                         monkeypatch):
    now = [0.0]
    monkeypatch.setattr(_thread_choice, "clock", lambda: now[0])
    kernel = _slow_when(parallel_slow, now)
    calls = 3 * _thread_choice.PROBE_EVERY
    used = [_thread_choice.run_fastest_way(kernel, ("test", parallel_slow), 1000)
            for _ in range(calls)]
    assert numba.get_num_threads() == 2  # restored after running alone
    fast = 1 if parallel_slow else 2
    # call 1 untimed, call 2 times all threads, call 3 the calling thread alone; then the
    # faster way, except every PROBE_EVERY-th call, which times the other way again
    probes = [i for i in range(3, calls) if (i + 1) % _thread_choice.PROBE_EVERY == 0]
    assert used[:3] == [2, 2, 1]
    assert [i for i in range(3, calls) if used[i] != fast] == probes


def test_one_thread_runs_alone():
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert _thread_choice.run_fastest_way(numba.get_num_threads, ("one",), 10) == 1
    finally:
        numba.set_num_threads(threads)


@needs_threads
def test_parallel_and_alone_give_identical_statistics(two_threads):
    """Same chunks in the same order either way (chunk sums are made outside the parallel
    kernel), so the results are identical, not merely close."""
    rng = np.random.default_rng(0)
    K, D, n = 3, 20, _kernels.PARALLEL_MIN_ROWS + 7
    means = rng.normal(size=(K, D)) * 3
    X = means[rng.integers(K, size=n)] + rng.normal(size=(n, D))
    precisions = rng.uniform(0.5, 2.0, size=(K, D))
    log_const = rng.normal(size=K)
    w = np.empty(0)
    numba.set_num_threads(1)
    alone = _kernels._chunk_sums(_kernels._estep_diag_chunks(
        X, w, means, precisions, log_const, _kernels.tile_rows(K, D), 8))
    numba.set_num_threads(2)
    parallel = _kernels._chunk_sums(_kernels._estep_diag_chunks(
        X, w, means, precisions, log_const, _kernels.tile_rows(K, D), 8))
    for a, b in zip(parallel, alone):
        np.testing.assert_array_equal(a, b)
