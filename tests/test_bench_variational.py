"""Smoke test of benchmarks/bench_variational.py: every row timed, and emkit's lower bounds
are its peers' from the same start."""

import logging
import math

import pytest

from _benchmarks import load_benchmark


def test_quick_benchmark_times_every_case_from_the_peers_start(capsys):
    pytest.importorskip("hmmlearn")
    bench = load_benchmark("bench_variational")
    levels = {name: logging.getLogger(name).level for name in ("emkit", "hmmlearn")}
    rows = bench.main(["--quick", "--threads", "1", "--mixture-cases", "wide-n",
                       "--covariance", "full,tied", "--hmm-cases",
                       "gaussian-diag,categorical"])
    assert [(row["case"].split()[0], row["covariance_type"]) for row in rows["mixture"]] == [
        ("wide-n", "full"), ("wide-n", "tied")]
    assert [row["case"].split()[0] for row in rows["hmm"]] == ["gaussian-diag", "categorical"]
    for row in rows["mixture"] + rows["hmm"]:
        for key in ("emkit_s_per_iter", "peer_s_per_iter", "speedup"):
            assert math.isfinite(row[key]) and row[key] > 0, (key, row)
        assert row["lower_bound_rel_diff"] <= 1e-9, row
    # the run silences the libraries' log lines only while it runs: later tests in the
    # same process still see emkit's warnings
    assert {name: logging.getLogger(name).level for name in levels} == levels
    out = capsys.readouterr().out
    assert "emkit vs scikit-learn" in out and "emkit vs hmmlearn" in out and "speed-up" in out
