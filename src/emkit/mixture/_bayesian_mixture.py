"""BayesianGaussianMixture: a drop-in replacement for sklearn.mixture.BayesianGaussianMixture."""

from __future__ import annotations

import functools
import numbers

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ..io import register_model
from .._fit_guard import untouched_on_failure
from .._em import Monitor, RowBlocks, fit_with_restarts, single_threaded_blas
from .._online import WEIGHT_SEEN
from .._sources import is_streamed
from .._validation import Interval, Options, check_sample_weight, check_shape, validate_params
from ._covariance import SKLEARN_COVARIANCE_TYPES, covariance_model
from ._data_moments import data_moments
from ._large_data import RowBlockSource
from ._mixture_inference import MixtureInference
from ._init import RESPONSIBILITY_METHODS, initial_responsibilities
from ._variational_problem import VariationalGaussianProblem, VariationalParams, VariationalPrior

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


def weighted_mean(X: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    """The mean of the rows, a weight of w counting a row w times.

    A matrix-vector product (BLAS): numpy's reduction over the rows of a narrow array
    loops over a handful of columns per row and is several times slower."""
    if sample_weight is None:
        return np.ones(X.shape[0]) @ X / X.shape[0]
    return sample_weight @ X / sample_weight.sum()


def check_total_weight(total) -> None:
    """Raise unless the row weights sum to more than 1 (the unbiased covariance's need)."""
    if total <= 1.0:
        raise ValueError("The default covariance_prior (the rows' unbiased covariance) "
                         f"needs sample_weight to sum to more than 1; got {total!r}. "
                         "Give covariance_prior, or scale the weights.")


#: Rows per slice in the prior's moments: the centred slice stays in cache, where one
#: centred copy of all the rows would not (1.3-2x faster at 50,000 x 64).
MOMENT_ROWS = 2048


def _unbiased_divisor(n_rows: int, sample_weight: np.ndarray | None) -> float:
    """n - 1, or the weights' sum - 1; raise where the unbiased covariance is undefined."""
    if sample_weight is None:
        if n_rows < 2:
            raise ValueError("The default covariance_prior (the rows' unbiased covariance) "
                             f"needs at least 2 rows; got {n_rows}. Give "
                             "covariance_prior.")
        return n_rows - 1.0
    total = sample_weight.sum()
    check_total_weight(total)
    return total - 1.0


def _centred_slices(X: np.ndarray, sample_weight: np.ndarray | None, mean: np.ndarray):
    """(rows - mean, their weights or None) for each slice of MOMENT_ROWS rows."""
    for start in range(0, X.shape[0], MOMENT_ROWS):
        stop = start + MOMENT_ROWS
        yield X[start:stop] - mean, None if sample_weight is None else sample_weight[start:stop]


def weighted_covariance(X: np.ndarray, sample_weight: np.ndarray | None,
                        mean: np.ndarray) -> np.ndarray:
    """The unbiased covariance matrix of the rows about their (weighted) ``mean``, a weight
    of w counting a row w times (np.cov(X.T) when unweighted): a matrix product per
    centred slice of rows."""
    divisor = _unbiased_divisor(X.shape[0], sample_weight)
    scatter = np.zeros((X.shape[1], X.shape[1]))
    for centred, weight in _centred_slices(X, sample_weight, mean):
        weighted = centred if weight is None else centred * weight[:, None]
        scatter += weighted.T @ centred
    return scatter / divisor


def weighted_variances(X: np.ndarray, sample_weight: np.ndarray | None,
                       mean: np.ndarray) -> np.ndarray:
    """The diagonal of :func:`weighted_covariance` (np.var(X, axis=0, ddof=1) when
    unweighted), without the off-diagonal products."""
    divisor = _unbiased_divisor(X.shape[0], sample_weight)
    squares = np.zeros(X.shape[1])
    ones = np.ones(min(MOMENT_ROWS, X.shape[0]))  # a matrix-vector product sums fastest
    for centred, weight in _centred_slices(X, sample_weight, mean):
        centred *= centred
        squares += (ones[:centred.shape[0]] if weight is None else weight) @ centred
    return squares / divisor


@register_model
class BayesianGaussianMixture(RowBlockSource, MixtureInference, DensityMixin, BaseEstimator):
    """Variational Bayesian estimation of a Gaussian mixture.

    Same parameters, defaults, attributes and results as
    :class:`sklearn.mixture.BayesianGaussianMixture` (from the same ``random_state``),
    fitted on emkit's engine, plus row weights in :meth:`fit` and :meth:`save` /
    :func:`emkit.load`. A Dirichlet process
    (truncated stick-breaking) or Dirichlet distribution prior on the weights and a
    Gaussian-Wishart prior on each component let the fit switch off components it does
    not need.

    Parameters
    ----------
    n_components : int, default=1
        The number of components (an upper bound on those used).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Iterations stop when the lower bound changes by less than this.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of the responsibilities' covariances.
    max_iter : int, default=100
        Maximum number of iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the starting responsibilities are drawn (scikit-learn's draws).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, \
default='dirichlet_process'
    weight_concentration_prior : float or None, default=None
        Concentration of the weights' prior (> 0); None: 1 / n_components.
    mean_precision_prior : float or None, default=None
        Precision of the means' prior (> 0); None: 1.
    mean_prior : array-like of shape (n_features,) or None, default=None
        Mean of the means' prior; None: the mean of X.
    degrees_of_freedom_prior : float or None, default=None
        Degrees of freedom of the Wishart prior (> n_features - 1); None: n_features.
    covariance_prior : float or array-like or None, default=None
        Covariance of the Wishart prior: (n_features, n_features) for 'full' and 'tied',
        (n_features,) for 'diag', a float for 'spherical'; None: the covariance of X.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start each fit after the first from the previous solution (n_init is then 1).
    verbose : int, default=0
    verbose_interval : int, default=10
    learning_decay, learning_offset : float, default=0.7, 10.0
        Step sizes of :meth:`partial_fit`, rho_t = (t + learning_offset) **
        -learning_decay after t updates (0.5 < learning_decay <= 1, the Robbins-Monro
        conditions), as in GaussianMixture.
    total_samples : float or None, default=None
        N of :meth:`partial_fit`'s stochastic variational inference: the weight of the
        whole data set (its rows when unweighted), each batch's statistics counting
        N / (the batch's weight) times. None: the weight of the batches read so far
        (since the first ``partial_fit`` or the last ``fit``), which is N at the end of
        one pass and keeps growing over further passes: give N when the stream goes over
        the data more than once.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        As in GaussianMixture (the posteriors' expected values).
    weight_concentration_ : ndarray or tuple of two ndarrays
        The Dirichlet posterior, or the sticks' Beta posteriors for a Dirichlet process.
    mean_precision_ : ndarray of shape (n_components,)
    degrees_of_freedom_ : ndarray of shape (n_components,) or float ('tied')
    weight_concentration_prior_, mean_precision_prior_, mean_prior_,
    degrees_of_freedom_prior_, covariance_prior_
        The priors used (defaults resolved from X).
    converged_ : bool
        Whether the best run met ``tol``.
    n_iter_ : int
    lower_bound_ : float
        The lower bound (evidence, up to a constant) of the best run.
    lower_bounds_ : list of float
        The lower bound after each iteration of the best run.
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "covariance_type": [Options(SKLEARN_COVARIANCE_TYPES)],
        "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(numbers.Real, 0.0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "init_params": [Options(RESPONSIBILITY_METHODS)],
        "weight_concentration_prior_type": [Options(PRIOR_TYPES)],
        "weight_concentration_prior": [None, Interval(numbers.Real, 0.0, None,
                                                      closed="neither")],
        "mean_precision_prior": [None, Interval(numbers.Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(numbers.Real, 0.0, None,
                                                    closed="neither")],
        "covariance_prior": [None, "array-like", Interval(numbers.Real, 0.0, None,
                                                          closed="neither")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_decay": [Interval(numbers.Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(numbers.Real, 0.0, None, closed="left")],
        "total_samples": [None, Interval(numbers.Real, 0.0, None, closed="neither")],
    }

    _keeps_restart_histories = False
    _fit_dtype = np.float64  # streamed blocks: float64, no missing values
    _missing_values = False

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        learning_decay=0.7,
        learning_offset=10.0,
        total_samples=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.total_samples = total_samples

    # -- fitting ---------------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the posteriors by variational inference (``n_init`` runs, the best kept).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), memmap, Dask array or \
dataframe, or block source
            A memmap is read a block at a time, a Dask collection one E-step per partition,
            a block source (a list of arrays, or a function returning a fresh iterator)
            once per iteration; the priors' defaults (the rows' mean and covariance) take
            one more pass, and the starting values come from at most ``INIT_ROWS`` rows.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; a weight of 2 counts a row twice.

        Returns
        -------
        self : BayesianGaussianMixture
        """
        if is_streamed(X):
            return self._fit_streamed(X, sample_weight)
        self._fit(X, sample_weight, labels=False)
        return self

    @untouched_on_failure
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit as :meth:`fit`, then return the most probable component of each row
        (a final E-step, so this equals ``fit(X).predict(X)``).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        if is_streamed(X):
            return self._fit_streamed(X, sample_weight).predict(X)
        return self._fit(X, sample_weight, labels=True)

    @untouched_on_failure
    def _fit_streamed(self, X, sample_weight):
        """Fit a memmap, block source or Dask collection (see :meth:`fit`)."""
        blocks, sample, check, rng = self._streamed_rows(X, sample_weight)
        sample = sample.astype(np.float64, copy=False)

        @functools.cache
        def moments():
            total, mean, covariance = data_moments(blocks, sample.mean(axis=0))
            check_total_weight(total)
            return mean, covariance

        self._resolve_priors(check.n_features, lambda: moments()[0], lambda: moments()[1],
                             lambda: np.diag(moments()[1]))
        self._fit_blocks(self._problem(), blocks, sample, None, rng)
        self.n_features_in_ = check.n_features
        return self

    @untouched_on_failure
    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of stochastic variational inference (Hoffman et al. 2013) on a batch.

        The first call resolves the priors' defaults from this batch and starts the
        posteriors from it (``init_params``). Each call computes the batch's statistics
        under the current posteriors and moves the posteriors' natural parameters to
        (1 - rho) old + rho (prior + N / |B| stats(batch)), with rho = (t +
        learning_offset) ** -learning_decay after t updates, |B| the batch's weight and N
        ``total_samples`` (None: the weight of the batches read so far). The posteriors
        are affine in the statistics, so this is GaussianMixture's stepwise update of
        running statistics (``partial_fit``) in the units of N rows: the priors weigh as
        against the whole data, and over several passes the fit approaches
        :meth:`fit`'s. ``lower_bound_`` is the batch's mean :meth:`score_samples` under
        the posteriors it updated. The running statistics live in memory only.

        Returns
        -------
        self
        """
        validate_params(self, self._parameter_constraints)
        first = not hasattr(self, "means_")  # else continue from the fitted posteriors
        X = validate_data(self, X, reset=first, dtype=[np.float64, np.float32])
        X = X.astype(np.float64, copy=False)
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if first:
            if X.shape[0] < self.n_components:
                raise ValueError(f"the first batch has {X.shape[0]} rows, fewer than "
                                 f"n_components = {self.n_components}")
            self._check_parameters(X, weights)
            problem = self._problem()
            resp = initial_responsibilities(self.init_params, X, self.n_components, weights,
                                            check_random_state(self.random_state))
            theta = problem.params_from_resp(X, resp, weights)
        else:
            problem, theta = self._problem(), self._theta()
        self._online_update(problem, X, weights, theta, first=first)
        return self

    def _online_total_weight(self):
        return WEIGHT_SEEN if self.total_samples is None else float(self.total_samples)

    def _fit(self, X, sample_weight, labels: bool):
        """Fit in memory; return the labels of X's rows under the fit (the final E-step)
        when ``labels``, else None."""
        validate_params(self, self._parameter_constraints)
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        X = X.astype(np.float64, copy=False)
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_samples}")
        weights = check_sample_weight(sample_weight, n_samples, X.dtype)
        if weights is not None and np.count_nonzero(weights) < self.n_components:
            raise ValueError(
                f"Expected at least n_components = {self.n_components} rows with a positive "
                f"sample_weight, got {np.count_nonzero(weights)}.")
        self._check_parameters(X, weights)
        problem = self._problem()
        blocks = RowBlocks(X, weights, self._block_rows(n_features, X.dtype))
        best = self._fit_blocks(problem, blocks, X, weights, check_random_state(self.random_state))
        if not labels:
            return None
        return np.argmax(problem.weighted_log_prob(X, best.theta), axis=1)

    def _fit_blocks(self, problem, blocks, start_rows, weights, rng):
        """The runs from ``n_init`` starts drawn on ``start_rows`` (the previous fit's
        posteriors for a warm start) over ``blocks``, the best kept and stored."""
        warm = self.warm_start and hasattr(self, "converged_")
        if warm:
            start, n_init = self._theta, 1
        else:
            def start():
                resp = initial_responsibilities(self.init_params, start_rows,
                                                self.n_components, weights, rng)
                return problem.params_from_resp(start_rows, resp, weights)
            n_init = self.n_init
        best = fit_with_restarts(
            problem, blocks, start, n_init=n_init, tol=self.tol, max_iter=self.max_iter,
            monitor=Monitor(self.verbose, self.verbose_interval),
            lower_bound=self.lower_bound_ if warm else -np.inf)
        self._store(best.theta)
        self._store_run(best)
        return best

    def _check_parameters(self, X, sample_weight=None):
        """Resolve the priors' hyper-parameters (defaults from the rows of X, weighted by
        ``sample_weight``) into the ``*_prior_`` attributes; raise on bad ones."""
        mean = functools.cache(lambda: weighted_mean(X, sample_weight))
        # BLAS on one thread: as fast on these memory-bound products, and OpenBLAS's
        # threads, woken, would busy-wait through the first E-steps' numba kernels
        with single_threaded_blas():
            self._resolve_priors(X.shape[1], mean,
                                 lambda: weighted_covariance(X, sample_weight, mean()),
                                 lambda: weighted_variances(X, sample_weight, mean()))

    def _resolve_priors(self, n_features, data_mean, data_covariance, data_variances):
        """The ``*_prior_`` attributes, the defaults from the rows' mean and unbiased
        covariance or its diagonal (``data_mean()``, ``data_covariance()``,
        ``data_variances()``: computed only when needed)."""
        self.weight_concentration_prior_ = (
            1.0 / self.n_components if self.weight_concentration_prior is None
            else self.weight_concentration_prior)
        self.mean_precision_prior_ = (
            1.0 if self.mean_precision_prior is None else self.mean_precision_prior)
        if self.mean_prior is None:
            self.mean_prior_ = data_mean()
        else:
            self.mean_prior_ = check_array(self.mean_prior, dtype=[np.float64, np.float32],
                                           ensure_2d=False, input_name="mean_prior")
            check_shape(self.mean_prior_, (n_features,), "means")
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = n_features
        elif self.degrees_of_freedom_prior > n_features - 1.0:
            self.degrees_of_freedom_prior_ = self.degrees_of_freedom_prior
        else:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {self.degrees_of_freedom_prior:.3f}.")
        self.covariance_prior_ = self._checked_covariance_prior(n_features, data_covariance,
                                                                data_variances)

    def _checked_covariance_prior(self, n_features, data_covariance, data_variances):
        """``covariance_prior`` validated for the covariance type, or its default from the
        rows' (weighted) covariance matrix ``data_covariance()`` ('full', 'tied') or its
        diagonal ``data_variances()`` ('diag', 'spherical')."""
        kind = self.covariance_type
        if self.covariance_prior is None:
            if kind in ("full", "tied"):
                return np.atleast_2d(data_covariance())
            variances = np.atleast_1d(data_variances())
            return variances if kind == "diag" else variances.mean()
        if kind == "spherical":
            if not isinstance(self.covariance_prior, numbers.Real):
                raise ValueError("covariance_prior must be a positive float for "
                                 f"covariance_type='spherical'; got {self.covariance_prior!r}.")
            return self.covariance_prior
        prior = check_array(self.covariance_prior, dtype=[np.float64, np.float32],
                            ensure_2d=False, input_name="covariance_prior")
        if kind == "diag":
            check_shape(prior, (n_features,), "diag covariance_prior")
            if np.any(prior <= 0.0):
                raise ValueError("covariance_prior must be positive for "
                                 "covariance_type='diag'.")
        else:
            check_shape(prior, (n_features, n_features), f"{kind} covariance_prior")
            if not (np.allclose(prior, prior.T) and np.all(np.linalg.eigvalsh(prior) > 0.0)):
                raise ValueError(f"covariance_prior must be symmetric, positive-definite "
                                 f"for covariance_type={kind!r}.")
        return prior

    def _problem(self) -> VariationalGaussianProblem:
        prior = VariationalPrior(
            process=self.weight_concentration_prior_type == "dirichlet_process",
            weight_concentration=self.weight_concentration_prior_,
            mean_precision=self.mean_precision_prior_,
            mean=np.asarray(self.mean_prior_, dtype=np.float64),
            degrees_of_freedom=self.degrees_of_freedom_prior_,
            covariance=np.asarray(self.covariance_prior_, dtype=np.float64))
        return VariationalGaussianProblem(covariance_model(self.covariance_type), prior,
                                          self.reg_covar)

    # scikit-learn's private hook, kept for code (and tests) written against it
    def _initialize_parameters(self, X, random_state):
        """Set the starting posteriors from ``init_params`` responsibilities."""
        X = np.asarray(X, dtype=np.float64)
        resp = initial_responsibilities(self.init_params, X, self.n_components, None,
                                        random_state)
        self._store(self._problem().params_from_resp(X, resp, None))

    # -- parameters <-> attributes ---------------------------------------------------------
    def _store(self, theta: VariationalParams) -> None:
        self.weight_concentration_ = theta.weight_concentration
        self.mean_precision_ = theta.mean_precision
        self.means_ = theta.means
        self.degrees_of_freedom_ = theta.degrees_of_freedom
        self.covariances_ = theta.covariances
        self.precisions_cholesky_ = theta.precisions_cholesky
        self.precisions_ = covariance_model(self.covariance_type).precisions(
            theta.precisions_cholesky)
        if self.weight_concentration_prior_type == "dirichlet_process":
            a, b = theta.weight_concentration
            stick = b / (a + b)
            weights = a / (a + b) * np.hstack((1, np.cumprod(stick[:-1])))
        else:
            weights = theta.weight_concentration
        self.weights_ = weights / np.sum(weights)

    def _theta(self) -> VariationalParams:
        return VariationalParams(self.weight_concentration_, self.mean_precision_,
                                 self.means_, self.degrees_of_freedom_, self.covariances_,
                                 self.precisions_cholesky_)

    def _get_parameters(self):
        return (self.weight_concentration_, self.mean_precision_, self.means_,
                self.degrees_of_freedom_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params):
        self._store(VariationalParams(*params))

    # -- inference (predict, predict_proba, score_samples, score, sample: the mixin) --------
    def _validated(self, X):
        """X checked against the fit, as float64, and the problem that scores it."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X.astype(np.float64, copy=False), self._problem()

    # -- persistence -----------------------------------------------------------------------
    def _check_loaded_arrays(self) -> None:
        """Raise ValueError unless the learned attributes (from a model file) are complete,
        finite, positive where they must be, and shaped by the parameters. A Dirichlet
        process's ``weight_concentration_`` (a pair, read back as a list) is made a tuple
        again."""
        learned = {"weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
                   "weight_concentration_", "mean_precision_", "degrees_of_freedom_",
                   "weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
                   "degrees_of_freedom_prior_", "covariance_prior_", "converged_", "n_iter_",
                   "lower_bound_", "lower_bounds_", "n_features_in_"}
        present = {k for k in vars(self) if k.endswith("_") and not k.startswith("_")}
        missing = learned - present
        unknown = present - learned - {"feature_names_in_", "n_batches_"}
        if missing or unknown:
            raise ValueError(f"missing attributes {sorted(missing)}, unknown {sorted(unknown)}")
        K, D = self.n_components, self.n_features_in_
        if isinstance(D, bool) or not isinstance(D, int) or D < 1:
            raise ValueError(f"n_features_in_ must be a positive int, got {D!r}")
        if not isinstance(self.converged_, bool) or isinstance(self.n_iter_, bool) \
                or not isinstance(self.n_iter_, int) or not isinstance(self.lower_bound_, float) \
                or not isinstance(self.lower_bounds_, list):
            raise ValueError("converged_ must be a bool, n_iter_ an int, lower_bound_ a float, "
                             "lower_bounds_ a list")
        cov = covariance_model(self.covariance_type)
        process = self.weight_concentration_prior_type == "dirichlet_process"
        if process:
            if not isinstance(self.weight_concentration_, (list, tuple)) \
                    or len(self.weight_concentration_) != 2:
                raise ValueError("weight_concentration_ must be a pair of arrays for a "
                                 "Dirichlet process")
            self.weight_concentration_ = tuple(self.weight_concentration_)
        tied = self.covariance_type == "tied"
        expected = {"weights_": (K,), "means_": (K, D),
                    "covariances_": cov.precisions_shape(K, D),
                    "precisions_": cov.precisions_shape(K, D),
                    "precisions_cholesky_": cov.precisions_shape(K, D),
                    "mean_precision_": (K,), "degrees_of_freedom_": () if tied else (K,),
                    "mean_prior_": (D,),
                    "covariance_prior_": {"full": (D, D), "tied": (D, D), "diag": (D,),
                                          "spherical": ()}[self.covariance_type]}
        named = dict((name, getattr(self, name)) for name in expected)
        named.update({f"weight_concentration_[{i}]": v for i, v in enumerate(
            self.weight_concentration_ if process else [self.weight_concentration_])})
        for name, value in named.items():
            shape = expected.get(name, (K,))
            array = np.asarray(value)
            if array.dtype.kind != "f" or array.shape != shape:
                raise ValueError(f"{name} must be a float array of shape {shape}")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} has non-finite values")
        positive = [self.mean_precision_, self.weight_concentration_prior_,
                    self.mean_precision_prior_]
        positive += [v for k, v in named.items() if k.startswith("weight_concentration_")]
        if any(not np.all(np.asarray(v) > 0) for v in positive):
            raise ValueError("mean_precision_, weight_concentration_ and their priors must "
                             "be positive")
        if np.any(np.asarray(self.degrees_of_freedom_) <= D - 1) \
                or not self.degrees_of_freedom_prior_ > D - 1:
            raise ValueError("degrees_of_freedom_ and degrees_of_freedom_prior_ must exceed "
                             f"n_features - 1 = {D - 1}")
