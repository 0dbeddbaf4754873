"""Variational Bayes benchmark: emkit against its peers, same data, same start, same run.

Two tables, seconds per iteration and their ratio (peer / emkit; > 1 means emkit is faster,
the target is at least 5x):

* ``BayesianGaussianMixture`` against scikit-learn's, on the three cases of
  ``bench_gmm.py`` (its data generator) for every covariance type. Both start from the same
  point: each library fits one iteration from the same ``random_state`` (the same k-means
  start), then, with ``warm_start``, the timed fit runs ``--iters`` more iterations
  (``tol=0``) from there, so the initialisation is not timed.
* ``VariationalGaussianHMM`` ('full', 'diag') and ``VariationalCategoricalHMM`` against
  hmmlearn's, on sequences sampled from a random HMM. Both get the same starting posteriors
  (hmmlearn's ``_init`` draws them once) with ``init_params=""`` and run exactly
  ``--iters`` iterations.

Each time is the median over ``--repeats`` of the whole timed ``fit`` divided by its
iterations (input checks and the final E-step included, for both); the two libraries are
timed alternately within each repeat. The final lower bounds of both are shown with their
relative difference. Ratios, not absolute seconds, are the figures: the machines are
shared and noisy.

Usage::

    python benchmarks/bench_variational.py                 # full benchmark
    python benchmarks/bench_variational.py --quick         # tiny sizes (smoke test)
    python benchmarks/bench_variational.py --mixture-cases mid --hmm-cases categorical
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
import warnings
from typing import NamedTuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared helpers
from _common import choices as _choices  # noqa: E402
import _common  # noqa: E402
from _common import machine_note, relative_difference, run_with_threads, settle, table  # noqa: E402,E501
from bench_gmm import CASES as MIXTURE_CASES  # noqa: E402
from bench_gmm import COVARIANCE_TYPES, make_data  # noqa: E402

SEED = 0
#: Acceptance target (from the issue): emkit at least this many times faster than the peer.
TARGET_SPEEDUP = 5.0


class HMMCase(NamedTuple):
    name: str
    kind: str  # 'gaussian' or 'categorical'
    covariance_type: str | None
    n_sequences: int
    length: int
    n_features: int  # features, or symbols
    n_components: int
    quick_sequences: int


HMM_CASES = {case.name: case for case in (
    HMMCase("gaussian-full", "gaussian", "full", 100, 1000, 4, 6, quick_sequences=4),
    HMMCase("gaussian-diag", "gaussian", "diag", 100, 1000, 4, 6, quick_sequences=4),
    HMMCase("categorical", "categorical", None, 100, 1000, 10, 6, quick_sequences=4),
)}


# -- timing ---------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet():
    """Warnings of unconverged fits and the libraries' log lines are not the benchmark's;
    both are as before once the run ends (the tests run it in their own process)."""
    loggers = [logging.getLogger(name) for name in ("hmmlearn", "emkit")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def alternate(fits: dict, repeats: int) -> dict:
    """Each fit of ``fits`` (name -> function returning ``(seconds, iterations, model)``)
    run ``repeats`` times, alternately; per name the median seconds per iteration and the
    last model."""
    times = {name: [] for name in fits}
    models = {}
    for _ in range(repeats):
        for name, fit in fits.items():
            seconds, iterations, models[name] = fit()
            times[name].append(seconds / max(1, iterations))
    return {name: (statistics.median(times[name]), models[name]) for name in fits}


def scalar(value) -> float:
    """A lower bound as a float (scikit-learn's 'tied' one is a one-element array)."""
    return float(np.ravel(value)[0])


# -- BayesianGaussianMixture ------------------------------------------------------------
def mixture_fit(library: str, X, covariance_type, n_components, iters):
    """One warm-started fit of ``iters`` iterations from the one-iteration start."""
    if library == "emkit":
        from emkit import BayesianGaussianMixture
    else:
        from sklearn.mixture import BayesianGaussianMixture
    model = BayesianGaussianMixture(n_components=n_components,
                                    covariance_type=covariance_type, max_iter=1, tol=0,
                                    random_state=SEED, warm_start=True).fit(X)
    model.max_iter = iters
    settle()
    t0 = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - t0, model.n_iter_, model


def mixture_rows(args) -> list:
    rows = []
    for name in args.mixture_cases:
        case = MIXTURE_CASES[name]
        n = case.quick_samples if args.quick else case.n_samples
        X = make_data(n, case.n_features, case.n_components)
        for covariance_type in args.covariance:
            def fit(library, covariance_type=covariance_type):
                return lambda: mixture_fit(library, X, covariance_type, case.n_components,
                                           args.iters)
            mixture_fit("emkit", X[:200], covariance_type, 2, 1)  # numba warm-up
            result = alternate({"emkit": fit("emkit"), "sklearn": fit("sklearn")},
                               args.repeats)
            (ours, ours_model), (theirs, theirs_model) = result["emkit"], result["sklearn"]
            rows.append({
                "case": f"{name} {n}x{case.n_features} K={case.n_components}",
                "covariance_type": covariance_type, "emkit_s_per_iter": ours,
                "peer_s_per_iter": theirs, "speedup": theirs / ours,
                "emkit_lower_bound": scalar(ours_model.lower_bound_),
                "peer_lower_bound": scalar(theirs_model.lower_bound_),
                "lower_bound_rel_diff": relative_difference(
                    scalar(ours_model.lower_bound_), scalar(theirs_model.lower_bound_))})
    return rows


# -- variational HMMs ---------------------------------------------------------------------
def hmm_data(case: HMMCase, n_sequences: int):
    """Sequences from a random sticky HMM (states drawn by a vectorised Markov chain)."""
    rng = np.random.default_rng(SEED)
    K = case.n_components
    transmat = rng.dirichlet(np.ones(K), size=K) * 0.2 + np.eye(K) * 0.8
    n = n_sequences * case.length
    states = np.empty(n, dtype=np.int64)
    cdf = np.cumsum(transmat, axis=1)
    u = rng.random(n)
    states[0] = 0
    for t in range(1, n):  # a plain loop: fast enough for 1e5 rows
        states[t] = min(np.searchsorted(cdf[states[t - 1]], u[t]), K - 1)
    if case.kind == "categorical":
        emission = rng.dirichlet(np.full(case.n_features, 0.3), size=K)
        X = (emission[states].cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
        return X[:, None], [case.length] * n_sequences
    means = rng.normal(scale=3.0, size=(K, case.n_features))
    return means[states] + rng.normal(size=(n, case.n_features)), [case.length] * n_sequences


def hmm_classes(case: HMMCase):
    import hmmlearn.vhmm as peer

    from emkit import hmm as ours

    name = ("VariationalCategoricalHMM" if case.kind == "categorical"
            else "VariationalGaussianHMM")
    return getattr(ours, name), getattr(peer, name)


def starting_posteriors(case: HMMCase, X, lengths) -> dict:
    """hmmlearn's starting posteriors (its ``_init``), drawn once for both libraries."""
    _, peer = hmm_classes(case)
    kwargs = {} if case.covariance_type is None else {"covariance_type": case.covariance_type}
    model = peer(case.n_components, random_state=SEED, **kwargs)
    model._init(X, lengths)
    return {name: np.array(value, copy=True) for name, value in vars(model).items()
            if name.endswith(("_prior_", "_posterior_"))}


def hmm_fit(cls, case: HMMCase, X, lengths, start: dict, iters: int):
    kwargs = {} if case.covariance_type is None else {"covariance_type": case.covariance_type}
    model = cls(case.n_components, n_iter=iters, tol=-np.inf, init_params="", **kwargs)
    for name, value in start.items():
        setattr(model, name, value.copy() if np.ndim(value) else value.item())
    settle()
    t0 = time.perf_counter()
    model.fit(X, lengths)
    seconds = time.perf_counter() - t0
    return seconds, len(getattr(model, "lower_bounds_", model.monitor_.history)), model


def hmm_rows(args) -> list:
    rows = []
    for name in args.hmm_cases:
        case = HMM_CASES[name]
        n_sequences = case.quick_sequences if args.quick else case.n_sequences
        X, lengths = hmm_data(case, n_sequences)
        start = starting_posteriors(case, X, lengths)
        ours_cls, peer_cls = hmm_classes(case)
        hmm_fit(ours_cls, case, X[:case.length], lengths[:1], starting_posteriors(
            case, X[:case.length], lengths[:1]), 1)  # numba warm-up
        result = alternate({
            "emkit": lambda: hmm_fit(ours_cls, case, X, lengths, start, args.iters),
            "hmmlearn": lambda: hmm_fit(peer_cls, case, X, lengths, start, args.iters)},
            args.repeats)
        (ours, ours_model), (theirs, theirs_model) = result["emkit"], result["hmmlearn"]
        ours_lb = float(ours_model.lower_bounds_[-1])
        theirs_lb = float(theirs_model.monitor_.history[-1])
        rows.append({
            "case": f"{name} {len(X)} rows K={case.n_components}",
            "covariance_type": case.covariance_type or "-", "emkit_s_per_iter": ours,
            "peer_s_per_iter": theirs, "speedup": theirs / ours,
            "emkit_lower_bound": ours_lb, "peer_lower_bound": theirs_lb,
            "lower_bound_rel_diff": relative_difference(ours_lb, theirs_lb)})
    return rows


# -- report -----------------------------------------------------------------------------
def format_report(rows: list, peer: str) -> str:
    for row in rows:
        row["target"] = "yes" if row["speedup"] >= TARGET_SPEEDUP else "NO"
    return table([("case", "case", "s", 34), ("covariance", "covariance_type", "s", 10),
                  ("emkit s/iter", "emkit_s_per_iter", ".4g", 12),
                  (f"{peer} s/iter", "peer_s_per_iter", ".4g", 16),
                  ("speed-up", "speedup", ".1f", 8), (f">= {TARGET_SPEEDUP:g}x", "target",
                                                      "s", 6),
                  ("emkit lower bound", "emkit_lower_bound", ".10g", 18),
                  ("rel. diff", "lower_bound_rel_diff", ".1e", 9)], rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--mixture-cases", default=",".join(MIXTURE_CASES),
                        type=lambda s: [] if s == "none" else _choices(
                            s, tuple(MIXTURE_CASES), "case"),
                        help="bench_gmm's cases, comma-separated, or 'none'")
    parser.add_argument("--covariance", default=",".join(COVARIANCE_TYPES),
                        type=lambda s: _choices(s, COVARIANCE_TYPES, "covariance type"))
    parser.add_argument("--hmm-cases", default=",".join(HMM_CASES),
                        type=lambda s: [] if s == "none" else _choices(
                            s, tuple(HMM_CASES), "case"),
                        help="comma-separated, or 'none'")
    parser.add_argument("--iters", type=int, default=None,
                        help="timed iterations per fit (default 5; quick 2)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed fits per library, alternating (default 3; quick 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS/OpenMP and numba threads to N")
    args = parser.parse_args(argv)
    args.iters = args.iters or (2 if args.quick else 5)
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.quick:  # a smoke run's times mean nothing: no pauses
        _common.SETTLE_SECONDS = 0.0
    if args.iters < 1 or args.repeats < 1:
        parser.error("--iters and --repeats must be >= 1")
    return args


def main(argv=None) -> dict:
    """Run the benchmark, print both tables, return their rows ('mixture', 'hmm')."""
    args = parse_args(argv)

    def load_libraries():
        import sklearn.cluster  # noqa: F401  (OpenMP and BLAS loaded before the limit)

    return run_with_threads(_run, args, load_libraries)


def _run(args) -> dict:
    with _quiet():
        print(machine_note(peers=("hmmlearn",)))
        print(f"mode: {'quick' if args.quick else 'full'}; {args.iters} timed iterations, "
              f"median of {args.repeats} alternating fits")
        mixture = mixture_rows(args)
        print("\nBayesianGaussianMixture, emkit vs scikit-learn")
        print(format_report(mixture, "sklearn"))
        hmm = hmm_rows(args)
        print("\nVariational HMMs, emkit vs hmmlearn")
        print(format_report(hmm, "hmmlearn"))
    return {"mixture": mixture, "hmm": hmm}


if __name__ == "__main__":
    main()
