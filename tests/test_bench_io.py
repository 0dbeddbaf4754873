"""Smoke test of benchmarks/bench_io.py: emkit's CSV reader against pandas.read_csv."""

import math

from _benchmarks import load_benchmark


def test_smoke_benchmark_reads_the_same_table_and_prints_ratios(capsys):
    bench = load_benchmark("bench_io")
    rows = bench.main(["--smoke"])
    assert [row["reader"] for row in rows] == ["emkit", "pandas"]
    for row in rows:
        assert (row["rows"], row["cols"]) == (20_000, 8)
        assert math.isfinite(row["seconds"]) and row["seconds"] > 0
        assert math.isfinite(row["peak_mb"]) and row["peak_mb"] >= 0
        assert math.isfinite(row["time_ratio"]) and row["time_ratio"] > 0
    assert rows[1]["time_ratio"] == 1.0
    out = capsys.readouterr().out
    assert "20,000 x 8" in out and "emkit / pandas:" in out and "x pandas" in out
