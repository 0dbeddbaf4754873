"""mclust's model selection, emkit against R's mclust, in one run.

For each of mclust's data sets (iris, faithful, diabetes, banknote, thyroid, wreath,
chevron), emkit runs::

    select(X, G, covariance_types="mclust", init_params="hierarchical")

(G = 1..9, wreath 1..20) and R runs ``Mclust(X, G, modelNames)`` over the same models
(those emkit fits: all fourteen where GaussianMixture takes mclust's names, else VII, VVI,
EEE, VVV). The table shows, per data set: the grid's cells where mclust has a BIC, the
share of them where emkit's BIC is within 0.1 of mclust's or better (BIC in mclust's sign:
emkit's BIC negated), the model and G each chooses with its BIC, and the seconds of each
(R's are Mclust's own, measured inside R, so R's start-up is not counted). When
GaussianMixture takes ``prior``, the grid runs again with ``prior="default"`` (emkit's
seconds only). The last line is the total time of the seven grids.

Without Rscript and mclust, emkit's timings alone, on iris (bundled) and simulated data
of the same shapes.

Seconds depend on the machine and its load: compare them within one run.

Usage::

    python benchmarks/bench_mclust.py            # the seven grids (a minute or two)
    python benchmarks/bench_mclust.py --quick    # iris, G = 1..3 (smoke test)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _mclust_r  # noqa: E402
from _common import fmt, load_note  # noqa: E402

from emkit import GaussianMixture  # noqa: E402
from emkit.mixture import select  # noqa: E402
from emkit.mixture._select import mclust_model_names  # noqa: E402

#: BIC within this of mclust's counts as the same (mclust's sign: higher is better).
BIC_TOLERANCE = 0.1


def agreement(table, reference) -> tuple[int, int]:
    """(cells where mclust has a BIC, of them those where emkit's is within BIC_TOLERANCE
    of it or better)."""
    cells = good = 0
    for row in table:
        theirs = reference.get((row["n_components"], row["covariance_type"]), math.nan)
        if math.isnan(theirs):
            continue
        cells += 1
        ours = -row["bic"]
        good += bool(ours >= theirs - BIC_TOLERANCE)
    return cells, good


def emkit_grid(X, ks, **params):
    """emkit's selection over the grid, and its seconds."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = select(X, ks, covariance_types="mclust", init_params="hierarchical",
                        **params)
    return result, time.perf_counter() - started


def chosen(result) -> tuple[str, int, float]:
    """(model, G, BIC in mclust's sign) of the selection's choice."""
    best = min((row for row in result.table if not row["singular"]),
               key=lambda row: (row["degenerate"], row["bic"]))
    return best["covariance_type"], best["n_components"], -best["bic"]


def datasets(quick: bool, with_r: bool):
    """(name, X or None, ks): X None when R supplies it."""
    names = ["iris"] if quick else list(_mclust_r.DATASETS)
    for name in names:
        ks = range(1, 4) if quick else _mclust_r.GRIDS[name]
        if with_r:
            yield name, None, ks
        elif name == "iris":
            from emkit.datasets import load_iris
            yield name, load_iris()[0], ks
        else:
            from emkit.datasets import make_gaussian_mixture
            shape = {"faithful": (272, 2), "diabetes": (145, 3), "banknote": (200, 6),
                     "thyroid": (215, 5), "wreath": (1000, 2), "chevron": (1104, 2)}[name]
            data = make_gaussian_mixture(shape[0], n_components=3, n_features=shape[1],
                                         random_state=0)
            yield f"{name}-shaped (simulated)", data.X, ks


def main(argv=None) -> list:
    """Print the table; return its rows (dicts)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="iris, G = 1..3")
    parser.add_argument("--no-r", action="store_true", help="emkit alone, even with R")
    args = parser.parse_args(argv)
    with_r = not args.no_r and _mclust_r.available()
    with_prior = "prior" in GaussianMixture().get_params()
    print(f"mclust's model selection; {load_note()}")
    print("R with mclust: " + ("yes" if with_r else "no (emkit's timings alone)"))
    emkit_grid(np.random.RandomState(0).randn(30, 2), range(1, 3))  # compile the kernels
    header = (f"{'data':<30} {'cells':>5} {'within':>7} {'emkit choice':>22} "
              f"{'mclust choice':>22} {'emkit s':>8} {'mclust s':>8}"
              + (f" {'prior s':>8}" if with_prior else ""))
    print(header)
    totals = dict(emkit=0.0, mclust=0.0, prior=0.0)
    all_cells = all_good = 0
    rows = []
    for name, X, ks in datasets(args.quick, with_r):
        reference = None
        if with_r:
            models = mclust_model_names(len(_mclust_r.reference(name)["X"][0]))
            reference = _mclust_r.reference(name, ks, models)
            X = reference["X"]
        result, seconds = emkit_grid(X, ks)
        totals["emkit"] += seconds
        model, G, bic = chosen(result)
        rows.append(dict(data=name, cells=len(result.table), chosen=(model, G, bic),
                         emkit_seconds=seconds))
        line = f"{name:<30} "
        if reference is not None:
            cells, good = agreement(result.table, reference["bic"])
            all_cells, all_good = all_cells + cells, all_good + good
            theirs = reference["best"]
            totals["mclust"] += reference["seconds"]
            rows[-1].update(cells=cells, within=good, mclust_chosen=theirs,
                            mclust_seconds=reference["seconds"])
            line += (f"{cells:>5} {good / cells:>7.1%} {f'{model},{G}: {bic:.2f}':>22} "
                     f"{f'{theirs[0]},{theirs[1]}: {theirs[2]:.2f}':>22} {seconds:>8.3f} "
                     f"{reference['seconds']:>8.3f}")
        else:
            line += (f"{len(result.table):>5} {'-':>7} {f'{model},{G}: {bic:.2f}':>22} "
                     f"{'-':>22} {seconds:>8.3f} {'-':>8}")
        if with_prior:
            _, prior_seconds = emkit_grid(X, ks, prior="default")
            totals["prior"] += prior_seconds
            rows[-1]["prior_seconds"] = prior_seconds
            line += f" {prior_seconds:>8.3f}"
        print(line)
    summary = f"total: emkit {totals['emkit']:.2f} s"
    if with_r:
        summary += (f", mclust {totals['mclust']:.2f} s (emkit / mclust "
                    f"{fmt(totals['emkit'] / totals['mclust'], '.2f')}); cells within "
                    f"{BIC_TOLERANCE} of mclust or better: {all_good}/{all_cells} "
                    f"({all_good / max(all_cells, 1):.1%})")
    if with_prior:
        summary += f"; emkit with prior='default' {totals['prior']:.2f} s"
    print(summary)
    return rows


if __name__ == "__main__":
    main()
