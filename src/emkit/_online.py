"""Stepwise (online) EM: the M-step reads running statistics that each mini-batch updates.

After batch t the running statistics are s = (1 - eta_t) s + eta_t stats(batch t), with
eta_t = (t + learning_offset) ** -learning_decay (Cappé & Moulines; scikit-learn's
LatentDirichletAllocation uses the same schedule and names), then the M-step runs on s.
With 0.5 < learning_decay <= 1 the step sizes satisfy the Robbins-Monro conditions. The
first batch's statistics start the running ones. Statistics stay in the units of one batch,
so priors weigh as they would against a batch fitted alone.

Stochastic variational inference (Hoffman et al. 2013) is the same step in the units of the
whole data: each batch's statistics are scaled by N / |B| (``total_weight``), so that the
posteriors' natural parameters, affine in the statistics, move to
(1 - eta) old + eta (prior + N / |B| stats(batch)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._em import EMRun, Monitor, block_weight, single_threaded_blas


def step_size(n_updates: int, learning_offset: float, learning_decay: float) -> float:
    """eta for the update after ``n_updates`` earlier ones (1 for the first)."""
    if n_updates == 0:
        return 1.0
    return float((n_updates + learning_offset) ** (-learning_decay))


@dataclass
class OnlineState:
    """Running statistics, how many batches have updated them and their summed weight."""

    stats: Any = None
    n_updates: int = 0
    weight_seen: float = 0.0

    def folded(self, batch_stats, learning_offset, learning_decay):
        """The running statistics with one batch's folded in (the state unchanged)."""
        eta = step_size(self.n_updates, learning_offset, learning_decay)
        return batch_stats if self.stats is None else \
            self.stats * (1.0 - eta) + batch_stats * eta

    def update(self, batch_stats, learning_offset, learning_decay):
        """Fold one batch's statistics in; returns the new running statistics."""
        self.stats = self.folded(batch_stats, learning_offset, learning_decay)
        self.n_updates += 1
        return self.stats


#: ``total_weight`` of :func:`online_step`: the weight of the batches read so far
WEIGHT_SEEN: Literal["seen"] = "seen"


def online_step(problem, state: OnlineState, X, theta, w, learning_offset, learning_decay,
                total_weight: float | Literal["seen"] | None = None):
    """One stepwise-EM update from one batch: ``(new theta, the batch's summed
    log-likelihood under the old theta)``; ``state`` changes only when the update succeeds.

    ``total_weight``: None, the running statistics are in the units of one batch; else
    (stochastic variational inference) the batch's statistics are scaled by
    ``total_weight / w(batch)``, the units of a data set of that weight;
    :data:`WEIGHT_SEEN`: the weight of the batches read so far, this one included."""
    stats, loglik = problem.e_step(X, theta, w)
    weight = block_weight(problem, X, w)
    seen = state.weight_seen + weight
    if total_weight is not None:
        if not weight > 0.0:
            raise ValueError("a batch whose weights sum to zero holds no data to learn from")
        total = seen if total_weight == WEIGHT_SEEN else float(total_weight)
        stats = stats * (total / weight)
    running = state.folded(stats, learning_offset, learning_decay)
    with single_threaded_blas():
        new_theta = problem.m_step(running, theta)
    state.stats, state.n_updates, state.weight_seen = running, state.n_updates + 1, seen
    return new_theta, float(loglik)


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
