"""emkit's k-means start against scikit-learn's KMeans, in the same run.

The k-means call alone (``emkit.mixture._kmeans.kmeans``, what GaussianMixture's and the
HMMs' k-means starts run below 20,000 rows) against ``sklearn.cluster.KMeans(...).fit``
from the same RandomState seed, on the data of the small-fit benchmarks:

* iris (150 x 4), K=3, n_init=1 (``bench_gmm.py --parts whole-fit``);
* blobs (700 x 10), K=8, n_init=1 (the same);
* the HMM small fits' rows (10 sequences of 50, 4 features), K=4, n_init=10 (hmmlearn's
  ``KMeans(n_init=10)`` start, ``bench_hmm.py --parts small-fits``).

Median seconds per call over alternating samples (each sample repeats the call as often as
one call of each library fits in MIN_SAMPLE_SECONDS; the generators are made outside the
timing), the ratio, and whether the
labels are scikit-learn's.

    python benchmarks/bench_kmeans.py            # 15 samples of each
    python benchmarks/bench_kmeans.py --quick    # 2 samples, smaller data
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gmm import make_data  # noqa: E402
from bench_hmm import small_data  # noqa: E402

#: One call of each library fits this many times into a timing sample.
MIN_SAMPLE_SECONDS = 0.05
SEED = 0


def cases(quick: bool) -> list:
    """(name, X, n_clusters, n_init) of each row."""
    from sklearn.datasets import load_iris

    blobs = make_data(700 // 3 if quick else 700, 10, 8)
    hmm_rows, _ = small_data(quick)
    return [("iris", load_iris().data, 3, 1), ("blobs", blobs, 8, 1),
            ("hmm small fits", hmm_rows, 4, 10)]


def _emkit(X, n_clusters, n_init, rng):
    from emkit.mixture._kmeans import kmeans

    return kmeans(X, n_clusters, None, rng, n_init=n_init)[1]


def _sklearn(X, n_clusters, n_init, rng):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters, n_init=n_init, random_state=rng).fit(X).labels_


def _median_seconds(runs: dict, repeats: int) -> dict:
    """Median seconds of one call of each ``runs[name](rng)`` (alternating order)."""
    for run in runs.values():
        run(np.random.RandomState(SEED))  # compilation and first-call costs not counted
    t0 = time.perf_counter()
    for run in runs.values():
        run(np.random.RandomState(SEED))
    calls = max(1, int(MIN_SAMPLE_SECONDS / max(time.perf_counter() - t0, 1e-9)))
    times = {name: [] for name in runs}
    for r in range(repeats):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            rngs = [np.random.RandomState(SEED) for _ in range(calls)]
            gc.disable()
            t0 = time.perf_counter()
            for rng in rngs:
                runs[name](rng)
            times[name].append((time.perf_counter() - t0) / calls)
            gc.enable()
    return {name: statistics.median(values) for name, values in times.items()}


def rows(*, repeats: int, quick: bool) -> list:
    """One row per case: median seconds of both, the ratio, whether the labels agree."""
    out = []
    for name, X, n_clusters, n_init in cases(quick):
        runs = {library: (lambda rng, f=f: f(X, n_clusters, n_init, rng))
                for library, f in (("emkit", _emkit), ("sklearn", _sklearn))}
        seconds = _median_seconds(runs, repeats)
        same = bool(np.array_equal(runs["emkit"](np.random.RandomState(SEED)),
                                   runs["sklearn"](np.random.RandomState(SEED))))
        out.append({"case": name, "n_samples": X.shape[0], "n_features": X.shape[1],
                    "n_clusters": n_clusters, "n_init": n_init,
                    "emkit_s": seconds["emkit"], "sklearn_s": seconds["sklearn"],
                    "speedup": seconds["sklearn"] / seconds["emkit"], "same_labels": same})
    return out


def format_report(table: list, *, repeats: int) -> str:
    lines = [f"k-means start, emkit vs scikit-learn KMeans (median of {repeats} samples)",
             f"{'case':16} {'rows x cols':>11} {'K':>3} {'n_init':>6} {'emkit ms':>9} "
             f"{'sklearn ms':>10} {'speed-up':>8} {'same labels':>11}"]
    for row in table:
        shape = f"{row['n_samples']} x {row['n_features']}"
        lines.append(f"{row['case']:16} {shape:>11} {row['n_clusters']:>3} {row['n_init']:>6} "
                     f"{row['emkit_s'] * 1e3:>9.3f} {row['sklearn_s'] * 1e3:>10.3f} "
                     f"{row['speedup']:>8.2f} {str(row['same_labels']):>11}")
    return "\n".join(lines)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timing samples of each")
    parser.add_argument("--quick", action="store_true", help="2 samples, smaller data")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    table = rows(repeats=repeats, quick=args.quick)
    print(format_report(table, repeats=repeats))
    return table


if __name__ == "__main__":
    main()
