"""Smoke test of benchmarks/bench_plsa.py: it runs, and its figures make sense."""

import math

import numpy as np
import pytest

from _benchmarks import load_benchmark


def test_quick_benchmark():
    bench = load_benchmark("bench_plsa")
    rows = bench.main(["--quick", "--threads", "1", "--tempering", "1,0.8"])
    recovered = [r for r in rows if r["kind"] == "recovery"]
    rows = [r for r in rows if r["kind"] != "recovery"]
    assert [r["n_docs"] for r in recovered] == list(bench.QUICK_RECOVERY["sizes"])
    # more documents from the same topics: closer topics
    assert recovered[-1]["topic_tv"] < recovered[0]["topic_tv"]
    assert recovered[-1]["topic_tv"] < 0.1
    assert [r["kind"] for r in rows] == ["plsa", "plsa", "lda"]
    assert [r["tempering"] for r in rows] == [1.0, 0.8, None]
    for row in rows:
        assert (row["n_docs"], row["n_words"], row["nnz"], row["n_topics"]) == (
            400, 300, 12_000, 5)
        for key in ("s_per_iter", "fit_s", "lda_ratio", "heldout_perplexity",
                    "completion_perplexity"):
            assert math.isfinite(row[key]) and row[key] > 0, (key, row)
        # a perplexity above the vocabulary size would be worse than uniform guessing
        assert row["completion_perplexity"] < 300
        assert 0 <= row["topic_tv"] <= 1
    assert rows[-1]["lda_ratio"] == 1.0
    plsa = rows[0]
    assert plsa["lda_ratio"] == pytest.approx(rows[-1]["s_per_iter"] / plsa["s_per_iter"])
    # 20 EM iterations on 400 documents from 5 topics find them
    assert plsa["topic_tv"] < 0.15
    report = bench.format_report(rows, {k: rows[0][k] for k in bench.FULL})
    for label in ("s/iter", "LDA/this", "held-out ppl", "completion ppl", "topic TV"):
        assert label in report


def test_corpus_has_the_exact_size_and_halves_add_up():
    bench = load_benchmark("bench_plsa")
    X, heldout, truth = bench.make_corpus(100, 80, 2500, 3, 20, seed=1)
    assert X.shape == (100, 80) and X.nnz == 2500 and heldout.shape == (20, 80)
    assert truth.shape == (3, 80) and np.allclose(truth.sum(axis=1), 1.0)
    first, second = bench.split_halves(heldout, np.random.RandomState(0))
    assert (first + second - heldout).count_nonzero() == 0
    assert first.min() >= 0 and second.min() >= 0
    # completion perplexity of the uniform model is the vocabulary size
    uniform = bench.completion_perplexity(np.full((20, 3), 1 / 3), np.full((3, 80), 1 / 80),
                                          second)
    assert uniform == pytest.approx(80.0)


def test_options():
    bench = load_benchmark("bench_plsa")
    args = bench.parse_args(["--quick", "--docs", "50", "--tempering", "0.9,1"])
    assert args.n_docs == 50 and args.n_words == 300 and args.tempering == [0.9, 1.0]
    full = bench.parse_args([])
    assert (full.n_docs, full.n_words, full.nnz, full.n_topics) == (20000, 20000, 2_000_000,
                                                                   50)
    with pytest.raises(SystemExit):
        bench.parse_args(["--tempering", "1.5"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--topics", "0"])
