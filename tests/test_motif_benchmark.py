"""Smoke test of benchmarks/bench_motif.py: it runs, rows are complete, strong motifs are
recovered in every seed."""

import importlib.util
import math
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_motif.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("emkit_bench_motif", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark():
    bench = load_bench()
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
