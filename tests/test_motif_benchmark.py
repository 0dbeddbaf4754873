"""Smoke test of benchmarks/bench_motif.py: it runs, rows are complete, strong motifs are
recovered in every seed."""

import math

from _benchmarks import load_benchmark


def test_quick_benchmark():
    bench = load_benchmark("bench_motif")
    rows = bench.main(["--quick", "--strengths", "0.95"])
    keys = [(r["model"], r["strength"], r["length"], r["seed"]) for r in rows]
    assert sorted(keys) == sorted((m, 0.95, 60, s) for m in ("oops", "zoops")
                                  for s in range(2))
    for row in rows:
        assert 0 <= row["precision"] <= 1 and 0 <= row["pwm_distance"] <= 1
        assert math.isfinite(row["log10_evalue"]) and row["seconds"] > 0
        assert row["planted_sites"] == (10 if row["model"] == "oops" else 7)
        # strong motifs: recovered in every seed
        assert row["recovered"] and row["recall"] >= 0.9, row
