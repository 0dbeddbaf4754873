"""The EM engine on a toy problem whose answer is known: the mean of 1-D data."""

import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from emkit._em import (Monitor, RowBlocks, expectation, fit_with_restarts, row_weight, run_em,
                       summed_expectation)
from emkit._exceptions import ConvergenceWarning, DegenerateFitWarning, LikelihoodDecreaseWarning

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


def test_the_engine_never_reads_a_companion_itself():
    """A block weighs its rows unless the problem says otherwise (``block_weight``): a
    companion that is not a weight (here a label the E-step checks) is only passed on."""
    class Labelled(UnitVarianceMean):
        def e_step(self, X, theta, companion):
            assert companion == "a label"
            return super().e_step(X, theta, None)

    source = [(X[:400], "a label"), (X[400:], "a label")]  # no total_weight: summed
    _, _, weight = summed_expectation(Labelled(1.0), source, 0.0)
    assert weight == len(X)

    class Weighted(UnitVarianceMean):
        block_weight = staticmethod(row_weight)

    w = np.random.RandomState(2).uniform(0.5, 2.0, size=len(X))
    _, loglik, weight = summed_expectation(Weighted(1.0), [(X[:400], w[:400]),
                                                           (X[400:], w[400:])], 0.0)
    assert weight == pytest.approx(w.sum(), rel=1e-12)


@pytest.mark.filterwarnings("ignore:Best performing initialization")
def test_warnings_are_worded_by_the_problem():
    """The engine's own words name no model's parameters; a problem's advice replaces
    them."""
    blocks = RowBlocks(X, None, 100)
    model_words = ("reg_covar", "component", "hierarchical")
    with pytest.warns(LikelihoodDecreaseWarning) as caught:
        run_em(UnitVarianceMean(2.5), blocks, 0.0, tol=0, max_iter=3, monitor=Monitor())
    assert not any(word in str(caught[0].message) for word in model_words)
    with pytest.warns(DegenerateFitWarning) as caught:
        fit_with_restarts(UnitVarianceMean(1.0), blocks, lambda: 0.0, n_init=1, tol=1.0,
                          max_iter=2, monitor=Monitor(), degenerate=lambda run: [0])
    text = str(caught[0].message)
    assert "[0]" in text and not any(word in text for word in model_words)

    class Advised(UnitVarianceMean):
        decrease_advice = "try a smaller step"
        degeneracy_advice = "Try another mean."

        @staticmethod
        def describe_degeneracy(indices):
            return f"the means {indices} ran away."

    with pytest.warns(LikelihoodDecreaseWarning, match=r"\(try a smaller step\)"):
        run_em(Advised(2.5), blocks, 0.0, tol=0, max_iter=3, monitor=Monitor())
    with pytest.warns(DegenerateFitWarning, match=r"the means \[0\] ran away\. Try another"):
        fit_with_restarts(Advised(1.0), blocks, lambda: 0.0, n_init=1, tol=1.0, max_iter=2,
                          monitor=Monitor(), degenerate=lambda run: [0])


def test_a_bound_after_the_m_step_is_what_run_em_records():
    """``bound_after_m_step``: each iteration records the problem's bound of the
    parameters its M-step made (here minus their distance to the mean, known in closed
    form: each damped step halves it), and the M-step's slack excuses that same value."""
    class AfterM(UnitVarianceMean):
        bound_after_m_step = True

        def lower_bound(self, stats, theta):
            return -abs(stats.total / stats.n - theta)

    mean = X[:, 0].mean()
    run = run_em(AfterM(0.5), RowBlocks(X, None, 100), 0.0, tol=0, max_iter=6,
                 monitor=Monitor())
    np.testing.assert_allclose(run.lower_bounds, -abs(mean) * 0.5 ** np.arange(1, 7),
                               rtol=1e-12)

    class Falling(AfterM):
        def lower_bound(self, stats, theta):
            return -abs(theta)  # falls as theta moves from 0 towards the mean

        def likelihood_slack(self, stats, theta, previous):
            return abs(abs(theta) - abs(previous)) * 1.001

    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        run = run_em(Falling(0.5), RowBlocks(X, None, 100), 0.0, tol=0, max_iter=6,
                     monitor=Monitor())
    assert np.all(np.diff(run.lower_bounds) < 0)
    class Unexcused(Falling):
        def likelihood_slack(self, stats, theta, previous):
            return 0.0

    with pytest.warns(LikelihoodDecreaseWarning):
        run_em(Unexcused(0.5), RowBlocks(X, None, 100), 0.0, tol=0, max_iter=6,
               monitor=Monitor())


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
