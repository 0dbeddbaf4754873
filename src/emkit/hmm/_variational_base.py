"""What the variational HMMs share: hmmlearn's ``VariationalBaseHMM`` over emkit's HMMs.

A variational HMM is fitted by :class:`VariationalHMMProblem` on the shared engine (the
evidence lower bound is the value the engine records and guards); scoring, decoding and
sampling are those of the HMM at the posterior means, so the estimator reuses its
maximum-likelihood sibling for them. The starting posteriors are hmmlearn's: they scale
with the number of sequences and rows, so ``fit`` keeps those counts while it runs.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._sources import is_block_source, is_dask_collection
from .._validation import Interval, Options
from ._base import _log
from ._sequences import check_lengths
from ._variational_problem import (VariationalHMMParams, VariationalHMMProblem, check_dirichlet,
                                   dirichlet_draw)


class VariationalHMMMixin:
    """Variational Bayesian training for an HMM class of emkit (put it first among the
    bases). A subclass supplies ``_emission(update)`` (a variational emission model),
    ``_init_emission(X, needs_init, random_state, n_rows)``, ``_emission_params(attributes)``
    (validated posteriors) and ``_emission_attributes(params)``."""

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "algorithm": [Options(("viterbi", "map"))],
        "random_state": ["random_state"],
        "n_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "tol": [Interval(numbers.Real, None, None)],
        "verbose": ["verbose"],
        "implementation": [Options(("log", "scaling"))],
        "block_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    #: Not offered: mini-batch variational inference (the engine reads this).
    batch_size = None
    #: (n_sequences, n_rows) of the data being fitted, while ``fit`` runs.
    _fitting = None

    # -- parameters ---------------------------------------------------------------------
    @staticmethod
    def _check_chain_prior(name: str, value, shape: tuple) -> None:
        """Dirichlet priors: None (hmmlearn's default), a positive number or a positive
        array of ``shape``."""
        if value is None:
            return
        array = np.asarray(value, dtype=float)
        if array.ndim and array.shape != shape or not np.all(np.isfinite(array)) \
                or np.any(array <= 0):
            raise ValueError(f"{name} must be None, a positive number or a positive "
                             f"array of shape {shape}")

    def _chain_and_emission(self, attributes: dict) -> VariationalHMMParams:
        K = self.n_components
        start = check_dirichlet(attributes.get("startprob_prior_"),
                                attributes.get("startprob_posterior_"), (K,), "startprob")
        trans = check_dirichlet(attributes.get("transmat_prior_"),
                                attributes.get("transmat_posterior_"), (K, K), "transmat")
        return VariationalHMMParams(start, trans, self._emission_params(attributes))

    def _theta(self) -> VariationalHMMParams:
        self._validate_hyperparameters()
        check_is_fitted(self, "startprob_posterior_")
        return self._chain_and_emission(self._current_attributes())

    def _problem(self, update: str = "") -> VariationalHMMProblem:
        n_rows = None if self._fitting is None else self._fitting[1]
        return VariationalHMMProblem(self._emission(update), update, n_rows)

    def _store(self, theta: VariationalHMMParams) -> None:
        super()._store(theta)
        self.startprob_prior_ = theta.start.prior
        self.startprob_posterior_ = theta.start.posterior
        self.transmat_prior_ = theta.trans.prior
        self.transmat_posterior_ = theta.trans.posterior

    # -- fitting --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _counting(self, X, lengths):
        """Keep (n_sequences, n_rows) of X while a fit runs (the starts scale with them)."""
        if is_block_source(X) or is_dask_collection(X):
            raise ValueError(f"{type(self).__name__} fits arrays in memory or memory-mapped "
                             "(with lengths), not block sources or Dask collections")
        n_rows = np.shape(X)[0] if np.ndim(X) else 0
        offsets = check_lengths(lengths, n_rows)
        self._fitting = (offsets.shape[0] - 1, int(offsets[-1]))
        try:
            yield
        finally:
            self.__dict__.pop("_fitting", None)

    def fit(self, X, lengths=None):
        """Estimate the posteriors by variational Bayesian EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a memmap
            The sequences, one after another.
        lengths : array-like of int, optional
            Length of each sequence; their sum is n_samples. None: one sequence.

        Returns
        -------
        self
        """
        with self._counting(X, lengths):
            return super().fit(X, lengths)

    def _init(self, X, lengths=None):
        """hmmlearn's hook: set the starting posteriors for X, as ``fit`` would."""
        with self._counting(X, lengths):
            super()._init(X, lengths)

    @property
    def partial_fit(self):
        raise AttributeError(f"{type(self).__name__} has no partial_fit: online variational "
                             "inference is not offered; use fit")

    def _starting_attributes(self, X, random_state=None) -> dict:
        """hmmlearn's starting posteriors: Dirichlet(1/K) draws scaled by the number of
        sequences (start) and of rows per state (transitions), then the emission model's;
        a group (prior and posterior of one letter) set before ``fit`` and not named in
        ``init_params`` is kept."""
        attributes = self._current_attributes()
        n_sequences, n_rows = self._fitting or (1, len(X))

        def needs_init(letter, *names):
            if letter in self.init_params:
                for name in names:
                    if name in attributes:
                        _log.warning("Even though the %r attribute is set, it will be "
                                     "overwritten during initialization because "
                                     "'init_params' contains %r", name, letter)
                return True
            return any(name not in attributes for name in names)

        K = self.n_components
        if random_state is None:
            random_state = self.random_state
        rng = check_random_state(random_state)
        uniform = np.full(K, 1.0 / K)
        if needs_init("s", "startprob_prior_", "startprob_posterior_"):
            prior = 1.0 / K if self.startprob_prior is None else self.startprob_prior
            attributes["startprob_prior_"] = np.full(K, prior, dtype=np.float64)
            attributes["startprob_posterior_"] = dirichlet_draw(rng, uniform) * n_sequences
        if needs_init("t", "transmat_prior_", "transmat_posterior_"):
            prior = 1.0 / K if self.transmat_prior is None else self.transmat_prior
            attributes["transmat_prior_"] = np.full((K, K), prior, dtype=np.float64)
            attributes["transmat_posterior_"] = dirichlet_draw(rng, uniform, K) * n_rows / K
        attributes.update(self._init_emission(X, needs_init, random_state, n_rows))
        return attributes
