"""Variational Bayesian Baum-Welch as a problem for the shared EM engine.

The parameters ``theta`` are posteriors: Dirichlet distributions over the start and
transition probabilities, and the emission model's conjugate posteriors. The E-step is
forward-backward under the *subnormalised* parameters exp(E[log p]) (Beal 2003, ch. 3);
its statistics are those of Baum-Welch (expected first states, transitions and the
emission model's statistics), so they add up over blocks of whole sequences. The M-step
adds them to the priors' parameters.

Each block's value is its share of the evidence lower bound (hmmlearn's, constants
dropped): its subnormalised log-likelihood minus the Kullback-Leibler divergence of the
posteriors from the priors times the block's share of the rows, so the engine's summed
value is the ELBO of the posteriors that entered the iteration. Coordinate ascent never
lowers it, and the engine's decrease guard watches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from . import _kernels
from ._problem import HMMStats


def kl_dirichlet_rows(posterior: np.ndarray, prior: np.ndarray) -> float:
    """sum over rows of KL(Dirichlet(posterior row) || Dirichlet(prior row))."""
    q = np.atleast_2d(posterior)
    p = np.atleast_2d(prior)
    q_sum, p_sum = q.sum(axis=1), p.sum(axis=1)
    return float(np.sum(gammaln(q_sum) - gammaln(p_sum) - np.sum(gammaln(q) - gammaln(p), 1)
                        + np.sum((q - p) * (digamma(q) - digamma(q_sum)[:, None]), 1)))


@dataclass(frozen=True)
class DirichletPosterior:
    """Prior and posterior Dirichlet parameters of a probability vector (or of each row of
    a matrix)."""

    prior: np.ndarray
    posterior: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """The posterior mean: hmmlearn's normalised probabilities."""
        return self.posterior / self.posterior.sum(axis=-1, keepdims=True)

    def expected_log(self) -> np.ndarray:
        """E[log p] under the posterior."""
        return digamma(self.posterior) - digamma(self.posterior.sum(axis=-1, keepdims=True))

    def subnormalised(self) -> np.ndarray:
        """exp(E[log p]): what forward-backward uses in the E-step."""
        with np.errstate(under="ignore"):
            return np.exp(self.expected_log())

    def updated(self, counts: np.ndarray) -> "DirichletPosterior":
        """The posterior given expected counts."""
        return DirichletPosterior(self.prior, self.prior + counts)

    def kl(self) -> float:
        """KL divergence of the posterior from the prior."""
        return kl_dirichlet_rows(self.posterior, self.prior)


def dirichlet_draw(rng, concentration, size=None) -> np.ndarray:
    """``rng.dirichlet(concentration, size)`` (hmmlearn's starting draws) with exact zeros,
    which small concentrations can give, raised to the smallest normal number: a
    Dirichlet posterior needs positive parameters."""
    return np.maximum(rng.dirichlet(concentration, size=size), np.finfo(np.float64).tiny)


def check_dirichlet(prior, posterior, shape, name: str) -> DirichletPosterior:
    """Prior and posterior parameters of ``shape``, finite and positive, as float arrays;
    ValueError naming ``<name>_prior_`` / ``<name>_posterior_`` otherwise."""
    arrays = []
    for value, which in ((prior, "prior"), (posterior, "posterior")):
        label = f"{name}_{which}_"
        if value is None:
            raise ValueError(f"{label} is not set: fit the model or assign it")
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{label} must be an array of numbers, got {value!r}") from None
        if array.shape != tuple(shape):
            raise ValueError(f"{label} must have shape {tuple(shape)}, got {array.shape}")
        if not np.all(np.isfinite(array)) or np.any(array <= 0):
            raise ValueError(f"{label} must be finite and positive (Dirichlet parameters)")
        arrays.append(array)
    return DirichletPosterior(*arrays)


@dataclass(frozen=True)
class VariationalHMMParams:
    """``theta`` of a variational HMM: Dirichlet posteriors of the chain and the emission
    model's posteriors. ``startprob`` and ``transmat`` are the posterior means (what
    scoring and decoding use)."""

    start: DirichletPosterior
    trans: DirichletPosterior
    emission: Any

    @property
    def startprob(self) -> np.ndarray:
        return self.start.mean

    @property
    def transmat(self) -> np.ndarray:
        return self.trans.mean


class VariationalHMMProblem:
    """Variational Bayesian Baum-Welch for one HMM.

    Parameters
    ----------
    emission : object
        The variational emission model: ``log_frame(X, params)`` (density at the posterior
        means, for scoring), ``expected_log_frame(X, params)`` (E[log p(x | state)]),
        ``statistics(X, gamma, params)``, ``m_step(stats, params)``, ``kl(params)``;
        optionally ``fused_e_step(X, offsets, params, startprob, transmat, want_xi)``,
        forward-backward and the statistics in one pass: (start, trans, loglik,
        statistics).
    update : str
        The parameter letters re-estimated ('s', 't', plus the emission model's).
    n_rows : int or None
        Rows of the data being fitted: each block carries its share of the divergence
        term. None (a problem built outside ``fit``): a block's value is its subnormalised
        log-likelihood alone.
    """

    def __init__(self, emission, update: str, n_rows: int | None = None):
        self.emission = emission
        self.update = update
        self.n_rows = n_rows

    def log_frame(self, X, theta: VariationalHMMParams) -> np.ndarray:
        """log p(x_t | state) at the posterior means, float64 (n_samples, n_states)."""
        return np.ascontiguousarray(self.emission.log_frame(X, theta.emission),
                                    dtype=np.float64)

    def kl(self, theta: VariationalHMMParams) -> float:
        """KL divergence of all the posteriors from their priors."""
        return theta.start.kl() + theta.trans.kl() + self.emission.kl(theta.emission)

    def e_step(self, X, theta: VariationalHMMParams, offsets):
        startprob, transmat = theta.start.subnormalised(), theta.trans.subnormalised()
        want_xi = "t" in self.update
        fused = getattr(self.emission, "fused_e_step", None)
        if fused is not None:
            start, trans, loglik, emission = fused(X, offsets, theta.emission, startprob,
                                                   transmat, want_xi)
        else:
            log_frame = np.ascontiguousarray(
                self.emission.expected_log_frame(X, theta.emission), dtype=np.float64)
            gamma, start, trans, loglik = _kernels.forward_backward(
                log_frame, offsets, startprob, transmat, want_xi=want_xi)
            emission = self.emission.statistics(X, gamma, theta.emission)
        if not np.all(np.isfinite(loglik)):
            raise ValueError("a sequence has zero probability under the subnormalised "
                             "parameters: a posterior parameter underflowed")
        value = float(loglik.sum())
        if self.n_rows is not None:
            share = 1.0 if X.shape[0] == self.n_rows else X.shape[0] / self.n_rows
            value -= self.kl(theta) * share
        return HMMStats(start, trans, emission), value

    def m_step(self, stats, theta: VariationalHMMParams) -> VariationalHMMParams:
        start, trans = theta.start, theta.trans
        if "s" in self.update:
            start = start.updated(stats.start)
        if "t" in self.update:
            trans = trans.updated(stats.trans)
        return VariationalHMMParams(start, trans,
                                    self.emission.m_step(stats.emission, theta.emission))

