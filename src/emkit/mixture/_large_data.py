"""GaussianMixture beyond one in-memory array: memmaps, block streams, Dask, online EM.

The engine's data sources (:mod:`emkit._sources`) and stepwise EM (:mod:`emkit._online`)
do the work; this mixin only validates each block as it arrives, draws starting values from
a bounded sample of rows, and keeps the estimator's attributes as :meth:`fit` does.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, validate_data

from .._em import RowBlocks
from .._fit_guard import untouched_on_failure
from .._online import OnlineState, online_step, run_minibatch_em
from .._sources import (BlockStream, DaskBlocks, is_dask_collection, read_rows,
                        sample_row_indices)
from .._validation import check_sample_weight, named_matrix, validate_params
from ._missing import MissingDataProblem, fill_with_column_means


class _BlockCheck:
    """Validates one block: 2-d, numeric, no infinity (NaN is a missing entry), the
    expected number of features, converted to the fit's dtype. Picklable, for Dask
    workers."""

    def __init__(self, n_features=None, dtype=None):
        self.n_features = n_features
        self.dtype = dtype

    def __call__(self, X):
        X = check_array(X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan",
                        input_name="X")
        if self.n_features is None:
            self.n_features, self.dtype = X.shape[1], X.dtype
        if X.shape[1] != self.n_features:
            raise ValueError(f"a block of X has {X.shape[1]} features, the first had "
                             f"{self.n_features}")
        return X.astype(self.dtype, copy=False)


class LargeDataFitting:
    """``partial_fit`` and the streamed ``fit`` of GaussianMixture (a mixin)."""

    def _runner(self):
        """The EM loop of one run: batch EM, or mini-batch EM with ``batch_size``."""
        if self.batch_size is None:
            return None
        return functools.partial(run_minibatch_em, learning_offset=self.learning_offset,
                                 learning_decay=self.learning_decay)

    # -- streamed fit ------------------------------------------------------------------------
    def _streamed_blocks(self, X, sample_weight, rng):
        """The data source and a sample of at most INIT_ROWS rows for starting values."""
        if is_dask_collection(X):
            if hasattr(X, "to_dask_array"):  # a dataframe
                columns = np.asarray(X.columns, dtype=object)
                if all(isinstance(c, str) for c in columns):
                    self.feature_names_in_ = columns
                else:
                    self.__dict__.pop("feature_names_in_", None)
                X = X.to_dask_array(lengths=True)
            if X.ndim != 2:
                raise ValueError(f"X must be 2-d, got a Dask array of shape {X.shape}")
            if self.batch_size is not None:
                raise ValueError("batch_size (mini-batch EM) is not available for Dask input: "
                                 "each iteration reduces every partition's statistics at once; "
                                 "use batch_size=None")
            check = _BlockCheck(X.shape[1], np.float32 if X.dtype == np.float32 else np.float64)
            blocks = DaskBlocks(X, sample_weight, check)
            return blocks, blocks.first_rows(self.INIT_ROWS), check
        if isinstance(X, np.memmap):
            if X.ndim != 2:
                raise ValueError(f"X must be 2-d, got a memmap of shape {X.shape}")
            check = _BlockCheck(X.shape[1], np.float32 if X.dtype == np.float32 else np.float64)
            weights = check_sample_weight(sample_weight, X.shape[0], check.dtype)
            sample = check(read_rows(X, sample_row_indices(X.shape[0], self.INIT_ROWS, rng)))
            rows_per_block = self.batch_size or self._block_rows(X.shape[1], check.dtype)
            blocks = RowBlocks(X, weights, rows_per_block, check)
            return blocks, sample, check
        if sample_weight is not None:
            raise ValueError("with a block source, give each block's weights in the source "
                             "as (X_block, weight_block) pairs, not as sample_weight")
        check = _BlockCheck()
        stream = BlockStream(X, check)
        sample = stream.first_rows(self.INIT_ROWS)
        blocks = stream if self.batch_size is None else stream.rebatched(self.batch_size)
        return blocks, sample, check

    def _fit_streamed(self, X, sample_weight):
        validate_params(self, self._parameter_constraints)
        rng = check_random_state(self.random_state)
        blocks, sample, check = self._streamed_blocks(X, sample_weight, rng)
        if sample.shape[0] < self.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {sample.shape[0]}")
        problem = MissingDataProblem(self._problem().covariance, self.reg_covar)
        user_init = self._checked_user_init(check.n_features, check.dtype)
        start_rows = fill_with_column_means(sample).astype(check.dtype)
        warm = self.warm_start and hasattr(self, "converged_")
        sample_blocks = RowBlocks(start_rows, None, self._block_rows(check.n_features,
                                                                     check.dtype))
        self._fit_restarts(problem, blocks, sample_blocks, start_rows, None, user_init, warm,
                           rng)
        self.n_features_in_ = check.n_features

    def _map_dask(self, X, method, per_row: bool):
        """``method`` applied partition by partition to a Dask array or dataframe: a lazy
        Dask array of the results (one value per row, or one row per row)."""
        if hasattr(X, "to_dask_array"):
            X = X.to_dask_array(lengths=True)
        X = X.rechunk({1: -1})
        if per_row:
            return X.map_blocks(lambda block: method(block), drop_axis=1,
                                dtype=np.float64 if method.__name__ != "predict" else np.int64)
        return X.map_blocks(lambda block: method(block),
                            chunks=(X.chunks[0], (self.n_components,)), dtype=np.float64)

    # -- online EM ---------------------------------------------------------------------------
    @untouched_on_failure
    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of online (stepwise) EM on a batch of rows.

        The first call starts the parameters from this batch (``init_params`` or the
        user-given ones); each call then folds the batch's statistics into running ones
        with step size (t + learning_offset) ** -learning_decay and runs the M-step. The
        running statistics live in memory only: a model read back from a file starts them
        again from its next batch.

        Returns
        -------
        self
        """
        self._partial_fit(X, sample_weight)
        return self

    def _partial_fit(self, X, sample_weight):
        validate_params(self, self._parameter_constraints)
        first = not hasattr(self, "means_")  # else continue from the fitted parameters
        X = validate_data(self, named_matrix(X), reset=first, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        if not first:
            X = X.astype(self.means_.dtype, copy=False)
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        problem = MissingDataProblem(self._problem().covariance, self.reg_covar)
        if first:
            if X.shape[0] < self.n_components:
                raise ValueError(f"the first batch has {X.shape[0]} rows, fewer than "
                                 f"n_components = {self.n_components}")
            rng = check_random_state(self.random_state)
            start_rows = fill_with_column_means(X).astype(X.dtype)
            user_init = self._checked_user_init(X.shape[1], X.dtype)
            batch = RowBlocks(start_rows, weights, self._block_rows(X.shape[1], X.dtype))
            start, _, _ = self._starts(problem, batch, start_rows, weights, user_init, rng,
                                       warm_theta=None)
            theta = start()
            state, history = OnlineState(), []
        else:
            state = getattr(self, "_online", None) or OnlineState()
            theta, history = self._theta(), list(getattr(self, "lower_bounds_", []))
        theta, loglik = online_step(problem, state, X, theta, weights,
                                    self.learning_offset, self.learning_decay)
        total = float(X.shape[0] if weights is None else weights.sum())
        self._store(theta)
        self._online = state
        for stale in ("degenerate_", "degenerate_components_", "n_extra_starts_"):  # fit's
            self.__dict__.pop(stale, None)
        self.n_batches_ = state.n_updates
        self.n_iter_ = state.n_updates
        self.converged_ = False
        self.lower_bound_ = loglik / total
        self.lower_bounds_ = history + [self.lower_bound_]
        self.restart_lower_bounds_ = [self.lower_bounds_]
