"""The ``emkit topics`` command: PLSA topics of a plain-text corpus."""

from __future__ import annotations

from pathlib import Path

import click

from .._cli_support import (
    CSV_SUFFIXES,
    Command,
    check_outputs,
    check_suffix,
    model_outputs,
    option,
)


def format_topics(model, vocabulary, n_top: int) -> list:
    """One line per topic, the largest share of the corpus first:
    ``topic 3 (21.4%): word word ...``."""
    words = model.top_words(vocabulary, n_top)
    order = sorted(range(len(words)), key=lambda k: -model.topic_weights_[k])
    width = len(str(len(words)))
    return [f"topic {k + 1:>{width}} ({100 * model.topic_weights_[k]:4.1f}%): "
            + " ".join(words[k]) for k in order]


def _write_doc_topics(path: Path, names, doc_topic) -> None:
    """CSV: a header (document, topic 1, ...), then one row per document."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["document"] + [f"topic {k + 1}" for k in range(doc_topic.shape[1])])
        for name, row in zip(names, doc_topic):
            writer.writerow([name] + [repr(float(v)) for v in row])


def _vectorize(documents, stop_words, min_df, max_df, max_features):
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(stop_words=None if stop_words == "none" else stop_words,
                                 min_df=min_df, max_df=max_df, max_features=max_features)
    try:
        X = vectorizer.fit_transform(documents)
    except ValueError as exc:  # empty vocabulary; min_df / max_df leaving no word
        raise click.ClickException(f"no words to fit: {exc}") from None
    return X, vectorizer.get_feature_names_out()


@click.command(name="topics", cls=Command)
@click.argument("corpus", type=click.Path(exists=True, path_type=Path))
@option("-k", "--n-components", "components", old=("--components",),
        type=click.IntRange(min=1), default=10, show_default=True, help="Number of topics.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Words printed per topic.")
@click.option("--max-iter", type=click.IntRange(min=1), default=200, show_default=True,
              help="Most EM iterations.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
              help="Stop when the log-likelihood per word gains less than this.")
@click.option("--tempering", type=click.FloatRange(min=0, max=1, min_open=True),
              default=1.0, show_default=True,
              help="Tempered EM exponent beta in (0, 1]; below 1 smooths the topics.")
@click.option("--n-init", type=click.IntRange(min=1), default=1, show_default=True,
              help="Random starts; the best fit is kept.")
@click.option("--stop-words", type=click.Choice(["english", "none"]), default="english",
              show_default=True, help="Words left out (scikit-learn's English list).")
@click.option("--min-df", type=click.IntRange(min=1), default=1, show_default=True,
              help="Ignore words found in fewer documents than this.")
@click.option("--max-df", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0,
              show_default=True,
              help="Ignore words found in more than this fraction of the documents.")
@click.option("--max-features", type=click.IntRange(min=1), default=None,
              help="Keep only this many most frequent words.")
@option("--random-state", "seed", old=("--seed",), type=int, default=0, show_default=True,
        help="Random seed of the starting topics.")
@click.option("--doc-topics", "doc_topics", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="CSV",
              help="Also write each document's topic mixture P(topic | document) to this "
                   "CSV file (one row per document, named by its file or file:line).")
@option("-o", "--output", "save_to", old=("--save",),
        type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="MODEL",
        help="Also save the fitted model (MODEL.json + MODEL.npz).")
def command(corpus, components, top, max_iter, tol, tempering, n_init, stop_words, min_df,
            max_df, max_features, seed, doc_topics, save_to):
    """Print the topics of the plain-text CORPUS found by PLSA (EM).

    CORPUS is a directory, whose files are the documents (one document per file, read
    recursively), or a file with one document per line. Words are counted by
    scikit-learn's CountVectorizer (lower-cased, English stop words left out).
    """
    import warnings

    from ._corpus import read_corpus
    from ._plsa import PLSA

    check_suffix(doc_topics, CSV_SUFFIXES, "CSV", "--doc-topics")
    check_outputs([(corpus, "CORPUS")], [(doc_topics, "--doc-topics")] +
                  model_outputs(save_to, "-o"))
    try:
        documents, names = read_corpus(corpus)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    X, vocabulary = _vectorize(documents, stop_words, min_df, max_df, max_features)
    model = PLSA(components, max_iter=max_iter, tol=tol, tempering=tempering, n_init=n_init,
                 random_state=seed)
    with warnings.catch_warnings():
        # the summary says whether EM converged
        warnings.filterwarnings("ignore", message=".*did not converge")
        try:
            model.fit(X)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    objective = "log-likelihood" if tempering == 1 else "tempered log-likelihood"
    state = "converged" if model.converged_ else "did not converge (raise --max-iter)"
    click.echo(f"PLSA: {components} topics, {X.shape[0]} documents, {X.shape[1]} words in "
               f"the vocabulary, {int(X.sum())} word occurrences; {model.n_iter_} EM "
               f"iterations, {state}; {objective} per word {model.lower_bound_:.4f}")
    for line in format_topics(model, vocabulary, top):
        click.echo(line)
    if doc_topics is not None:
        _write_doc_topics(doc_topics, names, model.transform(X))
        click.echo(f"wrote the documents' topic mixtures to {doc_topics}")
    if save_to is not None:
        model.save(save_to)
        click.echo(f"saved the model to {save_to}")
