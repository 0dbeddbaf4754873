"""Imputation benchmark: emkit.impute.EMImputer against scikit-learn's imputers, same data,
same masks, same run.

For every dataset and missing rate, entries are removed completely at random (MCAR) and
each method imputes them with ``fit_transform`` on the masked matrix. The table shows, per
(dataset, missing rate, method):

* the RMSE of the imputed entries against the true values, averaged over ``--seeds``
  seeds (each seed: a new mask, and for the Gaussian data a new sample), with the spread
  (standard deviation over seeds) and the ratio to mean imputation's RMSE;
* the median over the seeds of the ``fit_transform`` seconds (every method warmed up
  first on a small problem, so that imports and numba's cached kernels are not timed);
* for EMImputer, the median EM iterations and how many fits converged (for
  IterativeImputer, its median rounds); the convergence warnings each method raised
  (IterativeImputer's "Early stopping criterion not reached" among them); and the fits
  that raised an exception (recorded and listed, not fatal: RMSE is then averaged over
  the other seeds, and an EMImputer failure fails its acceptance point).

Methods: ``EMImputer()`` (one Gaussian, the default settings), ``EMImputer(n_components=3)``
("EM mixture": informative, no target), ``SimpleImputer()`` (column means),
``KNNImputer()`` and ``IterativeImputer(random_state=seed)`` (scikit-learn's defaults:
BayesianRidge, max_iter=10), all with their default settings.

Datasets:

* ``gaussian``: n=2000 rows, D=8, from N(0, R) with R a random correlation matrix with a
  wide eigenvalue spread (strong correlations); unit variances, so RMSE is in standard
  units. R is the same for every seed; the sample is drawn anew per seed.
* ``diabetes`` (442 x 10) and ``wine`` (178 x 13): scikit-learn's bundled datasets (no
  download), each column standardised (zero mean, unit variance) BEFORE masking, so RMSE
  is in standardised units.

Masks: each entry missing with probability ``rate``, independently; a row that would be
entirely missing is re-drawn (until it keeps an observed entry), and a mask leaving a
column with no observed value is re-drawn whole, so every row and column has an observed
value (the realised missing fraction, slightly below the rate at 50%, is printed).

Acceptance (from the issue): EMImputer's RMSE below mean imputation's everywhere; on the
Gaussian data, EMImputer's RMSE at most IterativeImputer's (within 1%) AND EMImputer
faster (median seconds) at every rate. The last lines give these verdicts.

Seconds, unlike RMSE, depend on the machine and its load: compare them within one run.

Usage::

    python benchmarks/bench_impute.py                      # full benchmark
    python benchmarks/bench_impute.py --quick              # tiny sizes (smoke test)
    python benchmarks/bench_impute.py --datasets gaussian --rates 0.5 --seeds 1
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import statistics
import time
import warnings
from typing import NamedTuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared helpers
from _common import choices as _choices  # noqa: E402
from _common import machine_note as common_machine_note  # noqa: E402
from _common import fmt as _fmt  # noqa: E402
from _common import run_with_threads  # noqa: E402
from _common import load_note  # noqa: E402

SEED = 0

DATASETS = ("gaussian", "diabetes", "wine")
RATES = (0.1, 0.3, 0.5)
N_SEEDS = 3

#: Gaussian data: rows, features, and the eigenvalue range of the covariance before it is
#: rescaled to a correlation matrix.
GAUSSIAN_SAMPLES, GAUSSIAN_FEATURES = 2000, 8
GAUSSIAN_EIGENVALUES = (10.0, 0.02)

#: Quick mode (smoke test): this many rows (real datasets: a random subset), one rate, and
#: the EM mixture capped at this many iterations (it would run to max_iter=500 on 100 rows).
QUICK_SAMPLES, QUICK_RATE, QUICK_MIXTURE_MAX_ITER = 100, 0.1, 10

#: EM iterations of the warm-up fits (they only load code).
WARM_UP_MAX_ITER = 3

#: Components of the "EM mixture" row.
MIXTURE_COMPONENTS = 3

METHODS = ("em", "em-mixture", "mean", "knn", "iterative")
LABELS = {
    "em": "EMImputer",
    "em-mixture": f"EM mixture (K={MIXTURE_COMPONENTS})",
    "mean": "mean (SimpleImputer)",
    "knn": "KNNImputer",
    "iterative": "IterativeImputer",
}

#: Acceptance: EMImputer's RMSE may exceed IterativeImputer's by at most this fraction.
ITERATIVE_RMSE_RTOL = 0.01


class Dataset(NamedTuple):
    """A complete, standardised data matrix and where it came from."""

    name: str
    X: np.ndarray
    source: str


# -- data ------------------------------------------------------------------------------------
def gaussian_correlation(n_features: int = GAUSSIAN_FEATURES, seed: int = SEED) -> np.ndarray:
    """A random correlation matrix with strong correlations: Q diag(lambda) Q^T with Q a
    random orthogonal matrix and lambda geometric from 10 down to 0.02, rescaled to unit
    diagonal."""
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    Q *= np.sign(np.diag(R))  # Haar-distributed
    eigenvalues = np.geomspace(*GAUSSIAN_EIGENVALUES, n_features)
    cov = (Q * eigenvalues) @ Q.T
    scale = np.sqrt(np.diag(cov))
    corr = cov / np.outer(scale, scale)
    return 0.5 * (corr + corr.T)


def standardise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def load_dataset(name: str, seed: int, n_samples: int | None = None) -> Dataset:
    """The complete data of ``name`` for one seed. ``n_samples``: the Gaussian sample size,
    or a random subset of a real dataset's rows (quick mode); None: the full size."""
    rng = np.random.default_rng([seed, 1])
    if name == "gaussian":
        corr = gaussian_correlation()
        n = GAUSSIAN_SAMPLES if n_samples is None else n_samples
        X = rng.standard_normal((n, corr.shape[0])) @ np.linalg.cholesky(corr).T
        off = np.abs(corr[np.triu_indices_from(corr, 1)])
        eig = np.linalg.eigvalsh(corr)
        source = (f"N(0, R), R random correlation, |r| median {np.median(off):.2f} max "
                  f"{off.max():.2f}, eigenvalues {eig.max():.2f}..{eig.min():.3f}")
        return Dataset(name, X, source)
    from sklearn import datasets

    loader = {"diabetes": datasets.load_diabetes, "wine": datasets.load_wine}[name]
    X = np.asarray(loader().data, dtype=np.float64)
    source = f"sklearn.datasets.load_{name}, columns standardised"
    if n_samples is not None and n_samples < X.shape[0]:
        X = X[np.sort(rng.choice(X.shape[0], n_samples, replace=False))]
        source += f", random {n_samples} of its rows"
    return Dataset(name, standardise(X), source)


def mcar_mask(shape, rate: float, rng, max_tries: int = 1000) -> np.ndarray:
    """Boolean (n, D) mask, True = missing, each entry with probability ``rate``; rows that
    would be entirely missing are re-drawn, and so is a whole mask with an empty column."""
    n, D = shape
    for _ in range(max_tries):
        mask = rng.random(shape) < rate
        for _ in range(max_tries):
            empty_rows = np.flatnonzero(mask.all(axis=1))
            if not empty_rows.size:
                break
            mask[empty_rows] = rng.random((empty_rows.size, D)) < rate
        else:
            raise RuntimeError(f"could not draw rows with an observed entry at rate {rate}")
        if not mask.all(axis=0).any():
            return mask
    raise RuntimeError(f"could not draw a mask without an empty column at rate {rate}")


def rmse(X_true: np.ndarray, X_imputed: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sqrt(np.mean((X_imputed[mask] - X_true[mask]) ** 2)))


# -- methods ---------------------------------------------------------------------------------
def make_imputer(method: str, seed: int, em_tol: float | None = None,
                 mixture_max_iter: int | None = None, em_max_iter: int | None = None):
    """An unfitted imputer, default settings. ``em_tol``: the EMImputer rows' tol (None keeps
    EMImputer's default); ``mixture_max_iter``: the EM mixture's max_iter (None: default);
    ``em_max_iter``: both EM rows' max_iter (warm-up only)."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

    from emkit.impute import EMImputer

    em_options = {} if em_tol is None else {"tol": em_tol}
    if em_max_iter is not None:
        em_options["max_iter"] = em_max_iter
    if method == "em":
        return EMImputer(random_state=seed, **em_options)
    if method == "em-mixture":
        if mixture_max_iter is not None and em_max_iter is None:
            em_options["max_iter"] = mixture_max_iter
        return EMImputer(n_components=MIXTURE_COMPONENTS, random_state=seed, **em_options)
    if method == "mean":
        return SimpleImputer(strategy="mean")
    if method == "knn":
        return KNNImputer()
    if method == "iterative":
        return IterativeImputer(random_state=seed)
    raise ValueError(f"unknown method {method!r}")


class Outcome(NamedTuple):
    """One ``fit_transform``: its seconds, the imputed matrix (None when it raised), the
    imputer, the warnings it raised and the error (``'LinAlgError: ...'``) if any."""

    seconds: float
    X_imputed: np.ndarray | None
    imputer: object
    warnings: list
    error: str | None


def impute_once(method: str, X_missing: np.ndarray, seed: int, *, timed=True,
                **options) -> Outcome:
    """One ``fit_transform`` (``options``: see :func:`make_imputer`). An exception is
    recorded, not raised: a method failing on one case does not stop the benchmark. A timed
    call runs with the garbage collector off, as ``timeit`` does."""
    imputer = make_imputer(method, seed, **options)
    gc_was_enabled = gc.isenabled()
    X_imputed, error = None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if timed:
            gc.disable()
        t0 = time.perf_counter()
        try:
            X_imputed = np.asarray(imputer.fit_transform(X_missing), dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - recorded and reported
            error = f"{type(exc).__name__}: {exc}"
        finally:
            seconds = time.perf_counter() - t0
            if gc_was_enabled:
                gc.enable()
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    return Outcome(seconds, X_imputed, imputer, messages, error)


def warm_up(methods, em_tol=None) -> None:
    """One small fit of every method (EM: a few iterations): imports, numba kernels (from
    the disk cache) and thread pools are loaded before anything is timed."""
    rng = np.random.default_rng([SEED, 2])
    X = load_dataset("gaussian", SEED, n_samples=400).X
    X_missing = np.where(mcar_mask(X.shape, 0.2, rng), np.nan, X)
    for method in methods:
        impute_once(method, X_missing, SEED, timed=False, em_tol=em_tol,
                    em_max_iter=WARM_UP_MAX_ITER)


def _is_convergence_warning(message: str) -> bool:
    return message.startswith("ConvergenceWarning") or "not converge" in message \
        or "Early stopping criterion not reached" in message


# -- one (dataset, rate) ---------------------------------------------------------------------
def bench_case(name: str, rate: float, seeds, methods, *, n_samples=None, **options):
    """One row per method for this dataset and missing rate (``options``: see
    :func:`make_imputer`). RMSE is averaged over the seeds where the method did not raise."""
    per = {m: {"rmse": [], "times": [], "n_iter": [], "converged": [], "warnings": [],
               "errors": []} for m in methods}
    missing_fraction, shape, source = [], None, None
    for s, seed in enumerate(seeds):
        data = load_dataset(name, seed, n_samples)
        X, shape, source = data.X, data.X.shape, data.source
        mask_rng = np.random.default_rng([seed, 3, DATASETS.index(name), round(rate * 1000)])
        mask = mcar_mask(X.shape, rate, mask_rng)
        missing_fraction.append(float(mask.mean()))
        X_missing = np.where(mask, np.nan, X)
        gc.collect()
        order = list(methods) if s % 2 == 0 else list(methods)[::-1]
        for method in order:
            outcome = impute_once(method, X_missing, seed, **options)
            record = per[method]
            record["times"].append(outcome.seconds)
            record["warnings"].append(outcome.warnings)
            if outcome.error is not None:
                record["errors"].append(f"seed {seed}: {outcome.error}")
                continue
            if not np.array_equal(outcome.X_imputed[~mask], X[~mask]):
                raise RuntimeError(f"{name} {rate}: {method} changed observed entries")
            record["rmse"].append(rmse(X, outcome.X_imputed, mask))
            if hasattr(outcome.imputer, "n_iter_"):
                record["n_iter"].append(int(outcome.imputer.n_iter_))
            if hasattr(outcome.imputer, "converged_"):
                record["converged"].append(bool(outcome.imputer.converged_))
    rows = []
    for method in methods:
        record = per[method]
        values = record["rmse"]
        row = {
            "dataset": name,
            "source": source,
            "n_samples": int(shape[0]),
            "n_features": int(shape[1]),
            "rate": rate,
            "missing_fraction": statistics.fmean(missing_fraction),
            "method": method,
            "label": LABELS[method],
            "n_seeds": len(seeds),
            "n_failed": len(record["errors"]),
            "errors": record["errors"],
            "rmse": statistics.fmean(values) if values else math.nan,
            "rmse_sd": (statistics.stdev(values) if len(values) > 1
                        else 0.0 if values else math.nan),
            "rmse_seeds": values,
            "seconds": statistics.median(record["times"]),
            "times": record["times"],
            "n_iter": statistics.median(record["n_iter"]) if record["n_iter"] else None,
            "n_converged": sum(record["converged"]) if method.startswith("em") else None,
            "n_fitted": len(values),
            "convergence_warnings": sum(any(_is_convergence_warning(m) for m in msgs)
                                        for msgs in record["warnings"]),
            "warnings": sorted({m for msgs in record["warnings"] for m in msgs}),
        }
        rows.append(row)
    mean_rmse = next((r["rmse"] for r in rows if r["method"] == "mean"), None)
    for row in rows:
        row["rmse_vs_mean"] = None if mean_rmse is None else row["rmse"] / mean_rmse
    return rows


# -- report ----------------------------------------------------------------------------------
def machine_note() -> str:
    return common_machine_note()


_COLUMNS = [  # (header, key, format, width)
    ("dataset", "dataset", "", 8),
    ("n x D", "_shape", "", 9),
    ("missing", "_missing", "", 11),
    ("method", "label", "", 20),
    ("RMSE", "rmse", ".4f", 6),
    ("sd", "rmse_sd", ".4f", 6),
    ("/ mean", "rmse_vs_mean", ".3f", 6),
    ("seconds", "seconds", ".4f", 8),
    ("iters", "n_iter", "g", 5),
    ("conv", "_conv", "", 4),
    ("conv warn", "_warn", "", 9),
    ("failed", "_failed", "", 6),
]


def _table(rows) -> str:
    def line(cells):
        return "  ".join(cell.rjust(width) if i > 3 else cell.ljust(width)
                         for i, (cell, (_, _, _, width)) in enumerate(zip(cells, _COLUMNS)))

    header = line([h for h, *_ in _COLUMNS])
    out = [header, "-" * len(header)]
    previous = None
    for row in rows:
        key = (row["dataset"], row["rate"])
        if previous is not None and key != previous:
            out.append("")
        first = key != previous
        previous = key
        shown = {
            **row,
            "_shape": f"{row['n_samples']}x{row['n_features']}" if first else "",
            "_missing": (f"{row['rate']:.0%} ({row['missing_fraction']:.1%})" if first
                         else ""),
            "_conv": (None if row["n_converged"] is None
                      else f"{row['n_converged']}/{row['n_fitted']}"),
            "_warn": f"{row['convergence_warnings']}/{row['n_seeds']}",
            "_failed": f"{row['n_failed']}/{row['n_seeds']}" if row["n_failed"] else "",
        }
        if not first:
            shown["dataset"] = ""
        out.append(line([_fmt(shown.get(key), spec) for _, key, spec, _ in _COLUMNS]))
    return "\n".join(out)


def _ok(row) -> bool:
    """The row's method ran on every seed (an RMSE averaged over fewer seeds is not
    compared)."""
    return row["n_failed"] == 0 and math.isfinite(row["rmse"])


def verdicts(rows) -> list:
    """One entry per acceptance point: (label, passed or None when not measured, detail).
    A case where EMImputer raised on some seed counts as failed."""
    by = {(r["dataset"], r["rate"], r["method"]): r for r in rows}
    cases = list(dict.fromkeys((r["dataset"], r["rate"]) for r in rows))
    out = []

    label = "EMImputer RMSE < mean imputation RMSE everywhere"
    pairs = [(by[c + ("em",)], by[c + ("mean",)]) for c in cases
             if c + ("em",) in by and c + ("mean",) in by]
    if pairs:
        good = [_ok(em) and em["rmse"] < mean["rmse"] for em, mean in pairs]
        ratios = [(em["rmse"] / mean["rmse"], em) for em, mean in pairs if _ok(em)]
        detail = f"{sum(good)} of {len(pairs)} cases"
        if ratios:
            ratio, worst = max(ratios, key=lambda t: t[0])
            detail += (f"; worst EM/mean RMSE {ratio:.3f} ({worst['dataset']} "
                       f"{worst['rate']:.0%})")
        failed = [em for (em, _), g in zip(pairs, good) if not g]
        if failed:
            detail += "; fails: " + ", ".join(
                f"{e['dataset']} {e['rate']:.0%}" + ("" if _ok(e) else " (raised)")
                for e in failed)
        out.append((label, all(good), detail))
    else:
        out.append((label, None, "not measured"))

    gauss = [(by[c + ("em",)], by[c + ("iterative",)]) for c in cases
             if c[0] == "gaussian" and c + ("em",) in by and c + ("iterative",) in by]
    label = (f"Gaussian: EMImputer RMSE <= IterativeImputer RMSE "
             f"(within {ITERATIVE_RMSE_RTOL:.0%})")
    speed_label = "Gaussian: EMImputer faster than IterativeImputer (median s)"
    if gauss:
        good = [_ok(em) and em["rmse"] <= (1 + ITERATIVE_RMSE_RTOL) * it["rmse"]
                for em, it in gauss]
        detail = ", ".join(f"{em['rate']:.0%}: {em['rmse']:.4f} vs {it['rmse']:.4f} "
                           f"({'ok' if g else 'NO'})" for (em, it), g in zip(gauss, good))
        out.append((label, all(good), detail))
        good = [_ok(em) and em["seconds"] < it["seconds"] for em, it in gauss]
        detail = ", ".join(f"{em['rate']:.0%}: {em['seconds']:.3f} s vs {it['seconds']:.3f} s "
                           f"= {em['seconds'] / it['seconds']:.2f}x the time "
                           f"({'ok' if g else 'NO'})" for (em, it), g in zip(gauss, good))
        out.append((speed_label, all(good), detail))
    else:
        out.append((label, None, "not measured"))
        out.append((speed_label, None, "not measured"))
    return out


def format_report(rows, *, seeds, em_tol=None, mixture_max_iter=None) -> str:
    sources = dict.fromkeys(f"  {r['dataset']}: {r['n_samples']}x{r['n_features']}, "
                            f"{r['source']}" for r in rows)
    iterative_warnings = sorted({m for r in rows if r["method"] == "iterative"
                                 for m in r["warnings"]})
    em_warnings = sorted({m for r in rows if r["method"].startswith("em")
                          for m in r["warnings"]})
    tol_text = "EMImputer's defaults" if em_tol is None else f"tol={em_tol:g}"
    if mixture_max_iter is not None:
        tol_text += f" (EM mixture: max_iter={mixture_max_iter}, quick mode)"
    parts = [
        _table(rows),
        "",
        "datasets:",
        *sources,
        f"RMSE: of the imputed entries (standardised units), mean over {len(seeds)} seed(s) "
        f"{list(seeds)} (over those where the method did not raise); sd: over the seeds; "
        "/ mean: RMSE / mean imputation's RMSE.",
        "missing: the MCAR rate (in brackets the realised fraction: rows that would be "
        "entirely missing are re-drawn).",
        f"seconds: median over the seeds of one fit_transform (every method warmed up "
        f"first). EM rows: {tol_text}.",
        "iters: median n_iter_ (EM iterations; IterativeImputer's rounds, max_iter=10); "
        "conv: EM fits that converged.",
        "conv warn: fits that raised a convergence warning; failed: fits that raised an "
        "exception (listed below).",
    ]
    if iterative_warnings:
        parts.append("IterativeImputer warned: " + " | ".join(iterative_warnings))
    if em_warnings:
        parts.append("EMImputer warned: " + " | ".join(em_warnings))
    for row in rows:
        for error in row["errors"]:
            parts.append(f"FAILED {row['dataset']} {row['rate']:.0%} {row['label']}, "
                         f"{error}")
    parts += [f"{load_note()} at the end of the run.", ""]
    for label, passed, detail in verdicts(rows):
        state = "not measured" if passed is None else ("yes" if passed else "NO")
        parts.append(f"target {label}: {state} -- {detail}")
    return "\n".join(parts)


# -- command line ----------------------------------------------------------------------------

def _rates(text: str) -> list:
    try:
        rates = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"rates must be numbers, got {text!r}") from None
    if not rates or any(not 0.0 < r < 1.0 for r in rates):
        raise argparse.ArgumentTypeError(f"rates must lie in (0, 1), got {text!r}")
    return list(dict.fromkeys(rates))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="bench_impute.py",
        description="Imputation accuracy and time: emkit EMImputer against scikit-learn's "
                    "SimpleImputer, KNNImputer and IterativeImputer.")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny: {QUICK_SAMPLES} rows, rate {QUICK_RATE}, one seed, the "
                             f"EM mixture capped at {QUICK_MIXTURE_MAX_ITER} iterations "
                             "(smoke test)")
    parser.add_argument("--datasets", type=lambda s: _choices(s, DATASETS, "dataset"),
                        default=list(DATASETS),
                        help=f"comma-separated, from {','.join(DATASETS)}")
    parser.add_argument("--rates", type=_rates, default=None,
                        help="comma-separated MCAR missing rates (default 0.1,0.3,0.5; "
                             f"{QUICK_RATE} with --quick)")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds (masks; Gaussian samples) per case, RMSE averaged, "
                             f"median time (default {N_SEEDS}; 1 with --quick)")
    parser.add_argument("--methods", type=lambda s: _choices(s, METHODS, "method"),
                        default=list(METHODS), help=f"comma-separated, from {','.join(METHODS)}")
    parser.add_argument("--em-tol", type=float, default=None,
                        help="tol of the EMImputer rows (default: EMImputer's own default)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS/OpenMP (threadpoolctl) and numba threads to N "
                             "(default: the libraries' own defaults)")
    args = parser.parse_args(argv)
    if args.rates is None:
        args.rates = [QUICK_RATE] if args.quick else list(RATES)
    if args.seeds is None:
        args.seeds = 1 if args.quick else N_SEEDS
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.em_tol is not None and args.em_tol < 0:
        parser.error("--em-tol must be >= 0")
    return args


def main(argv=None) -> list:
    """Run the benchmark, print the report, return one dict per (dataset, rate, method)."""
    # machine_note() loads the BLAS and OpenMP libraries, so that a thread limit reaches them
    return run_with_threads(_run, parse_args(argv), machine_note)


def _run(args) -> list:
    seeds = list(range(SEED, SEED + args.seeds))
    n_samples = QUICK_SAMPLES if args.quick else None
    print(machine_note())
    print(f"mode: {'quick' if args.quick else 'full'}; datasets {','.join(args.datasets)}; "
          f"rates {','.join(f'{r:g}' for r in args.rates)}; seeds {seeds}; methods "
          f"{','.join(args.methods)}\n", flush=True)
    mixture_max_iter = QUICK_MIXTURE_MAX_ITER if args.quick else None
    warm_up(args.methods, args.em_tol)
    rows = []
    for name in args.datasets:
        for rate in args.rates:
            case_rows = bench_case(name, rate, seeds, args.methods, n_samples=n_samples,
                                   em_tol=args.em_tol, mixture_max_iter=mixture_max_iter)
            rows += case_rows
            print(f"  done {name} {rate:.0%}: " + ", ".join(
                f"{r['method']} {r['rmse']:.4f} ({r['seconds']:.3g} s"
                f"{', %d failed' % r['n_failed'] if r['n_failed'] else ''})"
                for r in case_rows), flush=True)
    print()
    print(format_report(rows, seeds=seeds, em_tol=args.em_tol,
                        mixture_max_iter=mixture_max_iter))
    return rows


if __name__ == "__main__":
    main()
