"""The EM engine on a toy problem whose answer is known: the mean of 1-D data."""

import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from emkit._em import Monitor, RowBlocks, expectation, fit_with_restarts, run_em
from emkit._exceptions import ConvergenceWarning, LikelihoodDecreaseWarning


@dataclass(frozen=True)
class Moments:
    n: float
    total: float

    def __add__(self, other):
        return Moments(self.n + other.n, self.total + other.total)


class UnitVarianceMean:
    """theta = (mean, step): a damped M-step moves ``step`` of the way to the MLE, so the
    likelihood rises monotonically and slowly; ``step > 2`` overshoots (a broken M-step)."""

    def __init__(self, step):
        self.step = step

    def e_step(self, X, theta, w):
        w = np.ones(len(X)) if w is None else w
        x = X[:, 0]
        loglik = float(w @ (-0.5 * (x - theta) ** 2 - 0.5 * np.log(2 * np.pi)))
        return Moments(float(w.sum()), float(w @ x)), loglik

    def m_step(self, stats, theta):
        return theta + self.step * (stats.total / stats.n - theta)


X = np.random.RandomState(0).normal(3.0, 1.0, size=(1000, 1))


def test_statistics_are_summed_over_blocks():
    whole, ll_whole = expectation(UnitVarianceMean(1.0), RowBlocks(X, None, 10_000), 0.0)
    parts, ll_parts = expectation(UnitVarianceMean(1.0), RowBlocks(X, None, 37), 0.0)
    assert parts.n == whole.n and parts.total == pytest.approx(whole.total, rel=1e-12)
    assert ll_parts == pytest.approx(ll_whole, rel=1e-12)


def test_converges_to_the_known_answer_and_stops_on_tol():
    run = run_em(UnitVarianceMean(0.5), RowBlocks(X, None, 100), 0.0, tol=1e-10,
                 max_iter=500, monitor=Monitor())
    assert run.converged and run.n_iter < 500
    assert run.theta == pytest.approx(X.mean(), abs=1e-4)
    assert np.all(np.diff(run.lower_bounds) >= 0)
    assert abs(run.lower_bounds[-1] - run.lower_bounds[-2]) < 1e-10


def test_running_out_of_iterations_is_not_convergence():
    run = run_em(UnitVarianceMean(0.1), RowBlocks(X, None, 100), 0.0, tol=1e-12,
                 max_iter=3, monitor=Monitor())
    assert not run.converged and run.n_iter == 3 and len(run.lower_bounds) == 3


def test_a_decrease_warns_and_is_never_convergence():
    with pytest.warns(LikelihoodDecreaseWarning, match="decreased"):
        run = run_em(UnitVarianceMean(2.5), RowBlocks(X, None, 100), 0.0, tol=1e3,
                     max_iter=5, monitor=Monitor())
    assert not run.converged


def test_slack_excuses_a_bounded_decrease():
    class Slack(UnitVarianceMean):
        def likelihood_slack(self, stats, theta, previous):
            return 1e9

    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        run_em(Slack(2.5), RowBlocks(X, None, 100), 0.0, tol=0, max_iter=5, monitor=Monitor())


def test_restarts_keep_the_highest_final_bound():
    starts = iter([50.0, 3.0, -20.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = fit_with_restarts(UnitVarianceMean(0.5), RowBlocks(X, None, 100),
                                 lambda: next(starts), n_init=3, tol=0, max_iter=2,
                                 monitor=Monitor())
    assert abs(best.theta - X.mean()) < 1.0  # the run that started at 3.0


def test_best_run_that_did_not_converge_warns():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit_with_restarts(UnitVarianceMean(0.1), RowBlocks(X, None, 100), lambda: 0.0,
                          n_init=2, tol=1e-12, max_iter=2, monitor=Monitor())


def test_weighted_rows():
    w = np.random.RandomState(1).randint(0, 3, size=len(X)).astype(float)
    run = run_em(UnitVarianceMean(1.0), RowBlocks(X, w, 64), 0.0, tol=0, max_iter=2,
                 monitor=Monitor())
    assert run.theta == pytest.approx(np.average(X[:, 0], weights=w), rel=1e-12)
