"""Smoke test of benchmarks/bench_mri.py: it runs, and its figures are consistent."""

import math

import pytest
from _benchmarks import load_benchmark

pytest.importorskip("nilearn", reason="nilearn is not installed (pip install nilearn)")


def test_quick_benchmark(capsys):
    bench = load_benchmark("bench_mri")
    rows = bench.main(["--quick"])
    keys = [(r["condition"], r["method"]) for r in rows]
    assert keys == [(c, m) for c in bench.QUICK_CONDITIONS for m in bench.METHODS]
    for row in rows:
        assert len(row["dice"]) == 3 and all(0.0 <= d <= 1.0 for d in row["dice"])
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["seconds"] > 0 and row["traced_mb"] > 0 and row["process_peak_mb"] > 0
    by = {(r["condition"], r["method"]): r for r in rows}
    # the ramp ruins the plain mixture, not the bias model
    assert by["noise+bias40", "bias"]["accuracy"] > by["noise+bias40", "plain"]["accuracy"]
    out = capsys.readouterr().out
    assert "dice CSF" in out and "bias model accuracy" in out
    assert out.count("against the plain mixture") == 2
    assert not any(math.isnan(r["accuracy"]) for r in rows)


def test_degraded_keeps_the_brain_positive():
    import numpy as np

    bench = load_benchmark("bench_mri")
    t1 = np.full((4, 5, 3), 0.5)
    mask = np.ones(t1.shape, dtype=bool)
    image = bench.degraded(t1, mask, 0.0, 0.4)
    np.testing.assert_allclose(image[:, 0], 0.3)
    np.testing.assert_allclose(image[:, -1], 0.7)
    assert bench.degraded(t1, mask, 5.0, 0.0).min() > 0
