"""hmmlearn's view of a Baum-Welch run: ``monitor_`` and its verbose lines."""

from __future__ import annotations

import sys
from collections import deque

import numpy as np

from .._em import Monitor


class ConvergenceMonitor:
    """What a fit did, in hmmlearn's shape; hmmlearn's ``ConvergenceMonitor``.

    A fit fills the model's monitor (``monitor_``). Assigning ``model.monitor_`` an
    instance (of a subclass redefining ``converged``, say) before ``fit`` hands it the
    decision to stop: ``fit`` then calls :meth:`report` after every iteration and stops as
    soon as ``converged`` is true (or after ``n_iter`` iterations).

    Parameters
    ----------
    tol : float
        Convergence threshold on the gain in log-likelihood.
    n_iter : int
        Most iterations.
    verbose : bool
        Print every reported iteration to stderr.

    Attributes
    ----------
    history : deque
        The log-likelihood at the start of every iteration (summed over sequences).
    iter : int
        Iterations run.
    """

    _template = "{iter:>10d} {log_prob:>16.8f} {delta:>+16.8f}"

    def __init__(self, tol, n_iter, verbose):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history = deque()
        self.iter = 0

    def __repr__(self):
        fields = dict(vars(self), history=list(self.history))
        body = "".join(f"    {k}={v!r},\n" for k, v in sorted(fields.items()))
        return f"{type(self).__name__}(\n{body})"

    def _reset(self):
        """Forget the history (``fit`` calls this before its first iteration)."""
        self.iter = 0
        self.history.clear()

    def report(self, log_prob):
        """Record one iteration's log-likelihood (printed to stderr when verbose, with
        the gain over the previous one; NaN at the first)."""
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else np.nan
            print(self._template.format(iter=self.iter + 1, log_prob=log_prob, delta=delta),
                  file=sys.stderr)
        self.history.append(log_prob)
        self.iter += 1

    @property
    def converged(self):
        """hmmlearn's rule: ``n_iter`` iterations ran, or the last change in
        log-likelihood was below ``tol`` (a fall counts). The model's ``converged_`` says
        whether the gain really fell below ``tol``."""
        return (self.iter == self.n_iter
                or (len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol))


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
