"""What a fitted Gaussian mixture answers, written once for GaussianMixture and
BayesianGaussianMixture: the log-density of rows, their labels and responsibilities, and
draws from the fit.

The estimator supplies ``_validated(X) -> (X, problem)`` (X checked against the fit, in the
model's dtype, and the problem whose ``weighted_log_prob`` and ``log_resp`` score it) and
``_theta()``. Rows are scored a block at a time; a Dask array or dataframe is scored
partition by partition, lazily.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._em import block_rows_for
from .._sources import is_dask_collection
from ._covariance import covariance_model


class MixtureInference:
    """predict, predict_proba, score_samples, score and sample of a fitted mixture."""

    def _block_rows(self, n_features, dtype) -> int:
        """Rows per block of prediction: blocks of about the engine's memory budget of
        (rows x components) outputs."""
        return block_rows_for(self.n_components + 1, np.dtype(dtype).itemsize)

    def _map_rows(self, X, function):
        rows = self._block_rows(X.shape[1], X.dtype)
        if X.shape[0] <= rows:
            return function(X)
        return np.concatenate([function(X[i:i + rows]) for i in range(0, X.shape[0], rows)])

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

    def _rows_of(self, X, method, per_row: bool, function):
        """``function(problem, theta, block)`` over the blocks of X's validated rows; for
        a Dask input, ``method`` lazily per partition (see :meth:`_map_dask`)."""
        if is_dask_collection(X):
            return self._map_dask(X, method, per_row)
        (X, problem), theta = self._validated(X), self._theta()
        return self._map_rows(X, lambda block: function(problem, theta, block))

    def score_samples(self, X):
        """Log-likelihood of each row under the model.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            (A lazy Dask array for a Dask input.)
        """
        return self._rows_of(X, self.score_samples, True, lambda problem, theta, block:
                             logsumexp(problem.weighted_log_prob(block, theta), 1))

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of X.

        Returns
        -------
        log_likelihood : float
        """
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """Most probable component of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            (A lazy Dask array for a Dask input.)
        """
        return self._rows_of(X, self.predict, True, lambda problem, theta, block:
                             np.argmax(problem.weighted_log_prob(block, theta), 1))

    def predict_proba(self, X):
        """Posterior probability of each component for each row (responsibilities).

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            (A lazy Dask array for a Dask input.)
        """
        def proba(problem, theta, block):
            with np.errstate(under="ignore"):
                return np.exp(problem.log_resp(block, theta)[1])

        return self._rows_of(X, self.predict_proba, False, proba)

    def sample(self, n_samples=1):
        """Draw rows from the fitted mixture (``weights_``, ``means_``, ``covariances_``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component each row was drawn from.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r} . The sampling requires at "
                "least one sample.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        cov = covariance_model(self.covariance_type)
        X = np.vstack([cov.sample_component(rng, mean, self.covariances_, k, int(count))
                       for k, (mean, count) in enumerate(zip(self.means_, counts))])
        y = np.concatenate([np.full(int(c), k, dtype=np.int64) for k, c in enumerate(counts)])
        return X, y
