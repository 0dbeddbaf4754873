"""Helpers every benchmark script shares: table cells, option lists, load and ratios."""

from __future__ import annotations

import argparse
import math
import os


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
