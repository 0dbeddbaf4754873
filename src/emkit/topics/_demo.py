"""Demo: PLSA topics of Python's own documentation, shipped with every interpreter.

The corpus is ``pydoc_data.topics.topics`` (the texts behind ``help('if')``,
``help('SEQUENCES')``, ...): each paragraph of at least ``MIN_WORDS`` words is a document.
It is on every machine that has Python, so the demo needs no download.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

#: Paragraphs shorter than this many words (headings, code lines) are left out.
MIN_WORDS = 20
N_TOPICS = 10
N_TOP_WORDS = 10


def python_help_corpus() -> list:
    """The paragraphs of Python's help texts (``pydoc_data.topics``), as documents."""
    from pydoc_data.topics import topics

    documents = []
    for name in sorted(topics):
        for paragraph in re.split(r"\n\s*\n", topics[name]):
            if len(paragraph.split()) >= MIN_WORDS:
                documents.append(paragraph)
    return documents


def fit_corpus(documents, seed: int = 0, n_topics: int = N_TOPICS):
    """CountVectorizer (English stop words, words of two letters or more, in 3 to 30% of
    the documents) and PLSA; returns (model, X, vocabulary)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from ._plsa import PLSA

    vectorizer = CountVectorizer(stop_words="english", min_df=3, max_df=0.3,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    X = vectorizer.fit_transform(documents)
    model = PLSA(n_topics, max_iter=300, random_state=seed).fit(X)
    return model, X, vectorizer.get_feature_names_out()


def run_demo(seed: int = 0, out_dir: str | Path | None = None) -> list:
    """Fit PLSA to Python's help texts and print the topics.

    Parameters
    ----------
    seed : int, default=0
        Seeds the starting topics.
    out_dir : str, path-like or None, default=None
        When given, the topics are also written to ``out_dir/topics.txt``.

    Returns
    -------
    lines : list of str
        The printed topic lines.
    """
    from ._cli import format_topics

    start = time.perf_counter()
    documents = python_help_corpus()
    model, X, vocabulary = fit_corpus(documents, seed)
    lines = format_topics(model, vocabulary, N_TOP_WORDS)
    print(f"PLSA topics of Python's help texts (pydoc_data.topics): {X.shape[0]} paragraphs, "
          f"{X.shape[1]} words, {int(X.sum())} word occurrences; {model.n_iter_} EM "
          f"iterations ({'converged' if model.converged_ else 'not converged'}), "
          f"{time.perf_counter() - start:.1f} s")
    for line in lines:
        print("  " + line)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "topics.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines
