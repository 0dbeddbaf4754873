"""The background model: a Markov chain of order 0-2 estimated from the sequences.

As in MEME, the background is estimated from the input sequences themselves (both strands
when sites may lie on either). An order-k model holds P(letter | k preceding letters) for
every order 0..k, so that the first letters of a sequence, and the letters after a wildcard,
use the longest context available.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from ._alphabet import Alphabet

__all__ = ["MarkovBackground"]


def _reverse_complement_index(n_letters: int, k: int, comp: np.ndarray) -> np.ndarray:
    """index -> index of the reverse complement k-mer."""
    digits = np.indices((n_letters,) * k).reshape(k, -1)  # first letter most significant
    rc = comp[digits[::-1]].astype(np.int64)
    return np.ravel_multi_index(tuple(rc), (n_letters,) * k)


@dataclass(frozen=True)
class MarkovBackground:
    """A background Markov model of order ``order``.

    Attributes
    ----------
    tables : list of ndarray
        ``tables[o]`` has shape (A**o, A): row ``context`` (base-A number of the o preceding
        letters, first most significant) holds P(letter | context).
    """

    tables: tuple

    @property
    def order(self) -> int:
        return len(self.tables) - 1

    @property
    def frequencies(self) -> np.ndarray:
        """The order-0 letter frequencies (what MEME's motif files call the background)."""
        return self.tables[0][0]

    @classmethod
    def fit(cls, codes, offsets, alphabet: Alphabet, order: int = 0, both_strands=False,
            pseudocount: float = 1.0) -> "MarkovBackground":
        """Estimate the model from counts of (o+1)-mers, o = 0..order.

        Parameters
        ----------
        codes, offsets : ndarray
            Encoded sequences (see :func:`encode_sequences`).
        alphabet : Alphabet
        order : int
            0, 1 or 2.
        both_strands : bool
            Count the reverse-complement strand too (DNA with ``revcomp``).
        pseudocount : float
            Added to every count (every letter after every context).
        """
        A = alphabet.size
        tables = []
        for o in range(order + 1):
            counts = _kernels.kmer_counts(codes, offsets, o + 1, A)
            if both_strands:
                counts = counts + counts[_reverse_complement_index(
                    A, o + 1, alphabet.complement_codes()[:A])]
            counts = counts.reshape(A ** o, A) + pseudocount
            totals = counts.sum(axis=1, keepdims=True)
            # A context never seen (and no pseudocount) falls back to uniform, never NaN.
            table = np.divide(counts, totals, out=np.full_like(counts, 1.0 / A),
                              where=totals > 0)
            tables.append(table)
        return cls(tuple(tables))

    def log_probs(self, codes, offsets, n_letters: int) -> np.ndarray:
        """log P(x_p | context) at every position (0 at wildcards)."""
        with np.errstate(divide="ignore"):
            logs = [np.log(t).ravel() for t in self.tables]
        starts = np.concatenate([[0], np.cumsum([len(x) for x in logs])]).astype(np.int64)
        return _kernels.background_log_probs(codes, offsets, np.concatenate(logs), starts,
                                             self.order, n_letters)
