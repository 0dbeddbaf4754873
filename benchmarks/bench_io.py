"""Reading a CSV table: emkit's reader (emkit._data_files.read_table, what every ``emkit``
command uses) against ``pandas.read_csv``, same file, same run.

A file of ``--rows`` x ``--cols`` normal numbers (default 2,000,000 x 8, as
``DataFrame.to_csv`` writes them, with a header) is written to a temporary folder. Each
reader then reads it ``--repeats`` times, each time in a fresh Python process (so that
neither the page cache of a previous parse nor a previous peak hides in the figures; the
two readers alternate). Per read: the seconds of the read alone (imports excluded) and the
peak resident memory the read added (``ru_maxrss`` after the read less before it). The
table shows the medians and emkit / pandas as ratios; the acceptance (from the issue) is at
most 1.5x pandas' seconds and about 1.5x its peak memory.

    python benchmarks/bench_io.py            # 2,000,000 x 8
    python benchmarks/bench_io.py --smoke    # 20,000 x 8, one read each (the test's size)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_note, table  # noqa: E402

READERS = {
    "emkit": "from emkit._data_files import read_table\n"
             "X = read_table(PATH)[0]\n"
             "shape = X.shape",
    "pandas": "import pandas as pd\n"
              "frame = pd.read_csv(PATH)\n"
              "shape = frame.shape",
}

_PROBE = """
import json, resource, sys, time
import numpy, pandas, emkit._data_files  # imports are not part of the read
PATH = sys.argv[1]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mb": (after - before) / 1024,
                   "shape": list(shape)}}))
"""


def write_table(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    """``rows`` x ``cols`` standard normal numbers as CSV with a header, written in blocks."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = [f"x{j}" for j in range(cols)]
    block = 250_000
    with open(path, "w", newline="") as f:
        for start in range(0, rows, block):
            values = rng.standard_normal((min(block, rows - start), cols))
            pd.DataFrame(values, columns=names).to_csv(f, index=False, header=start == 0)


def read_once(reader: str, path: Path) -> dict:
    """One read by ``reader`` in a fresh process: seconds, peak MB added, shape."""
    code = _PROBE.format(code=READERS[reader])
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{reader} failed: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows (default 2,000,000)")
    parser.add_argument("--cols", type=int, default=8, help="columns (default 8)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="reads per reader, each in a fresh process (default 3)")
    parser.add_argument("--smoke", action="store_true",
                        help="a small file (20,000 rows) read once by each reader")
    args = parser.parse_args(argv)
    rows = args.rows or (20_000 if args.smoke else 2_000_000)
    repeats = args.repeats or (1 if args.smoke else 3)
    if rows < 1 or args.cols < 1 or repeats < 1:
        parser.error("--rows, --cols and --repeats must be >= 1")
    with tempfile.TemporaryDirectory(prefix="emkit-bench-io-") as folder:
        path = Path(folder) / "table.csv"
        write_table(path, rows, args.cols)
        size_mb = path.stat().st_size / 2**20
        reads = {name: [] for name in READERS}
        for _ in range(repeats):
            for name in READERS:
                reads[name].append(read_once(name, path))
    results = []
    for name, runs in reads.items():
        if any(run["shape"] != [rows, args.cols] for run in runs):
            raise RuntimeError(f"{name} read shape {runs[0]['shape']}, expected "
                               f"{[rows, args.cols]}")
        results.append(dict(reader=name, rows=rows, cols=args.cols, file_mb=size_mb,
                            seconds=statistics.median(r["seconds"] for r in runs),
                            peak_mb=statistics.median(r["peak_mb"] for r in runs)))
    emkit_row, pandas_row = results
    for row in results:
        row["time_ratio"] = row["seconds"] / pandas_row["seconds"]
        row["memory_ratio"] = (row["peak_mb"] / pandas_row["peak_mb"]
                               if pandas_row["peak_mb"] > 0 else float("nan"))
    print(f"CSV reading: {rows:,} x {args.cols} numbers, {size_mb:.1f} MiB; median of "
          f"{repeats} read{'s' if repeats > 1 else ''} per reader, each in a fresh process")
    print(load_note())
    print(table([("reader", "reader", "s", 8), ("seconds", "seconds", ".3f", 9),
                 ("x pandas", "time_ratio", ".2f", 8),
                 ("peak MB added", "peak_mb", ".1f", 13),
                 ("x pandas", "memory_ratio", ".2f", 8)], results))
    print(f"emkit / pandas: {emkit_row['time_ratio']:.2f}x the seconds, "
          f"{emkit_row['memory_ratio']:.2f}x the peak memory (acceptance: <= 1.5x, ~1.5x)")
    return results


if __name__ == "__main__":
    main()
