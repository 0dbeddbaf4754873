"""Start-up: what every ``emkit`` command and every fresh Python session pays first.

Each case runs ``--repeats`` times in a fresh Python process (the cases alternate, so load
on the machine falls on all of them alike); the table shows the median wall-clock seconds
of the whole process and the ratios the targets are about:

- ``emkit --help`` (the console entry, ``python -m emkit.cli --help``): target under 0.5 s;
- ``import emkit`` against ``import sklearn.mixture``: target at most 0.3 s more;
- the first GaussianMixture fit in a fresh process (1,000 x 2, K=3, kernels from the
  on-disk cache): the ``fit`` call alone, timed inside the process, target under 1 s. The
  whole process (import, fit and exit) is shown beside scikit-learn's for comparison, and
  the import of the estimator class against ``from sklearn.mixture import
  GaussianMixture``.

    python benchmarks/bench_startup.py              # 7 repeats
    python benchmarks/bench_startup.py --smoke      # 1 repeat (the test's size)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, table  # noqa: E402

_FIT = ("import time\n"
        "start = time.perf_counter()\n"
        "import numpy as np\n"
        "from {module} import GaussianMixture\n"
        "imported = time.perf_counter()\n"
        "X = np.random.default_rng(0).normal(size=(1000, 2))\n"
        "model = GaussianMixture(3, random_state=0)\n"
        "before_fit = time.perf_counter()\n"
        "model.fit(X)\n"
        "print('timed import', imported - start, 'fit', time.perf_counter() - before_fit)\n")

CASES = {
    "emkit --help": ["-m", "emkit.cli", "--help"],
    "import emkit": ["-c", "import emkit"],
    "import sklearn.mixture": ["-c", "import sklearn.mixture"],
    "first fit, emkit": ["-c", _FIT.format(module="emkit")],
    "first fit, scikit-learn": ["-c", _FIT.format(module="sklearn.mixture")],
}


def seconds_of(args) -> tuple:
    """Wall-clock seconds of one fresh ``python ARGS`` process (it must succeed), and the
    ``name seconds`` pairs of its ``timed`` line (the fit cases time their import and fit)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    timed = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("timed ")]
    words = timed[0] if timed else []
    return seconds, {name: float(value) for name, value in zip(words[::2], words[1::2])}


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="one repeat of each case")
    args = parser.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats
    seconds_of(CASES["first fit, emkit"])  # fills the on-disk kernel cache the cases read
    times = {name: [] for name in CASES}
    inside = {name: {"import": [], "fit": []} for name in CASES if name.startswith("first fit")}
    for _ in range(repeats):
        for name, case in CASES.items():
            seconds, printed = seconds_of(case)
            times[name].append(seconds)
            for part, values in inside.get(name, {}).items():
                values.append(printed[part])
    rows = [{"case": name, "seconds": statistics.median(values)}
            for name, values in times.items()]
    for row in rows:
        for part, values in inside.get(row["case"], {}).items():
            row[f"{part}_seconds"] = statistics.median(values)
    median = {row["case"]: row for row in rows}
    emkit_fit, sklearn_fit = median["first fit, emkit"], median["first fit, scikit-learn"]
    rows[0]["note"] = "target < 0.5 s"
    import_gap = median["import emkit"]["seconds"] - median["import sklearn.mixture"]["seconds"]
    class_import_gap = emkit_fit["import_seconds"] - sklearn_fit["import_seconds"]
    rows[1]["note"] = (f"{import_gap:+.2f} s "
                       "vs sklearn.mixture (target <= +0.3 s)")
    rows[3]["note"] = (f"fit call {emkit_fit['fit_seconds']:.3f} s (target < 1 s); "
                       f"class import {class_import_gap:+.2f} s; "
                       f"process {emkit_fit['seconds'] / sklearn_fit['seconds']:.2f}x scikit-learn")
    rows[4]["note"] = f"fit call {sklearn_fit['fit_seconds']:.3f} s"
    print(f"start-up, median of {repeats} fresh processes each")
    print(table([("case", "case", "s", 24), ("seconds", "seconds", ".3f", 8),
                 ("", "note", "s", 72)], rows))
    print(load_note())
    return rows


if __name__ == "__main__":
    main()
