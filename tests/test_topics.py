"""PLSA: the EM maths against brute force, invariants, and recovery of known topics."""

import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

from emkit._exceptions import LikelihoodDecreaseWarning
from emkit.topics import PLSA, make_topic_corpus
from emkit.topics import _kernels
from emkit._em import summed_expectation
from emkit.topics._problem import DocumentBlocks, PLSAParams, PLSAProblem

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU


def brute_force_step(X, phi, theta, beta):
    """One tempered EM step with a dense (D, W, K) array: (new phi, new theta, objective
    at the entering parameters)."""
    joint = (phi[None, :, :] * theta[:, None, :]) ** beta          # (D, W, K)
    resp = joint / joint.sum(axis=2, keepdims=True)
    expected = X[:, :, None] * resp
    objective = np.sum(X * np.log(joint.sum(axis=2))) / beta
    nwz = expected.sum(axis=0)
    ndz = expected.sum(axis=1)
    return nwz / nwz.sum(axis=0), ndz / ndz.sum(axis=1, keepdims=True), objective


def tiny_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(5, 7)).astype(float)
    X[X < 1.5] = 0.0
    X[:, 0] += 1.0  # every document has a word
    phi = rng.dirichlet(np.ones(7), size=3).T.copy()                # (W, K)
    theta = rng.dirichlet(np.ones(3), size=5)
    return X, phi, theta


@pytest.mark.parametrize("beta", [1.0, 0.7])
def test_two_em_steps_match_brute_force(beta):
    X, phi, theta = tiny_problem()
    problem = PLSAProblem(beta)
    params = PLSAParams(phi, np.full(3, 1 / 3))
    blocks = DocumentBlocks([(sp.csr_matrix(X), None)], 3)
    documents = blocks.documents
    documents.rows(0, 5)[:] = theta
    want_phi, want_theta = phi, theta
    for _ in range(2):
        want_phi, want_theta, want_objective = brute_force_step(X, want_phi, want_theta, beta)
        stats, objective, words = summed_expectation(problem, blocks, params)
        params = problem.m_step(stats, params)
        assert objective == pytest.approx(want_objective, rel=1e-12)
        assert words == X.sum()
        np.testing.assert_allclose(params.word_topic, want_phi, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(documents.all_rows(), want_theta, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(params.topic_weights, stats.word_topic.sum(0) / X.sum())


def test_fold_in_matches_brute_force_iteration():
    X, phi, _ = tiny_problem(1)
    theta = np.full((5, 3), 1 / 3)
    want = theta.copy()
    for _ in range(7):
        joint = phi[None] * want[:, None, :]
        want = (X[:, :, None] * joint / joint.sum(2, keepdims=True)).sum(1)
        want /= want.sum(1, keepdims=True)
    _kernels.fold_in(sp.csr_matrix(X), phi, 1.0, theta, max_iter=7, tol=0.0)
    np.testing.assert_allclose(theta, want, rtol=1e-12, atol=1e-12)
    loglik = _kernels.doc_loglik(sp.csr_matrix(X), phi, theta)
    np.testing.assert_allclose(loglik, (X * np.log(theta @ phi.T)).sum(1), rtol=1e-12)


def test_underflowing_word_is_computed_in_log_space():
    # P(w|z) P(z|d) ~ 1e-300: the direct sum underflows the threshold, the log-space
    # branch must give the exact log-likelihood and responsibilities, no NaN.
    phi = np.array([[1e-200, 3e-200], [1.0 - 1e-200, 1.0 - 3e-200]])   # (W=2, K=2)
    theta = np.array([[1e-100, 1.0 - 1e-100]])
    X = sp.csr_matrix(np.array([[2.0, 0.0]]))
    nwz, loglik, words = _kernels.e_step(X, phi, 1.0, theta.copy())
    log_terms = np.log(phi[0]) + np.log(theta[0])
    assert loglik == pytest.approx(2 * logsumexp(log_terms), rel=1e-12)
    np.testing.assert_allclose(nwz[0], 2 * np.exp(log_terms - logsumexp(log_terms)),
                               rtol=1e-12, atol=1e-12)
    assert words == 2.0 and np.all(np.isfinite(nwz))


@pytest.mark.parametrize("tempering", [1.0, 0.8])
def test_objective_never_decreases(tempering):
    X, _, _ = make_topic_corpus(150, 80, 4, 40, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        model = PLSA(6, max_iter=60, tol=0.0, tempering=tempering, random_state=0)
        with pytest.warns(Warning, match="did not converge"):
            model.fit(X)
    bounds = np.asarray(model.lower_bounds_)
    assert bounds.size == 60 and np.all(np.isfinite(bounds))
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
    assert bounds[-1] > bounds[0] + 0.1  # it did improve


def test_recorded_lower_bound_is_the_log_likelihood_per_word():
    # beta = 1: the first recorded value is the log-likelihood of the starting topics with
    # uniform P(z|d), computed here directly.
    X, _, _ = make_topic_corpus(40, 30, 3, 30, random_state=2)
    model = PLSA(3, max_iter=1, tol=0.0, random_state=5)
    with pytest.warns(Warning, match="did not converge"):
        model.fit(X)
    from emkit.topics._problem import random_word_topic

    phi = random_word_topic(30, 3, np.random.RandomState(5))
    dense = X.toarray()
    want = np.sum(dense * np.log(phi.mean(axis=1)[None, :])) / dense.sum()
    assert model.lower_bounds_[0] == pytest.approx(want, rel=1e-12)


def mean_tv_after_matching(estimated, truth):
    """Mean total-variation distance between matched topics (Hungarian matching)."""
    tv = 0.5 * np.abs(estimated[:, None, :] - truth[None, :, :]).sum(axis=2)
    rows, cols = linear_sum_assignment(tv)
    return tv[rows, cols].mean()


def test_recovers_known_topics_better_with_more_documents():
    n_words, n_topics = 200, 5
    distances = []
    for n_docs in (100, 2000):
        X, topic_word, _ = make_topic_corpus(n_docs, n_words, n_topics, 60,
                                             random_state=3)
        model = PLSA(n_topics, max_iter=300, tol=1e-6, random_state=0).fit(X)
        distances.append(mean_tv_after_matching(model.components_, topic_word))
    # the same true topics at both sizes (drawn first from the same seed)
    assert distances[1] < 0.05
    assert distances[1] < 0.6 * distances[0]


def test_parallel_chunks_equal_one_thread(monkeypatch):
    X, _, _ = make_topic_corpus(300, 120, 4, 50, random_state=4)
    phi = np.random.default_rng(0).dirichlet(np.ones(120), size=4).T.copy()
    theta = np.full((300, 4), 0.25)
    serial = _kernels.e_step(X, phi, 0.9, theta.copy())
    monkeypatch.setattr(_kernels, "PARALLEL_MIN_NNZ", 0)
    threads = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        assert _kernels._n_chunks(X.nnz) == numba.get_num_threads()
        theta_parallel = theta.copy()
        parallel = _kernels.e_step(X, phi, 0.9, theta_parallel)
        folded = theta.copy()
        _kernels.fold_in(X, phi, 1.0, folded, 20, 0.0)
        loglik = _kernels.doc_loglik(X, phi, folded)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_allclose(parallel[0], serial[0], rtol=1e-12, atol=1e-14)
    assert parallel[1] == pytest.approx(serial[1], rel=1e-12)
    monkeypatch.setattr(_kernels, "PARALLEL_MIN_NNZ", 10**9)
    folded_serial = theta.copy()
    _kernels.fold_in(X, phi, 1.0, folded_serial, 20, 0.0)
    np.testing.assert_allclose(folded, folded_serial, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loglik, _kernels.doc_loglik(X, phi, folded_serial), rtol=1e-12)


def test_chunk_bounds_cover_every_document_once():
    indptr = np.array([0, 10, 10, 11, 30, 31, 40, 41, 45])
    for n_chunks in (1, 2, 3, 5, 20):
        bounds = _kernels.chunk_bounds(indptr, n_chunks)
        assert bounds.shape == (n_chunks + 1,)
        assert bounds[0] == 0 and bounds[-1] == 8 and np.all(np.diff(bounds) >= 0)
        nnz = np.diff(indptr[bounds])
        # no chunk holds more than its share plus one document
        assert nnz.max() <= 45 / n_chunks + np.diff(indptr).max()
    assert _kernels.chunk_bounds(np.array([0, 0, 0]), 4).tolist() == [0, 0, 0, 0, 2]


def test_block_stream_equals_in_memory_fit():
    X, _, _ = make_topic_corpus(300, 100, 4, 40, random_state=6)
    X = X.tocsr()
    whole = PLSA(4, max_iter=25, tol=0.0, random_state=0)
    with pytest.warns(Warning, match="did not converge"):
        whole.fit(X)
    blocks = [X[:70], X[70:71], X[71:71], X[71:200].toarray(), X[200:].tocoo()]
    listed = PLSA(4, max_iter=25, tol=0.0, random_state=0)
    streamed = PLSA(4, max_iter=25, tol=0.0, random_state=0)
    with pytest.warns(Warning, match="did not converge"):
        listed.fit(blocks)
    with pytest.warns(Warning, match="did not converge"):
        streamed.fit(lambda: iter(blocks))
    for model in (listed, streamed):
        assert model.n_features_in_ == 100
        np.testing.assert_allclose(model.components_, whole.components_, rtol=1e-10,
                                   atol=1e-13)
        np.testing.assert_allclose(model.lower_bounds_, whole.lower_bounds_, rtol=1e-10)
        np.testing.assert_allclose(model.transform(blocks), whole.transform(X), rtol=1e-10,
                                   atol=1e-10)
        assert model.score(blocks) == pytest.approx(whole.score(X), rel=1e-10)


def test_block_source_must_repeat_its_blocks():
    X, _, _ = make_topic_corpus(60, 30, 2, 20, random_state=7)
    calls = []

    def changing():
        calls.append(1)
        cut = 20 if len(calls) <= 2 else 25  # the first pass sees other block sizes
        return iter([X[:cut], X[cut:]])

    with pytest.raises(ValueError, match="same blocks in the same order"):
        PLSA(2, random_state=0).fit(changing)
    with pytest.raises(ValueError, match="one-shot iterator"):
        PLSA(2).fit(iter([X[:10], X[10:]]))
    with pytest.raises(ValueError, match="features"):
        PLSA(2).fit([X[:10], X[10:, :20]])


def test_empty_documents_get_the_uniform_mixture():
    X, _, _ = make_topic_corpus(80, 40, 3, 30, random_state=8)
    X = sp.vstack([sp.csr_matrix((2, 40)), X, sp.csr_matrix((1, 40))]).tocsr()
    X.data[X.indptr[5]] = 0.0  # an explicitly stored zero
    model = PLSA(3, random_state=0).fit(X)
    assert np.all(np.isfinite(model.components_))
    theta = model.transform(X)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(theta >= 0)
    np.testing.assert_array_equal(theta[[0, 1, -1]], np.full((3, 3), 1 / 3))
    assert model.score(sp.csr_matrix((2, 40))) == 0.0
    with pytest.raises(ValueError, match="no words"):
        model.perplexity(sp.csr_matrix((2, 40)))


@pytest.mark.parametrize("empty", [np.zeros((4, 6)), sp.csr_matrix((3, 6)),
                                   [sp.csr_matrix((2, 6)), np.zeros((1, 6))]])
def test_all_empty_corpus_is_refused(empty):
    with pytest.raises(ValueError, match="every document is empty"):
        PLSA(2).fit(empty)


def test_weighted_counts_and_dense_input():
    X, _, _ = make_topic_corpus(100, 50, 3, 30, random_state=9)
    weights = X.multiply(np.linspace(0.1, 2.0, 50)).tocsr()   # tf-idf-like weights
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        sparse_fit = PLSA(3, random_state=0).fit(weights)
    dense_fit = PLSA(3, random_state=0).fit(weights.toarray())
    np.testing.assert_allclose(dense_fit.components_, sparse_fit.components_, rtol=1e-10,
                               atol=1e-10)
    assert np.all(np.diff(sparse_fit.lower_bounds_) >= -1e-12)
    X_csc = weights.tocsc()
    np.testing.assert_allclose(sparse_fit.transform(X_csc), sparse_fit.transform(weights),
                               atol=1e-12)


def test_perplexity_and_score_agree_and_tempering_smooths():
    X, _, _ = make_topic_corpus(200, 60, 3, 40, random_state=10)
    model = PLSA(3, random_state=0).fit(X)
    score = model.score(X)
    theta = model.transform(X)
    dense = X.toarray()
    assert score == pytest.approx(np.sum(dense * np.log(theta @ model.components_)),
                                  rel=1e-12)
    assert model.perplexity(X) == pytest.approx(np.exp(-score / dense.sum()), rel=1e-12)
    tempered = PLSA(3, tempering=0.6, random_state=0).fit(X)
    # tempering spreads each document over more topics: higher entropy of P(z|d)
    entropy = lambda t: -np.sum(t * np.log(t)) / t.shape[0]  # noqa: E731
    assert entropy(tempered.transform(X)) > entropy(theta)
    np.testing.assert_allclose(tempered.components_.sum(axis=1), 1.0)


def test_blocks_read_from_disk_at_each_pass(tmp_path):
    # the out-of-core use: only one block of documents in memory at a time
    X, _, _ = make_topic_corpus(120, 50, 3, 30, random_state=11)
    paths = []
    for i, start in enumerate(range(0, 120, 50)):
        paths.append(tmp_path / f"block{i}.npz")
        sp.save_npz(paths[-1], X[start:start + 50])
    reads = []

    def blocks():
        for path in paths:
            reads.append(path.name)
            yield sp.load_npz(path)

    streamed = PLSA(3, max_iter=15, tol=0.0, random_state=2)
    whole = PLSA(3, max_iter=15, tol=0.0, random_state=2)
    with pytest.warns(Warning, match="did not converge"):
        streamed.fit(blocks)
    with pytest.warns(Warning, match="did not converge"):
        whole.fit(X)
    # one look at the first block for the vocabulary size, then one pass per iteration
    assert reads == ["block0.npz"] + ["block0.npz", "block1.npz", "block2.npz"] * 15
    np.testing.assert_allclose(streamed.components_, whole.components_, rtol=1e-10,
                               atol=1e-13)


def test_same_seed_same_fit_and_restarts_keep_the_best():
    X, _, _ = make_topic_corpus(150, 60, 4, 30, random_state=12)
    first = PLSA(4, random_state=7).fit(X)
    again = PLSA(4, random_state=7).fit(X)
    other = PLSA(4, random_state=8).fit(X)
    # same seed, same fit: to round-off (one CI run gave two same-seed fits 4e-14 apart,
    # not reproduced in isolation), while another seed ends elsewhere
    np.testing.assert_allclose(first.components_, again.components_, rtol=1e-10,
                               atol=1e-300)
    assert not np.allclose(first.components_, other.components_)
    best = PLSA(4, n_init=3, random_state=7).fit(X)
    singles = []
    rng = np.random.RandomState(7)  # the three starts n_init=3 draws, one by one
    for _ in range(3):
        singles.append(PLSA(4, random_state=rng).fit(X).lower_bound_)
    assert best.lower_bound_ == pytest.approx(max(singles), rel=1e-12)
