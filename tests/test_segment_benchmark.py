"""Smoke test of benchmarks/bench_segment.py: it runs, and its figures are consistent."""

import math

from _benchmarks import load_benchmark


def test_quick_benchmark(capsys):
    bench = load_benchmark("bench_segment")
    rows = bench.main(["--quick", "--no-volume"])
    keys = [(r["dim"], r["snr"], r["method"]) for r in rows]
    expected = {(d, s, m) for d in (2, 3) for s in bench.QUICK_SNRS
                for m in ("kmeans", "plain", "mrf")}
    assert set(keys) == expected and len(keys) == len(expected)
    for row in rows:
        assert len(row["dice"]) == 3 and all(0.0 <= d <= 1.0 for d in row["dice"])
        assert math.isclose(row["mean_dice"], sum(row["dice"]) / 3)
        assert row["seconds"] > 0
        assert (row["smoothing"] > 0) == (row["method"] == "mrf")
    out = capsys.readouterr().out
    assert "dice 0" in out and "MRF mean Dice" in out and "KMeans everywhere" in out
    # the verdict lines agree with the rows
    for text, passed in bench.verdicts(rows):
        assert f"{'PASS' if passed else 'FAIL'}: {text}" in out


def test_options():
    bench = load_benchmark("bench_segment")
    args = bench.parse_args(["--smoothing-2d", "0.7", "--smoothing-3d", "0.3", "--no-volume"])
    assert (args.smoothing_2d, args.smoothing_3d, args.no_volume, args.quick) == (
        0.7, 0.3, True, False)
    report = bench.format_report(
        [{"dim": 2, "shape": "4x4", "snr": 1.0, "method": m, "smoothing": 0.0,
          "dice": [1.0, 0.5, 0.0], "mean_dice": 0.5, "seconds": 0.1}
         for m in ("kmeans", "plain", "mrf")],
        {"shape": "2x2x2", "n_voxels": 8, "smoothing": 0.5, "seconds": 1.0,
         "n_iter": 3, "peak_mb": 100.0, "mean_dice": 0.9})
    # equal Dice is not "beats": both verdicts fail
    assert report.count("FAIL") == 2 and "peak memory 100 MB" in report
