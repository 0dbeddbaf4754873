"""MEME's EM as an :class:`emkit._em.EMProblem`: hidden site starts, additive statistics.

Rows handed to the E-step are sequence indices (a column of ints); the sequences, their
background log-probabilities and the erasing weights live beside them in the problem (local
state kept beside the data). Statistics are the expected letter counts per motif column of
motif-emitted sites, the expected number of sites and the number of prior units; they add
over sequences, so the engine's row blocks (and any other driver) work unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _kernels

__all__ = ["MotifParams", "MotifProblem", "MotifStats"]

MODELS = {"oops": _kernels.OOPS, "zoops": _kernels.ZOOPS, "tcm": _kernels.TCM}


@dataclass(frozen=True)
class MotifParams:
    """Parameters of one motif: its matrix and the site prior.

    ``prior`` is unused for OOPS, the probability that a sequence has a site (gamma) for
    ZOOPS, and the probability of a site per window and strand (lambda) for TCM.
    """

    ppm: np.ndarray
    prior: float


@dataclass(frozen=True)
class MotifStats:
    """Additive E-step statistics."""

    counts: np.ndarray  # (W, A) expected letter counts of motif-emitted sites
    n_sites: float      # expected number of sites (motif- or erased-emitted)
    n_units: float      # sequences (OOPS, ZOOPS) or windows x strands (TCM)

    def __add__(self, other: "MotifStats") -> "MotifStats":
        return MotifStats(self.counts + other.counts, self.n_sites + other.n_sites,
                          self.n_units + other.n_units)

    def __mul__(self, scale: float) -> "MotifStats":
        return MotifStats(self.counts * scale, self.n_sites * scale, self.n_units * scale)

    __rmul__ = __mul__


def _safe_log(x: float) -> float:
    """log(x), -inf for x <= 0 (a prior of exactly 0 or 1)."""
    return math.log(x) if x > 0 else -np.inf


class MotifProblem:
    """The E- and M-steps of MEME for one motif width.

    Parameters
    ----------
    codes, offsets : ndarray
        Encoded sequences.
    bg_log : ndarray
        log P(letter | context) of each position under the background.
    keep : ndarray
        Per position, the erasing weight of the window starting there (1: not erased).
    width : int
    n_letters : int
    comp : ndarray
        Complement codes (identity when single-stranded).
    n_strands : {1, 2}
    model : {'oops', 'zoops', 'tcm'}
    pseudocount : float
        Total pseudo-count per column, spread by the background frequencies ``prior_freqs``
        (MEME's ``-b``). The M-step is then a MAP step; see :meth:`likelihood_slack`.
    prior_freqs : ndarray
    """

    def __init__(self, codes, offsets, bg_log, keep, width, n_letters, comp, n_strands,
                 model, pseudocount, prior_freqs):
        self.codes, self.offsets, self.bg_log = codes, offsets, bg_log
        self.width, self.n_letters, self.comp = int(width), int(n_letters), comp
        self.n_strands, self.model = int(n_strands), model
        self.model_code = MODELS[model]
        self.pseudocount = float(pseudocount)
        self.prior_freqs = np.asarray(prior_freqs, dtype=float)
        keep = np.clip(keep, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            self.log_keep = np.log(keep)
            self.log_erased = np.log1p(-keep)
        lengths = np.diff(offsets)
        self.windows = self.n_strands * (lengths - self.width + 1)
        self.n_sequences = len(lengths)
        # log P(sequence | background): added to the ratios so that the lower bound is a
        # log-likelihood per sequence.
        self._bg_total = np.add.reduceat(bg_log, offsets[:-1]) if len(bg_log) else \
            np.zeros(self.n_sequences)

    # -- parameters ----------------------------------------------------------------------
    def log_ppm(self, ppm: np.ndarray) -> np.ndarray:
        """log of the matrix with a zero column for the wildcard (any letter)."""
        with np.errstate(divide="ignore"):
            return np.hstack([np.log(ppm), np.zeros((ppm.shape[0], 1))])

    def prior_logs(self, prior: float) -> tuple[float, float]:
        """(log_site, log_none) for the kernel."""
        if self.model == "oops":
            return 0.0, -np.inf
        none = 1.0 - prior * (self.n_strands if self.model == "tcm" else 1)
        return _safe_log(prior), _safe_log(none)

    def initial_prior(self) -> float:
        """gamma = 1/2 (ZOOPS); lambda for one site per sequence (TCM)."""
        if self.model == "tcm":
            return float(self.n_sequences / self.windows.sum())
        return 0.5

    # -- EM ------------------------------------------------------------------------------
    def run_kernel(self, seq_ids, theta: MotifParams, want_z=False):
        """(stats, summed log-likelihood, posteriors or None) over ``seq_ids``."""
        counts = np.zeros((self.width, self.n_letters))
        z = np.zeros((len(self.codes), 2)) if want_z else np.zeros((1, 2))
        log_site, log_none = self.prior_logs(theta.prior)
        loglik, n_sites, n_units = _kernels.e_step(
            self.codes, self.offsets, np.ascontiguousarray(seq_ids, dtype=np.int64),
            self.bg_log, self.log_keep, self.log_erased, self.log_ppm(theta.ppm), self.comp,
            self.n_strands, self.model_code, log_site, log_none, counts, z, want_z)
        loglik += float(self._bg_total[seq_ids].sum())
        return MotifStats(counts, n_sites, n_units), loglik, (z if want_z else None)

    def e_step(self, X, theta: MotifParams, sample_weight=None):
        """Statistics and log-likelihood of the sequences whose indices are in ``X``."""
        if sample_weight is not None:
            raise ValueError("motif discovery does not take sequence weights")
        stats, loglik, _ = self.run_kernel(np.asarray(X).ravel(), theta)
        return stats, loglik

    def m_step(self, stats: MotifStats, theta: MotifParams) -> MotifParams:
        """MAP matrix (counts plus pseudo-counts) and the exact maximiser of the prior."""
        pseudo = self.pseudocount * self.prior_freqs
        counts = stats.counts + pseudo
        totals = counts.sum(axis=1, keepdims=True)
        ppm = np.divide(counts, totals, out=np.tile(self.prior_freqs, (self.width, 1)),
                        where=totals > 0)
        prior = 1.0 if self.model == "oops" else (
            stats.n_sites / stats.n_units if stats.n_units > 0 else theta.prior)
        if self.model == "tcm":
            prior = min(prior, 1.0 / self.n_strands)
        return MotifParams(ppm, float(min(max(prior, 0.0), 1.0)))

    def log_prior(self, theta: MotifParams) -> float:
        """log of the Dirichlet prior density (up to a constant) that the MAP step
        maximises with the likelihood."""
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(self.prior_freqs > 0,
                             self.pseudocount * self.prior_freqs * np.log(theta.ppm), 0.0)
        return float(terms.sum())

    def likelihood_slack(self, stats, new_theta, old_theta) -> float:
        """How far the mean log-likelihood may fall in the next iteration: EM with a MAP
        step never decreases likelihood + log prior, so the likelihood may give up what the
        prior gained."""
        gain = self.log_prior(new_theta) - self.log_prior(old_theta)
        return max(0.0, gain) / max(1, self.n_sequences)
