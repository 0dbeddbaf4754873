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
    calls = 200
    used = [_thread_choice.run_fastest_way(kernel, ("test", parallel_slow), 1000)
            for _ in range(calls)]
    assert numba.get_num_threads() == 2  # restored after running alone
    fast = 1 if parallel_slow else 2
    # call 1 untimed, call 2 times all threads, call 3 the calling thread alone; then the
    # faster way, except a probe of the other way PROBE_EVERY calls on, the wait doubling
    # (up to PROBE_AT_MOST_EVERY) each time the probe confirms the choice
    probes, wait, at = [], _thread_choice.PROBE_EVERY, 3 + _thread_choice.PROBE_EVERY - 1
    while at < calls:
        probes.append(at)
        wait = min(2 * wait, _thread_choice.PROBE_AT_MOST_EVERY)
        at += wait
    assert used[:3] == [2, 2, 1]
    assert [i for i in range(3, calls) if used[i] != fast] == probes


@pytest.fixture
def timed_calls(monkeypatch):
    """(seconds, run): a stand-in kernel on a fake clock taking seconds["parallel"] on all
    threads and seconds["alone"] on one, and run(calls) -> the thread count of each call."""
    now = [0.0]
    monkeypatch.setattr(_thread_choice, "clock", lambda: now[0])
    seconds = {"parallel": 0.001, "alone": 0.002}
    key = ("timed", object())  # a kind of call of its own: no history from other tests

    def kernel():
        threads = numba.get_num_threads()
        now[0] += seconds["parallel" if threads > 1 else "alone"]
        return threads

    def run(calls):
        return [_thread_choice.run_fastest_way(kernel, key, 1000)
                for _ in range(calls)]
    return seconds, run


@needs_threads
def test_a_change_of_load_is_followed(two_threads, timed_calls):
    """The faster way flips after many calls: when the chosen way slows down (a core
    taken), the call after its second slow one takes the other; when only the other way
    got faster (a core freed), the next probe finds it, within the longest wait between
    probes."""
    seconds, run = timed_calls
    run(300)  # the waits between probes are at their longest
    seconds["parallel"] = 0.02
    used = run(20)
    # two slow calls move the median; then all but the probes, after PROBE_EVERY calls
    # and twice that
    assert used[:2] == [2, 2] and used[2:_thread_choice.PROBE_EVERY + 1] == [1] * 7
    assert all(a == 1 or b == 1 for a, b in zip(used[2:], used[3:]))  # lone probes only
    seconds["parallel"] = 0.0005
    used = run(_thread_choice.PROBE_AT_MOST_EVERY + 20)
    settled = used.index(2)
    assert settled < _thread_choice.PROBE_AT_MOST_EVERY
    assert used[settled:settled + _thread_choice.PROBE_EVERY] == [2] * 8
    after = used[settled:]
    assert all(a == 2 or b == 2 for a, b in zip(after, after[1:]))  # lone probes only


@needs_threads
def test_one_slow_call_does_not_change_the_way(two_threads, timed_calls):
    """A lone call of the chosen way at several times its usual time (a thread woken
    late) neither switches the way nor makes the next call a probe."""
    seconds, run = timed_calls
    run(300)  # the waits between probes are at their longest
    seconds["parallel"] = 0.005
    assert run(1) == [2]
    seconds["parallel"] = 0.001
    assert run(_thread_choice.PROBE_EVERY) == [2] * _thread_choice.PROBE_EVERY


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
