"""Emissions a subclass computes itself, as in hmmlearn: ``_compute_log_likelihood(X)``.

They are scored, decoded and sampled but not trained: the start and transition
probabilities are the only parameters Baum-Welch re-estimates for them.
"""

from __future__ import annotations


class CustomEmission:
    """The log-likelihoods come from the estimator's ``_compute_log_likelihood``; the
    statistics are empty (0.0 adds and scales like any other) and the M-step keeps the
    parameters."""

    letters = ""

    def __init__(self, estimator):
        self.estimator = estimator

    def log_frame(self, X, params):
        from ._base import BaseHMM

        if type(self.estimator)._compute_log_likelihood is BaseHMM._compute_log_likelihood:
            raise NotImplementedError(
                f"{type(self.estimator).__name__} must define _compute_log_likelihood(X) "
                "(or be one of emkit.hmm's estimators)")
        return self.estimator._compute_log_likelihood(X)

    def statistics(self, X, gamma, params):
        return 0.0

    def m_step(self, stats, params):
        return params

    def log_prior(self, params):
        return 0.0
