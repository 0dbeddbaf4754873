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


@pytest.fixture(scope="module")
def quick_run():
    bench = load_bench()
    # One thread: a smoke test, and BLAS threads thrash when pytest-xdist workers share cores.
    return bench, bench.main(["--quick", "--threads", "1", "--cases", "wide-n,mid,high-d",
                              "--covariance", ",".join(COVARIANCE_TYPES)])


def _positive_finite(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_benchmark_rows(quick_run):
    bench, rows = quick_run
    keys = {(r["case"], r["covariance_type"], r["dtype"]) for r in rows}
    expected = {(case, cov, "float64") for case in bench.CASES for cov in COVARIANCE_TYPES}
    expected |= {("mid", "full", "float32"), ("high-d", "full", "float32")}
    assert keys == expected
    assert len(rows) == len(keys)
    for row in rows:
        case = bench.CASES[row["case"]]
        assert row["n_samples"] == case.quick_samples
        assert (row["n_features"], row["n_components"]) == (case.n_features,
                                                           case.n_components)
        for key in ("kmeans_init_s", "emkit_s_per_iter", "sklearn_s_per_iter", "speedup",
                    "emkit_peak_mb", "sklearn_peak_mb"):
            assert _positive_finite(row[key]), (key, row)
        for key in ("emkit_lower_bound", "sklearn_lower_bound"):
            assert math.isfinite(row[key]), (key, row)


def test_quick_benchmark_lower_bounds_agree(quick_run):
    _, rows = quick_run
    for row in rows:
        tolerance = 1e-6 if row["dtype"] == "float64" else 1e-4
        relative = (abs(row["emkit_lower_bound"] - row["sklearn_lower_bound"])
                    / max(1.0, abs(row["sklearn_lower_bound"])))
        assert relative <= tolerance, row
        assert row["lower_bound_rel_diff"] == pytest.approx(relative)


def test_quick_benchmark_float32_rows_compared(quick_run):
    _, rows = quick_run
    float32 = [r for r in rows if r["dtype"] == "float32"]
    assert float32
    for row in float32:
        assert _positive_finite(row["f32_speedup_vs_f64"])
        assert _positive_finite(row["sklearn_f32_speedup_vs_f64"])
        assert 0 <= row["f32_lower_bound_rel_diff_vs_f64"] <= 1e-4


def test_report_printed(quick_run, capsys):
    bench, rows = quick_run
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
