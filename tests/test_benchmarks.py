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


# -- benchmarks/bench_hmm.py -----------------------------------------------------------------
BENCH_HMM = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_hmm.py"


def load_bench_hmm():
    spec = importlib.util.spec_from_file_location("emkit_bench_hmm", BENCH_HMM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_hmm_benchmark():
    # One thread, as for the GMM benchmark: a smoke test sharing the cores with xdist.
    bench = load_bench_hmm()
    rows = bench.main(["--quick", "--threads", "1", "--cases", ",".join(bench.CASES)])

    assert [r["case"] for r in rows] == list(bench.CASES)
    for row in rows:
        assert (row["n_sequences"], row["length"], row["n_components"]) == (
            bench.QUICK_SEQUENCES, bench.QUICK_LENGTH, bench.QUICK_STATES)
        assert row["n_iter"] == 3 and row["repeats"] == 1
        for key in ("emkit_s_per_iter", "hmmlearn_s_per_iter", "speedup", "emkit_peak_mb",
                    "hmmlearn_peak_mb"):
            assert _positive_finite(row[key]), (key, row)
        # Same initial parameters and iterations: the same fit, up to round-off.
        emkit_ll, hmmlearn_ll = row["emkit_loglik"], row["hmmlearn_loglik"]
        assert math.isfinite(emkit_ll) and math.isfinite(hmmlearn_ll), row
        relative = abs(emkit_ll - hmmlearn_ll) / max(1.0, abs(hmmlearn_ll))
        assert relative <= 1e-6, row
        assert row["loglik_rel_diff"] == pytest.approx(relative, abs=1e-300)
        assert row["meets_target"] == (row["speedup"] >= bench.TARGET_SPEEDUP)

    report = bench.format_report(rows, iters=3, repeats=1, memory=True)
    for label in ("emkit s/iter", "hmmlearn s/iter", "speed-up", "emkit loglik",
                  "hmmlearn loglik", "emkit peak MB", "hmmlearn peak MB"):
        assert label in report
    assert report.splitlines()[-1].startswith("target emkit >= 5x")
    for name in bench.CASES:
        assert name in report.splitlines()[-1]


def test_hmm_benchmark_options():
    bench = load_bench_hmm()
    args = bench.parse_args(["--cases", "categorical,gaussian-full", "--iters", "4",
                             "--repeats", "2", "--no-memory"])
    assert (args.cases, args.iters, args.repeats, args.no_memory) == (
        ["categorical", "gaussian-full"], 4, 2, True)
    assert args.threads is None and args.hmmlearn_implementation == "log"
    default = bench.parse_args([])
    assert default.cases == list(bench.CASES) and default.iters == 5 and default.repeats == 3
    quick = bench.parse_args(["--quick"])
    assert quick.iters == 3 and quick.repeats == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--cases", "nope"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--iters", "0"])
