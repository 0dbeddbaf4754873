"""Many sequences stored back to back: ``lengths`` checks and blocks of whole sequences."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .._em import block_rows_for
from .._sources import release_pages


def check_lengths(lengths, n_samples: int) -> np.ndarray:
    """Validate ``lengths`` (None: one sequence) and return the sequence offsets.

    Returns
    -------
    offsets : ndarray of shape (n_sequences + 1,), int64
        Sequence s is rows offsets[s]:offsets[s + 1] of X.

    Raises
    ------
    ValueError
        Lengths that are not whole numbers, are zero or negative, or do not sum to the
        number of rows.
    """
    if lengths is None:
        return np.array([0, n_samples], dtype=np.int64)
    raw = np.asarray(lengths)
    if raw.ndim == 0:
        raw = raw.reshape(1)
    if raw.ndim != 1 or raw.shape[0] == 0:
        raise ValueError(f"lengths must be a 1-d sequence of positive integers, got shape "
                         f"{raw.shape}.")
    if raw.dtype.kind not in "iu":
        if raw.dtype.kind not in "fb" or raw.dtype.kind == "b" or not np.all(
                np.isfinite(raw)) or np.any(raw != np.round(raw)):
            raise ValueError(f"lengths must be integers, got {raw.dtype} values such as "
                             f"{raw.ravel()[:3].tolist()}.")
    lengths = raw.astype(np.int64)
    if np.any(lengths <= 0):
        bad = np.flatnonzero(lengths <= 0)
        raise ValueError(f"lengths must be positive; sequence {int(bad[0])} has length "
                         f"{int(lengths[bad[0]])} ({bad.size} non-positive in all).")
    total = int(lengths.sum())
    if total != n_samples:
        raise ValueError(f"lengths sum to {total}, but X has {n_samples} rows; they must "
                         "be equal.")
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


class SequenceBlocks:
    """Whole sequences handed to E-steps a block at a time (the engine's data feed).

    A block holds consecutive sequences up to about ``block_rows`` rows (a longer sequence
    is a block of its own): the E-step's memory grows with the block, not with the data.
    Each block is ``(X_block, offsets_block)``. ``total_weight`` is 1: the engine's
    lower bound is the summed log-likelihood over all sequences, as in hmmlearn.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        In memory, or a numpy memmap: only one block is read at a time, and the memmap's
        pages are released after each block.
    offsets : ndarray of shape (n_sequences + 1,)
        From :func:`check_lengths`.
    block_rows : int
    check : callable, optional
        ``check(X_block) -> X_block``, applied to each block as it is read.
    """

    total_weight = 1.0

    def __init__(self, X: np.ndarray, offsets: np.ndarray, block_rows: int,
                 check: Callable[[np.ndarray], np.ndarray] | None = None):
        self.X = X
        self.offsets = offsets
        self.block_rows = max(1, int(block_rows))
        self.bounds = group_sequences(offsets, self.block_rows)
        self.check = check

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for s0, s1 in self.bounds:
            r0, r1 = self.offsets[s0], self.offsets[s1]
            X = self.X[r0:r1]
            yield (X if self.check is None else self.check(X)), self.offsets[s0:s1 + 1] - r0
            release_pages(self.X, int(r0), int(r1))


def group_sequences(offsets: np.ndarray, block_rows: int) -> list[tuple[int, int]]:
    """Consecutive sequences grouped into blocks of about ``block_rows`` rows: the
    ``(first, stop)`` sequence indices of each block (a longer sequence alone)."""
    bounds, s0, n_seq = [], 0, offsets.shape[0] - 1
    while s0 < n_seq:
        # the last sequence index s1 with offsets[s1] - offsets[s0] <= block_rows, at least one
        s1 = int(np.searchsorted(offsets, offsets[s0] + block_rows, side="right")) - 1
        s1 = min(max(s1, s0 + 1), n_seq)
        bounds.append((s0, s1))
        s0 = s1
    return bounds


def sequence_block_rows(n_states: int, n_features: int) -> int:
    """Rows per block: the block's (rows x states) lattices and feature temporaries fit the
    engine's memory budget."""
    return block_rows_for(3 * n_states + 2 * n_features)

