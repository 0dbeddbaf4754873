"""Synthetic corpora drawn from known topics (a known answer for PLSA)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state


def make_topic_corpus(n_docs=1000, n_words=500, n_topics=5, doc_length=100, *,
                      doc_topic_prior=0.2, topic_word_prior=0.05, random_state=None):
    """Documents drawn from the PLSA / LDA generative model with known topics.

    Each topic is a Dirichlet(``topic_word_prior``) distribution over the words, each
    document a Dirichlet(``doc_topic_prior``) mixture of topics and a Poisson(``doc_length``)
    number of words, each word drawn by first drawing its topic.

    Parameters
    ----------
    n_docs, n_words, n_topics : int
    doc_length : float
        Mean number of words per document.
    doc_topic_prior, topic_word_prior : float
        Dirichlet concentrations (small: few topics per document, few words per topic).
    random_state : int, RandomState instance or None

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_docs, n_words), float64
        The word counts.
    topic_word : ndarray of shape (n_topics, n_words)
        The true P(w|z), rows summing to 1.
    doc_topic : ndarray of shape (n_docs, n_topics)
        The true P(z|d).
    """
    rng = check_random_state(random_state)
    topic_word = rng.dirichlet(np.full(n_words, topic_word_prior), size=n_topics)
    doc_topic = rng.dirichlet(np.full(n_topics, doc_topic_prior), size=n_docs)
    lengths = rng.poisson(doc_length, size=n_docs)
    docs = np.repeat(np.arange(n_docs), lengths)
    # topic of each token: inverse CDF of its document's mixture
    cum_theta = np.cumsum(doc_topic, axis=1)
    cum_theta[:, -1] = 1.0
    u = rng.random_sample(docs.size)
    topics = np.empty(docs.size, dtype=np.int64)
    step = 1 << 20
    for s in range(0, docs.size, step):
        e = min(s + step, docs.size)
        topics[s:e] = (u[s:e, None] >= cum_theta[docs[s:e]]).sum(axis=1)
    # word of each token: inverse CDF of its topic's distribution
    cum_phi = np.cumsum(topic_word, axis=1)
    cum_phi[:, -1] = 1.0
    words = np.empty(docs.size, dtype=np.int64)
    u = rng.random_sample(docs.size)
    for k in range(n_topics):
        mine = topics == k
        words[mine] = np.searchsorted(cum_phi[k], u[mine], side="right")
    np.minimum(words, n_words - 1, out=words)
    X = sp.csr_matrix((np.ones(docs.size), (docs, words)), shape=(n_docs, n_words))
    X.sum_duplicates()
    return X, topic_word, doc_topic
