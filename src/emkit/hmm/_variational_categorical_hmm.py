"""VariationalCategoricalHMM: hmmlearn's variational categorical HMM on emkit's engine."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..io import register_model
from . import _kernels
from ._categorical_hmm import CategoricalHMM
from ._count_emissions import CategoricalEmission, CountStats
from ._variational_base import VariationalHMMMixin
from ._variational_problem import DirichletPosterior, check_dirichlet, dirichlet_draw


class VariationalCategoricalEmission(CategoricalEmission):
    """One categorical distribution per state with a Dirichlet posterior
    (:class:`DirichletPosterior`); the statistics are the categorical ones."""

    def log_frame(self, X, emission: DirichletPosterior):
        """log p(symbol | state) at the posterior mean."""
        return super().log_frame(X, emission.mean)

    def expected_log_frame(self, X, emission: DirichletPosterior):
        return emission.expected_log().T[X[:, 0]]

    def statistics(self, X, gamma, emission: DirichletPosterior):
        return super().statistics(X, gamma, emission.posterior)

    def fused_e_step(self, X, offsets, emission: DirichletPosterior, startprob, transmat,
                     want_xi: bool):
        """Forward-backward with E[log p(symbol | state)] looked up per symbol and the
        symbol counts accumulated in the same pass: (start, trans, loglik, statistics)."""
        _, start, trans, loglik, counts = _kernels.forward_backward_symbols(
            X[:, 0], emission.expected_log(), offsets, startprob, transmat, want_xi)
        return start, trans, loglik, CountStats(counts.sum(axis=1), counts)

    def m_step(self, stats, emission: DirichletPosterior):
        return emission.updated(stats.obs) if "e" in self.update else emission

    def kl(self, emission: DirichletPosterior) -> float:
        return emission.kl()


@register_model
class VariationalCategoricalHMM(VariationalHMMMixin, CategoricalHMM):
    """Hidden Markov model with categorical emissions trained by variational Bayesian EM
    (hmmlearn's ``VariationalCategoricalHMM``).

    Dirichlet priors on the start, transition and emission probabilities; the fit returns
    their posteriors, and states the data do not need keep posteriors near their priors.
    From the same ``random_state`` the fit is hmmlearn's. X holds one symbol per sample
    (an integer column).

    Parameters
    ----------
    n_components : int
    startprob_prior, transmat_prior : float, array or None
        Dirichlet parameters (None: 1 / n_components).
    emissionprob_prior : float, array or None
        Dirichlet parameters of each state's emission probabilities (None: 1 / n_features).
    n_features : int or None
        Number of symbols; None: one more than the largest symbol of the first fit's data.
    algorithm, random_state, verbose, implementation
        As in :class:`VariationalGaussianHMM`.
    n_iter : int, default=100
    tol : float, default=1e-6
    params, init_params : str
        's' start, 't' transitions, 'e' emission probabilities.
    block_size : int or None
    n_init : int, default=1

    Attributes
    ----------
    startprob_prior_, startprob_posterior_, transmat_prior_, transmat_posterior_,
    emissionprob_prior_, emissionprob_posterior_ : ndarray
    startprob_, transmat_, emissionprob_ : ndarray
        Posterior means.
    monitor_, lower_bounds_, lower_bound_, converged_, n_iter_
        The lower bound (hmmlearn's) per iteration.
    """

    def __init__(self, n_components=1, startprob_prior=None, transmat_prior=None,
                 emissionprob_prior=None, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=100, tol=1e-6, verbose=False, params="ste",
                 init_params="ste", implementation="log", block_size=None, n_init=1):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.block_size = block_size
        self.n_init = n_init

    def _validate_hyperparameters(self):
        super()._validate_hyperparameters()
        n = self._n_features
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                              or n < 1):
            raise ValueError(f"n_features must be a positive int or None, got {n!r}")

    def _emission(self, update):
        return VariationalCategoricalEmission(None, update)

    def _init_emission(self, X, needs_init, random_state, n_rows=None):
        n_symbols = self._n_features if self._n_features is not None else self._n_symbols_of(X)
        if not needs_init("e", "emissionprob_prior_", "emissionprob_posterior_"):
            given = np.shape(self.__dict__["emissionprob_posterior_"])
            if len(given) != 2 or given[1] != n_symbols:
                raise ValueError(f"emissionprob_posterior_ has shape {given} but the model "
                                 f"emits {n_symbols} symbols (n_features, else the largest "
                                 "symbol of X plus one)")
            return {}
        K = self.n_components
        prior = 1.0 / n_symbols if self.emissionprob_prior is None else self.emissionprob_prior
        rng = check_random_state(random_state)  # hmmlearn draws these from a fresh generator
        posterior = dirichlet_draw(rng, np.full(n_symbols, prior), K)
        n_rows = X.shape[0] if n_rows is None else n_rows
        return {"emissionprob_prior_": np.full((K, n_symbols), prior, dtype=np.float64),
                "emissionprob_posterior_": posterior * n_rows / K}

    def _emission_params(self, attributes):
        prior = attributes.get("emissionprob_prior_")
        posterior = attributes.get("emissionprob_posterior_")
        shape = np.shape(posterior) if posterior is not None else ()
        n_symbols = shape[-1] if len(shape) == 2 else 0
        if self._n_features is not None:
            n_symbols = int(self._n_features)
        return check_dirichlet(prior, posterior, (self.n_components, n_symbols),
                               "emissionprob")

    def _n_emission_parameters(self):
        """hmmlearn's count, from the posterior's shape while no point estimate exists yet
        (``_init`` with only the posteriors given)."""
        if hasattr(self, "emissionprob_"):
            return super()._n_emission_parameters()
        return {"e": self.n_components * (np.shape(self.emissionprob_posterior_)[1] - 1)}

    def _check_X_against(self, X, emission):
        self._check_symbol_range(X, emission.posterior.shape[1])

    def _emission_attributes(self, emission):
        return {"emissionprob_prior_": emission.prior,
                "emissionprob_posterior_": emission.posterior,
                "emissionprob_": emission.mean}
