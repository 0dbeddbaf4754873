"""Baum-Welch as an EM problem for the shared engine.

The E-step is forward-backward over a block of whole sequences; its statistics (expected
first states, expected transitions, and the emission model's statistics under the state
posteriors) add up over blocks. The M-step re-estimates the Markov chain here and hands the
emission statistics to the emission model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._exceptions import UnvisitedStateWarning
from . import _kernels

#: A state (or transition row) whose expected count is below this is unvisited: its old
#: parameters are kept (dividing by such a count gives overflow or NaN, not information).
UNVISITED_COUNT = 1e-100


@dataclass(frozen=True)
class HMMParams:
    """``theta`` of an HMM: the Markov chain and the emission model's parameters."""

    startprob: np.ndarray
    transmat: np.ndarray
    emission: Any


@dataclass(frozen=True)
class HMMStats:
    """Expected counts of a set of sequences: additive over sequences.

    ``start[k]``: expected number of sequences starting in state k; ``trans[i, j]``:
    expected number of i -> j transitions; ``emission``: the emission model's statistics.
    """

    start: np.ndarray
    trans: np.ndarray
    emission: Any

    def __add__(self, other: "HMMStats") -> "HMMStats":
        return HMMStats(self.start + other.start, self.trans + other.trans,
                        self.emission + other.emission)

    def __mul__(self, factor: float) -> "HMMStats":
        return HMMStats(self.start * factor, self.trans * factor, self.emission * factor)

    __rmul__ = __mul__


def _dirichlet_map(counts, prior, old, what: str, keep_zeros: bool = True):
    """hmmlearn's Dirichlet MAP update of probability rows: max(prior - 1 + counts, 0),
    structural zeros of ``old`` kept at zero (``keep_zeros``), rows normalised. A row with
    nothing to normalise (an unvisited state) keeps its old values, with a warning."""
    new = np.maximum(prior - 1.0 + counts, 0.0)
    if keep_zeros:
        new[old == 0] = 0.0
    total = new.sum(axis=-1, keepdims=True)
    empty = total[..., 0] < UNVISITED_COUNT
    if not empty.any():
        new /= total
        return new
    states = np.flatnonzero(np.atleast_1d(empty)).tolist()
    warnings.warn(f"No expected counts for {what} of state(s) {states}: their old "
                  "values are kept.", UnvisitedStateWarning, stacklevel=5)
    with np.errstate(invalid="ignore", divide="ignore"):
        new = new / total
    return np.where(empty[..., None] if new.ndim == 2 else empty, old, new)


def _dirichlet_log_prior(probs, prior) -> float:
    """sum (prior - 1) log p over the non-zero probabilities (the Dirichlet's kernel)."""
    prior = np.broadcast_to(np.asarray(prior, dtype=float), probs.shape)
    positive = probs > 0
    return float(np.sum((prior[positive] - 1.0) * np.log(probs[positive])))


class HMMProblem:
    """Baum-Welch for one HMM.

    Parameters
    ----------
    emission : object
        The emission model: ``log_frame(X, params)``, ``statistics(X, gamma, params)``,
        ``m_step(stats, params)``, ``log_prior(params)``.
    startprob_prior, transmat_prior : float or ndarray
        Dirichlet parameters (1: none).
    update : str
        The parameter letters re-estimated ('s' start, 't' transitions, plus the emission
        model's letters).
    """

    def __init__(self, emission, startprob_prior, transmat_prior, update: str):
        self.emission = emission
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.update = update

    def serial_m_step(self, stats: HMMStats) -> bool:
        """Whether the M-step's matrices are too small for BLAS threads (the emission
        model's ``serial_m_step``; the chain's update has no matrix algebra)."""
        own = getattr(self.emission, "serial_m_step", None)
        return own is not None and bool(own(stats.emission))

    def log_frame(self, X, theta: HMMParams) -> np.ndarray:
        """log p(x_t | state), float64, shape (n_samples, n_states)."""
        return np.ascontiguousarray(self.emission.log_frame(X, theta.emission),
                                    dtype=np.float64)

    def posteriors(self, X, offsets, theta: HMMParams, want_xi: bool = True):
        """Forward-backward: (gamma, start, trans, per-sequence log-likelihood)."""
        return _kernels.forward_backward(self.log_frame(X, theta), offsets, theta.startprob,
                                         theta.transmat, want_xi=want_xi)

    def e_step(self, X, theta: HMMParams, offsets):
        gamma, start, trans, loglik = self.posteriors(X, offsets, theta, "t" in self.update)
        impossible = ~np.isfinite(loglik)
        if np.any(impossible):
            raise ValueError(
                f"{int(impossible.sum())} sequence(s) (the first is sequence "
                f"{int(np.flatnonzero(impossible)[0])} of its block) have zero probability "
                "under the model: a structural zero of startprob_/transmat_ or a zero "
                "emission probability rules them out.")
        emission = self.emission.statistics(X, gamma, theta.emission)
        return HMMStats(start, trans, emission), float(loglik.sum())

    def m_step(self, stats: HMMStats, theta: HMMParams) -> HMMParams:
        startprob, transmat = theta.startprob, theta.transmat
        if "s" in self.update:
            startprob = _dirichlet_map(stats.start, self.startprob_prior, startprob,
                                       "the start probability")
        if "t" in self.update:
            transmat = _dirichlet_map(stats.trans, self.transmat_prior, transmat,
                                      "the transitions")
        return HMMParams(startprob, transmat, self.emission.m_step(stats.emission,
                                                                   theta.emission))

    def log_prior(self, theta: HMMParams) -> float:
        """The log prior density (up to a constant) that the M-step maximises with the
        likelihood."""
        total = self.emission.log_prior(theta.emission)
        if "s" in self.update:
            total += _dirichlet_log_prior(theta.startprob, self.startprob_prior)
        if "t" in self.update:
            total += _dirichlet_log_prior(theta.transmat, self.transmat_prior)
        return total

    def likelihood_slack(self, stats, theta: HMMParams, previous: HMMParams) -> float:
        """A MAP M-step raises likelihood + log prior: the likelihood alone may fall by as
        much as the log prior rose, plus what an emission model's inexact M-step (a
        regularised covariance) gives up."""
        slack = max(0.0, self.log_prior(theta) - self.log_prior(previous))
        inexact = getattr(self.emission, "m_step_slack", None)
        if inexact is not None:
            slack += inexact(stats.emission, theta.emission)
        return slack
