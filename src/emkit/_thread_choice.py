"""Run a parallel numba kernel on all its threads or on the calling thread alone, whichever
has lately been faster.

A ``prange`` over fixed row chunks waits for its slowest thread: when another process holds
a core, the thread that shares it finishes last, and the call is as slow as a serial one or
slower. The same compiled kernel, with numba's thread count set to 1 for the calling thread,
runs the same chunks in the same order, so both ways give bit-identical results; only the
time differs. Each kind of call (a kernel and a model shape) keeps the seconds per row of
each way's last ``RECENT`` calls, uses the way whose median is lower, and tries the other
again after ``PROBE_EVERY`` calls, so a fit follows the machine's load as it changes. The
median lets one slow call pass (a thread woken late, a page fault): on the high-d case an
occasional all-threads call took twice its usual time, and a running mean then chose the
serial way, 1.7x slower, until the next probe. A probe that confirms the choice doubles
the wait before the next one (up to ``PROBE_AT_MOST_EVERY`` calls): on a quiet machine a
probe of the slower way costs about one call's time, an eighth of a fit's time if made
every eighth call. When the chosen way's median shifts (by ``SHIFT`` times or more, either
way: the machine's load changed, seen after two calls), the next call probes, and a change
of the faster way resets the wait.
"""

from __future__ import annotations

import time

import numba

#: After this many calls of one kind, the way not currently preferred is timed again...
PROBE_EVERY = 8
#: ...and after up to this many once probes have confirmed the choice.
PROBE_AT_MOST_EVERY = 64
#: A median of the chosen way this many times its previous one or more (or less by as
#: much) makes the next call a probe.
SHIFT = 1.5
#: Calls of each way whose median is its estimate.
RECENT = 3


class _Pace:
    """What one kind of call has seen: the recent seconds per row of each way (0: all
    threads, 1: the calling thread alone), its calls, the calls until the next probe, the
    wait between probes and the way last preferred (True: alone)."""

    __slots__ = ("recent", "calls", "until_probe", "wait", "alone")

    def __init__(self):
        self.recent: tuple[list, list] = ([], [])
        self.calls = 0
        self.until_probe = PROBE_EVERY
        self.wait = PROBE_EVERY
        self.alone = False

    def estimate(self, way: int):
        """The median of the way's recent timings (the lower middle one of an even
        count), or None before its first."""
        times = sorted(self.recent[way])
        return times[(len(times) - 1) // 2] if times else None


#: (key, size class) -> its _Pace
_paces: dict = {}

#: The clock the ways are timed by (a test may put a clock of its own here).
clock = time.perf_counter


def run_fastest_way(kernel, key, n_rows: int, *args):
    """``kernel(*args)`` on all numba threads or on the calling thread alone (see the
    module's note); ``key`` names the kind of call (hashable, e.g. the kernel and the
    model's shape) and ``n_rows`` its size."""
    threads = numba.get_num_threads()
    if threads == 1:
        return kernel(*args)
    # rows in powers of two: a parallel call's fixed cost weighs more on fewer rows
    pace = _paces.get((key, n_rows.bit_length()))
    if pace is None:
        pace = _paces[(key, n_rows.bit_length())] = _Pace()
    pace.calls += 1
    if pace.calls == 1:  # the first call may load or compile the kernel: not timed
        return kernel(*args)
    probe = False
    together, alone_estimate = pace.estimate(0), pace.estimate(1)
    if together is None:
        alone = False
    elif alone_estimate is None:
        alone = True
    else:
        alone = alone_estimate < together
        if alone != pace.alone:  # the chosen way slowed down past the other
            pace.alone, pace.until_probe, pace.wait = alone, PROBE_EVERY, PROBE_EVERY
        pace.until_probe -= 1
        if pace.until_probe == 0:
            probe, alone = True, not alone
    start = clock()
    if alone:
        numba.set_num_threads(1)
        try:
            result = kernel(*args)
        finally:
            numba.set_num_threads(threads)
    else:
        result = kernel(*args)
    per_row = (clock() - start) / max(n_rows, 1)
    way = 1 if alone else 0
    before = pace.estimate(way)
    if probe:  # a probed way's timings are stale: the new one replaces them
        pace.recent[way][:] = [per_row]
        preferred = pace.estimate(1) < pace.estimate(0)
        confirmed = preferred == pace.alone
        pace.wait = min(2 * pace.wait, PROBE_AT_MOST_EVERY) if confirmed else PROBE_EVERY
        pace.until_probe, pace.alone = pace.wait, preferred
        return result
    recent = pace.recent[way]
    recent.append(per_row)
    del recent[:-RECENT]
    after = pace.estimate(way)
    if before is not None and not before / SHIFT < after < SHIFT * before:
        pace.until_probe, pace.wait = 1, PROBE_EVERY
    return result
