"""Stepwise (online) EM: the M-step reads running statistics that each mini-batch updates.

After batch t the running statistics are s = (1 - eta_t) s + eta_t stats(batch t), with
eta_t = (t + learning_offset) ** -learning_decay (Cappé & Moulines; scikit-learn's
LatentDirichletAllocation uses the same schedule and names), then the M-step runs on s.
With 0.5 < learning_decay <= 1 the step sizes satisfy the Robbins-Monro conditions. The
first batch's statistics start the running ones. Statistics stay in the units of one batch,
so priors weigh as they would against a batch fitted alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._em import EMRun, Monitor, block_weight, single_threaded_blas


def step_size(n_updates: int, learning_offset: float, learning_decay: float) -> float:
    """eta for the update after ``n_updates`` earlier ones (1 for the first)."""
    if n_updates == 0:
        return 1.0
    return float((n_updates + learning_offset) ** (-learning_decay))


@dataclass
class OnlineState:
    """Running statistics and how many batches have updated them."""

    stats: Any = None
    n_updates: int = 0

    def update(self, batch_stats, learning_offset, learning_decay):
        """Fold one batch's statistics in; returns the new running statistics."""
        eta = step_size(self.n_updates, learning_offset, learning_decay)
        self.stats = batch_stats if self.stats is None else \
            self.stats * (1.0 - eta) + batch_stats * eta
        self.n_updates += 1
        return self.stats


def online_step(problem, state: OnlineState, X, theta, w, learning_offset, learning_decay):
    """One stepwise-EM update from one batch: ``(new theta, the batch's summed
    log-likelihood under the old theta)``."""
    stats, loglik = problem.e_step(X, theta, w)
    running = state.update(stats, learning_offset, learning_decay)
    with single_threaded_blas():
        return problem.m_step(running, theta), float(loglik)


def run_minibatch_em(problem, batches, theta, *, tol, max_iter, learning_offset,
                     learning_decay, monitor: Monitor, lower_bound=float("-inf")) -> EMRun:
    """Mini-batch EM: each iteration streams the batches once, updating the parameters
    after every batch. An iteration's lower bound is the mean log-likelihood of its
    batches, each under the parameters current when it was read (per unit of
    ``batches.total_weight`` when the source sets it, else of the weight read); the run
    has converged when that changes by less than ``tol`` (a stochastic value: no decrease
    check)."""
    run, state = EMRun(theta=theta, lower_bound=lower_bound), OnlineState()
    total = getattr(batches, "total_weight", None)
    for n_iter in range(1, max_iter + 1):
        loglik, weight = 0.0, 0.0
        for X, w in batches:
            if X.shape[0] == 0:
                continue
            run.theta, batch_loglik = online_step(problem, state, X, run.theta, w,
                                                  learning_offset, learning_decay)
            loglik += batch_loglik
            weight += block_weight(problem, X, w)
        previous, current = run.lower_bound, loglik / (weight if total is None else total)
        run.lower_bound, run.n_iter = current, n_iter
        run.lower_bounds.append(current)
        monitor.iteration(n_iter, current, current - previous)
        if abs(current - previous) < tol:
            run.converged = True
            break
    return run
