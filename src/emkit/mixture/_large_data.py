"""GaussianMixture beyond one in-memory array: memmaps, block streams, Dask, online EM.

The estimator base (:mod:`emkit._estimator_base`) turns each kind of input into the engine's
data sources and keeps ``partial_fit``'s bookkeeping; this mixin only says how a mixture's
blocks are made and validated, and draws the starting values of a streamed fit from a
bounded sample of rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, validate_data

from .._em import RowBlocks
from .._estimator_base import EMEstimator
from .._fit_guard import untouched_on_failure
from .._sources import BlockStream, DaskBlocks
from .._validation import check_sample_weight, named_matrix, validate_params
from ._missing import MissingDataProblem, fill_with_column_means


class _BlockCheck:
    """Validates one block: 2-d, numeric, no infinity (NaN is a missing entry when
    ``allow_nan``, else refused), the expected number of features, converted to the fit's
    dtype (None: the first block's). Picklable, for Dask workers."""

    def __init__(self, n_features=None, dtype=None, allow_nan=True):
        self.n_features = n_features
        self.dtype = dtype
        self.allow_nan = allow_nan

    def __call__(self, X):
        X = check_array(X, dtype=[np.float64, np.float32],
                        ensure_all_finite="allow-nan" if self.allow_nan else True,
                        input_name="X")
        if self.n_features is None:
            self.n_features = X.shape[1]
        if self.dtype is None:
            self.dtype = X.dtype
        if X.shape[1] != self.n_features:
            raise ValueError(f"a block of X has {X.shape[1]} features, the first had "
                             f"{self.n_features}")
        return X.astype(self.dtype, copy=False)


class RowBlockSource(EMEstimator):
    """The blocks of rows (and row weights) of each input kind, for the estimator base
    (:mod:`emkit._estimator_base`): the mixtures' hooks. ``_fit_dtype``: the dtype the
    blocks are converted to (None: float32 stays float32); ``_missing_values``: whether a
    NaN is a missing entry (else refused)."""

    _fit_dtype = None
    _missing_values = True

    def _block_check(self, X):
        dtype = self._fit_dtype
        if dtype is None and X is not None:
            dtype = np.float32 if X.dtype == np.float32 else np.float64
        return _BlockCheck(None if X is None else X.shape[1], dtype, self._missing_values)

    def _dask_columns(self, columns):
        if all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = columns
        else:
            self.__dict__.pop("feature_names_in_", None)

    def _dask_blocks(self, X, sample_weight, check):
        return DaskBlocks(X, sample_weight, check)

    def _memmap_blocks(self, X, sample_weight, check, n_features):
        weights = check_sample_weight(sample_weight, X.shape[0], check.dtype)
        rows_per_block = (getattr(self, "batch_size", None)
                          or self._block_rows(n_features, check.dtype))
        return RowBlocks(X, weights, rows_per_block, check)

    def _block_stream(self, X, check):
        return BlockStream(X, check)

    def _stream_batches(self, stream):
        batch_size = getattr(self, "batch_size", None)
        return stream if batch_size is None else stream.rebatched(batch_size)

    def _streamed_rows(self, X, sample_weight):
        """The start of a mixture's streamed fit: the hyper-parameters validated, then the
        data source, its starting sample (at least ``n_components`` rows), the block
        check and the random state that drew the sample."""
        validate_params(self, self._parameter_constraints)
        rng = check_random_state(self.random_state)
        blocks, sample, check = self._streamed_source(X, sample_weight, rng)
        if sample.shape[0] < self.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {sample.shape[0]}")
        return blocks, sample, check, rng


class LargeDataFitting(RowBlockSource):
    """``partial_fit`` and the streamed ``fit`` of GaussianMixture (a mixin)."""

    def _fit_streamed(self, X, sample_weight):
        blocks, sample, check, rng = self._streamed_rows(X, sample_weight)
        problem = MissingDataProblem(self._problem().covariance, self.reg_covar)
        user_init = self._checked_user_init(check.n_features, check.dtype)
        start_rows = fill_with_column_means(sample).astype(check.dtype)
        warm = self.warm_start and hasattr(self, "converged_")
        sample_blocks = RowBlocks(start_rows, None, self._block_rows(check.n_features,
                                                                     check.dtype))
        self._fit_restarts(problem, blocks, sample_blocks, start_rows, None, user_init, warm,
                           rng)
        self.n_features_in_ = check.n_features

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
        else:
            theta = self._theta()
        self._online_update(problem, X, weights, theta, first=first)
