"""HMM benchmark: emkit.hmm against hmmlearn, same data, same start, same run.

For every case the data are sampled (numpy RNG, seeded) from a known random HMM, and both
libraries are fitted from the SAME initial parameters, a perturbed copy of the true ones
(``startprob_``, ``transmat_`` and ``means_``/``covars_`` or ``emissionprob_`` set on the
estimator, ``init_params=""``), with ``tol=0`` so that both run exactly ``--iters``
Baum-Welch iterations (``n_iter`` and ``tol`` go to hmmlearn's constructor: its
``monitor_`` is built there). For every case the table shows:

* seconds per Baum-Welch iteration of each library: the median over ``--repeats`` of the
  whole ``fit`` time divided by the iterations run (nothing subtracted: input checks
  included, for both). emkit is warmed up by one small fit first, so numba compilation
  (cached on disk anyway) is not timed; hmmlearn gets the same warm-up;
* the speed-up, hmmlearn s/iter / emkit s/iter (> 1 means emkit is faster), and whether it
  meets the target (emkit at least 5x faster);
* the final log-likelihood of each, ``model.score(X, lengths)`` after the fit, and their
  relative difference ``|emkit - hmmlearn| / max(1, |hmmlearn|)``;
* the peak memory of one fit of each (tracemalloc peak, MB, taken in a separate un-timed
  fit of at most 2 iterations: numpy and numba allocations are both traced).

A second part (``--parts small-fits``) times whole fits where per-fit overhead, not
arithmetic, decides: hmmlearn's model-selection workload (50 GaussianHMM fits, 2..6 states
x 10 random states, of 10 sequences of 50 rows, each library's defaults including its
k-means start) and 10 restarts (emkit's ``n_init=10`` against a loop of 10 hmmlearn fits
keeping the best score); the target is the same 5x, with the same log-likelihoods.

Ratios, not absolute seconds, are the figures: the machines are shared and noisy.

Usage::

    python benchmarks/bench_hmm.py                      # full benchmark
    python benchmarks/bench_hmm.py --quick              # tiny sizes (smoke test)
    python benchmarks/bench_hmm.py --cases categorical --iters 3 --repeats 1
    python benchmarks/bench_hmm.py --parts small-fits    # whole fits on small data only
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import time
import tracemalloc
import warnings
from typing import NamedTuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared helpers
from _common import choices as _choices  # noqa: E402
from _common import machine_note as common_machine_note  # noqa: E402
from _common import add_timing_options, settle_timing_options, table  # noqa: E402
from _common import run_with_threads  # noqa: E402
from _common import relative_difference  # noqa: E402
from _common import load_note  # noqa: E402

SEED = 0

#: Iterations of the (un-timed, traced) peak-memory fit: the working set of a fit is reached
#: in its first iteration and does not grow with more, while tracing slows every iteration.
MEMORY_ITERS = 2

#: Acceptance target (from the issue): emkit at least this many times faster than hmmlearn.
TARGET_SPEEDUP = 5.0

#: Quick mode (smoke test): this many sequences of this length, this many states.
QUICK_SEQUENCES, QUICK_LENGTH, QUICK_STATES = 3, 50, 3

LIBRARIES = ("emkit", "hmmlearn")
PARTS = ("per-iteration", "small-fits")


class Case(NamedTuple):
    name: str
    #: 'gaussian' or 'categorical'
    kind: str
    #: GaussianHMM covariance type (None for categorical)
    covariance_type: str | None
    n_components: int
    #: D for Gaussian emissions, number of symbols for categorical ones
    n_features: int
    n_sequences: int
    length: int
    #: n_features in quick mode (fewer symbols: 150 rows cannot visit 64)
    quick_features: int


CASES = {
    case.name: case
    for case in (
        Case("gaussian-diag", "gaussian", "diag", 8, 4, 100, 1_000, quick_features=4),
        Case("gaussian-full", "gaussian", "full", 8, 4, 100, 1_000, quick_features=4),
        Case("gaussian-diag-long", "gaussian", "diag", 32, 8, 10, 10_000, quick_features=8),
        Case("categorical", "categorical", None, 16, 64, 100, 1_000, quick_features=6),
    )
}


class Sizes(NamedTuple):
    """The sizes a case runs at (full or quick)."""

    n_components: int
    n_features: int
    n_sequences: int
    length: int


def case_sizes(case: Case, quick: bool) -> Sizes:
    if quick:
        return Sizes(QUICK_STATES, case.quick_features, QUICK_SEQUENCES, QUICK_LENGTH)
    return Sizes(case.n_components, case.n_features, case.n_sequences, case.length)


# -- true model, data and initial parameters -----------------------------------------------
def true_parameters(case: Case, sizes: Sizes, rng) -> dict:
    """A random HMM: Dirichlet(1) start, 'sticky' transitions (0.75 on the diagonal plus
    0.25 Dirichlet(1)), and per state either a Gaussian (means uniform in [-4, 4]^D;
    'diag': variances uniform in [0.5, 2]; 'full': ``s (A A^T / D + 0.1 I)`` with A
    standard normal, s uniform in [0.5, 2]) or a Dirichlet(0.3) distribution over symbols."""
    K, D = sizes.n_components, sizes.n_features
    ones = np.ones(K)
    params = {
        "startprob_": rng.dirichlet(ones),
        "transmat_": 0.75 * np.eye(K) + 0.25 * rng.dirichlet(ones, size=K),
    }
    if case.kind == "categorical":
        params["emissionprob_"] = rng.dirichlet(np.full(D, 0.3), size=K)
        return params
    params["means_"] = rng.uniform(-4.0, 4.0, size=(K, D))
    if case.covariance_type == "diag":
        params["covars_"] = rng.uniform(0.5, 2.0, size=(K, D))
    else:
        A = rng.standard_normal((K, D, D))
        scale = rng.uniform(0.5, 2.0, size=(K, 1, 1))
        params["covars_"] = scale * (A @ A.transpose(0, 2, 1) / D + 0.1 * np.eye(D))
    return params


def _inverse_cdf(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise draws: the first index whose cumulative probability exceeds u."""
    return (cdf > u[:, None]).argmax(axis=1)


def sample_data(case: Case, sizes: Sizes, params: dict, rng):
    """(X, lengths): ``n_sequences`` sequences of ``length`` rows drawn from ``params``,
    stored back to back (float64 (n, D) for Gaussian, int64 (n, 1) symbols for
    categorical). The chains are drawn for all sequences at once, one time step at a time."""
    n_seq, T = sizes.n_sequences, sizes.length

    def cdf_of(probs):
        cdf = np.cumsum(probs, axis=-1)
        cdf[..., -1] = 1.0  # no draw falls past the last state through round-off
        return cdf

    start_cdf, trans_cdf = cdf_of(params["startprob_"]), cdf_of(params["transmat_"])
    states = np.empty((n_seq, T), dtype=np.int64)
    states[:, 0] = _inverse_cdf(np.broadcast_to(start_cdf, (n_seq, start_cdf.size)),
                                rng.random(n_seq))
    for t in range(1, T):
        states[:, t] = _inverse_cdf(trans_cdf[states[:, t - 1]], rng.random(n_seq))
    states = states.ravel()
    n = states.size
    if case.kind == "categorical":
        X = _inverse_cdf(cdf_of(params["emissionprob_"])[states], rng.random(n))[:, None]
    else:
        D = sizes.n_features
        noise = rng.standard_normal((n, D))
        if case.covariance_type == "diag":
            noise *= np.sqrt(params["covars_"])[states]
        else:
            chol = np.linalg.cholesky(params["covars_"])
            noise = np.einsum("nij,nj->ni", chol[states], noise)
        X = params["means_"][states] + noise
    return X, np.full(n_seq, T, dtype=np.int64)


def initial_parameters(case: Case, sizes: Sizes, truth: dict, rng) -> dict:
    """A perturbed copy of the true parameters, so that EM has work to do: start and
    transition rows (and emission rows) half true, half Dirichlet(1); means moved by
    N(0, 0.5^2) noise; covariances scaled by a factor in [0.6, 1.6] per state (plus 0.1 I
    for 'full')."""
    K, D = sizes.n_components, sizes.n_features
    ones = np.ones(K)
    init = {
        "startprob_": 0.5 * truth["startprob_"] + 0.5 * rng.dirichlet(ones),
        "transmat_": 0.5 * truth["transmat_"] + 0.5 * rng.dirichlet(ones, size=K),
    }
    if case.kind == "categorical":
        init["emissionprob_"] = (0.5 * truth["emissionprob_"]
                                 + 0.5 * rng.dirichlet(np.ones(D), size=K))
        return init
    init["means_"] = truth["means_"] + 0.5 * rng.standard_normal((K, D))
    if case.covariance_type == "diag":
        init["covars_"] = truth["covars_"] * rng.uniform(0.6, 1.6, size=(K, 1))
    else:
        init["covars_"] = (truth["covars_"] * rng.uniform(0.6, 1.6, size=(K, 1, 1))
                           + 0.1 * np.eye(D))
    return init


def make_case_data(case: Case, sizes: Sizes, seed: int = SEED):
    """(X, lengths, initial parameters) of a case; the same for every call and library."""
    rng = np.random.default_rng(seed)
    truth = true_parameters(case, sizes, rng)
    X, lengths = sample_data(case, sizes, truth, rng)
    init = initial_parameters(case, sizes, truth, rng)
    # exact renormalisation (float64): both libraries check that rows sum to 1
    for name in ("startprob_", "transmat_", "emissionprob_"):
        if name in init:
            init[name] = init[name] / init[name].sum(axis=-1, keepdims=True)
    return X, lengths, init


# -- fitting -------------------------------------------------------------------------------
def make_estimator(library: str, case: Case, sizes: Sizes, init: dict, n_iter: int,
                   implementation: str = "log"):
    """An unfitted HMM of ``library`` with ``init`` set, ``init_params=""``, ``tol=0``."""
    if library == "emkit":
        from emkit import hmm
    else:
        from hmmlearn import hmm
    common = dict(n_components=sizes.n_components, n_iter=n_iter, tol=0.0, init_params="",
                  random_state=SEED)
    if library == "hmmlearn":
        common["implementation"] = implementation
    if case.kind == "categorical":
        model = hmm.CategoricalHMM(n_features=sizes.n_features, params="ste", **common)
    else:
        model = hmm.GaussianHMM(covariance_type=case.covariance_type, params="stmc",
                                **common)
    for name, value in init.items():
        setattr(model, name, np.array(value, copy=True))
    return model


def iterations_run(library: str, model) -> int:
    return int(model.n_iter_ if library == "emkit" else model.monitor_.iter)


def fit_once(library, case, sizes, X, lengths, init, n_iter, *, implementation="log",
             timed=True):
    """(seconds, fitted model) of one fit, warnings silenced. A timed fit runs with the
    garbage collector off, as ``timeit`` does."""
    model = make_estimator(library, case, sizes, init, n_iter, implementation)
    gc_was_enabled = gc.isenabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if timed:
            gc.disable()
        try:
            t0 = time.perf_counter()
            model.fit(X, lengths)
            seconds = time.perf_counter() - t0
        finally:
            if gc_was_enabled:
                gc.enable()
    return seconds, model


def peak_memory_mb(library, case, sizes, X, lengths, init, n_iter, implementation) -> float:
    """tracemalloc peak (MB) of one un-timed fit: memory allocated on top of the data."""
    tracemalloc.start()
    try:
        fit_once(library, case, sizes, X, lengths, init, n_iter,
                 implementation=implementation, timed=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def _warm_slice(X, lengths):
    """At most two sequences, each cut to at most 500 rows: a cheap warm-up fit."""
    keep = min(len(lengths), 2)
    cut = np.minimum(lengths[:keep], 500)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    rows = np.concatenate([np.arange(offsets[s], offsets[s] + cut[s]) for s in range(keep)])
    return X[rows], cut


def bench_row(case: Case, sizes: Sizes, X, lengths, init, *, iters, repeats, memory,
              implementation="log") -> dict:
    warm_X, warm_lengths = _warm_slice(X, lengths)
    gc.collect()  # once per row: a full collection takes ~0.1 s once numba is loaded
    for library in LIBRARIES:  # emkit first: numba kernels loaded (cached) or compiled
        _, model = fit_once(library, case, sizes, warm_X, warm_lengths, init, 1,
                            implementation=implementation)
        model.score(warm_X, warm_lengths)
    times = {library: [] for library in LIBRARIES}
    fitted = {}
    for r in range(repeats):
        order = LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]
        for library in order:
            seconds, model = fit_once(library, case, sizes, X, lengths, init, iters,
                                      implementation=implementation)
            ran = iterations_run(library, model)
            if ran != iters:
                raise RuntimeError(f"{case.name}: {library} ran {ran} iterations, expected "
                                   f"{iters}")
            times[library].append(seconds / ran)
            fitted[library] = model
    row = {
        "case": case.name,
        "n_sequences": sizes.n_sequences,
        "length": sizes.length,
        "n_samples": int(lengths.sum()),
        "n_components": sizes.n_components,
        "n_features": sizes.n_features,
        "covariance_type": case.covariance_type,
        "n_iter": iters,
        "repeats": repeats,
        "hmmlearn_implementation": implementation,
    }
    for library in LIBRARIES:
        row[f"{library}_s_per_iter"] = statistics.median(times[library])
        row[f"{library}_times"] = times[library]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row[f"{library}_loglik"] = float(fitted[library].score(X, lengths))
        row[f"{library}_peak_mb"] = (
            peak_memory_mb(library, case, sizes, X, lengths, init, min(iters, MEMORY_ITERS),
                           implementation) if memory else None)
    row["speedup"] = row["hmmlearn_s_per_iter"] / row["emkit_s_per_iter"]
    row["loglik_rel_diff"] = relative_difference(row["emkit_loglik"], row["hmmlearn_loglik"])
    row["meets_target"] = bool(row["speedup"] >= TARGET_SPEEDUP)
    return row


# -- many small fits and restarts (whole fits: per-fit overhead) ----------------------------
#: hmmlearn's model-selection workload: SMALL_FIT_STATES x SMALL_FIT_SEEDS whole fits (the
#: default k-means start, default n_iter and tol) of a few short sequences.
SMALL_FIT_STATES = (2, 3, 4, 5, 6)
SMALL_FIT_SEEDS = 10
#: The data of the small fits: SMALL_SEQUENCES sequences of SMALL_LENGTH rows from the
#: gaussian-diag case's kind of HMM (4 states, 4 features).
SMALL_SEQUENCES, SMALL_LENGTH = 10, 50
#: The restarts row: one emkit fit with n_init=RESTARTS against a loop of RESTARTS
#: hmmlearn fits (seeds 0..RESTARTS-1) keeping the best score.
RESTARTS = 10


def small_data(quick: bool):
    """(X, lengths) of the small fits: short sequences from a random 4-state HMM."""
    case = CASES["gaussian-diag"]
    sizes = Sizes(4, 4, 3 if quick else SMALL_SEQUENCES, SMALL_LENGTH)
    X, lengths, _ = make_case_data(case, sizes)
    return X, lengths


def _whole_hmm_fit(library, X, lengths, n_components, seed, n_init=1):
    """A GaussianHMM ('diag') fitted with the library's defaults from ``seed``; its
    log-likelihood on the data."""
    if library == "emkit":
        from emkit.hmm import GaussianHMM
        extra = {"n_init": n_init}
    else:
        from hmmlearn.hmm import GaussianHMM
        extra = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianHMM(n_components, covariance_type="diag", random_state=seed,
                            **extra).fit(X, lengths)
        return float(model.score(X, lengths))


def _median_seconds(runs: dict, repeats: int) -> tuple:
    """Median seconds of each ``runs[name]()`` over ``repeats`` alternating samples (the
    garbage collector off), after one untimed call each; the last results."""
    results = {name: run() for name, run in runs.items()}
    times = {name: [] for name in runs}
    for r in range(repeats):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                t0 = time.perf_counter()
                results[name] = runs[name]()
                times[name].append(time.perf_counter() - t0)
            finally:
                if gc_was_enabled:
                    gc.enable()
    return {name: statistics.median(values) for name, values in times.items()}, results


def small_fit_rows(*, repeats, quick) -> list:
    """Two rows: the many-small-fits loop and the restarts, each as whole fits of both
    libraries (seconds, ratio, and the log-likelihoods reached)."""
    X, lengths = small_data(quick)
    states = SMALL_FIT_STATES[:2] if quick else SMALL_FIT_STATES
    seeds = range(2 if quick else SMALL_FIT_SEEDS)
    restarts = 2 if quick else RESTARTS

    def many(library):
        return [_whole_hmm_fit(library, X, lengths, k, seed) for k in states for seed in seeds]

    seconds, scores = _median_seconds({lib: (lambda lib=lib: many(lib)) for lib in LIBRARIES},
                                      repeats)
    rows = [{"case": f"{len(states) * len(seeds)} small fits", "n_fits": len(scores["emkit"]),
             "seconds": seconds, "emkit_loglik": float(np.sum(scores["emkit"])),
             "hmmlearn_loglik": float(np.sum(scores["hmmlearn"]))}]
    k = SMALL_FIT_STATES[2]
    runs = {"emkit": lambda: _whole_hmm_fit("emkit", X, lengths, k, 0, n_init=restarts),
            "hmmlearn": lambda: max(_whole_hmm_fit("hmmlearn", X, lengths, k, seed)
                                    for seed in range(restarts))}
    seconds, best = _median_seconds(runs, repeats)
    rows.append({"case": f"{restarts} restarts", "n_fits": restarts, "seconds": seconds,
                 "emkit_loglik": best["emkit"], "hmmlearn_loglik": best["hmmlearn"]})
    for row in rows:
        row.update(n_sequences=len(lengths), length=SMALL_LENGTH, n_samples=int(lengths.sum()),
                   emkit_s=row["seconds"]["emkit"], hmmlearn_s=row["seconds"]["hmmlearn"])
        row["speedup"] = row["hmmlearn_s"] / row["emkit_s"]
        row["loglik_rel_diff"] = relative_difference(row["emkit_loglik"],
                                                     row["hmmlearn_loglik"])
        row["meets_target"] = bool(row["speedup"] >= TARGET_SPEEDUP)
        del row["seconds"]
    return rows


_SMALL_COLUMNS = [
    ("case", "case", "", 18),
    ("seqs x len", "_shape", "", 11),
    ("emkit s", "emkit_s", ".4g", 9),
    ("hmmlearn s", "hmmlearn_s", ".4g", 10),
    ("speed-up", "speedup", ".2f", 8),
    ("emkit loglik", "emkit_loglik", ".4f", 14),
    ("hmmlearn loglik", "hmmlearn_loglik", ".4f", 15),
    ("LL rel diff", "loglik_rel_diff", ".1e", 11),
    (f">= {TARGET_SPEEDUP:g}x", "_target", "", 6),
]


def format_small_report(rows, *, repeats) -> str:
    return "\n".join([
        "whole fits on small data (GaussianHMM 'diag', each library's defaults: k-means "
        "start, n_iter, tol):",
        _table(_SMALL_COLUMNS, rows),
        f"s: median over {repeats} repeat(s). small fits: n_components "
        f"{SMALL_FIT_STATES[0]}..{SMALL_FIT_STATES[-1]} x random_state 0..; loglik: the sum of "
        "their scores. restarts: emkit's n_init against a loop of hmmlearn fits (seeds "
        "0..), loglik: the best score.",
        target_line(rows),
    ])


# -- report --------------------------------------------------------------------------------
def machine_note() -> str:
    return common_machine_note(
        peers=("hmmlearn",),
        extra=f"; numba threading layer {_threading_layer()}, "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return f"{numba.config.THREADING_LAYER!r} (not started)"


_COLUMNS = [  # (header, key, format, width)
    ("case", "case", "", 18),
    ("seqs x len", "_shape", "", 11),
    ("K", "n_components", "d", 3),
    ("D/M", "n_features", "d", 3),
    ("emkit s/iter", "emkit_s_per_iter", ".4g", 12),
    ("hmmlearn s/iter", "hmmlearn_s_per_iter", ".4g", 15),
    ("speed-up", "speedup", ".2f", 8),
    ("emkit loglik", "emkit_loglik", ".6f", 18),
    ("hmmlearn loglik", "hmmlearn_loglik", ".6f", 18),
    ("LL rel diff", "loglik_rel_diff", ".1e", 11),
    ("emkit peak MB", "emkit_peak_mb", ".1f", 13),
    ("hmmlearn peak MB", "hmmlearn_peak_mb", ".1f", 16),
    (f">= {TARGET_SPEEDUP:g}x", "_target", "", 6),
]


def _table(columns, rows) -> str:
    return table(columns, [{**row, "_shape": f"{row['n_sequences']}x{row['length']:,}",
                                "_target": "yes" if row["meets_target"] else "NO"}
                               for row in rows])


def target_line(rows) -> str:
    """One line: for each case, whether emkit meets the speed-up target."""
    verdicts = ", ".join(f"{r['case']} {'yes' if r['meets_target'] else 'NO'} "
                         f"({r['speedup']:.2f}x)" for r in rows)
    met = sum(r["meets_target"] for r in rows)
    return (f"target emkit >= {TARGET_SPEEDUP:g}x faster than hmmlearn: {verdicts} -- "
            f"{met} of {len(rows)} case(s) meet it")


def format_report(rows, *, iters, repeats, memory, implementation="log") -> str:
    return "\n".join([
        _table(_COLUMNS, rows),
        "",
        f"s/iter: median over {repeats} repeat(s) of fit time / iterations run ({iters} "
        "Baum-Welch iterations, tol=0, init_params='', same initial parameters for both; "
        "input checks included). Both warmed up by a small fit first (numba compile "
        "excluded).",
        f"speed-up: hmmlearn s/iter / emkit s/iter (> 1: emkit faster); hmmlearn "
        f"implementation={implementation!r}.",
        "loglik: model.score(X, lengths) after the fit; LL rel diff: |emkit - hmmlearn| / "
        "max(1, |hmmlearn|).",
        (f"peak MB: tracemalloc peak of one separate, un-timed fit of "
         f"{min(iters, MEMORY_ITERS)} iteration(s) (allocations on top of the data; numpy "
         "and numba allocations are traced)." if memory
         else "peak MB: not measured (--no-memory)."),
        f"{load_note()} at the end of the run.",
        "",
        target_line(rows),
    ])


# -- command line --------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="bench_hmm.py",
        description="Benchmark emkit.hmm (GaussianHMM, CategoricalHMM) against hmmlearn.")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny sizes ({QUICK_SEQUENCES} sequences of {QUICK_LENGTH}, "
                             f"{QUICK_STATES} states), 3 iterations, 1 repeat (smoke test)")
    parser.add_argument("--cases", type=lambda s: _choices(s, tuple(CASES), "case"),
                        default=list(CASES), help=f"comma-separated, from {','.join(CASES)}")
    parser.add_argument("--iters", type=int, default=None,
                        help="Baum-Welch iterations per fit (default 5; 3 with --quick)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed fits per library, the median is shown (default 3; 1 with "
                             "--quick)")
    parser.add_argument("--hmmlearn-implementation", choices=("log", "scaling"),
                        default="log",
                        help="hmmlearn's forward-backward: 'log' (its default) or 'scaling'")
    parser.add_argument("--parts", type=lambda s: _choices(s, PARTS, "part"),
                        default=list(PARTS),
                        help="comma-separated, from " + ",".join(PARTS) + ": seconds per "
                             "iteration of the cases, and whole fits on small data (many "
                             "small fits, restarts)")
    add_timing_options(parser)
    args = parser.parse_args(argv)
    settle_timing_options(parser, args, full_iters=5)
    return args


def main(argv=None) -> dict:
    """Run the benchmark, print the report, return the rows of each part (one dict per
    table row): {"per-iteration": [...], "small-fits": [...]}."""
    # machine_note() loads the BLAS and OpenMP libraries, so that a thread limit reaches them
    return run_with_threads(_run, parse_args(argv), machine_note)


def _run(args) -> dict:
    # hmmlearn logs (not warns) e.g. "Model is not converging" on a round-off decrease
    hmmlearn_log = logging.getLogger("hmmlearn")
    level = hmmlearn_log.level
    hmmlearn_log.setLevel(logging.ERROR)
    try:
        print(machine_note())
        print(f"mode: {'quick' if args.quick else 'full'}; parts {','.join(args.parts)}; "
              f"cases {','.join(args.cases)}; {args.iters} iterations; {args.repeats} "
              f"repeat(s); hmmlearn implementation={args.hmmlearn_implementation!r}\n",
              flush=True)
        result = {"per-iteration": [], "small-fits": []}
        rows = result["per-iteration"]
        for name in args.cases if "per-iteration" in args.parts else ():
            case = CASES[name]
            sizes = case_sizes(case, args.quick)
            X, lengths, init = make_case_data(case, sizes)
            row = bench_row(case, sizes, X, lengths, init, iters=args.iters,
                            repeats=args.repeats, memory=not args.no_memory,
                            implementation=args.hmmlearn_implementation)
            rows.append(row)
            print(f"  done {name}: emkit {row['emkit_s_per_iter']:.4g} s/iter, hmmlearn "
                  f"{row['hmmlearn_s_per_iter']:.4g} s/iter ({row['speedup']:.2f}x)",
                  flush=True)
        if rows:
            print()
            print(format_report(rows, iters=args.iters, repeats=args.repeats,
                                memory=not args.no_memory,
                                implementation=args.hmmlearn_implementation))
        if "small-fits" in args.parts:
            result["small-fits"] = small_fit_rows(repeats=args.repeats, quick=args.quick)
            print()
            print(format_small_report(result["small-fits"], repeats=args.repeats))
        return result
    finally:
        hmmlearn_log.setLevel(level)


if __name__ == "__main__":
    main()
