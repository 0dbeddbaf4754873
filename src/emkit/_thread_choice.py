"""Run a parallel numba kernel on all its threads or on the calling thread alone, whichever
has lately been faster.

A ``prange`` over fixed row chunks waits for its slowest thread: when another process holds
a core, the thread that shares it finishes last, and the call is as slow as a serial one or
slower. The same compiled kernel, with numba's thread count set to 1 for the calling thread,
runs the same chunks in the same order, so both ways give bit-identical results; only the
time differs. Each kind of call (a kernel and a model shape) keeps a running estimate of the
seconds per row of each way, uses the faster one, and tries the other every
``PROBE_EVERY`` calls, so a fit follows the machine's load as it changes.
"""

from __future__ import annotations

import time

import numba

#: Every this many calls of one kind, the way not currently preferred is timed again.
PROBE_EVERY = 8
#: Weight of the newest timing in a way's running estimate.
SMOOTHING = 0.5

#: key -> [seconds per row on all threads, seconds per row alone, calls]
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
    pace = _paces.setdefault((key, n_rows.bit_length()), [None, None, 0])
    pace[2] += 1
    if pace[2] == 1:  # the first call may load or compile the kernel: not timed
        return kernel(*args)
    if pace[0] is None:
        alone = False
    elif pace[1] is None:
        alone = True
    else:
        alone = pace[1] < pace[0]
        if pace[2] % PROBE_EVERY == 0:
            alone = not alone
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
    pace[slot] = per_row if pace[slot] is None else (
        SMOOTHING * per_row + (1.0 - SMOOTHING) * pace[slot])
    return result
