"""What every EM estimator shares, written once: the drivers between a model and the engine.

An estimator derives from :class:`EMEstimator` and supplies only its problem, its starts,
and how to store and check its parameters. The base gives it:

- input-kind dispatch (:meth:`EMEstimator._streamed_source`): a NumPy memmap, a block
  source or a Dask array / dataframe becomes the engine's data source with each block's
  companion (row weights, sequence offsets), plus a bounded sample of rows for starting
  values; the estimator names how its blocks are made for each kind (the ``_*_blocks``
  hooks);
- the choice of runner (:meth:`EMEstimator._runner`): batch EM, mini-batch EM
  (``batch_size``), or accelerated EM (``_accelerated``);
- ``partial_fit``'s bookkeeping (:meth:`EMEstimator._online_update`): the running
  statistics, the history of per-batch lower bounds and the attributes of an online fit;
- storing a run's record as fitted attributes (:meth:`EMEstimator._store_run`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal

import numpy as np

from ._em import EMRun, block_weight, run_accelerated_em
from ._online import OnlineState, online_step, run_minibatch_em
from ._sources import is_dask_collection, read_rows, sample_row_indices

#: The starting values of a streamed fit (memmap, block source, Dask) come from at most
#: this many rows.
INIT_ROWS = 100_000


class EMEstimator:
    """The drivers every EM estimator shares (a mixin beside scikit-learn's BaseEstimator).

    Class attributes an estimator may set:

    ``INIT_ROWS``
        rows a streamed fit draws its starting values from;
    ``_accelerated``
        True: batch runs are accelerated (SQUAREM; the problem has a vector form);
    ``_lower_bound_is_mean``
        True: an online batch's lower bound is its log-likelihood per unit of weight (as
        a fit's); False: its summed log-likelihood (the HMMs, as in hmmlearn);
    ``_keeps_restart_histories``
        True: a fit keeps every restart's history as ``restart_lower_bounds_``.

    Hooks for streamed input (estimators that take it): ``_block_check(X)`` (X None for a
    block source), ``_memmap_blocks(X, companion, check, n_features)``,
    ``_dask_blocks(X, companion, check)``, ``_block_stream(X, check)``, and optionally
    ``_stream_batches(stream)``, ``_dask_columns(columns)``, ``_memmap_ndims``;
    ``_companion_name`` names the companion in errors.
    """

    INIT_ROWS = INIT_ROWS
    #: a fit's record: one value for one run (_store_run), an array for several (_store_runs)
    converged_: Any
    lower_bound_: Any
    #: online and mini-batch step sizes: the estimator's parameters of these names
    learning_offset: float
    learning_decay: float
    _accelerated = False
    _lower_bound_is_mean = True
    _keeps_restart_histories = True
    #: how the companion of a block is named in errors: the argument, what it holds, and
    #: its name in a block source's pairs
    _companion_name = ("sample_weight", "weights", "weight_block")

    # -- the runner ---------------------------------------------------------------------
    def _runner(self) -> Callable[..., EMRun] | None:
        """The EM loop of one run: mini-batch EM with ``batch_size`` (step sizes from
        ``learning_offset`` and ``learning_decay``), accelerated EM for an accelerated
        estimator, else None (the engine's batch EM)."""
        if getattr(self, "batch_size", None) is not None:
            return functools.partial(run_minibatch_em, learning_offset=self.learning_offset,
                                     learning_decay=self.learning_decay)
        return run_accelerated_em if self._accelerated else None

    # -- input kinds --------------------------------------------------------------------
    def _streamed_source(self, X, companion, rng) -> tuple[Any, np.ndarray, Any]:
        """The data source of a streamed fit, at most ``INIT_ROWS`` validated rows for its
        starting values, and the check every block passes.

        X is a Dask array or dataframe (one E-step per partition), a NumPy memmap (read a
        block at a time; the sample is drawn at random with ``rng``) or a block source
        (the sample is its first rows). ``companion`` goes with a Dask array or a memmap
        (row weights, sequence lengths); a block source carries its own in its items.
        """
        argument, what, per_block = self._companion_name
        if is_dask_collection(X):
            if hasattr(X, "to_dask_array"):  # a dataframe
                self._dask_columns(np.asarray(X.columns, dtype=object))
                X = X.to_dask_array(lengths=True)
            if X.ndim != 2:
                raise ValueError(f"X must be 2-d, got a Dask array of shape {X.shape}")
            if getattr(self, "batch_size", None) is not None:
                raise ValueError("batch_size (mini-batch EM) is not available for Dask input: "
                                 "each iteration reduces every partition's statistics at once; "
                                 "use batch_size=None")
            check = self._block_check(X)
            blocks = self._dask_blocks(X, companion, check)
            return blocks, blocks.first_rows(self.INIT_ROWS), check
        if isinstance(X, np.memmap):
            if X.ndim not in self._memmap_ndims:
                raise ValueError(f"X must be 2-d, got a memmap of shape {X.shape}")
            check = self._block_check(X)
            sample = check(read_rows(X, sample_row_indices(X.shape[0], self.INIT_ROWS, rng)))
            return self._memmap_blocks(X, companion, check, sample.shape[1]), sample, check
        if companion is not None:
            raise ValueError(f"with a block source, give each block's {what} in the source "
                             f"as (X_block, {per_block}) pairs, not as {argument}")
        check = self._block_check(None)
        stream = self._block_stream(X, check)
        return self._stream_batches(stream), stream.first_rows(self.INIT_ROWS), check

    #: the numbers of dimensions a memmap X may have
    _memmap_ndims: tuple = (2,)

    def _block_check(self, X) -> Callable[[np.ndarray], np.ndarray]:
        """The check every block of X passes (X None: a block source, not yet read)."""
        raise NotImplementedError(f"{type(self).__name__} does not take streamed input")

    def _dask_blocks(self, X, companion, check):
        """The engine's data source over a 2-d Dask array (one E-step per partition)."""
        raise NotImplementedError(f"{type(self).__name__} does not take Dask input")

    def _memmap_blocks(self, X, companion, check, n_features: int):
        """The engine's data source over a memmap, read a block at a time."""
        raise NotImplementedError(f"{type(self).__name__} does not take memmap input")

    def _block_stream(self, X, check):
        """A :class:`emkit._sources.BlockStream` over a block source."""
        raise NotImplementedError(f"{type(self).__name__} does not take block sources")

    def _dask_columns(self, columns: np.ndarray) -> None:
        """The column names of a Dask dataframe being fitted (ignored by default)."""

    def _stream_batches(self, stream):
        """What each EM iteration reads from a block source (its blocks by default)."""
        return stream

    # -- online EM ----------------------------------------------------------------------
    def _online_update(self, problem, X, companion, theta, *, first: bool) -> None:
        """One step of stepwise EM from ``theta`` on the batch ``X`` (with its
        ``companion``), stored: the new parameters (``_store``), the running statistics,
        and the record of an online fit (``n_batches_``, ``n_iter_``, ``lower_bound_``,
        ``lower_bounds_``, ``converged_`` False). ``first``: the running statistics and
        the history start anew."""
        state = None if first else getattr(self, "_online", None)
        state = state or OnlineState()
        history = [] if first else list(getattr(self, "lower_bounds_", []))
        theta, loglik = online_step(problem, state, X, theta, companion,
                                    self.learning_offset, self.learning_decay,
                                    self._online_total_weight())
        value = float(loglik)
        if self._lower_bound_is_mean:
            value /= block_weight(problem, X, companion)
        self._store(theta)
        self._online = state
        # judged by fit only
        for stale in ("degenerate_", "degenerate_components_", "n_extra_starts_"):
            self.__dict__.pop(stale, None)
        self.n_batches_ = self.n_iter_ = state.n_updates
        self.converged_ = False
        self.lower_bound_ = value
        self.lower_bounds_ = history + [value]
        if self._keeps_restart_histories:
            self.restart_lower_bounds_ = [self.lower_bounds_]

    def _online_total_weight(self) -> float | Literal["seen"] | None:
        """``online_step``'s ``total_weight``: None (stepwise EM, statistics in the units of
        one batch) unless the estimator does stochastic variational inference."""
        return None

    # -- results ------------------------------------------------------------------------
    def _store_run(self, run: EMRun, to_data: Callable[[float], float] = float) -> None:
        """Keep a fit's record as attributes: ``converged_``, ``n_iter_``, ``lower_bound_``,
        ``lower_bounds_`` (and ``restart_lower_bounds_``), each lower bound mapped by
        ``to_data`` (into the data's units); online EM after a fit starts anew. The
        parameters are the estimator's to store (``_store``)."""
        self.converged_ = bool(run.converged)
        self.n_iter_ = int(run.n_iter)
        self.lower_bound_ = to_data(run.lower_bound)
        self.lower_bounds_ = [to_data(value) for value in run.lower_bounds]
        if self._keeps_restart_histories:
            self.restart_lower_bounds_ = [[to_data(value) for value in history]
                                          for history in run.restart_lower_bounds]
        self.__dict__.pop("_online", None)
        self.__dict__.pop("n_batches_", None)

    def _store_runs(self, runs) -> None:
        """Keep the records of several runs that each found one part of the model (MEME's
        motifs, found one after another) as arrays with one entry per run: ``converged_``,
        ``n_iter_``, ``lower_bound_``, and ``lower_bounds_`` (one history per run)."""
        self.converged_ = np.array([bool(run.converged) for run in runs])
        self.n_iter_ = np.array([int(run.n_iter) for run in runs])
        self.lower_bound_ = np.array([float(run.lower_bound) for run in runs])
        self.lower_bounds_ = [np.asarray(run.lower_bounds, dtype=float) for run in runs]
        self.__dict__.pop("_online", None)
        self.__dict__.pop("n_batches_", None)

    def _store(self, theta) -> None:  # pragma: no cover - every estimator has its own
        raise NotImplementedError
