"""The EM engine on a toy problem whose answer is known: the mean of 1-D data."""

import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from emkit._em import Monitor, RowBlocks, expectation, fit_with_restarts, run_em
from emkit._exceptions import ConvergenceWarning, LikelihoodDecreaseWarning

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU


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


def _missing_data_case(seed=0, rate=0.4):
    from emkit.mixture._covariance import covariance_model
    from emkit.mixture._missing import MissingDataProblem, fill_with_column_means

    rng = np.random.RandomState(seed)
    A = rng.randn(5, 5)
    X = rng.randn(400, 5) @ A
    X[rng.rand(*X.shape) < rate] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    problem = MissingDataProblem(covariance_model("full"), 0.0, jitter=True)
    filled = fill_with_column_means(X)
    start = problem.params_from_resp(filled, np.ones((len(X), 1)), None)
    return problem, RowBlocks(X, None, 128), start


def test_accelerated_em_reaches_the_same_fixed_point_in_fewer_iterations():
    from emkit._em import run_accelerated_em

    problem, blocks, start = _missing_data_case()
    plain = run_em(problem, blocks, start, tol=1e-12, max_iter=5000, monitor=Monitor())
    fast = run_accelerated_em(problem, blocks, start, tol=1e-12, max_iter=5000,
                              monitor=Monitor())
    assert plain.converged and fast.converged
    assert fast.n_iter < plain.n_iter / 3
    assert np.all(np.diff(fast.lower_bounds) >= 0)  # monotone by construction
    assert fast.lower_bound >= plain.lower_bound - 1e-12
    np.testing.assert_allclose(fast.theta.means, plain.theta.means, atol=1e-5)
    # the recorded history starts where plain EM's does
    assert fast.lower_bounds[0] == pytest.approx(plain.lower_bounds[0], rel=1e-14)


def test_accelerated_em_with_few_iterations_keeps_the_contract():
    from emkit._em import expectation, run_accelerated_em

    problem, blocks, start = _missing_data_case(seed=1)
    for max_iter in (1, 2, 3, 5):
        run = run_accelerated_em(problem, blocks, start, tol=0.0, max_iter=max_iter,
                                 monitor=Monitor())
        assert run.n_iter == max_iter == len(run.lower_bounds)
        # theta is the M-step after the last recorded E-step: its value is not below it
        _, value = expectation(problem, blocks, run.theta)
        assert value >= run.lower_bound - 1e-12


def test_from_vector_refuses_invalid_parameters():
    problem, blocks, start = _missing_data_case()
    vector = problem.to_vector(start)
    again = problem.from_vector(vector, start)
    np.testing.assert_allclose(again.covariances, start.covariances, atol=1e-12)
    bad = vector.copy()
    bad[1 + 5] = -1e6  # a covariance diagonal far below zero
    assert problem.from_vector(bad, start) is None
    bad = vector.copy()
    bad[0] = -0.5  # a negative weight
    assert problem.from_vector(bad, start) is None


def test_single_threaded_blas_nests_and_restores():
    from threadpoolctl import threadpool_info

    from emkit._em import single_threaded_blas

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with single_threaded_blas():
        assert all(n == 1 for n in blas_threads())
        with single_threaded_blas():
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())  # the outer context still holds
    assert blas_threads() == before
