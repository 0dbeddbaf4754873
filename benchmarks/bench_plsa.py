"""PLSA benchmark: emkit.topics.PLSA against scikit-learn's LatentDirichletAllocation
(batch variational EM), same corpus, same run.

The corpus is drawn from known topics (``emkit.topics.make_topic_corpus``: Dirichlet(0.05)
topics over the vocabulary, Dirichlet(0.1) topic mixtures, Poisson document lengths): by
default 20,000 training documents x 20,000 words with exactly 2,000,000 non-zeros (surplus
entries of a slightly longer draw are removed at random), K = 50, plus 2,000 held-out
documents from the same topics.

Per model the table shows:

* seconds per EM iteration (PLSA: its fit's time over its iterations, run to convergence
  or ``--plsa-max-iter``; LDA: its fit's time over ``--lda-iters`` batch iterations,
  one by default, each with up to 100 variational updates per document) and the ratio
  LDA / PLSA;
* held-out perplexity, each library's own ``perplexity(X_heldout)`` (the document's
  topic mixture fitted on the very words it is scored on: optimistic for both);
* document-completion perplexity: each held-out document's words split at random in two
  halves, the topic mixture inferred from the first (``transform``) and the second half
  scored under sum_z P(w|z) P(z|d) -- the fair comparison of generalisation;
* the mean total-variation distance of the fitted topics to the true ones after Hungarian
  matching (LDA's ``components_`` normalised).

A second table shows topic recovery as the corpus grows (the issue's acceptance): PLSA's
mean total-variation distance to the true topics at several corpus sizes, drawn from the
same true topics.

PLSA rows are fitted at each ``--tempering`` beta (tempered EM smooths the topic mixtures
and usually generalises better). Timings depend on the machine and its load: compare
them within one run.

Usage::

    python benchmarks/bench_plsa.py                  # the full size of issue #10
    python benchmarks/bench_plsa.py --quick          # tiny sizes (smoke test)
    python benchmarks/bench_plsa.py --lda-iters 5 --tempering 1,0.9,0.8
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared helpers
from _common import machine_note as common_machine_note  # noqa: E402
from _common import table  # noqa: E402
from _common import load_note  # noqa: E402
from _common import run_with_threads  # noqa: E402

SEED = 0

#: (documents, words, non-zeros, topics, held-out documents): the issue's size, and quick.
FULL = dict(n_docs=20_000, n_words=20_000, nnz=2_000_000, n_topics=50, n_heldout=2_000)
QUICK = dict(n_docs=400, n_words=300, nnz=12_000, n_topics=5, n_heldout=100)
DOC_TOPIC_PRIOR, TOPIC_WORD_PRIOR = 0.1, 0.05

#: Topic recovery against corpus size (the issue's acceptance): vocabulary, topics, mean
#: document length and corpus sizes, full and quick.
RECOVERY = dict(n_words=1000, n_topics=10, doc_length=80, sizes=(250, 1000, 4000, 16000))
QUICK_RECOVERY = dict(n_words=200, n_topics=4, doc_length=50, sizes=(100, 1000))
RECOVERY_MAX_ITER, RECOVERY_TOL = 500, 1e-6

#: Tokens drawn per wanted non-zero at first (repeated words make fewer non-zeros).
TOKENS_PER_NONZERO = 1.06


# -- data ------------------------------------------------------------------------------------
def make_corpus(n_docs, n_words, nnz, n_topics, n_heldout, seed=SEED):
    """(X_train with exactly ``nnz`` non-zeros, X_heldout, true topic-word matrix)."""
    rng = np.random.RandomState(seed)
    from emkit.topics import make_topic_corpus

    ratio = TOKENS_PER_NONZERO
    while True:
        X, topic_word, _ = make_topic_corpus(
            n_docs + n_heldout, n_words, n_topics, ratio * nnz / n_docs,
            doc_topic_prior=DOC_TOPIC_PRIOR, topic_word_prior=TOPIC_WORD_PRIOR,
            random_state=seed)
        train = X[:n_docs].tocsr()
        if train.nnz >= nnz:
            break
        ratio *= 1.05
    surplus = train.nnz - nnz
    if surplus:
        train.data[rng.choice(train.nnz, surplus, replace=False)] = 0.0
        train.eliminate_zeros()
    return train, X[n_docs:].tocsr(), topic_word


def split_halves(X, rng):
    """Each count split binomially into two halves (document completion)."""
    first = X.copy()
    first.data = rng.binomial(X.data.astype(np.int64), 0.5).astype(np.float64)
    second = X - first
    first.eliminate_zeros()
    second.eliminate_zeros()
    return first.tocsr(), second.tocsr()


def completion_perplexity(doc_topic, topic_word, second) -> float:
    """exp(-mean log P(w|d)) over the words of ``second``, P(w|d) = doc_topic @ topic_word."""
    second = second.tocoo()
    loglik = 0.0
    step = 200_000
    for s in range(0, second.nnz, step):
        rows, cols = second.row[s:s + step], second.col[s:s + step]
        p = np.einsum("ij,ji->i", doc_topic[rows], topic_word[:, cols])
        loglik += float(np.sum(second.data[s:s + step] * np.log(np.maximum(p, 1e-300))))
    return math.exp(-loglik / second.sum())


def mean_tv(estimated, truth) -> float:
    """Mean total-variation distance between topics matched by the Hungarian algorithm."""
    from scipy.optimize import linear_sum_assignment

    tv = np.stack([0.5 * np.abs(estimated - row).sum(axis=1) for row in truth], axis=1)
    rows, cols = linear_sum_assignment(tv)
    return float(tv[rows, cols].mean())


# -- models ----------------------------------------------------------------------------------
def timed_fit(model, X):
    """Seconds of ``model.fit(X)`` (garbage collector off, convergence warnings caught)."""
    gc.collect()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            return time.perf_counter() - t0
    finally:
        gc.enable()


def evaluate(label, model, seconds, n_iter, topic_word, heldout, halves, truth):
    first, second = halves
    doc_topic = model.transform(first)
    doc_topic = doc_topic / doc_topic.sum(axis=1, keepdims=True)
    return {
        "model": label,
        "fit_s": seconds,
        "n_iter": int(n_iter),
        "s_per_iter": seconds / max(1, n_iter),
        "heldout_perplexity": float(model.perplexity(heldout)),
        "completion_perplexity": completion_perplexity(doc_topic, topic_word, second),
        "topic_tv": mean_tv(topic_word, truth),
    }


def bench_plsa(X, heldout, halves, truth, n_topics, tempering, max_iter, seed):
    from emkit.topics import PLSA

    model = PLSA(n_topics, max_iter=max_iter, tempering=tempering, random_state=seed)
    seconds = timed_fit(model, X)
    row = evaluate(f"emkit PLSA beta={tempering:g}", model, seconds, model.n_iter_,
                   model.components_, heldout, halves, truth)
    row.update(kind="plsa", tempering=tempering, converged=bool(model.converged_),
               train_loglik_per_word=float(model.score(X) / X.sum()))
    return row


def bench_lda(X, heldout, halves, truth, n_topics, iters, seed):
    from sklearn.decomposition import LatentDirichletAllocation

    model = LatentDirichletAllocation(n_topics, learning_method="batch", max_iter=iters,
                                      random_state=seed)
    seconds = timed_fit(model, X)
    topic_word = model.components_ / model.components_.sum(axis=1, keepdims=True)
    row = evaluate(f"sklearn LDA batch, {iters} iter", model, seconds, iters, topic_word,
                   heldout, halves, truth)
    row.update(kind="lda", tempering=None, converged=None, train_loglik_per_word=None)
    return row


def recovery(n_words, n_topics, doc_length, sizes, seed=SEED) -> list:
    """Mean TV distance of PLSA's topics to the true ones (Hungarian matching) as the
    corpus grows; the true topics are the same at every size (drawn first from the seed)."""
    from emkit.topics import PLSA, make_topic_corpus

    rows = []
    for n_docs in sizes:
        X, truth, _ = make_topic_corpus(n_docs, n_words, n_topics, doc_length,
                                        doc_topic_prior=DOC_TOPIC_PRIOR,
                                        topic_word_prior=TOPIC_WORD_PRIOR, random_state=seed)
        model = PLSA(n_topics, max_iter=RECOVERY_MAX_ITER, tol=RECOVERY_TOL,
                     random_state=seed)
        seconds = timed_fit(model, X)
        rows.append({"n_docs": n_docs, "nnz": int(X.nnz), "n_iter": int(model.n_iter_),
                     "converged": bool(model.converged_), "fit_s": seconds,
                     "topic_tv": mean_tv(model.components_, truth)})
    return rows


def format_recovery(rows, n_words, n_topics, doc_length) -> str:
    out = [f"topic recovery: PLSA, {n_words} words, K = {n_topics}, about {doc_length} "
           f"words per document, same true topics at every size (max_iter "
           f"{RECOVERY_MAX_ITER}, tol {RECOVERY_TOL:g})",
           "documents  non-zeros  iters  converged   fit s  mean TV to truth"]
    out += [f"{r['n_docs']:>9}  {r['nnz']:>9}  {r['n_iter']:>5}  {str(r['converged']):>9}  "
            f"{r['fit_s']:>6.2f}  {r['topic_tv']:>16.4f}" for r in rows]
    return "\n".join(out)


def warm_up(n_topics):
    """Small fits: imports, numba's cached kernels and thread pools load before timing."""
    X, heldout, _ = make_corpus(200, 100, 4000, min(n_topics, 5), 10, seed=SEED + 1)
    from sklearn.decomposition import LatentDirichletAllocation

    from emkit.topics import PLSA

    for tempering in (1.0, 0.9):
        model = PLSA(3, max_iter=3, tempering=tempering, random_state=0)
        timed_fit(model, X)
        model.perplexity(heldout)
    timed_fit(LatentDirichletAllocation(3, max_iter=1, random_state=0), X)


# -- report ----------------------------------------------------------------------------------
def machine_note() -> str:
    return common_machine_note()


_COLUMNS = [  # (header, key, format, width)
    ("model", "model", "", 24),
    ("s/iter", "s_per_iter", ".4f", 8),
    ("LDA/this", "lda_ratio", ".1f", 8),
    ("iters", "n_iter", "d", 5),
    ("fit s", "fit_s", ".2f", 7),
    ("held-out ppl", "heldout_perplexity", ".1f", 12),
    ("completion ppl", "completion_perplexity", ".1f", 14),
    ("topic TV", "topic_tv", ".4f", 8),
]


def format_report(rows, size) -> str:
    out = [f"corpus: {size['n_docs']} x {size['n_words']} documents x words, "
           f"{size['nnz']} non-zeros (train), {size['n_heldout']} held-out documents, "
           f"K = {size['n_topics']}", table(_COLUMNS, rows)]
    out += [
        "s/iter: fit seconds / iterations; LDA/this: LDA's s/iter over this row's.",
        "held-out ppl: each library's perplexity(X_heldout); completion ppl: topic mixture "
        "from half of each held-out document's words, perplexity of the other half.",
        "topic TV: mean total-variation distance to the true topics (Hungarian matching).",
        f"{load_note()} at the end of the run.",
    ]
    return "\n".join(out)


# -- command line ----------------------------------------------------------------------------
def _temperings(text: str) -> list:
    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"tempering values must be numbers: {text!r}") \
            from None
    if not values or any(not 0.0 < v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"tempering values must lie in (0, 1]: {text!r}")
    return list(dict.fromkeys(values))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="bench_plsa.py",
        description="PLSA (emkit) against LatentDirichletAllocation (scikit-learn): seconds "
                    "per iteration, held-out perplexity, topic recovery.")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny corpus {QUICK} (smoke test)")
    for name in ("n_docs", "n_words", "nnz", "n_topics", "n_heldout"):
        parser.add_argument("--" + name.replace("n_", "", 1).replace("_", "-"), dest=name,
                            type=int, default=None,
                            help=f"default {FULL[name]} ({QUICK[name]} with --quick)")
    parser.add_argument("--plsa-max-iter", type=int, default=None,
                        help="PLSA's max_iter (default 100; 20 with --quick); it stops "
                             "earlier on its tol")
    parser.add_argument("--lda-iters", type=int, default=1,
                        help="LDA batch iterations (default 1)")
    parser.add_argument("--tempering", type=_temperings, default=[1.0, 0.9],
                        help="comma-separated PLSA tempering values (default 1,0.9)")
    parser.add_argument("--no-recovery", action="store_true",
                        help="skip the topic-recovery-against-corpus-size table")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit BLAS/OpenMP (threadpoolctl) and numba threads to N")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    for name, value in base.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.plsa_max_iter is None:
        args.plsa_max_iter = 20 if args.quick else 100
    if args.plsa_max_iter < 1 or args.lda_iters < 1:
        parser.error("--plsa-max-iter and --lda-iters must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    return args


def main(argv=None) -> list:
    """Run the benchmark, print the report; return one dict per model (``kind`` 'plsa' or
    'lda'), then one per corpus size of the recovery table (``kind`` 'recovery')."""
    return run_with_threads(_run, parse_args(argv), machine_note)


def _run(args) -> list:
    size = {k: getattr(args, k) for k in FULL}
    print(machine_note())
    t0 = time.perf_counter()
    X, heldout, truth = make_corpus(**size, seed=args.seed)
    halves = split_halves(heldout, np.random.RandomState(args.seed + 1))
    print(f"corpus drawn in {time.perf_counter() - t0:.1f} s: train {X.shape}, "
          f"{X.nnz} non-zeros, {int(X.sum())} words; held-out {heldout.shape}\n", flush=True)
    warm_up(args.n_topics)
    rows = []
    for tempering in args.tempering:
        rows.append(bench_plsa(X, heldout, halves, truth, args.n_topics, tempering,
                               args.plsa_max_iter, args.seed))
        print(f"  done {rows[-1]['model']}: {rows[-1]['s_per_iter']:.3f} s/iter", flush=True)
    rows.append(bench_lda(X, heldout, halves, truth, args.n_topics, args.lda_iters,
                          args.seed))
    print(f"  done {rows[-1]['model']}: {rows[-1]['s_per_iter']:.3f} s/iter\n", flush=True)
    lda = rows[-1]["s_per_iter"]
    for row in rows:
        row["lda_ratio"] = lda / row["s_per_iter"]
        row.update(size)
    print(format_report(rows, size))
    if not args.no_recovery:
        spec = QUICK_RECOVERY if args.quick else RECOVERY
        recovered = recovery(**spec, seed=args.seed)
        print()
        print(format_recovery(recovered, spec["n_words"], spec["n_topics"],
                              spec["doc_length"]))
        for row in recovered:
            rows.append({"kind": "recovery", **row})
    return rows


if __name__ == "__main__":
    main()
