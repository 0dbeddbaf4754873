"""HMM data beyond one in-memory array: memmaps, sources of sequence blocks, Dask.

Baum-Welch statistics add up over sequences, so any feed of whole sequences gives the
in-memory fit: the engine's data sources (:mod:`emkit._sources`) do the work, and the
estimator base (:mod:`emkit._estimator_base`) dispatches on the kind of input. This module
says how each kind becomes a feed of ``(X_block, offsets_block)`` pairs and validates every
block as it arrives:

- a NumPy memmap with ``lengths``: :class:`SequenceBlocks` reads it a block of whole
  sequences at a time and releases the pages read;
- a block source (a list, a re-iterable object, or a function returning a fresh
  iterator) of ``(X_block, lengths_block)`` pairs or bare blocks (one sequence each):
  :class:`emkit._sources.BlockStream`;
- a Dask array (or dataframe) with ``lengths``: re-chunked so that every partition holds
  whole sequences, one E-step per partition (:class:`emkit._sources.DaskBlocks`).
"""

from __future__ import annotations

import numpy as np
from .._estimator_base import EMEstimator
from .._sources import BlockStream, DaskBlocks
from ._sequences import SequenceBlocks, check_lengths


class SequenceBlockCheck:
    """Validates one block of observations as the estimator's ``fit`` validates X: the
    estimator's own checks, the same number of features in every block and, once the
    starting parameters are known (``emission``), agreement with them. Picklable, for Dask
    workers."""

    def __init__(self, model):
        self.model = model
        self.n_features = None
        self.emission = None

    def __call__(self, X):
        X = self.model._check_X(X)
        if self.n_features is None:
            self.n_features = X.shape[1]
        elif X.shape[1] != self.n_features:
            raise ValueError(f"a block of X has {X.shape[1]} features, the first had "
                             f"{self.n_features}")
        if self.emission is not None:
            try:
                self.model._check_X_against(X, self.emission)
            except ValueError as exc:
                raise ValueError(
                    f"a block of X does not fit the starting parameters: {exc}. (They were "
                    f"drawn from at most {self.model.INIT_ROWS:,} rows of the data; give the "
                    "parameters, or the model's size, explicitly.)") from None
        return X


def block_offsets(X, lengths) -> np.ndarray:
    """The offsets of a streamed block's sequences (``lengths`` None: one sequence)."""
    try:
        return check_lengths(lengths, X.shape[0])
    except ValueError as exc:
        raise ValueError(f"a block of the source: {exc}") from None


def sequence_partitions(X, offsets):
    """A Dask array re-chunked along rows so that every partition holds whole sequences.

    Each of X's chunk boundaries moves to the nearest sequence boundary (boundaries that
    meet are merged), so there are about as many partitions as before, and none when the
    chunks already hold whole sequences.

    Returns
    -------
    X : dask.array.Array
        Re-chunked (the same array when already aligned).
    partition_offsets : list of ndarray
        Per partition, the offsets of its sequences within it.
    """
    n = X.shape[0]
    bounds = np.cumsum((0,) + tuple(X.chunks[0]))[1:-1]
    above = np.minimum(np.searchsorted(offsets, bounds), offsets.size - 1)
    below, above = offsets[np.maximum(above - 1, 0)], offsets[above]
    nearest = np.where(bounds - below <= above - bounds, below, above)
    cuts = np.unique(np.concatenate(([0], nearest, [n])))
    chunks = tuple(int(c) for c in np.diff(cuts))
    if chunks != tuple(X.chunks[0]):
        X = X.rechunk({0: chunks})
    first = np.searchsorted(offsets, cuts[:-1])
    stop = np.searchsorted(offsets, cuts[1:], side="right")
    partition_offsets = [offsets[i:j] - offsets[i] for i, j in zip(first, stop)]
    return X, partition_offsets


def dask_sequences(X, lengths):
    """A Dask array or dataframe of sequences as a 2-d Dask array whose partitions hold
    whole sequences (:func:`sequence_partitions`), and each partition's offsets."""
    if hasattr(X, "to_dask_array"):  # a dataframe
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d, got a Dask array of shape {X.shape}")
    if np.isnan(X.shape[0]):
        raise ValueError("the Dask array's chunk sizes are unknown, so its sequences "
                         "cannot be located: call X.compute_chunk_sizes() first")
    X = X.rechunk({1: -1}) if X.numblocks[1] != 1 else X
    return sequence_partitions(X, check_lengths(lengths, X.shape[0]))


def per_partition(method, X, lengths) -> list:
    """``method(X_part, lengths_part)`` on every partition of whole sequences of a Dask
    array or dataframe: a list of ``(delayed result, rows of the partition)``."""
    import dask

    X, partition_offsets = dask_sequences(X, lengths)
    call = dask.delayed(method, pure=True)
    return [(call(block, np.diff(offsets)), int(offsets[-1]))
            for block, offsets in zip(X.to_delayed().ravel(), partition_offsets)]


def lazy_rows(method, X, lengths, dtype, width=None):
    """The per-row results of ``method`` on a Dask array of sequences, as a lazy Dask
    array (shape (n_samples,), or (n_samples, width)) computed partition by partition."""
    import dask.array as da

    return da.concatenate([
        da.from_delayed(result, shape=(rows,) if width is None else (rows, width),
                        dtype=dtype) for result, rows in per_partition(method, X, lengths)])


class SequenceDataFitting(EMEstimator):
    """The blocks of whole sequences of each input kind, for the estimator base (a mixin
    of the HMMs). ``_fit_block_rows(n_features)``: rows per block of a memmap."""

    _lower_bound_is_mean = False  # hmmlearn's lower bound: the summed log-likelihood
    _companion_name = ("lengths", "sequence lengths", "lengths_block")
    _memmap_ndims = (1, 2)

    def _block_check(self, X):
        return SequenceBlockCheck(self)

    def _dask_blocks(self, X, lengths, check):
        X, partition_offsets = dask_sequences(X, lengths)
        return DaskBlocks(X, None, check, companions=partition_offsets, total_weight=1.0)

    def _memmap_blocks(self, X, lengths, check, n_features):
        offsets = check_lengths(lengths, X.shape[0])
        return SequenceBlocks(X, offsets, self._fit_block_rows(n_features), check)

    def _block_stream(self, X, check):
        return BlockStream(X, check, companion=block_offsets, total_weight=1.0)
