"""Helpers every benchmark script shares: table cells, option lists, load and ratios."""

from __future__ import annotations

import argparse
import math
import os
import time


def fmt(value, spec: str) -> str:
    """One table cell: '-' for a missing value, inf/nan as words, else ``format``."""
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, spec)


def choices(text: str, allowed, what: str) -> list:
    """A comma-separated option value checked against ``allowed`` (argparse type)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {unknown or text!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def load_note() -> str:
    """The 1/5/15-minute load averages: on a shared machine, a load above the core count
    means the timings are disturbed."""
    try:
        loads = os.getloadavg()
    except (AttributeError, OSError):  # pragma: no cover - not on Unix
        return "load average: unknown"
    return "load average (1/5/15 min): " + " ".join(f"{v:.2f}" for v in loads)


def relative_difference(a: float, b: float) -> float:
    """|a - b| / max(1, |b|): relative for log-likelihoods far from 0, absolute near it."""
    return abs(a - b) / max(1.0, abs(b))


def run_with_threads(run, args, load_libraries):
    """``run(args)``, with BLAS/OpenMP (threadpoolctl) and numba limited to ``args.threads``
    threads when it is set. ``load_libraries()`` is called first, so that the limit
    reaches libraries that load lazily."""
    if args.threads is None:
        return run(args)
    import numba
    from threadpoolctl import threadpool_limits

    load_libraries()
    numba_threads = numba.get_num_threads()
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(limits=args.threads):
            return run(args)
    finally:
        numba.set_num_threads(numba_threads)


def machine_note(peers=(), extra: str = "") -> str:
    """Machine, library versions, thread pools and load: what a table's seconds depend on.

    ``peers`` names further packages whose versions belong in the note (hmmlearn, ...);
    ``extra`` is appended to the thread-pool line."""
    import importlib
    import platform

    import numba
    import numpy as np
    import scipy
    import scipy.linalg  # noqa: F401  (loads its BLAS, so threadpoolctl sees it)
    import sklearn
    import sklearn.cluster  # noqa: F401  (loads OpenMP)
    from threadpoolctl import threadpool_info

    import emkit

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count()
    pools = {}
    for info in threadpool_info():
        key = (info.get("user_api"), info.get("internal_api"), info.get("version"),
               info.get("threading_layer"))
        pools.setdefault(key, info.get("num_threads"))
    pool_text = "; ".join(
        f"{api}: {name} {version or ''}{f' ({layer})' if layer else ''} x{threads} threads"
        .replace("  ", " ")
        for (api, name, version, layer), threads in pools.items())
    versions = [f"numpy {np.__version__}", f"scipy {scipy.__version__}",
                f"scikit-learn {sklearn.__version__}"]
    versions += [f"{name} {importlib.import_module(name).__version__}" for name in peers]
    versions += [f"emkit {emkit.__version__}",
                 f"numba {numba.__version__} (threads {numba.get_num_threads()} of "
                 f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS})"]
    return "\n".join([
        f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores "
        f"({usable} usable), Python {platform.python_version()}",
        "versions: " + ", ".join(versions),
        f"threadpools: {pool_text or 'none found'}{extra}",
        load_note(),
    ])


def table(columns, rows) -> str:
    """A text table: ``columns`` are (header, key, format spec, width); the first column is
    left-aligned, the others right-aligned; a rule under the header."""
    def line(cells):
        return "  ".join(cell.rjust(width) if i else cell.ljust(width)
                         for i, (cell, (_, _, _, width)) in enumerate(zip(cells, columns)))

    out = [line([header for header, *_ in columns])]
    out.append("-" * len(out[0]))
    out += [line([fmt(row.get(key), spec) for _, key, spec, _ in columns]) for row in rows]
    return "\n".join(out)


def add_timing_options(parser) -> None:
    """``--threads`` and ``--no-memory``, the options of every timed comparison."""
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS/OpenMP (threadpoolctl) and numba threads to N "
                             "(default: the libraries' own defaults)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the (un-timed, tracemalloc) peak-memory fits")


def settle_timing_options(parser, args, full_iters: int, full_repeats: int = 3) -> None:
    """Default ``--iters`` (3 quick, ``full_iters`` otherwise) and ``--repeats`` (1 quick,
    ``full_repeats`` otherwise), and refuse values below 1."""
    if args.iters is None:
        args.iters = 3 if args.quick else full_iters
    if args.repeats is None:
        args.repeats = 1 if args.quick else full_repeats
    if args.iters < 1 or args.repeats < 1:
        parser.error("--iters and --repeats must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")


#: Pause before each timed fit: after its last call a library's BLAS and OpenMP threads keep
#: spinning for about 0.1-0.2 s (OpenBLAS's wait for more work), holding a core the next
#: fit would use. Measured on bench_gmm's high-d 'diag': emkit 1.4x slower right after a
#: scikit-learn fit than after a pause of 0.2 s. A smoke run sets it to 0.
SETTLE_SECONDS = 0.25


def settle() -> None:
    """Wait for the threads of the previous timed run to go idle (see SETTLE_SECONDS)."""
    time.sleep(SETTLE_SECONDS)
