"""Smoke test of benchmarks/bench_gmm.py: it runs, and emkit matches scikit-learn."""

import math
from pathlib import Path

import pytest

from _benchmarks import load_benchmark

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _positive_finite(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_benchmark():
    # One test, not several sharing a module fixture: under pytest-xdist a shared fixture
    # would run the benchmark once per worker. One thread: a smoke test, and BLAS threads
    # thrash when xdist workers share the cores.
    bench = load_benchmark("bench_gmm")
    rows = bench.main(["--quick", "--threads", "1", "--cases", "wide-n,mid,high-d",
                       "--covariance", ",".join(COVARIANCE_TYPES),
                       "--parts", "per-iteration"])["per-iteration"]

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


def test_quick_whole_fit_select_and_loaded_benchmark():
    """Whole fits on small data, select's grid, and per-iteration rows under load: one row
    each, emkit's fit as good as scikit-learn's from the same random_state."""
    bench = load_benchmark("bench_gmm")
    result = bench.main(["--quick", "--threads", "1", "--cases", "mid", "--covariance",
                         "full,spherical", "--parts", "whole-fit,select,loaded"])
    assert result["per-iteration"] == []
    whole, select = result["whole-fit"][:-1], result["whole-fit"][-1]
    assert [(r["case"], r["n_init"], r["covariance_type"]) for r in whole] == [
        (case.name, case.n_inits[0], cov) for case in bench.WHOLE_FIT_CASES
        for cov in ("full", "spherical")]
    assert whole[0]["n_samples"] == 150 and whole[0]["n_features"] == 4  # the iris data
    for row in whole:
        assert _positive_finite(row["emkit_s"]) and _positive_finite(row["sklearn_s"]), row
        assert row["lower_bound_gain"] == pytest.approx(
            row["emkit_lower_bound"] - row["sklearn_lower_bound"], abs=1e-300)
        # the same k-means start and EM: the same optimum up to round-off
        assert abs(row["lower_bound_gain"]) <= 1e-6 * max(1.0, abs(row["sklearn_lower_bound"]))
    assert select["n_components"] == "1..2" and select["covariance_type"] == "f+s"
    assert select["emkit_bic"] == pytest.approx(select["sklearn_bic"], rel=1e-6)
    assert [(r["case"], r["covariance_type"]) for r in result["loaded"]] == [
        ("mid", "full"), ("mid", "spherical")]
    for row in result["loaded"]:
        assert row["lower_bound_rel_diff"] <= 1e-6, row
    report = bench.format_whole_fit_report(result["whole-fit"], repeats=1)
    assert "target met" in report and "select small" in report
    assert bench._whole_fit_target_met({**select, "speedup": 3.0, "bic_gain": 0.0})
    assert not bench._whole_fit_target_met({**select, "speedup": 2.9, "bic_gain": 0.0})
    assert not bench._whole_fit_target_met({**select, "speedup": 9.0, "bic_gain": -1.0})


def test_one_core_busy_spins_and_stops():
    """The loaded rows' second process uses a core while the block runs, and is gone
    after it."""
    import resource
    import time

    bench = load_benchmark("bench_gmm")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    with bench.one_core_busy():
        time.sleep(0.3)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before > 0.01


def test_machine_note_and_options():
    bench = load_benchmark("bench_gmm")
    note = bench.machine_note()
    assert "cores" in note and "numba" in note and "threads" in note
    args = bench.parse_args(["--cases", "mid", "--covariance", "full,diag", "--iters", "4",
                             "--repeats", "2", "--no-memory"])
    assert (args.cases, args.covariance, args.iters, args.repeats, args.no_memory) == (
        ["mid"], ["full", "diag"], 4, 2, True)
    assert args.threads is None
    quick = bench.parse_args(["--quick", "--threads", "1"])
    assert quick.iters == 3 and quick.repeats == 1 and quick.threads == 1
    assert quick.parts == list(bench.PARTS)
    assert bench.parse_args(["--parts", "select,whole-fit"]).parts == ["select", "whole-fit"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--parts", "everything"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--cases", "nope"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--covariance", "full,banana"])


# -- benchmarks/bench_hmm.py -----------------------------------------------------------------


def test_quick_hmm_benchmark():
    # One thread, as for the GMM benchmark: a smoke test sharing the cores with xdist.
    bench = load_benchmark("bench_hmm")
    rows = bench.main(["--quick", "--threads", "1", "--cases", ",".join(bench.CASES),
                       "--parts", "per-iteration"])["per-iteration"]

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


def test_quick_hmm_small_fits_benchmark():
    """Many small whole fits and restarts: both libraries reach the same log-likelihoods
    (the same starts, the same EM)."""
    bench = load_benchmark("bench_hmm")
    result = bench.main(["--quick", "--threads", "1", "--parts", "small-fits"])
    assert result["per-iteration"] == []
    rows = result["small-fits"]
    assert [r["case"] for r in rows] == ["4 small fits", "2 restarts"]
    assert [r["n_fits"] for r in rows] == [4, 2]
    for row in rows:
        assert row["n_sequences"] == 3 and row["length"] == bench.SMALL_LENGTH
        assert _positive_finite(row["emkit_s"]) and _positive_finite(row["hmmlearn_s"]), row
        assert math.isfinite(row["emkit_loglik"]) and row["loglik_rel_diff"] <= 1e-6, row
        assert row["meets_target"] == (row["speedup"] >= bench.TARGET_SPEEDUP)
    report = bench.format_small_report(rows, repeats=1)
    assert "small fits" in report and report.splitlines()[-1].startswith("target emkit")


def test_hmm_benchmark_options():
    bench = load_benchmark("bench_hmm")
    args = bench.parse_args(["--cases", "categorical,gaussian-full", "--iters", "4",
                             "--repeats", "2", "--no-memory"])
    assert (args.cases, args.iters, args.repeats, args.no_memory) == (
        ["categorical", "gaussian-full"], 4, 2, True)
    assert args.threads is None and args.hmmlearn_implementation == "log"
    default = bench.parse_args([])
    assert default.cases == list(bench.CASES) and default.iters == 5 and default.repeats == 3
    assert default.parts == list(bench.PARTS)
    quick = bench.parse_args(["--quick"])
    assert quick.iters == 3 and quick.repeats == 1
    with pytest.raises(SystemExit):
        bench.parse_args(["--cases", "nope"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--iters", "0"])


# -- benchmarks/bench_impute.py --------------------------------------------------------------


def test_quick_impute_benchmark():
    # One thread, as for the other benchmarks: a smoke test sharing the cores with xdist.
    bench = load_benchmark("bench_impute")
    rows = bench.main(["--quick", "--threads", "1"])

    keys = [(r["dataset"], r["rate"], r["method"]) for r in rows]
    assert keys == [(d, bench.QUICK_RATE, m) for d in bench.DATASETS for m in bench.METHODS]
    for row in rows:
        assert row["n_samples"] == bench.QUICK_SAMPLES and row["n_seeds"] == 1, row
        assert row["n_failed"] == 0 and not row["errors"], row
        assert math.isfinite(row["rmse"]) and 0 < row["rmse"] < 2, row
        assert _positive_finite(row["seconds"]), row
        assert 0 < row["missing_fraction"] < 2 * bench.QUICK_RATE, row
    by = {(r["dataset"], r["method"]): r for r in rows}
    # Column means of standardised columns: RMSE about 1; the Gaussian data are correlated,
    # so the conditional mean under a fitted Gaussian does much better.
    assert by[("gaussian", "em")]["rmse"] < by[("gaussian", "mean")]["rmse"]
    assert by[("gaussian", "em")]["rmse"] < 0.8 * by[("gaussian", "mean")]["rmse"]
    assert by[("gaussian", "em")]["n_iter"] >= 1
    assert by[("gaussian", "em-mixture")]["n_iter"] <= bench.QUICK_MIXTURE_MAX_ITER

    report = bench.format_report(rows, seeds=[0])
    for label in ("RMSE", "seconds", "EMImputer", "EM mixture", "IterativeImputer",
                  "KNNImputer", "mean (SimpleImputer)"):
        assert label in report
    targets = [line for line in report.splitlines() if line.startswith("target ")]
    assert len(targets) == 3
    assert targets[0].startswith("target EMImputer RMSE < mean imputation RMSE everywhere: "
                                 "yes")


def test_impute_benchmark_pieces():
    import numpy as np

    bench = load_benchmark("bench_impute")
    args = bench.parse_args(["--datasets", "wine,gaussian", "--rates", "0.2,0.5",
                             "--seeds", "2", "--methods", "em,mean"])
    assert (args.datasets, args.rates, args.seeds, args.methods) == (
        ["wine", "gaussian"], [0.2, 0.5], 2, ["em", "mean"])
    default = bench.parse_args([])
    assert default.rates == [0.1, 0.3, 0.5] and default.seeds == 3
    assert default.datasets == list(bench.DATASETS) and default.em_tol is None
    quick = bench.parse_args(["--quick"])
    assert quick.rates == [bench.QUICK_RATE] and quick.seeds == 1
    for bad in (["--datasets", "iris"], ["--rates", "0"], ["--rates", "1.5"],
                ["--seeds", "0"], ["--methods", "em,magic"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)

    # Masks: no row and no column entirely missing, even at a high rate on few columns.
    rng = np.random.default_rng(0)
    mask = bench.mcar_mask((500, 3), 0.6, rng)
    assert not mask.all(axis=1).any() and not mask.all(axis=0).any()
    assert 0.4 < mask.mean() < 0.6  # below the rate: all-missing rows were re-drawn

    # The Gaussian data: a correlation matrix (unit diagonal, positive definite).
    corr = bench.gaussian_correlation()
    assert np.allclose(np.diag(corr), 1.0) and np.linalg.eigvalsh(corr).min() > 0
    # Real datasets standardised before masking.
    wine = bench.load_dataset("wine", 0).X
    assert wine.shape == (178, 13)
    assert np.allclose(wine.mean(axis=0), 0.0) and np.allclose(wine.std(axis=0), 1.0)


# -- benchmarks/bench_scale.py ---------------------------------------------------------------


def test_quick_scale_benchmark(tmp_path, capsys):
    # Tiny sizes, one thread; every fit runs in its own child process, watched from here.
    bench = load_benchmark("bench_scale")
    results = bench.main(["--quick", "--threads", "1", "--workdir", str(tmp_path)])
    report = capsys.readouterr().out

    # the data file and the work directory are gone
    assert not Path(results["workdir"]).exists() and list(tmp_path.iterdir()) == []

    rows, subset = results["ooc"]["rows"], bench.QUICK["subset_rows"]
    assert [(r["library"], r["source"], r["rows"]) for r in rows] == [
        ("emkit", "memmap", bench.QUICK["rows"]), ("emkit", "blocks", bench.QUICK["rows"]),
        ("emkit", "in-memory", bench.QUICK["rows"]), ("emkit", "memmap", subset),
        ("emkit", "in-memory", subset), ("sklearn", "in-memory", subset)]
    for row in rows:
        assert row["n_iter"] == 3 and len(row["iter_s"]) == 3, row
        assert all(_positive_finite(t) for t in row["iter_s"]), row
        for key in ("fit_s", "s_per_iter", "ns_per_row_iter", "peak_rss_mib",
                    "peak_anon_mib", "peak_file_mib", "baseline_rss_mib"):
            assert _positive_finite(row[key]), (key, row)
        assert row["setup_s"] >= 0 and row["tail_s"] >= 0, row
        assert row["peak_rss_mib"] >= row["baseline_rss_mib"] - 1, row
        assert math.isfinite(row["lower_bound"]), row
    # same data, same initial parameters, same iterations: the same fit, up to round-off
    by_rows = {}
    for row in rows:
        by_rows.setdefault(row["rows"], []).append(row["lower_bound"])
    for bounds in by_rows.values():
        assert max(bounds) - min(bounds) <= 1e-4 * abs(bounds[0]), by_rows

    online = results["online"]
    assert online["online"]["rows"] == bench.QUICK["stream_rows"]
    assert online["online"]["n_batches"] == bench.QUICK["stream_rows"] // bench.QUICK[
        "stream_batch"]
    assert online["batch"]["converged"]
    for part in ("online", "batch"):
        assert math.isfinite(online[part]["heldout_loglik"])
        assert _positive_finite(online[part]["seconds"])
        assert _positive_finite(online[part]["peak_rss_mib"])
    assert online["online"]["rel_diff_vs_batch"] <= 0.05  # loose: 200,000 rows only
    assert online["true_heldout_loglik"] >= online["batch"]["heldout_loglik"] - 0.05

    hmm_rows = results["hmm"]["rows"]
    n_hmm = bench.QUICK["hmm_sequences"] * bench.HMM_QUICK_LENGTH
    assert [(r["library"], r["source"], r["rows"]) for r in hmm_rows] == [
        ("emkit", "memmap", n_hmm), ("emkit", "in-memory", n_hmm),
        ("hmmlearn", "in-memory", n_hmm)]
    for row in hmm_rows:
        assert row["n_iter"] == 3 and len(row["iter_s"]) == 3, row
        assert all(_positive_finite(t) for t in row["iter_s"]), row
        for key in ("fit_s", "s_per_iter", "peak_rss_mib", "peak_anon_mib"):
            assert _positive_finite(row[key]), (key, row)
    # same data, same start, same iterations: the same log-likelihood (memmap and in
    # memory sum the same statistics; hmmlearn is the same algorithm)
    bounds = [row["lower_bound"] for row in hmm_rows]
    assert abs(bounds[0] - bounds[1]) <= 1e-9 * abs(bounds[1]), bounds
    assert abs(bounds[2] - bounds[1]) <= 1e-6 * abs(bounds[1]), bounds

    for label in ("VERDICT [1]", "VERDICT [2]", "peak RSS", "peak anon", "s/iter",
                  "held-out mean LL", "[3] HMM out-of-core fit", "hmmlearn s/iter"):
        assert label in report


def test_scale_benchmark_options():
    bench = load_benchmark("bench_scale")
    args = bench.parse_args([])
    assert (args.rows, args.subset_rows, args.stream_rows, args.batch_rows) == (
        100_000_000, 10_000_000, 10_000_000, 1_000_000)
    assert args.iters == 3 and args.parts == ["ooc", "online", "hmm"] and args.drop_cache
    assert args.hmm_sequences == bench.FULL["hmm_sequences"]
    quick = bench.parse_args(["--quick", "--parts", "online", "--stream-rows", "1000"])
    assert quick.rows == bench.QUICK["rows"] and quick.stream_rows == 1000
    assert quick.parts == ["online"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--parts", "nope"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--iters", "0"])
