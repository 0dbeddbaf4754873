"""Smoke test of benchmarks/bench_mclust.py: emkit's mclust grid, against R where present."""

import math

from _benchmarks import load_benchmark


def test_smoke_benchmark_runs_the_grid_and_prints_the_total(capsys):
    bench = load_benchmark("bench_mclust")
    rows = bench.main(["--quick"])
    assert {row["data"] for row in rows} == {"iris"}
    assert [row["prior"] for row in rows] == [None, "default"]  # both prior settings
    row = rows[0]
    assert row["cells"] > 0 and math.isfinite(row["emkit_seconds"])
    assert row["chosen"][1] in (1, 2, 3)
    out = capsys.readouterr().out
    assert "total: emkit" in out and "total with prior='default': emkit" in out
    if "mclust_chosen" in row:  # R with mclust installed: the same choice on iris
        assert row["chosen"][:2] == row["mclust_chosen"][:2]
        assert row["within"] == row["cells"]
