"""Smoke test of benchmarks/bench_startup.py: fresh-process start-up against scikit-learn."""

import math

from _benchmarks import load_benchmark


def test_smoke_benchmark_times_every_case_and_prints_the_targets(capsys):
    rows = load_benchmark("bench_startup").main(["--smoke"])
    assert [row["case"] for row in rows] == ["emkit --help", "import emkit",
                                             "import sklearn.mixture", "first fit, emkit",
                                             "first fit, scikit-learn"]
    assert all(math.isfinite(row["seconds"]) and row["seconds"] > 0 for row in rows)
    out = capsys.readouterr().out
    assert "vs sklearn.mixture" in out and "x scikit-learn" in out and "fit call" in out
    emkit_fit = rows[3]
    assert 0 < emkit_fit["fit_seconds"] < emkit_fit["seconds"]
    assert 0 < emkit_fit["import_seconds"] < emkit_fit["seconds"]
