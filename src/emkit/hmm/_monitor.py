"""hmmlearn's view of a Baum-Welch run: ``monitor_`` and its verbose lines."""

from __future__ import annotations

import sys
from collections import deque

import numpy as np

from .._em import Monitor


class ConvergenceMonitor:
    """What a fit did, in hmmlearn's shape.

    Attributes
    ----------
    tol, n_iter, verbose
        The estimator's settings.
    history : deque
        The log-likelihood at the start of every iteration (summed over sequences).
    iter : int
        Iterations run.
    converged : bool
        Whether the gain in log-likelihood fell below ``tol``. Unlike hmmlearn, running out
        of iterations is not convergence.
    """

    def __init__(self, tol, n_iter, verbose, history=(), converged=False):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque(history)
        self.iter = len(self.history)
        self.converged = bool(converged)

    def __repr__(self):
        fields = dict(vars(self), history=list(self.history))
        body = "".join(f"    {k}={v!r},\n" for k, v in sorted(fields.items()))
        return f"{type(self).__name__}(\n{body})"


class VerboseMonitor(Monitor):
    """The engine's monitor printing hmmlearn's per-iteration line to stderr."""

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, verbose):
        super().__init__(verbose=int(verbose), verbose_interval=1, rtol=1e-9)

    def start(self, init):
        pass

    def iteration(self, n_iter, lower_bound, change):
        if self.verbose:
            delta = change if np.isfinite(change) else np.nan
            print(self._template.format(iter=n_iter, log_prob=lower_bound, delta=delta),
                  file=sys.stderr)

    def end(self, lower_bound, converged):
        pass
