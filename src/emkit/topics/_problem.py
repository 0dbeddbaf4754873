"""PLSA as an EM problem for the shared engine.

The model: P(w|d) = sum_z P(w|z) P(z|d). Its parameters are global, P(w|z) (``phi``, stored
word-major: n_words x K), and local, one P(z|d) row per document (``theta``).

The scheme (one engine iteration t, parameters (phi_t, theta_t) entering it):

1. E-step, fused with the local half of the M-step, one pass over the non-zeros of each
   block of documents: responsibilities r_dwz from (phi_t, theta_t); the expected counts
   n(w,z) are summed over blocks (the additive statistics), while each document's expected
   topic counts n(d,z) immediately give its new row theta_{t+1}(d) = n(d,z) / n(d), written
   in place in the block's companion (the block's rows of theta, kept beside it by
   :class:`DocumentBlocks`). The block's log-likelihood is evaluated at (phi_t, theta_t),
   before its rows are replaced.
2. M-step, global: phi_{t+1}(w|z) = n(w,z) / sum_w n(w,z).

Documents do not interact given phi, so updating a document's row during the pass is
exactly the M-step of classic EM for the joint parameters (phi, theta): the value recorded
at iteration t is the log-likelihood of (phi_t, theta_t), and it never decreases from one
iteration to the next.

Tempered EM (Hofmann): responsibilities proportional to (P(w|z) P(z|d))^beta. Each
iteration then maximises the tempered free energy over the responsibilities and over the
parameters in turn, so the objective recorded (and guaranteed not to decrease) is

    L_beta = sum_dw c_dw (1 / beta) log sum_z (P(w|z) P(z|d))^beta,

which is the log-likelihood when beta = 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from ._kernels import TINY


@dataclass(frozen=True)
class PLSAStats:
    """Expected word-topic counts n(w,z) (n_words x K): additive over documents."""

    word_topic: np.ndarray

    def __add__(self, other: "PLSAStats") -> "PLSAStats":
        return PLSAStats(self.word_topic + other.word_topic)

    def __mul__(self, factor: float) -> "PLSAStats":
        return PLSAStats(self.word_topic * factor)

    __rmul__ = __mul__


class DocumentTopics:
    """P(z|d) of every document, one array per data block, kept beside the blocks.

    A block's rows start uniform (1/K) the first time the block is seen; later passes must
    bring blocks of the same sizes in the same order.
    """

    def __init__(self, n_components: int):
        self.n_components = int(n_components)
        self.blocks: list = []

    def rows(self, index: int, n_docs: int) -> np.ndarray:
        """The P(z|d) rows of block ``index`` (created uniform on first sight)."""
        if index == len(self.blocks):
            self.blocks.append(np.full((n_docs, self.n_components), 1.0 / self.n_components))
        elif index > len(self.blocks):
            raise ValueError(f"block {index} requested before block {len(self.blocks)}")
        rows = self.blocks[index]
        if rows.shape[0] != n_docs:
            raise ValueError(f"block {index} of the data has {n_docs} documents, but it had "
                             f"{rows.shape[0]} in the first pass: a block source must give "
                             "the same blocks in the same order at every pass.")
        return rows

    def all_rows(self) -> np.ndarray:
        """Every document's P(z|d), in the order of the data."""
        if not self.blocks:
            return np.empty((0, self.n_components))
        return np.concatenate(self.blocks)


@dataclass(frozen=True)
class PLSAParams:
    """``theta`` of PLSA for the engine, its global parameters: P(w|z) word-major and the
    topics' shares of the corpus's words P(z). (The per-document P(z|d) is local state,
    kept beside its block by :class:`DocumentBlocks`.)"""

    word_topic: np.ndarray
    topic_weights: np.ndarray


class DocumentBlocks:
    """Blocks of documents (CSR matrices), each handed to the E-step with its documents'
    P(z|d) as its companion: an engine data source of ``(X_block, doc_topic_block)``
    pairs, whose E-steps update the P(z|d) rows in place.

    Parameters
    ----------
    source : iterable of (X_block, None) pairs
        Re-iterable: read once per EM iteration, blocks in the same order every time.
    n_components : int
        Topics: the width of the P(z|d) rows.
    """

    total_weight = None

    def __init__(self, source, n_components: int):
        self.source = source
        self.documents = DocumentTopics(n_components)

    def restart(self) -> None:
        """Every document's P(z|d) uniform again (for a new start)."""
        self.documents = DocumentTopics(self.documents.n_components)

    def __iter__(self):
        words, n_blocks = 0.0, 0
        for index, (X, _) in enumerate(self.source):
            yield X, self.documents.rows(index, X.shape[0])
            words += float(X.sum())
            n_blocks += 1
        if n_blocks != len(self.documents.blocks):
            raise ValueError(f"the data gave {n_blocks} blocks, but "
                             f"{len(self.documents.blocks)} in the first pass: a block "
                             "source must give the same blocks at every pass.")
        if not words > 0:
            raise ValueError(all_empty_message())


def all_empty_message() -> str:
    return ("every document is empty (no positive count in X): PLSA needs at least one "
            "word to fit topics.")


class PLSAProblem:
    """The maths of one PLSA EM iteration.

    Parameters
    ----------
    tempering : float
        beta in (0, 1]: responsibilities proportional to (P(w|z) P(z|d))^beta.
    """

    def __init__(self, tempering: float = 1.0):
        self.tempering = float(tempering)

    def powered(self, word_topic: np.ndarray) -> np.ndarray:
        """P(w|z) ** beta (P(w|z) itself when beta is 1)."""
        if self.tempering == 1.0:
            return word_topic
        return np.ascontiguousarray(word_topic ** self.tempering)

    def e_step(self, X, theta: PLSAParams, doc_topic: np.ndarray):
        """Statistics and tempered log-likelihood (at the entering parameters) of the
        documents X; their P(z|d) rows ``doc_topic`` (the block's companion) are replaced
        in place by their M-step values."""
        nwz, loglik, _ = _kernels.e_step(X, self.powered(theta.word_topic), self.tempering,
                                         doc_topic)
        return PLSAStats(nwz), loglik

    @staticmethod
    def block_weight(X, doc_topic) -> float:
        """The words of a block: the objective is per word."""
        return float(X.sum())

    def m_step(self, stats: PLSAStats, theta: PLSAParams) -> PLSAParams:
        """P(w|z) = n(w,z) / n(z); a topic that received no count keeps its old words."""
        counts = stats.word_topic
        totals = counts.sum(axis=0)
        empty = ~(totals > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = counts / totals
        if np.any(empty):
            phi[:, empty] = theta.word_topic[:, empty]
        np.maximum(phi, TINY, out=phi)
        weights = totals / totals.sum()
        return PLSAParams(np.ascontiguousarray(phi), weights)


def random_word_topic(n_words: int, n_components: int, rng) -> np.ndarray:
    """Starting P(w|z), word-major: uniform(0, 1) draws normalised per topic (every word
    possible in every topic, the symmetry between topics broken)."""
    phi = rng.uniform(0.0, 1.0, size=(n_components, n_words)) + TINY
    phi /= phi.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(phi.T)
