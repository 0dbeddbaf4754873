"""PLSA: probabilistic latent semantic analysis fitted by (tempered) EM."""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, check_non_negative, \
    validate_data

from .._em import Monitor, fit_with_restarts
from .._estimator_base import EMEstimator
from .._fit_guard import untouched_on_failure
from .._sources import BlockStream
from .._validation import Interval, validate_params
from ..io import register_model
from . import _kernels
from ._problem import (DocumentBlocks, PLSAParams, PLSAProblem, all_empty_message,
                       random_word_topic)


def _is_block_source(X) -> bool:
    """Blocks of documents, streamed once per EM iteration: a list / tuple of matrices
    (sparse or 2-d), a function returning an iterator over them, or another iterable that
    is not itself a matrix (a one-shot iterator is then refused with a clear message)."""
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(sp.issparse(b) or np.ndim(b) == 2 for b in X)
    if sp.issparse(X) or hasattr(X, "__array__") or hasattr(X, "shape") \
            or isinstance(X, (str, bytes, dict)):
        return False
    return callable(X) or hasattr(X, "__iter__")


@register_model
class PLSA(EMEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Probabilistic latent semantic analysis (Hofmann), fitted by EM on a document-term
    matrix, with scikit-learn's ``LatentDirichletAllocation`` interface.

    The model: P(w|d) = sum_z P(w|z) P(z|d), with topic-word distributions P(w|z)
    (``components_``) shared by all documents and one topic mixture P(z|d) per document.
    Each EM iteration is one pass over the non-zero entries of a CSR matrix, O(nnz x K),
    in a parallel numba kernel; no dense documents x words x topics array is formed.

    Parameters
    ----------
    n_components : int, default=10
        Number of topics K.
    max_iter : int, default=200
        Maximum number of EM iterations per initialisation.
    tol : float, default=1e-4
        EM stops when the log-likelihood per word (``lower_bounds_``) gains less than this
        in an iteration.
    tempering : float, default=1.0
        beta in (0, 1], tempered EM (Hofmann 1999): responsibilities proportional to
        (P(w|z) P(z|d))^beta. beta = 1 is plain EM (maximum likelihood); beta < 1 smooths
        the responsibilities, which fits the training documents less closely and usually
        generalises better to new ones (a held-out perplexity tells which beta to use).
        The same beta is used when folding in new documents.
    n_init : int, default=1
        Number of random initialisations; the fit with the highest final objective is kept.
    mean_change_tol : float, default=1e-4
        Fold-in (:meth:`transform`) stops updating a document's topic mixture when its mean
        absolute change is below this.
    max_doc_update_iter : int, default=200
        Maximum number of fold-in updates per document.
    random_state : int, RandomState instance or None, default=None
        Seeds the starting topic-word distributions.
    verbose : int, default=0
        1 prints each initialisation and iteration; 2 adds times and objective changes.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The topic-word distributions P(w|z), each row summing to 1 (unlike
        LatentDirichletAllocation's pseudo-counts).
    topic_weights_ : ndarray of shape (n_components,)
        Each topic's share of the training corpus's words, P(z).
    n_iter_ : int
        EM iterations of the kept run.
    converged_ : bool
        Whether ``tol`` was met (running out of iterations is not convergence).
    lower_bound_ : float
        The final objective per word: the log-likelihood per word of the training corpus
        for tempering=1, the tempered objective L_beta / n_words otherwise (see Notes).
    lower_bounds_ : list of float
        The objective per word at each iteration (never decreasing).
    n_features_in_ : int
        Vocabulary size.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string column names (a DataFrame).

    Notes
    -----
    **Input.** ``X`` holds counts (documents x words): a scipy.sparse matrix of any format
    (converted to CSR), a dense array, or, for corpora larger than memory, a list of such
    blocks of documents or a function returning a fresh iterator over the blocks (read once
    per EM iteration; the per-document P(z|d), n_documents x K floats, stays in memory
    beside each block). Negative values, NaN and infinity are refused. Non-integer counts
    (tf-idf or other weights) are accepted: the likelihood is then the weighted one,
    sum_dw x_dw log P(w|d). An empty document (no positive count) gets the uniform topic
    mixture; a corpus with no word at all is refused.

    **EM scheme.** The E-step visits each non-zero count once, adding its expected topic
    counts to n(w,z) (summed over blocks) and to its document's n(d,z), which gives that
    document's new P(z|d) directly, kept beside its block; the M-step normalises n(w,z).
    The objective recorded at iteration t is evaluated at the parameters entering iteration
    t, so ``lower_bounds_`` is the log-likelihood of a sequence of EM iterates and never
    decreases. With tempering beta < 1 the recorded (and non-decreasing) objective is
    L_beta = sum_dw x_dw (1/beta) log sum_z (P(w|z) P(z|d))^beta.

    **New documents** (:meth:`transform`, :meth:`score`, :meth:`perplexity`) are folded
    in: EM over their P(z|d) with ``components_`` fixed, from the uniform mixture.
    ``fit_transform(X)`` is ``fit(X).transform(X)``: the training documents are folded in
    too, so their mixtures do not depend on where the fit's EM stopped.

    Words never seen in training have probability (nearly) zero under PLSA, which
    dominates the perplexity of a new document containing them.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import CountVectorizer
    >>> from emkit.topics import PLSA
    >>> docs = ["apples and pears", "pears and plums", "cars and trucks", "trucks, buses"]
    >>> vectorizer = CountVectorizer(stop_words="english")
    >>> X = vectorizer.fit_transform(docs)
    >>> plsa = PLSA(n_components=2, random_state=0).fit(X)
    >>> plsa.transform(X).shape
    (4, 2)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "tempering": [Interval(numbers.Real, 0.0, 1.0, closed="right")],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "mean_change_tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "max_doc_update_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _keeps_restart_histories = False

    def __init__(self, n_components=10, *, max_iter=200, tol=1e-4, tempering=1.0, n_init=1,
                 mean_change_tol=1e-4, max_doc_update_iter=200, random_state=None,
                 verbose=0):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.tempering = tempering
        self.n_init = n_init
        self.mean_change_tol = mean_change_tol
        self.max_doc_update_iter = max_doc_update_iter
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # -- data -------------------------------------------------------------------------------
    @staticmethod
    def _counts(X, where: str):
        """A validated float64 matrix of counts as CSR, negative values refused."""
        X = X.tocsr() if sp.issparse(X) else sp.csr_matrix(X)
        check_non_negative(X, where)
        return X

    def _documents(self, X, reset: bool, where: str) -> DocumentBlocks:
        """X as blocks of CSR documents (one block when X is one matrix)."""
        if not _is_block_source(X):
            X = validate_data(self, X, reset=reset, accept_sparse="csr", dtype=np.float64)
            return DocumentBlocks([(self._counts(X, where), None)], self.n_components)
        if reset:
            for attr in ("n_features_in_", "feature_names_in_"):
                vars(self).pop(attr, None)
        n_features = None if reset else self.n_features_in_

        def check(block):
            nonlocal n_features
            block = check_array(block, accept_sparse="csr", dtype=np.float64, input_name="X",
                                ensure_min_samples=0)
            if n_features is None:
                n_features = block.shape[1]
            elif block.shape[1] != n_features:
                expected = (f"its first block has {n_features}" if reset else
                            f"PLSA is expecting {n_features} features as input")
                raise ValueError(f"A block of X has {block.shape[1]} features (words), but "
                                 f"{expected}.")
            return self._counts(block, where)

        stream = BlockStream(X, check)
        first = next(iter(stream), None)
        if first is None:
            raise ValueError("the block source of X yielded no blocks")
        if reset:
            self.n_features_in_ = first[0].shape[1]
        return DocumentBlocks(stream, self.n_components)

    # -- fit --------------------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, y=None):
        """Fit the topics to the document-term matrix X by EM.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or blocks
            Word counts (or non-negative weights) per document; see Notes of the class for
            block sources (corpora larger than memory).
        y : Ignored

        Returns
        -------
        self : PLSA

        Raises
        ------
        ValueError
            On negative, NaN or infinite values, or when every document is empty.
        """
        validate_params(self, self._parameter_constraints)
        blocks = self._documents(X, reset=True, where="PLSA.fit")
        if isinstance(blocks.source, list) and not blocks.source[0][0].sum() > 0:
            raise ValueError(all_empty_message())
        problem = PLSAProblem(self.tempering)
        rng = check_random_state(self.random_state)
        n_words, K = self.n_features_in_, self.n_components

        def start():  # every document's P(z|d) starts uniform, beside its block
            blocks.restart()
            return PLSAParams(random_word_topic(n_words, K, rng), np.full(K, 1.0 / K))

        best = fit_with_restarts(problem, blocks, start, n_init=self.n_init, tol=self.tol,
                                 max_iter=self.max_iter, monitor=Monitor(self.verbose))
        self._store(best.theta)
        self._store_run(best)
        return self

    def _store(self, theta: PLSAParams) -> None:
        self.components_ = np.ascontiguousarray(theta.word_topic.T)
        self.topic_weights_ = theta.topic_weights

    # -- new documents ----------------------------------------------------------------------
    def _fold_in(self, X) -> np.ndarray:
        """P(z|d) of the CSR documents X by fold-in, from the uniform mixture."""
        K = self.components_.shape[0]
        theta = np.full((X.shape[0], K), 1.0 / K)
        phi_pow = PLSAProblem(self.tempering).powered(self._word_topic())
        _kernels.fold_in(X, phi_pow, float(self.tempering), theta, self.max_doc_update_iter,
                         self.mean_change_tol)
        return theta

    def _word_topic(self) -> np.ndarray:
        return np.ascontiguousarray(self.components_.T, dtype=np.float64)

    def _blocks_for_use(self, X, where: str):
        """The (CSR block, None) pairs of X, checked against the fitted vocabulary."""
        check_is_fitted(self)
        return self._documents(X, reset=False, where=where).source

    def transform(self, X):
        """Topic mixtures P(z|d) of the documents of X, by fold-in.

        EM over each document's P(z|d) with ``components_`` fixed (tempered as in the fit),
        from the uniform mixture, until its mean absolute change is below
        ``mean_change_tol``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or blocks

        Returns
        -------
        doc_topic : ndarray of shape (n_samples, n_components)
            Rows sum to 1; an empty document gets the uniform mixture.
        """
        blocks = self._blocks_for_use(X, "PLSA.transform")
        return np.concatenate([self._fold_in(block) for block, _ in blocks])

    def _loglik_and_words(self, X, where: str) -> tuple[float, float]:
        loglik = words = 0.0
        blocks = self._blocks_for_use(X, where)
        phi = self._word_topic()
        for block, _ in blocks:
            theta = self._fold_in(block)
            loglik += float(_kernels.doc_loglik(block, phi, theta).sum())
            words += float(block.sum())
        return loglik, words

    def score(self, X, y=None):
        """Log-likelihood of the documents of X, sum_dw x_dw log sum_z P(w|z) P(z|d), with
        each P(z|d) folded in (:meth:`transform`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or blocks
        y : Ignored

        Returns
        -------
        score : float
            The total log-likelihood (like LatentDirichletAllocation's ``score``, not a
            mean); 0 for documents without words.
        """
        return self._loglik_and_words(X, "PLSA.score")[0]

    def perplexity(self, X):
        """exp(-log-likelihood / number of words) of X, P(z|d) folded in.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or blocks

        Returns
        -------
        perplexity : float

        Raises
        ------
        ValueError
            When X has no word at all (the perplexity is undefined).
        """
        loglik, words = self._loglik_and_words(X, "PLSA.perplexity")
        if not words > 0:
            raise ValueError("X has no words (every document is empty): its perplexity is "
                             "undefined.")
        return math.exp(-loglik / words)

    def top_words(self, feature_names=None, n=10):
        """The ``n`` most probable words of each topic.

        Parameters
        ----------
        feature_names : array-like of str of shape (n_features,), default=None
            The vocabulary, e.g. ``CountVectorizer.get_feature_names_out()``. None: the
            fitted ``feature_names_in_`` when there are any, else ``x0``, ``x1``, ...
        n : int, default=10
            Words per topic (at most the vocabulary size).

        Returns
        -------
        words : list of lists of str
            ``words[k]`` lists topic k's words, most probable first.
        """
        check_is_fitted(self)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        n_features = self.components_.shape[1]
        if feature_names is None:
            feature_names = getattr(self, "feature_names_in_", None)
        if feature_names is None:
            feature_names = [f"x{j}" for j in range(n_features)]
        names = np.asarray(feature_names, dtype=object)
        if names.shape != (n_features,):
            raise ValueError(f"feature_names must hold one name per word: {n_features} "
                             f"expected, got shape {names.shape}")
        n = min(int(n), n_features)
        order = np.argsort(-self.components_, axis=1, kind="stable")[:, :n]
        return [[str(names[j]) for j in row] for row in order]

    # -- persistence ------------------------------------------------------------------------
    def _check_loaded_arrays(self):
        components = np.asarray(self.components_)
        expected = (self.n_components, self.n_features_in_)
        if components.shape != expected or components.dtype.kind != "f":
            raise ValueError(f"components_ must be a float array of shape {expected}, got "
                             f"{components.dtype} {components.shape}")
        if not np.all(np.isfinite(components)) or np.any(components < 0) or \
                not np.allclose(components.sum(axis=1), 1.0, atol=1e-8):
            raise ValueError("components_ rows must be probability distributions")
        weights = np.asarray(self.topic_weights_)
        if weights.shape != (self.n_components,):
            raise ValueError(f"topic_weights_ must have shape ({self.n_components},)")
