"""Where an E-step's rows come from, beyond one in-memory array.

- :class:`BlockStream`: any re-iterable source of row blocks (a list of arrays, an object
  whose ``__iter__`` starts over, or a function returning a fresh iterator): streamed once
  per EM iteration, never held whole.
- :class:`DaskBlocks`: a Dask array, one E-step per partition on the workers, statistics
  summed by a tree reduction; only parameters and statistics travel.

A NumPy memmap needs nothing special: :class:`emkit._em.RowBlocks` slices it a block at a
time, so only one block is read into memory at once (:func:`read_rows` draws a sample of its
rows the same way). Every source yields or computes ``(X_block, companion)`` pairs, the
companion being what the model's E-step takes with the rows: row weights for a mixture
(None: every row weighs 1), the offsets of a block's sequences for an HMM. The engine sums
their statistics, log-likelihoods and weights (``total_weight`` None: the weights are
counted as the blocks go by; an HMM's lower bound is a plain sum, ``total_weight`` 1).
"""

from __future__ import annotations

import mmap
from typing import Any, Callable, Iterator

import numpy as np


def release_pages(X, start: int, stop: int) -> None:
    """Tell the kernel that rows start..stop of a read-only memmap are no longer needed,
    so a pass over a file larger than memory does not keep the file's pages resident in
    this process (they stay in the page cache, clean). No-op for anything else."""
    base = getattr(X, "_mmap", None)
    if base is None or not isinstance(X, np.memmap) or not X.flags.c_contiguous \
            or X.mode != "r" or not hasattr(base, "madvise"):
        return
    row_bytes = X.strides[0]
    first = X.offset % mmap.ALLOCATIONGRANULARITY + start * row_bytes
    last = X.offset % mmap.ALLOCATIONGRANULARITY + stop * row_bytes
    page = mmap.PAGESIZE
    first -= first % page
    last -= last % page  # whole pages only: the next block may share the last one
    if last > first:
        try:
            base.madvise(mmap.MADV_DONTNEED, first, last - first)
        except (OSError, ValueError, AttributeError):  # not supported here: keep the pages
            pass


def read_rows(X, rows, chunk: int = 1024) -> np.ndarray:
    """X[rows] (sorted indices) read a chunk at a time, a memmap's pages released after
    each chunk: readahead around scattered rows would otherwise map much of the file."""
    parts = []
    for start in range(0, rows.size, chunk):
        part = rows[start:start + chunk]
        parts.append(np.array(X[part]))
        release_pages(X, int(part[0]), int(part[-1]) + 1)
    return np.concatenate(parts)


def sample_row_indices(n_rows: int, n_sample: int, rng) -> np.ndarray:
    """All row indices when ``n_rows <= n_sample``, else at most ``n_sample`` distinct random
    ones, sorted (drawn without a permutation of all ``n_rows``)."""
    if n_rows <= n_sample:
        return np.arange(n_rows)
    return np.unique(rng.randint(0, n_rows, size=n_sample))


def is_dask_collection(X) -> bool:
    """Whether X is a Dask array or dataframe (without importing dask when it is not)."""
    module = type(X).__module__
    return module.startswith("dask.") or module.startswith("dask_expr")


def is_streamed(X) -> bool:
    """Whether a ``fit`` reads X a block at a time: a memmap, a Dask collection or a block
    source."""
    return isinstance(X, np.memmap) or is_dask_collection(X) or is_block_source(X)


def is_block_source(X) -> bool:
    """Whether X is a source of row blocks rather than one array: a list or tuple of 2-d
    arrays, or an iterable / callable that is not array-like."""
    if callable(X) and not hasattr(X, "__array__"):
        return True
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(np.ndim(b[0] if isinstance(b, tuple) else b) == 2
                                  for b in X)
    return hasattr(X, "__iter__") and not hasattr(X, "__array__") and not hasattr(X, "shape") \
        and not isinstance(X, (str, bytes, dict))


def check_block_weights(X: np.ndarray, w) -> np.ndarray | None:
    """A block's row weights (None: every row weighs 1), one per row, in X's dtype."""
    if w is None:
        return None
    w = np.asarray(w, dtype=X.dtype)
    if w.shape != (X.shape[0],):
        raise ValueError(f"a block's sample_weight has shape {w.shape}, its rows "
                         f"are {X.shape[0]}")
    return w


class BlockStream:
    """Row blocks from a re-iterable source, checked one at a time.

    Parameters
    ----------
    source : list, re-iterable object, or callable returning an iterator
        Each item is an (n_i, n_features) array or an ``(X, companion)`` pair.
    check : callable
        ``check(X) -> X``: validates and converts one block (raising ValueError).
    companion : callable, optional
        ``companion(X, value) -> value``: validates the second item of a pair (None for a
        bare block) into what the E-step takes with the rows. Default: row weights
        (:func:`check_block_weights`).
    total_weight : float or None, optional
        The engine's ``total_weight`` (None: the weights seen).
    """

    def __init__(self, source, check: Callable[[np.ndarray], np.ndarray],
                 companion: Callable[[np.ndarray, Any], Any] = check_block_weights,
                 total_weight: float | None = None):
        if not callable(source) and iter(source) is source:
            raise ValueError("a one-shot iterator (a generator, say) can be read only once, "
                             "but EM reads the data once per iteration: pass a list of "
                             "blocks, a re-iterable object, or a function returning a "
                             "fresh iterator.")
        self.source = source
        self.check = check
        self.companion = companion
        self.total_weight = total_weight

    def __iter__(self) -> Iterator[tuple[np.ndarray, Any]]:
        items = self.source() if callable(self.source) else iter(self.source)
        for item in items:
            X, w = item if isinstance(item, tuple) else (item, None)
            X = self.check(X)
            yield X, self.companion(X, w)

    def rebatched(self, batch_rows: int) -> "Rebatched":
        """The same rows in batches of at most ``batch_rows`` (mini-batch EM)."""
        return Rebatched(self, batch_rows)

    def first_rows(self, n_rows: int) -> np.ndarray:
        """Up to ``n_rows`` rows from the start of the stream (for starting values)."""
        taken, count = [], 0
        for X, _ in self:
            taken.append(X[: n_rows - count])
            count += taken[-1].shape[0]
            if count >= n_rows:
                break
        if not taken:
            raise ValueError("the block source yielded no blocks")
        return np.concatenate(taken)


class Rebatched:
    """Blocks of another source cut into batches of at most ``batch_rows`` rows."""

    total_weight = None

    def __init__(self, blocks, batch_rows: int):
        self.blocks = blocks
        self.batch_rows = max(1, int(batch_rows))

    def __iter__(self):
        for X, w in self.blocks:
            for start in range(0, X.shape[0], self.batch_rows):
                stop = start + self.batch_rows
                yield X[start:stop], None if w is None else w[start:stop]


def _partition_e_step(problem, X, theta, w, check):
    from ._em import block_weight

    X = check(np.asarray(X))
    if X.shape[0] == 0:
        return None
    stats, loglik = problem.e_step(X, theta, w)
    return stats, float(loglik), block_weight(problem, X, w)


def _add_partials(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


class DaskBlocks:
    """A Dask array of rows: one E-step per partition where the data live.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked along rows (columns are put in one chunk).
    sample_weight : dask.array.Array or None
    check : callable
        Applied to each partition on its worker.
    companions : list, optional
        Instead of ``sample_weight``: one small in-memory value per row partition, handed
        to the E-step with that partition's rows (an HMM's sequence offsets, say).
    total_weight : float or None, optional
        The engine's ``total_weight`` (None: the rows or weights of all partitions).
    """

    def __init__(self, X, sample_weight, check, companions=None, total_weight=None):
        self.X = X.rechunk({1: -1}) if X.numblocks[1] != 1 else X
        self.total_weight = total_weight
        self.companions = companions
        if companions is not None:
            if sample_weight is not None:
                raise ValueError("give either sample_weight or per-partition companions")
            if len(companions) != self.X.numblocks[0]:
                raise ValueError(f"{len(companions)} companions for "
                                 f"{self.X.numblocks[0]} partitions")
            self.sample_weight = None
        elif sample_weight is None:
            self.sample_weight = None
        else:
            import dask.array as da

            if not is_dask_collection(sample_weight):
                sample_weight = da.from_array(np.asarray(sample_weight))
            if sample_weight.shape != (self.X.shape[0],):
                raise ValueError(f"sample_weight must have shape ({self.X.shape[0]},), one "
                                 f"weight per row of X, but got shape {sample_weight.shape}.")
            self.sample_weight = sample_weight.rechunk((self.X.chunks[0],))
        self.check = check

    def expectation(self, problem, theta):
        """The summed statistics, log-likelihood and weight of all partitions."""
        import dask

        parts = self.X.to_delayed().ravel()
        if self.companions is not None:
            weights = list(self.companions)
        elif self.sample_weight is not None:
            weights = list(self.sample_weight.to_delayed().ravel())
        else:
            weights = [None] * len(parts)
        step = dask.delayed(_partition_e_step)
        partials = [step(problem, part, theta, w, self.check)
                    for part, w in zip(parts, weights)]
        add = dask.delayed(_add_partials)
        while len(partials) > 1:
            partials = [add(partials[i], partials[i + 1]) if i + 1 < len(partials)
                        else partials[i] for i in range(0, len(partials), 2)]
        (result,) = dask.compute(partials[0])
        if result is None:
            raise ValueError("the Dask array has no rows")
        return result

    def first_rows(self, n_rows: int) -> np.ndarray:
        """Up to ``n_rows`` rows from the first partitions (for starting values)."""
        import dask

        taken, count = [], 0
        for part in self.X.to_delayed().ravel():
            (block,) = dask.compute(part)
            taken.append(np.asarray(block)[: n_rows - count])
            count += taken[-1].shape[0]
            if count >= n_rows:
                break
        return self.check(np.concatenate(taken))
