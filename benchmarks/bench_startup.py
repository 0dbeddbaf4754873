"""Start-up: what every ``emkit`` command and every fresh Python session pays first.

Each case runs ``--repeats`` times in a fresh Python process (the cases alternate, so load
on the machine falls on all of them alike); the table shows the median wall-clock seconds
of the whole process and the ratios the targets are about:

- ``emkit --help`` (the console entry, ``python -m emkit.cli --help``): target under 0.5 s;
- ``import emkit`` against ``import sklearn.mixture``: target at most 0.3 s more;
- the first GaussianMixture fit (1,000 x 2, K=3, kernels from the on-disk cache), import
  included, against scikit-learn's: target under 1 s.

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

_FIT = ("import numpy as np\n"
        "from {module} import GaussianMixture\n"
        "X = np.random.default_rng(0).normal(size=(1000, 2))\n"
        "GaussianMixture(3, random_state=0).fit(X)\n")

CASES = {
    "emkit --help": ["-m", "emkit.cli", "--help"],
    "import emkit": ["-c", "import emkit"],
    "import sklearn.mixture": ["-c", "import sklearn.mixture"],
    "first fit, emkit": ["-c", _FIT.format(module="emkit")],
    "first fit, scikit-learn": ["-c", _FIT.format(module="sklearn.mixture")],
}


def seconds_of(args) -> float:
    """Wall-clock seconds of one fresh ``python ARGS`` process (it must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="one repeat of each case")
    args = parser.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats
    seconds_of(CASES["first fit, emkit"])  # fills the on-disk kernel cache the cases read
    times = {name: [] for name in CASES}
    for _ in range(repeats):
        for name, case in CASES.items():
            times[name].append(seconds_of(case))
    rows = [{"case": name, "seconds": statistics.median(values)}
            for name, values in times.items()]
    median = {row["case"]: row["seconds"] for row in rows}
    rows[0]["note"] = "target < 0.5 s"
    rows[1]["note"] = (f"{median['import emkit'] - median['import sklearn.mixture']:+.2f} s "
                       "vs sklearn.mixture (target <= +0.3 s)")
    rows[3]["note"] = (f"{median['first fit, emkit'] / median['first fit, scikit-learn']:.2f}x"
                       " scikit-learn (target < 1 s)")
    print(f"start-up, median of {repeats} fresh processes each")
    print(table([("case", "case", "s", 24), ("seconds", "seconds", ".3f", 8),
                 ("", "note", "s", 40)], rows))
    print(load_note())
    return rows


if __name__ == "__main__":
    main()
