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
GaussianMixture takes ``prior``, every grid runs again with ``prior="default"`` against
``Mclust(X, G, modelNames, prior = priorControl())`` (the models with a conjugate prior).
The last lines are the total times of the seven grids, per prior setting.

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
from emkit.mixture._select import (MCLUST_MODELS_WITHOUT_PRIOR,  # noqa: E402
                                   mclust_model_names)

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


def _cell(name, X, ks, reference, prior):
    """One data set under one prior setting: emkit's grid against mclust's answers
    (``reference`` or None); returns (row dict, table line, X)."""
    params = {} if prior is None else dict(prior=prior)
    result, seconds = emkit_grid(X, ks, **params)
    model, G, bic = chosen(result)
    row = dict(data=name, prior=prior, cells=len(result.table), chosen=(model, G, bic),
               emkit_seconds=seconds)
    label = name if prior is None else f"{name} (prior)"
    line = f"{label:<30} "
    if reference is not None:
        cells, good = agreement(result.table, reference["bic"])
        theirs = reference["best"]
        row.update(cells=cells, within=good, mclust_chosen=theirs,
                   mclust_seconds=reference["seconds"])
        line += (f"{cells:>5} {good / max(cells, 1):>7.1%} {f'{model},{G}: {bic:.2f}':>22} "
                 f"{f'{theirs[0]},{theirs[1]}: {theirs[2]:.2f}':>22} {seconds:>8.3f} "
                 f"{reference['seconds']:>8.3f}")
    else:
        line += (f"{len(result.table):>5} {'-':>7} {f'{model},{G}: {bic:.2f}':>22} "
                 f"{'-':>22} {seconds:>8.3f} {'-':>8}")
    return row, line


def main(argv=None) -> list:
    """Print the table; return its rows (dicts, one per data set and prior setting)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="iris, G = 1..3")
    parser.add_argument("--no-r", action="store_true", help="emkit alone, even with R")
    args = parser.parse_args(argv)
    with_r = not args.no_r and _mclust_r.available()
    settings = [None, "default"] if "prior" in GaussianMixture().get_params() else [None]
    print(f"mclust's model selection; {load_note()}")
    print("R with mclust: " + ("yes" if with_r else "no (emkit's timings alone)"))
    emkit_grid(np.random.RandomState(0).randn(30, 2), range(1, 3))  # compile the kernels
    print(f"{'data':<30} {'cells':>5} {'within':>7} {'emkit choice':>22} "
          f"{'mclust choice':>22} {'emkit s':>8} {'mclust s':>8}")
    rows = []
    for name, X, ks in datasets(args.quick, with_r):
        for prior in settings:
            reference = None
            if with_r:
                d = len(_mclust_r.reference(name)["X"][0]) if X is None else X.shape[1]
                models = [m for m in mclust_model_names(d)
                          if prior is None or m not in MCLUST_MODELS_WITHOUT_PRIOR]
                reference = _mclust_r.reference(name, ks, models, prior=prior is not None)
                X = reference["X"]
            row, line = _cell(name, X, ks, reference, prior)
            rows.append(row)
            print(line)
    for prior in settings:
        part = [row for row in rows if row["prior"] == prior]
        ours = sum(row["emkit_seconds"] for row in part)
        summary = (f"total{'' if prior is None else ' with prior=' + repr(prior)}: "
                   f"emkit {ours:.2f} s")
        if with_r:
            theirs = sum(row["mclust_seconds"] for row in part)
            cells = sum(row["cells"] for row in part)
            good = sum(row["within"] for row in part)
            summary += (f", mclust {theirs:.2f} s (emkit / mclust {fmt(ours / theirs, '.2f')});"
                        f" cells within {BIC_TOLERANCE} of mclust or better: {good}/{cells} "
                        f"({good / max(cells, 1):.1%})")
        print(summary)
    return rows


if __name__ == "__main__":
    main()
