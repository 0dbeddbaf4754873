"""Run a parallel numba kernel on all its threads or on the calling thread alone, whichever
has lately been faster.

A ``prange`` over fixed row chunks waits for its slowest thread: when another process holds
a core, the thread that shares it finishes last, and the call is as slow as a serial one or
slower. The same compiled kernel, with numba's thread count set to 1 for the calling thread,
runs the same chunks in the same order, so both ways give bit-identical results; only the
time differs. Each kind of call (a kernel and a model shape) keeps a running estimate of the
seconds per row of each way, uses the faster one, and tries the other again after
``PROBE_EVERY`` calls, so a fit follows the machine's load as it changes. A probe that
confirms the choice doubles the wait before the next one (up to ``PROBE_AT_MOST_EVERY``
calls): on a quiet machine a probe of the slower way costs about one call's time, an eighth
of a fit's time if made every eighth call. When the chosen way's pace shifts (a timing
``SHIFT`` times its estimate or more, either way: the machine's load changed), the next call
probes, and a change of the faster way resets the wait.
"""

from __future__ import annotations

import time

import numba

#: After this many calls of one kind, the way not currently preferred is timed again...
PROBE_EVERY = 8
#: ...and after up to this many once probes have confirmed the choice.
PROBE_AT_MOST_EVERY = 64
#: A timing this many times the chosen way's estimate or more (or less by as much) makes
#: the next call a probe.
SHIFT = 1.5
#: Weight of the newest timing in the chosen way's running estimate.
SMOOTHING = 0.5

#: key -> [seconds per row on all threads, seconds per row alone, calls, calls until the
#: next probe, the wait between probes, the way last preferred (True: alone)]
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
    pace = _paces.setdefault((key, n_rows.bit_length()),
                             [None, None, 0, PROBE_EVERY, PROBE_EVERY, False])
    pace[2] += 1
    if pace[2] == 1:  # the first call may load or compile the kernel: not timed
        return kernel(*args)
    probe = False
    if pace[0] is None:
        alone = False
    elif pace[1] is None:
        alone = True
    else:
        alone = pace[1] < pace[0]
        if alone != pace[5]:  # the chosen way slowed down past the other
            pace[5], pace[3], pace[4] = alone, PROBE_EVERY, PROBE_EVERY
        pace[3] -= 1
        if pace[3] == 0:
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
    slot = 1 if alone else 0
    before = pace[slot]
    # a probed way's estimate is stale: its new timing replaces it
    pace[slot] = per_row if before is None or probe else (
        SMOOTHING * per_row + (1.0 - SMOOTHING) * before)
    if not probe and before is not None and not (before / SHIFT < per_row < SHIFT * before):
        pace[3], pace[4] = 1, PROBE_EVERY
    if probe:
        preferred = pace[1] is not None and pace[0] is not None and pace[1] < pace[0]
        confirmed = preferred == pace[5]
        pace[4] = min(2 * pace[4], PROBE_AT_MOST_EVERY) if confirmed else PROBE_EVERY
        pace[3], pace[5] = pace[4], preferred
    return result
