"""Smoke test of benchmarks/bench_gmm.py: it runs, and emkit matches scikit-learn."""

import importlib.util
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_gmm.py"
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def load_bench():
    spec = importlib.util.spec_from_file_location("emkit_bench_gmm", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _positive_finite(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_benchmark():
    # One test, not several sharing a module fixture: under pytest-xdist a shared fixture
    # would run the benchmark once per worker. One thread: a smoke test, and BLAS threads
    # thrash when xdist workers share the cores.
    bench = load_bench()
    rows = bench.main(["--quick", "--threads", "1", "--cases", "wide-n,mid,high-d",
                       "--covariance", ",".join(COVARIANCE_TYPES)])

    # one row per (case, covariance type, dtype), float32 rows for mid/high-d full
    keys = [(r["case"], r["covariance_type"], r["dtype"]) for r in rows]
    expected = {(case, cov, "float64") for case in bench.CASES for cov in COVARIANCE_TYPES}
    expected |= {("mid", "full", "float32"), ("high-d", "full", "float32")}
    assert set(keys) == expected and len(keys) == len(expected)

    for row in rows:
        case = bench.CASES[row["case"]]
        assert row["n_samples"] == case.quick_samples
        assert (row["n_features"], row["n_components"]) == (case.n_features,
                                                           case.n_components)
        for key in ("kmeans_init_s", "emkit_s_per_iter", "sklearn_s_per_iter", "speedup",
                    "emkit_peak_mb", "sklearn_peak_mb"):
            assert _positive_finite(row[key]), (key, row)
        # Same initial parameters and iterations: the same fit, up to round-off.
        emkit_lb, sklearn_lb = row["emkit_lower_bound"], row["sklearn_lower_bound"]
        assert math.isfinite(emkit_lb) and math.isfinite(sklearn_lb), row
        relative = abs(emkit_lb - sklearn_lb) / max(1.0, abs(sklearn_lb))
        assert relative <= (1e-6 if row["dtype"] == "float64" else 1e-4), row
        assert row["lower_bound_rel_diff"] == pytest.approx(relative, abs=1e-300)

    for row in rows:
        if row["dtype"] == "float32":
            assert _positive_finite(row["f32_speedup_vs_f64"]), row
            assert _positive_finite(row["sklearn_f32_speedup_vs_f64"]), row
            assert 0 <= row["f32_lower_bound_rel_diff_vs_f64"] <= 1e-4, row
        else:
            assert row["f32_speedup_vs_f64"] is None

    report = bench.format_report(rows, iters=3, repeats=1, memory=True)
    for label in ("emkit s/iter", "sklearn s/iter", "speed-up", "kmeans init s",
                  "emkit peak MB", "float32 vs float64"):
        assert label in report
    assert len(report.splitlines()) > len(rows)


def test_machine_note_and_options():
    bench = load_bench()
    note = bench.machine_note()
    assert "cores" in note and "numba" in note and "threads" in note
    args = bench.parse_args(["--cases", "mid", "--covariance", "full,diag", "--iters", "4",
                             "--repeats", "2", "--no-memory"])
    assert (args.cases, args.covariance, args.iters, args.repeats, args.no_memory) == (
        ["mid"], ["full", "diag"], 4, 2, True)
    assert args.threads is None
    quick = bench.parse_args(["--quick", "--threads", "1"])
    assert quick.iters == 3 and quick.repeats == 1 and quick.threads == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--cases", "nope"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--covariance", "full,banana"])
