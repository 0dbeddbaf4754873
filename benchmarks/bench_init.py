"""Initialisation benchmark: how good a start does each method give, and at what cost?

For each dataset and number of components G (full covariances), every method fits the data
and the table reports the best BIC (scikit-learn's sign: lower is better) among its fits
that are NOT degenerate (emkit's rule, :mod:`emkit.mixture._degeneracy`, applied to every
fit of both libraries), whether its overall best fit was degenerate, and the seconds taken.

Methods:

* scikit-learn's four inits (kmeans, k-means++, random, random_from_data): ``--restarts``
  separate fits each (random_state 0, 1, ...), every one checked for degeneracy;
* emkit's same four with ``n_init=--restarts`` (the guard picks the best sound restart);
* emkit ``hierarchical`` (mclust's start, one run) and ``em-em`` (n_init = restarts / 20,
  at least 1).

Datasets: iris (150 x 4) and ``overlap``: 1000 rows in 3-D from five overlapping Gaussian
components with unequal weights (0.35, 0.25, 0.2, 0.12, 0.08) and random covariances.

A last table times the starting point alone on 200,000 rows (5 well-separated clusters):
the hierarchical start (on its 2,000-row subsample) next to k-means.

Seconds depend on the machine and its load: compare them within one run.

Usage::

    python benchmarks/bench_init.py                 # full (minutes)
    python benchmarks/bench_init.py --quick         # tiny (smoke test)
    python benchmarks/bench_init.py --datasets iris --components 4,5 --restarts 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import choices, fmt, load_note, run_with_threads  # noqa: E402

DATASETS = ("iris", "overlap")
SKLEARN_INITS = ("kmeans", "k-means++", "random", "random_from_data")
EMKIT_INITS = SKLEARN_INITS + ("hierarchical", "em-em")


def load(name: str) -> np.ndarray:
    if name == "iris":
        from sklearn.datasets import load_iris
        return load_iris().data
    rng = np.random.RandomState(0)
    weights = np.array([0.35, 0.25, 0.2, 0.12, 0.08])
    counts = rng.multinomial(1000, weights)
    parts = []
    for k, n in enumerate(counts):
        A = rng.randn(3, 3) * 0.7
        parts.append(rng.randn(n, 3) @ A + rng.randn(3) * 1.6)
    return np.vstack(parts)


def is_degenerate(model, n_samples: int) -> bool:
    from emkit.mixture._covariance import covariance_model
    from emkit.mixture._degeneracy import degenerate_components
    from emkit.mixture._gaussian_problem import GaussianMixtureParams

    theta = GaussianMixtureParams(model.weights_, model.means_, model.covariances_, None)
    return degenerate_components(covariance_model(model.covariance_type), theta, n_samples,
                                 model.reg_covar).size > 0


def sklearn_best(X, G, init, restarts):
    """Best sound BIC of ``restarts`` scikit-learn fits, whether the overall best was
    degenerate, and the seconds."""
    from sklearn.mixture import GaussianMixture

    sound, overall, overall_degenerate = np.inf, np.inf, False
    start = time.perf_counter()
    for seed in range(restarts):
        model = GaussianMixture(G, init_params=init, random_state=seed).fit(X)
        bic = model.bic(X)
        degenerate = is_degenerate(model, len(X))
        if not degenerate:
            sound = min(sound, bic)
        if bic < overall:
            overall, overall_degenerate = bic, degenerate
    return sound, overall_degenerate, time.perf_counter() - start


def emkit_best(X, G, init, restarts):
    from emkit import GaussianMixture

    n_init = {"hierarchical": 1, "em-em": max(1, restarts // 20)}.get(init, restarts)
    start = time.perf_counter()
    model = GaussianMixture(G, init_params=init, n_init=n_init, random_state=0).fit(X)
    seconds = time.perf_counter() - start
    bic = model.bic(X)
    return (np.inf if model.degenerate_ else bic), model.degenerate_, seconds, n_init


def bench(args) -> list:
    rows = []
    for name in args.datasets:
        X = load(name)
        for G in args.components:
            for init in SKLEARN_INITS:
                sound, degenerate, seconds = sklearn_best(X, G, init, args.restarts)
                rows.append(dict(dataset=name, G=G, library="scikit-learn", init=init,
                                 restarts=args.restarts, best_sound_bic=sound,
                                 best_was_degenerate=degenerate, seconds=seconds))
            for init in EMKIT_INITS:
                sound, degenerate, seconds, n_init = emkit_best(X, G, init, args.restarts)
                rows.append(dict(dataset=name, G=G, library="emkit", init=init,
                                 restarts=n_init, best_sound_bic=sound,
                                 best_was_degenerate=degenerate, seconds=seconds))
    return rows


def start_costs(n_samples: int) -> list:
    from emkit import GaussianMixture

    rng = np.random.RandomState(1)
    X = rng.randn(n_samples, 4) + np.repeat(rng.randn(5, 4) * 5, n_samples // 5, axis=0)
    rows = []
    for init in ("kmeans", "hierarchical"):
        start = time.perf_counter()
        GaussianMixture(5, init_params=init, max_iter=0, random_state=0).fit(X)
        rows.append(dict(init=init, n_samples=len(X), seconds=time.perf_counter() - start))
    return rows


def report(rows, costs) -> str:
    lines = ["dataset   G  library       init              restarts  best sound BIC  "
             "best degenerate  seconds"]
    for r in rows:
        lines.append(f"{r['dataset']:<9} {r['G']:>2}  {r['library']:<12}  {r['init']:<16}  "
                     f"{r['restarts']:>8}  {fmt(r['best_sound_bic'], '14.2f')}  "
                     f"{str(bool(r['best_was_degenerate'])):>15}  {r['seconds']:7.2f}")
    lines.append("")
    lines.append("hierarchical / em-em against the best of scikit-learn's "
                 f"{len(SKLEARN_INITS)} x restarts fits (negative: emkit better):")
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        for G in dict.fromkeys(r["G"] for r in rows if r["dataset"] == dataset):
            case = [r for r in rows if r["dataset"] == dataset and r["G"] == G]
            peer = [r for r in case if r["library"] == "scikit-learn"]
            best_peer = min(r["best_sound_bic"] for r in peer)
            peer_seconds = sum(r["seconds"] for r in peer)
            for r in case:
                if r["library"] == "emkit" and r["init"] in ("hierarchical", "em-em"):
                    lines.append(
                        f"  {dataset:<8} G={G}  {r['init']:<12}  BIC - best peer = "
                        f"{r['best_sound_bic'] - best_peer:+8.2f}   time ratio (emkit / all "
                        f"peer fits) = {r['seconds'] / peer_seconds:.3f}")
    lines.append("")
    lines.append("starting point alone (no EM iteration):")
    for c in costs:
        lines.append(f"  {c['init']:<12} {c['n_samples']:>8} rows  {c['seconds']:.2f} s")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--datasets", type=lambda s: choices(s, DATASETS, "dataset"),
                        default=list(DATASETS))
    parser.add_argument("--components", type=lambda s: [int(v) for v in s.split(",")],
                        default=[2, 3, 4, 5, 6])
    parser.add_argument("--restarts", type=int, default=100)
    parser.add_argument("--start-rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.components, args.restarts, args.start_rows = [2], 2, 500
    return args


def main(argv=None) -> list:
    args = parse_args(argv)

    def run(args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence / degeneracy of single restarts
            rows = bench(args)
            costs = start_costs(args.start_rows)
        print(report(rows, costs))
        print(load_note())
        return rows + [dict(start_cost=True, **c) for c in costs]

    return run_with_threads(run, args, lambda: None)


if __name__ == "__main__":
    main()
