"""The EM engine, shared by every model.

A model is an :class:`EMProblem`: an E-step that turns a block of rows and the current
parameters ``theta`` into additive sufficient statistics plus the block's summed
log-likelihood, and an M-step that turns summed statistics into new parameters. The engine
owns everything else: feeding the data in row blocks, the loop, convergence on the change of
the mean log-likelihood, the history of lower bounds, verbose output, a guard against a
decreasing likelihood, and restarts.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from ._exceptions import ConvergenceWarning, DegenerateFitWarning, LikelihoodDecreaseWarning
from ._sources import release_pages

#: Rows per block are chosen so that a block's (rows x width) temporaries stay near this size.
DEFAULT_BLOCK_BYTES = 32 * 2**20


class EMProblem(Protocol):
    """What a model provides to the engine: the maths of one EM iteration, nothing else.

    Optional, looked up by the engine when present:

    - ``likelihood_slack(stats, new_theta, old_theta) -> float``: how far (in the lower
      bound's units) the next value may legitimately fall because the M-step is not an
      exact maximiser of the likelihood (a regularised covariance, a prior); zero when
      absent.
    - ``block_weight(X, companion) -> float``: the weight a block's log-likelihood is per
      (its row weights' sum, say); the block's number of rows when absent. The engine
      never reads the companion itself.
    - ``bound_after_m_step = True`` with ``lower_bound(stats, new_theta) -> float``: the
      value recorded per iteration is a bound of the parameters the M-step just made
      (variational inference), not the E-step's log-likelihood.
    - ``decrease_advice``, ``degeneracy_advice`` (str) and ``describe_degeneracy(indices)
      -> str``: the model's own words in the engine's warnings (see :data:`ADVICE`).
    - ``serial_m_step(stats) -> bool``: True when the M-step's matrices are too small for
      BLAS to start threads, so the engine need not hold BLAS to one thread around it.
    """

    def e_step(self, X: np.ndarray, theta: Any, companion: Any) -> tuple[Any, float]:
        """Return ``(stats, loglik)``: statistics that add up over blocks, and the block's
        summed (weighted) log-likelihood under ``theta``. ``companion`` is what travels with
        the block (row weights for a mixture, sequence offsets for an HMM, ...); the engine
        passes it through uninterpreted."""
        ...

    def m_step(self, stats: Any, theta: Any) -> Any:
        """Return the parameters that maximise the expected complete-data likelihood."""
        ...


class VectorEMProblem(EMProblem, Protocol):
    """A problem whose parameters have a vector form: what accelerated EM needs."""

    def to_vector(self, theta: Any) -> np.ndarray:
        """The parameters as one float64 vector."""
        ...

    def from_vector(self, vector: np.ndarray, like: Any) -> Any:
        """Parameters shaped like ``like`` from :meth:`to_vector`'s layout, or None when the
        vector is not valid parameters (a negative variance, say)."""
        ...


#: The engine's wording where a problem gives none of its own (the problem's attribute or
#: method of the same name): what to try after a decrease of the likelihood; what the
#: degenerate parts of a kept run are (called with their indices); what to try then.
ADVICE = {
    "decrease_advice": "try float64 data or rescaled features",
    "describe_degeneracy": lambda indices: f"the parts {indices} are degenerate.",
    "degeneracy_advice": "Try other starting values, more data, or a smaller model.",
}


def advice(problem, name: str, *args) -> str:
    """The problem's wording ``name`` for a warning (:data:`ADVICE` when it has none)."""
    own = getattr(problem, name, None)
    text = ADVICE[name] if own is None else own
    return text(*args) if callable(text) else str(text)


def block_weight(problem, X: np.ndarray, companion) -> float:
    """The weight one block's log-likelihood is per: the problem's ``block_weight``, else
    the block's rows (the engine never interprets the companion)."""
    own = getattr(problem, "block_weight", None)
    return float(X.shape[0]) if own is None else float(own(X, companion))


def row_weight(X: np.ndarray, sample_weight) -> float:
    """A ``block_weight`` for problems whose companion is row weights (None: each row
    weighs 1)."""
    return float(X.shape[0] if sample_weight is None else np.sum(sample_weight))


_blas: dict = {"libraries": None, "restore": [], "depth": 0}
_blas_lock = threading.Lock()


def _blas_libraries() -> list:
    """The loaded BLAS libraries' thread controls (threadpoolctl's), found once: asking
    threadpoolctl to find them on every M-step cost more than a small M-step itself."""
    if _blas["libraries"] is None:
        from threadpoolctl import ThreadpoolController

        _blas["libraries"] = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas["libraries"]


class single_threaded_blas:
    """A context in which BLAS/LAPACK run on one thread.

    M-steps work on small matrices (Cholesky factors, inverses, eigenvalues of D x D
    covariances). A multi-threaded BLAS call on them gains nothing, and OpenBLAS's worker
    threads then busy-wait for a while, taking cores from the next E-step's numba kernels
    (measured: a third of a high-dimensional iteration on two cores). Nested and
    concurrent uses (fits in several threads) share one limit, set by the first to enter
    and restored by the last to leave. Entering costs about a microsecond (it runs every
    M-step, even of a few rows): only libraries not already on one thread are touched.
    """

    def __enter__(self) -> "single_threaded_blas":
        with _blas_lock:
            if _blas["depth"] == 0:
                restore = []
                for library in _blas_libraries():
                    threads = library.num_threads
                    if threads is not None and threads != 1:
                        library.set_num_threads(1)
                        restore.append((library, threads))
                _blas["restore"] = restore
            _blas["depth"] += 1
        return self

    def __exit__(self, *exc_info) -> None:
        with _blas_lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                for library, threads in _blas["restore"]:
                    library.set_num_threads(threads)
                _blas["restore"] = []


def maximisation(problem: EMProblem, stats, theta) -> tuple[Any, Callable[[], float]]:
    """The M-step from ``stats`` (``theta`` the parameters of their E-step), with BLAS on
    one thread (see :func:`single_threaded_blas`; not where the problem's
    ``serial_m_step(stats)`` says its matrices are too small for BLAS to start threads),
    and a function giving the slack the
    problem allows the next lower bound (0 without ``likelihood_slack``): computed only
    if that bound does fall, since it may cost eigenvalue decompositions."""
    slack_of = getattr(problem, "likelihood_slack", None)
    serial = getattr(problem, "serial_m_step", None)
    if serial is not None and serial(stats):
        new = problem.m_step(stats, theta)
    else:
        with single_threaded_blas():
            new = problem.m_step(stats, theta)

    def slack() -> float:
        if slack_of is None:
            return 0.0
        with single_threaded_blas():
            return float(slack_of(stats, new, theta))

    return new, slack


class RowBlocks:
    """In-memory rows (and optional row weights) handed to E-steps block by block.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        In memory, or a numpy memmap: only one block is read into memory at a time.
    sample_weight : ndarray of shape (n_samples,) or None
    block_rows : int
        Rows per block; memory used by an E-step grows with this, not with n_samples.
    check : callable, optional
        ``check(X_block) -> X_block``, applied to each block as it is read (a memmap is
        validated a block at a time).
    """

    def __init__(self, X: np.ndarray, sample_weight: np.ndarray | None, block_rows: int,
                 check: Callable[[np.ndarray], np.ndarray] | None = None):
        self.X = X
        self.sample_weight = sample_weight
        self.block_rows = max(1, int(block_rows))
        self.check = check
        self.total_weight = float(X.shape[0] if sample_weight is None else sample_weight.sum())

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        n = self.X.shape[0]
        for start in range(0, n, self.block_rows):
            stop = min(n, start + self.block_rows)
            w = None if self.sample_weight is None else self.sample_weight[start:stop]
            X = self.X[start:stop]
            yield (X if self.check is None else self.check(X)), w
            release_pages(self.X, start, stop)


def block_rows_for(row_width: int, itemsize: int = 8, budget: int = DEFAULT_BLOCK_BYTES) -> int:
    """Rows per block so that a block of ``row_width`` values per row fits ``budget`` bytes."""
    return max(256, budget // max(1, row_width * itemsize))


def expectation(problem: EMProblem, blocks, theta) -> tuple[Any, float]:
    """One E-step over all blocks: the summed statistics and the log-likelihood per unit
    of weight (``blocks.total_weight``; when that is None, the weight of the rows seen)."""
    stats, loglik, weight = summed_expectation(problem, blocks, theta)
    return stats, loglik / weight


def summed_expectation(problem: EMProblem, blocks, theta) -> tuple[Any, float, float]:
    """One E-step over all blocks: the summed statistics, the summed log-likelihood and
    the weight it is per (``blocks.total_weight``, else the weight of the rows seen).

    A data source may compute the whole E-step itself (``blocks.expectation``: on a Dask
    cluster, say) and return the summed statistics, log-likelihood and weight.
    """
    own = getattr(blocks, "expectation", None)
    if own is not None:
        stats, loglik, weight = own(problem, theta)
    else:
        stats, loglik, weight = None, 0.0, 0.0
        for X, w in blocks:
            if X.shape[0] == 0:
                continue
            block_stats, block_loglik = problem.e_step(X, theta, w)
            stats = block_stats if stats is None else stats + block_stats
            loglik += float(block_loglik)
            weight += block_weight(problem, X, w)
        if stats is None:
            raise ValueError("the data have no rows")
    total = getattr(blocks, "total_weight", None)
    return stats, loglik, float(weight if total is None else total)


@dataclass
class EMRun:
    """The outcome of one EM run from one starting point."""

    theta: Any
    lower_bounds: list = field(default_factory=list)
    converged: bool = False
    n_iter: int = 0
    lower_bound: float = -np.inf
    #: Set by fit_with_restarts: the lower-bound history of every restart, in order.
    restart_lower_bounds: list = field(default_factory=list)
    #: Indices of the components judged degenerate (spurious); empty when none is.
    degenerate: tuple = ()
    #: The weight (rows, or total row weight) the last E-step's lower bound is per; None
    #: when the runner does not record it.
    weight: float | None = None

    def preferred_to(self, other: "EMRun | None") -> bool:
        """Whether this run beats ``other``: a non-degenerate run beats a degenerate one;
        otherwise scikit-learn's rule, kept for identical results (a higher final lower
        bound, or ``other`` has none)."""
        if other is None:
            return True
        if bool(self.degenerate) != bool(other.degenerate):
            return not self.degenerate
        return self.lower_bound > other.lower_bound or other.lower_bound == -np.inf


class Monitor:
    """Verbose output (scikit-learn's format) and the likelihood-decrease guard.

    Parameters
    ----------
    verbose : int
        0 silent; 1 prints restarts and iterations; 2 adds times and log-likelihood changes.
    verbose_interval : int
        Print every this many iterations.
    rtol : float
        A decrease larger than ``rtol * max(1, |lower bound|)`` is beyond round-off and warned
        about.
    """

    def __init__(self, verbose: int = 0, verbose_interval: int = 10, rtol: float = 1e-9):
        self.verbose = int(verbose)
        self.verbose_interval = int(verbose_interval)
        self.rtol = rtol
        self._t_init = self._t_iter = 0.0

    def start(self, init: int) -> None:
        if self.verbose >= 1:
            print(f"Initialization {init}")
        self._t_init = self._t_iter = time.time()

    def iteration(self, n_iter: int, lower_bound: float, change: float) -> None:
        if self.verbose >= 1 and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                now = time.time()
                print(f"  Iteration {n_iter}\t time lapse {now - self._t_iter:.5f}s\t "
                      f"ll change {change:.5f}")
                self._t_iter = now

    def decreased(self, previous: float, current: float, slack=0.0, problem=None) -> bool:
        """True (and a warning) when the lower bound fell by more than round-off plus the
        ``slack`` the model's M-step allows (a float, or a function computing it); the
        warning ends with the ``problem``'s advice (see :func:`advice`)."""
        if not np.isfinite(previous) or current >= previous:
            return False
        allowed = self.rtol * max(1.0, abs(previous))
        if previous - current <= allowed:
            return False
        if previous - current <= allowed + (slack() if callable(slack) else slack):
            return False
        warnings.warn(
            f"The log-likelihood decreased from {previous!r} to {current!r} between two EM "
            f"iterations; this points to numerical trouble "
            f"({advice(problem, 'decrease_advice')}).",
            LikelihoodDecreaseWarning,
            stacklevel=4,
        )
        return True

    def end(self, lower_bound: float, converged: bool) -> None:
        if self.verbose == 1:
            print(f"Initialization {'converged' if converged else 'did not converge'}.")
        elif self.verbose >= 2:
            state = "converged" if converged else "did not converge"
            print(f"Initialization {state}. time lapse {time.time() - self._t_init:.5f}s\t "
                  f"lower bound {lower_bound:.5f}.")


def run_em(
    problem: EMProblem,
    blocks: RowBlocks,
    theta,
    *,
    tol: float,
    max_iter: int,
    monitor: Monitor,
    lower_bound: float = -np.inf,
) -> EMRun:
    """Iterate E- and M-steps from ``theta`` until the mean log-likelihood changes by less
    than ``tol`` or ``max_iter`` iterations have run.

    The lower bound recorded at iteration t is the mean log-likelihood of the parameters
    that entered iteration t (the E-step's); the returned parameters are the last M-step's.
    A problem with ``bound_after_m_step`` (variational inference) records instead its
    ``lower_bound(stats, theta)`` of the parameters the M-step just made, and that
    M-step's slack applies to it. A decrease beyond round-off (and beyond the slack of an
    inexact M-step) is warned about and never counts as convergence.
    """
    run = EMRun(theta=theta, lower_bound=lower_bound)
    after_m_step = bool(getattr(problem, "bound_after_m_step", False))
    slack: float | Callable[[], float] = 0.0
    for n_iter in range(1, max_iter + 1):
        previous = run.lower_bound
        stats, loglik, run.weight = summed_expectation(problem, blocks, run.theta)
        run.theta, step_slack = maximisation(problem, stats, run.theta)
        if after_m_step:
            current = float(getattr(problem, "lower_bound")(stats, run.theta))
            slack = step_slack
        else:
            current = loglik / run.weight
        run.lower_bound, run.n_iter = current, n_iter
        run.lower_bounds.append(current)
        change = current - previous
        monitor.iteration(n_iter, current, change)
        decreased = monitor.decreased(previous, current, slack, problem)
        slack = step_slack
        if abs(change) < tol and not decreased:
            run.converged = True
            break
    return run


def run_accelerated_em(
    problem: VectorEMProblem,
    blocks: RowBlocks,
    theta,
    *,
    tol: float,
    max_iter: int,
    monitor: Monitor,
    lower_bound: float = -np.inf,
) -> EMRun:
    """EM accelerated by squared extrapolation (SQUAREM, Varadhan and Roland 2008), kept
    monotone: same contract and fixed point as :func:`run_em`, in fewer E-steps.

    From parameters t0 with known statistics, two EM maps give t1 = M(t0) and t2 = M(t1);
    with r = t1 - t0 and v = t2 - t1 - r (the problem's ``to_vector``), the step
    t' = t0 - 2 a r + a^2 v with a = -|r| / |v| (at most -1; a = -1 is t2 itself) jumps
    along the EM path. t' is kept only when the problem accepts it as parameters
    (``from_vector`` returns None otherwise: a covariance that is not positive-definite,
    a negative weight) and its log-likelihood is at least that of t1; otherwise t2 is
    taken, an ordinary EM step. So the recorded lower bounds never decrease. An iteration
    is one recorded E-step (a rejected jump costs one more, unrecorded).
    """
    run = EMRun(theta=theta, lower_bound=lower_bound)

    def evaluate(point):
        stats, loglik, run.weight = summed_expectation(problem, blocks, point)
        return stats, loglik / run.weight

    def record(value) -> bool:
        """Append a lower bound; True when EM has converged."""
        previous = run.lower_bound
        run.lower_bound = value
        run.n_iter += 1
        run.lower_bounds.append(value)
        change = value - previous
        monitor.iteration(run.n_iter, value, change)
        decreased = monitor.decreased(previous, value, slack, problem)
        return abs(change) < tol and not decreased

    if max_iter < 1:
        return run
    slack: float | Callable[[], float] = 0.0
    stats, value = evaluate(theta)
    current = theta
    converged = record(value)
    while not converged and run.n_iter < max_iter:
        first, slack = maximisation(problem, stats, current)
        first_stats, first_value = evaluate(first)
        converged = record(first_value)
        second, second_slack = maximisation(problem, first_stats, first)
        if converged or run.n_iter >= max_iter:
            current, stats = first, first_stats
            break
        r = problem.to_vector(first) - problem.to_vector(current)
        v = problem.to_vector(second) - problem.to_vector(first) - r
        norm_v = float(np.linalg.norm(v))
        alpha = -float(np.linalg.norm(r)) / norm_v if norm_v > 0 else -1.0
        jumped = None
        if alpha < -1.0 and np.isfinite(alpha):
            jumped = problem.from_vector(
                problem.to_vector(current) - 2.0 * alpha * r + alpha * alpha * v, second)
        if jumped is not None:
            jumped_stats, jumped_value = evaluate(jumped)
            if jumped_value >= first_value:
                slack = 0.0
                current, stats = jumped, jumped_stats
                converged = record(jumped_value)
                continue
        slack = second_slack
        current = second
        stats, value = evaluate(second)
        converged = record(value)
    run.theta, _ = maximisation(problem, stats, current)
    run.converged = converged
    return run


def fit_with_restarts(
    problem: EMProblem,
    blocks: RowBlocks,
    start: Callable[[], Any],
    *,
    n_init: int,
    tol: float,
    max_iter: int,
    monitor: Monitor,
    lower_bound: float = -np.inf,
    runner: Callable[..., EMRun] | None = None,
    degenerate: Callable[[EMRun], Any] | None = None,
    extra_starts: int = 0,
    degenerate_cause: str | Callable[[EMRun], str] = "",
    warn_unconverged: bool = True,
) -> EMRun:
    """Run EM from ``n_init`` starting points drawn by ``start()``; keep the best run.

    The best run is the one with the highest final lower bound among the runs that are not
    degenerate (``degenerate(run)`` returns the indices of the run's spurious components;
    without it no run is). When every run so far is degenerate, up to ``extra_starts``
    more starts are drawn until one is not; if none is, the best degenerate run is kept
    with a DegenerateFitWarning naming its components. Warns with ConvergenceWarning when
    the kept run did not converge.

    With ``max_iter=0`` no run is judged: each returns its start unchanged, and the start
    asked for is what the caller gets (as in scikit-learn), however degenerate it looks.

    ``runner`` replaces :func:`run_em` for each run (mini-batch EM, say); it takes the same
    arguments. ``degenerate_cause``: the problem's account of why no run can be sound
    (then ``extra_starts`` should be 0), put in the warning; or a function of the kept
    run giving the warning's account of its degenerate components. ``warn_unconverged=False``
    leaves out the ConvergenceWarning (models whose peers only log it: the HMMs).
    """
    if max_iter == 0:
        degenerate = None
    best: EMRun | None = None
    histories: list = []
    init = 0
    while init < max(1, n_init) or (best is not None and best.degenerate
                                    and init < n_init + extra_starts):
        monitor.start(init)
        theta = start()
        run = (runner or run_em)(problem, blocks, theta, tol=tol, max_iter=max_iter,
                                 monitor=monitor, lower_bound=lower_bound)
        if max_iter > 0:
            monitor.end(run.lower_bound, run.converged)
        if degenerate is not None:
            run.degenerate = tuple(int(k) for k in degenerate(run))
        histories.append(list(run.lower_bounds))
        if run.preferred_to(best):
            best = run
        init += 1
    assert best is not None  # at least one run
    best.restart_lower_bounds = histories
    if best.degenerate:
        detail = degenerate_cause(best) if callable(degenerate_cause) else (
            f"{advice(problem, 'describe_degeneracy', list(best.degenerate))} "
            + (degenerate_cause or advice(problem, "degeneracy_advice")))
        extra = init - max(1, n_init)
        more = (f" ({max(1, n_init)} asked for, {extra} more started because each ended "
                "degenerate)") if extra else ""
        warnings.warn(
            f"Every one of the {init} EM runs{more} ended in a degenerate fit; in the one "
            f"kept, {detail}",
            DegenerateFitWarning,
            stacklevel=3,
        )
    if warn_unconverged and max_iter > 0 and not best.converged:
        warnings.warn(
            "Best performing initialization did not converge. Try different init "
            "parameters, or increase max_iter, tol, or check for degenerate data.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best


def short_run_starts(
    problem: EMProblem,
    blocks: RowBlocks,
    draw: Callable[[], Any],
    *,
    n_runs: int,
    n_keep: int,
    max_iter: int,
    tol: float,
    degenerate: Callable[[EMRun], Any] | None = None,
) -> list:
    """em-EM starting points (Biernacki, Celeux and Govaert 2003): ``n_runs`` short EM
    runs from ``draw()`` starts (at most ``max_iter`` iterations, or until the lower bound
    changes by less than ``tol``); the parameters of the ``n_keep`` best, best first, a
    non-degenerate run before any degenerate one."""
    quiet = Monitor(0)
    runs = []
    for _ in range(n_runs):
        with warnings.catch_warnings():
            # a short run from a rough start may wobble; only its end point matters
            warnings.simplefilter("ignore", LikelihoodDecreaseWarning)
            run = run_em(problem, blocks, draw(), tol=tol, max_iter=max_iter, monitor=quiet)
        if degenerate is not None:
            run.degenerate = tuple(int(k) for k in degenerate(run))
        runs.append(run)
    runs.sort(key=lambda run: (bool(run.degenerate), -run.lower_bound))
    return [run.theta for run in runs[:n_keep]]
