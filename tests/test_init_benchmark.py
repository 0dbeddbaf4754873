"""Smoke test of benchmarks/bench_init.py: it runs, and its figures are sound."""

import math

from _benchmarks import load_benchmark


def test_quick_benchmark():
    bench = load_benchmark("bench_init")
    rows = bench.main(["--quick", "--threads", "1"])
    fits = [r for r in rows if "start_cost" not in r]
    per_case = len(bench.SKLEARN_INITS) + len(bench.EMKIT_INITS)
    assert len(fits) == len(bench.DATASETS) * per_case
    for row in fits:
        assert row["seconds"] > 0
        assert math.isinf(row["best_sound_bic"]) or math.isfinite(row["best_sound_bic"])
    iris = {(r["library"], r["init"]): r["best_sound_bic"] for r in fits
            if r["dataset"] == "iris" and r["G"] == 2}
    # mclust's VVV BIC for iris at G=2 is -574.0178 (its sign)
    assert abs(iris[("emkit", "hierarchical")] - 574.0178) < 0.05
    costs = [r for r in rows if "start_cost" in r]
    assert {r["init"] for r in costs} == {"kmeans", "hierarchical"}
