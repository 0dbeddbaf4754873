"""GaussianMixture: a drop-in replacement for sklearn.mixture.GaussianMixture."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._exceptions import DegenerateFitWarning
from .._fit_guard import untouched_on_failure
from ..io import register_model
from .._em import Monitor, RowBlocks, block_rows_for, fit_with_restarts, short_run_starts
from .._validation import (Interval, Options, check_sample_weight, check_shape, named_matrix,
                           random_state_of, validate_params, validate_rows)
from ._covariance import COVARIANCE_MODELS, covariance_model
from ._mclust_prior import MapGaussianMixtureProblem, PriorConstraint, as_prior
from ._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from ._data_scale import DataScale
from ._degeneracy import (advice, degenerate_components, minimum_component_size,
                          singular_and_collapsed)
from ._init import INIT_METHODS, hierarchical_start, initial_responsibilities, seeded_partition
from .._sources import is_streamed
from ._large_data import LargeDataFitting
from ._mixture_inference import MixtureInference
from ._missing import MissingDataProblem, check_observed_columns, fill_with_column_means


def check_finite_fit(run, max_iter: int) -> None:
    """Raise ValueError when EM's kept run is not a usable model: a log-likelihood or a
    parameter that is not finite (data whose arithmetic overflowed, say)."""
    theta = run.theta
    finite = all(np.isfinite(value).all() for value in
                 (theta.weights, theta.means, theta.covariances, theta.precisions_cholesky))
    if finite and (max_iter == 0 or np.isfinite(run.lower_bound)):
        return
    raise ValueError(
        f"The fit failed: EM ended with log-likelihood {run.lower_bound!r}"
        f"{'' if finite else ' and non-finite parameters'}; the data's arithmetic "
        "overflowed or underflowed. Check X for extreme values, or rescale it.")


@register_model
class GaussianMixture(LargeDataFitting, MixtureInference, DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by Expectation-Maximisation.

    Same parameters, defaults, attributes and results as
    :class:`sklearn.mixture.GaussianMixture` (from the same initial parameters, or the same
    ``random_state``), plus row weights in :meth:`fit`, float32 fitting end to end, and
    :meth:`save` / :func:`emkit.load`.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust model name, \
default='full'
        'full': each component has its own covariance matrix; 'tied': all components share
        one; 'diag': each has a diagonal one; 'spherical': each has a single variance.
        mclust's models (Celeux and Govaert's lambda_k D_k A_k D_k^T with Equal, Varying or
        Identity volume, shape and orientation): 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI',
        'EEE', 'VEE', 'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV', and 'E', 'V' for one
        feature; their covariances_, precisions_ and precisions_cholesky_ are always full
        (n_components, n_features, n_features) matrices ('VVV', 'EEE', 'VVI', 'VII' fit the
        same mixtures as 'full', 'tied', 'diag', 'spherical').
    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than this between iterations.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance.
    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the fit with the highest final lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hierarchical', \
'em-em'}, default='kmeans'
        How each run starts. The first four are scikit-learn's (the same draws from the
        same ``random_state``). 'hierarchical': mclust's start, the ``n_components``-cluster
        cut of a model-based agglomerative hierarchical clustering (Fraley 1998) of at most
        ``init_subsample`` rows (mclust's ``hc(X, "VVV", use = "SVD")`` exactly, for every
        covariance type; for one column mclust's quantile classes); with no more rows than
        that it is deterministic and one run is made whatever ``n_init``. 'em-em':
        ``EM_EM_SHORT_RUNS`` (or 2 per restart, if more) short EM runs of at most
        ``EM_EM_SHORT_ITER`` iterations from random partitions (rows assigned to the
        nearest of k-means++ seeds), the ``n_init`` best continued to convergence
        (Biernacki, Celeux and Govaert 2003); a streamed fit runs the short runs on its
        starting sample.
    init_subsample : int, default=2000
        Rows the 'hierarchical' start clusters: a random subsample (in proportion to the
        row weights) when there are more. At least ``n_components``; its cost grows as
        its square.
    weights_init : array-like of shape (n_components,), default=None
        User-provided initial weights.
    means_init : array-like of shape (n_components, n_features), default=None
        User-provided initial means.
    precisions_init : array-like, default=None
        User-provided initial precisions (inverse covariances), shaped by covariance_type:
        (n_components,) spherical, (n_features, n_features) tied, (n_components, n_features)
        diag, (n_components, n_features, n_features) full.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`.
    warm_start : bool, default=False
        If True, each fit after the first starts from the previous solution (n_init is then
        ignored).
    verbose : int, default=0
        1 prints each initialisation and iteration; 2 adds times and likelihood changes.
    verbose_interval : int, default=10
        Iterations between two verbose prints.
    batch_size : int or None, default=None
        Mini-batch EM inside :meth:`fit`: each iteration streams batches of this many rows
        and updates the parameters after every batch (stepwise EM, step sizes as in
        :meth:`partial_fit`). None: batch EM.
    block_size : int or None, default=None
        Rows per E-step block (memory grows with this, not with n_samples). None: blocks
        of about 32 MB of per-row temporaries.
    learning_decay, learning_offset : float, default=0.7, 10.0
        Step sizes of online EM, eta_t = (t + learning_offset) ** -learning_decay after t
        updates (0.5 < learning_decay <= 1), as in scikit-learn's
        LatentDirichletAllocation.
    prior : None, 'default' or ConjugatePrior, default=None
        mclust's conjugate prior (``priorControl()``): MAP EM instead of maximum
        likelihood, for mclust's models that have one ('E', 'V', 'EII', 'VII', 'EEI',
        'VEI', 'EVI', 'VVI', 'EEE', 'EEV', 'VEV', 'VVV'). 'default' is mclust's
        ``defaultPrior`` (shrinkage 0.01, the data's mean, its variances scaled by
        n_components); ``ConjugatePrior(shrinkage, mean, dof, scale)`` sets its numbers.
        The log-likelihood, BIC and AIC are, as in mclust, those of the data under the MAP
        parameters. In-memory arrays only, without missing values.

    Spurious solutions: a run whose fit has a degenerate component (fewer effective rows
    than its covariance needs, or a covariance at the ``reg_covar`` floor; the rule is in
    :mod:`emkit.mixture._degeneracy`) loses to any run without one, whatever their
    likelihoods; when every run is degenerate, up to ``EXTRA_STARTS`` more random starts
    are tried (none with ``max_iter=0``, which returns the start asked for, nor when there
    are too few rows for any fit to be sound), counted in ``n_extra_starts_`` and always
    warned about (DegenerateFitWarning), whether one of them is sound or all fail. The
    warning tells a *singular* component (fewer rows than its covariance needs: use a
    prior or a constrained covariance type) from a *collapsed* one (at the reg_covar floor).

    Extreme scales: data whose squares would overflow or underflow are fitted at unit
    scale (``reg_covar`` then applies at that scale) and reported in their own units; a
    fit whose parameters do not fit in floating point is a ValueError (see
    :mod:`emkit.mixture._data_scale`).

    Large data: ``fit`` also takes a NumPy memmap (read a block at a time), any
    re-iterable source of row blocks (a list of arrays, an object whose ``__iter__``
    starts over, or a function returning a fresh iterator; read once per iteration, never
    held whole), and a Dask array or dataframe (one E-step per partition on the workers,
    the statistics summed; only parameters and statistics travel). Starting values then
    come from at most ``INIT_ROWS`` rows of the data. :meth:`partial_fit` learns from a
    stream one batch at a time.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, shape depending on covariance_type
    precisions_ : ndarray, shape depending on covariance_type
    precisions_cholesky_ : ndarray, shape depending on covariance_type
        Upper-triangular U with U U^T = precision, as in scikit-learn.
    converged_ : bool
        Whether the best run met ``tol`` (running out of iterations is not convergence).
    n_iter_ : int
        Iterations of the best run.
    lower_bound_ : float
        Mean log-likelihood of the best run's last E-step.
    lower_bounds_ : list of float
        Mean log-likelihood at each iteration of the best run.
    restart_lower_bounds_ : list of list of float
        The same history for every restart of the last fit (emkit only).
    degenerate_ : bool
        Whether the fit kept has a degenerate component (emkit only).
    degenerate_components_ : ndarray of int
        Which components are degenerate (emkit only).
    n_extra_starts_ : int
        Starts run beyond ``n_init`` because every run had ended degenerate (emkit only).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_
    array([[10.,  2.],
           [ 1.,  2.]])
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "covariance_type": [Options(tuple(COVARIANCE_MODELS))],
        "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(numbers.Real, 0.0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "init_params": [Options(INIT_METHODS)],
        "init_subsample": [Interval(numbers.Integral, 1, None, closed="left")],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "block_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "learning_decay": [Interval(numbers.Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(numbers.Real, 0.0, None, closed="left")],
        "prior": [None, PriorConstraint()],
    }

    #: More random starts tried when every one of the n_init runs ended degenerate.
    EXTRA_STARTS = 10
    #: em-EM: the least number of short runs, and the iterations of each.
    EM_EM_SHORT_RUNS = 100
    EM_EM_SHORT_ITER = 20

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        init_subsample=2000,
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        batch_size=None,
        block_size=None,
        learning_decay=0.7,
        learning_offset=10.0,
        prior=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.init_subsample = init_subsample
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.batch_size = batch_size
        self.block_size = block_size
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.prior = prior

    # -- fitting ---------------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM (``n_init`` runs, the best kept).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; a weight of 2 counts a row twice.

        Returns
        -------
        self : GaussianMixture
        """
        if is_streamed(X):
            if self.prior is not None:
                raise ValueError("prior needs X in memory (an array): a streamed or Dask "
                                 "fit takes no prior")
            self._fit_streamed(X, sample_weight)
        else:
            self._fit(X, sample_weight, False)
        return self

    @untouched_on_failure
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit as :meth:`fit`, then return the most probable component of each row.

        Equal to ``fit(X).predict(X)``: a final E-step follows the last iteration.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        if is_streamed(X):
            self.fit(X, y, sample_weight)
            return self.predict(X)
        return self._fit(X, sample_weight, True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing entries are marginalised
        return tags

    def _fit(self, X, sample_weight, labels: bool):
        """Fit in memory; return the labels of X's rows under the fit (the final E-step)
        when ``labels``, else None."""
        validate_params(self, self._parameter_constraints)
        X = validate_rows(self, X, ensure_min_samples=2, allow_nan=True)
        has_missing = bool(np.isnan(X).any())
        if has_missing:
            check_observed_columns(X, getattr(self, "feature_names_in_", None))
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
        user_init = self._checked_user_init(n_features, X.dtype)
        scale = DataScale.needed_for(X)
        if scale is not None:  # squares would overflow or underflow: fit at unit scale
            X, user_init = scale.to_unit(X), scale.user_init_to_unit(user_init)
        problem = self._problem(has_missing)
        if self.prior is not None:
            problem = self._map_problem(problem, X, weights, has_missing)
        blocks = RowBlocks(X, weights, self._block_rows(n_features, X.dtype))
        # starts (k-means, ...) see the missing entries as their column means
        X_start = fill_with_column_means(X).astype(X.dtype) if has_missing else X
        warm = self.warm_start and hasattr(self, "converged_")
        if self.batch_size is not None:
            blocks = RowBlocks(X, weights, self.batch_size)
        with random_state_of(self.random_state) as rng:
            best = self._fit_restarts(problem, blocks, blocks, X_start, weights, user_init,
                                      warm, rng, scale)
        if not labels:
            return None
        return self._map_rows(X, lambda b: np.argmax(problem.weighted_log_prob(b, best.theta), 1))

    def _fit_restarts(self, problem, blocks, short_blocks, X_start, weights, user_init,
                      warm, rng, scale: DataScale | None = None):
        """EM from every start (the engine's restarts), the best run kept and stored.

        ``short_blocks`` feed em-EM's short runs; ``X_start`` (with ``weights``) are the
        rows the other starting points are computed from; ``rng`` draws them. ``scale``:
        the rows are at unit scale by this map, and the model is stored in X's units.
        """
        warm_theta = None
        if warm:
            warm_theta = self._theta() if scale is None else scale.theta_to_unit(self._theta())
        start, n_init, extra_starts = self._starts(problem, short_blocks, X_start, weights,
                                                   user_init, rng, warm_theta)
        n_features = X_start.shape[1]
        cause = self._unestimable_cause(getattr(blocks, "total_weight", None), n_features)
        if cause:  # no start can give every component the rows its covariance needs
            extra_starts = 0
        to_data = float if scale is None else (
            lambda value: scale.log_likelihood_to_data(value, n_features))
        best = fit_with_restarts(
            problem, blocks, start,
            n_init=n_init, extra_starts=extra_starts,
            tol=self.tol, max_iter=self.max_iter,
            monitor=Monitor(self.verbose, self.verbose_interval,
                            rtol=1e-9 if X_start.dtype == np.float64 else 1e-4),
            lower_bound=(self.lower_bound_ - to_data(0.0)) if warm else -np.inf,
            runner=self._runner(),
            degenerate=self._degeneracy_check(problem),
            degenerate_cause=cause or self._degeneracy_advice(problem),
        )
        self.n_extra_starts_ = max(0, len(best.restart_lower_bounds) - max(1, n_init))
        if self.n_extra_starts_ and not best.degenerate:
            warnings.warn(
                f"Every one of the {max(1, n_init)} EM run(s) asked for ended in a degenerate "
                f"fit; {self.n_extra_starts_} more start(s) were run (EXTRA_STARTS="
                f"{self.EXTRA_STARTS} at most) and the sound fit kept is from one of them.",
                DegenerateFitWarning, stacklevel=3)
        check_finite_fit(best, self.max_iter)
        if scale is None:
            self._store(best.theta)
        else:
            self._store(*scale.theta_to_data(best.theta, self.covariance_type))
        self._store_run(best, to_data)
        self.degenerate_components_ = np.asarray(best.degenerate, dtype=np.int64)
        self.degenerate_ = bool(best.degenerate)
        return best

    def _unestimable_cause(self, total_weight, n_features) -> str:
        """Why no fit can be sound ('' when one can): fewer rows than n_components times
        what one covariance of this type needs (see _degeneracy)."""
        K, kind = self.n_components, covariance_model(self.covariance_type).rules_name
        if kind == "tied":  # the rows about their K means span at most rows - K directions
            needed = n_features + K
            what = f"the {needed} rows (n_features + n_components) a 'tied' covariance"
        else:
            needed = K * minimum_component_size(kind, n_features)
            what = (f"n_components={K} times the {needed // K} rows a {kind!r} covariance")
        if total_weight is None or total_weight >= needed:
            return ""
        return (f"The covariances cannot all be estimated: {total_weight:g} rows (total "
                f"weight) are fewer than {what} of {n_features} features needs; they are "
                "set by reg_covar in the directions the rows do not span. Use "
                "covariance_type='diag' or 'spherical', fewer features (PCA, say), or fewer "
                "components.")

    def _degeneracy_advice(self, problem):
        """``advice(run)``: the warning's account of a degenerate run, by cause."""
        def explain(run):
            total = np.inf if run.weight is None else float(run.weight)
            singular, collapsed = singular_and_collapsed(problem.covariance, run.theta,
                                                         total, self.reg_covar)
            sizes = np.asarray(run.theta.weights, dtype=np.float64) * total
            return advice(problem.covariance, singular, collapsed, sizes,
                          np.shape(run.theta.means)[1], "prior" in self.get_params())
        return explain

    def _degeneracy_check(self, problem):
        """``check(run)``: the degenerate components of a run's fit (see _degeneracy)."""
        def check(run):
            check_finite_fit(run, self.max_iter)
            # mini-batch runs do not record their total weight: no size rule then
            total = np.inf if run.weight is None else run.weight
            if isinstance(problem, MapGaussianMixtureProblem):
                # the prior determines every covariance: a component of few rows is sound
                # (as in mclust); only one collapsed onto repeated rows is not
                return singular_and_collapsed(problem.covariance, run.theta, total,
                                              self.reg_covar)[1]
            return degenerate_components(problem.covariance, run.theta, total, self.reg_covar)
        return check

    def _starts(self, problem, short_blocks, X, weights, user_init, rng, warm_theta):
        """``(start, n_init, extra_starts)``: the function that draws each run's starting
        parameters, the number of runs, and how many more starts may replace degenerate
        runs (none when every start is the same). ``warm_theta``: the one start of a warm
        start, else None."""
        if warm_theta is not None:
            return (lambda: warm_theta), 1, 0
        if all(value is not None for value in user_init):
            given = self._start_from(problem, X, weights, None, user_init)
            return (lambda: given), self.n_init, 0
        method, K = self.init_params, self.n_components
        if method == "hierarchical":
            if self.init_subsample < K:
                raise ValueError(f"init_subsample={self.init_subsample} is smaller than "
                                 f"n_components={K}: the hierarchical start cuts the "
                                 "subsample into n_components clusters")
            available = X.shape[0] if weights is None else np.count_nonzero(weights)

            def start():
                rows, resp = hierarchical_start(X, K, weights, rng,
                                                subsample=self.init_subsample,
                                                covariance_type=self.covariance_type)
                return self._start_from(problem, X[rows],
                                        None if weights is None else weights[rows], resp,
                                        user_init)

            if available <= self.init_subsample:  # deterministic: one run is enough
                theta = start()
                return (lambda: theta), 1, 0
            return start, self.n_init, self.EXTRA_STARTS

        if method == "em-em":
            def draw():
                return self._with_user_init(seeded_partition(problem, X, K, weights, rng),
                                            user_init, X.dtype)

            kept = short_run_starts(
                problem, short_blocks, draw,
                n_runs=max(self.EM_EM_SHORT_RUNS, 2 * self.n_init),
                n_keep=self.n_init + self.EXTRA_STARTS, max_iter=self.EM_EM_SHORT_ITER,
                tol=self.tol, degenerate=self._degeneracy_check(problem))
            queue = iter(kept)
            return (lambda: next(queue, None) or draw()), self.n_init, self.EXTRA_STARTS

        def start():
            resp = initial_responsibilities(method, X, K, weights, rng)
            return self._start_from(problem, X, weights, resp, user_init)
        return start, self.n_init, self.EXTRA_STARTS

    def _problem(self, missing: bool = False) -> GaussianMixtureProblem:
        """The EM problem; ``missing``: rows may hold NaN (their missing coordinates are
        marginalised, exactly)."""
        kind = MissingDataProblem if missing else GaussianMixtureProblem
        return kind(covariance_model(self.covariance_type), self.reg_covar)

    def _map_problem(self, problem, X, weights, missing: bool) -> MapGaussianMixtureProblem:
        """MAP EM under ``prior`` instead of ``problem`` (the prior's defaults come from
        ``X`` and ``weights``)."""
        if missing:
            raise ValueError("prior is not supported with missing values in X")
        if type(problem) is not GaussianMixtureProblem:
            raise ValueError(f"prior is not supported by {type(self).__name__}")
        prior = as_prior(self.prior).resolved(X, weights, self.n_components,
                                              problem.covariance)
        return MapGaussianMixtureProblem(problem.covariance, self.reg_covar, prior)

    def _block_rows(self, n_features, dtype) -> int:
        """Rows per block (``block_size``, or automatic). The fast kernels allocate nothing
        per row in the E-step, so blocks only bound the (rows x components) outputs of
        prediction; fewer, larger blocks keep every block parallel."""
        if self.block_size is not None:
            return self.block_size
        return block_rows_for(self.n_components + 1, np.dtype(dtype).itemsize)

    def _start_from(self, problem, X, weights, resp, user_init) -> GaussianMixtureParams:
        """Starting parameters: the M-step on ``resp`` (None when every parameter is
        user-given), overridden by the user-given weights, means and precisions."""
        theta = None if resp is None else problem.params_from_resp(X, resp, weights)
        return self._with_user_init(theta, user_init, X.dtype)

    def _with_user_init(self, theta, user_init, dtype) -> GaussianMixtureParams:
        """``theta`` with the user-given weights, means and precisions in its place."""
        w_init, m_init, p_init = user_init
        cov = covariance_model(self.covariance_type)
        if p_init is not None:
            covariances = cov.covariances_from_precisions(p_init)
            prec_chol = cov.precisions_cholesky_from_precisions(p_init)
        else:
            covariances, prec_chol = theta.covariances, theta.precisions_cholesky
        return GaussianMixtureParams(
            weights=theta.weights if w_init is None else w_init,
            means=theta.means if m_init is None else m_init,
            covariances=covariances.astype(dtype, copy=False),
            precisions_cholesky=prec_chol.astype(dtype, copy=False),
        )

    def _checked_user_init(self, n_features, dtype):
        """weights_init, means_init, precisions_init validated (None where not given)."""
        K, cov = self.n_components, covariance_model(self.covariance_type)
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = check_array(self.weights_init, dtype=[np.float64, np.float32],
                                  ensure_2d=False, input_name="weights_init")
            check_shape(weights, (K,), "weights")
            if np.any(weights < 0.0) or np.any(weights > 1.0):
                # scikit-learn's wording and argument order, which code may match verbatim
                raise ValueError(
                    "The parameter 'weights' should be in the range [0, 1], but got max value "
                    f"{weights.min():.5f}, min value {weights.max():.5f}")
            atol = 1e-6 if weights.dtype == np.float32 else 1e-8
            if not np.allclose(abs(1.0 - weights.sum()), 0.0, atol=atol):
                raise ValueError("The parameter 'weights' should be normalized, but got "
                                 f"sum(weights) = {weights.sum():.5f}")
            weights = weights.astype(dtype)
        if self.means_init is not None:
            means = check_array(self.means_init, dtype=[np.float64, np.float32],
                                ensure_2d=False, input_name="means_init")
            check_shape(means, (K, n_features), "means")
            means = means.astype(dtype)
        if self.precisions_init is not None:
            precisions = check_array(self.precisions_init, dtype=[np.float64, np.float32],
                                     ensure_2d=False, allow_nd=True,
                                     input_name="precisions_init")
            check_shape(precisions, cov.precisions_shape(K, n_features),
                        f"{cov.name} precision")
            cov.check_precisions(precisions)
            precisions = precisions.astype(np.float64)
        return weights, means, precisions

    # -- parameters <-> attributes ---------------------------------------------------------
    def _store(self, theta: GaussianMixtureParams, precisions=None) -> None:
        """Keep ``theta`` as the fitted attributes (``precisions``: computed from the
        Cholesky factors when not given)."""
        cov = covariance_model(self.covariance_type)
        self.weights_ = theta.weights
        self.means_ = theta.means
        self.covariances_ = theta.covariances
        self.precisions_cholesky_ = theta.precisions_cholesky
        self.precisions_ = (cov.precisions(theta.precisions_cholesky) if precisions is None
                            else precisions)

    # scikit-learn's private hooks, kept for code (and tests) written against them
    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params):
        self._store(GaussianMixtureParams(*params))

    def _initialize(self, X, resp):
        """Set the starting parameters from responsibilities ``resp`` (scikit-learn's hook;
        like it, the user-given initial parameters are taken as they are)."""
        X = np.asarray(X)
        user_init = tuple(None if v is None else np.asarray(v, dtype=X.dtype)
                          for v in (self.weights_init, self.means_init, self.precisions_init))
        self._store(self._start_from(self._problem(), X, None, resp, user_init))

    def _theta(self) -> GaussianMixtureParams:
        return GaussianMixtureParams(self.weights_, self.means_, self.covariances_,
                                     self.precisions_cholesky_)

    def _validated(self, X):
        """X checked against the fit, in the model's dtype (the kernels' arithmetic), and
        the EM problem for it (NaN entries are marginalised)."""
        check_is_fitted(self)
        X = validate_data(self, named_matrix(X), reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite="allow-nan")
        return X.astype(self.means_.dtype, copy=False), self._problem(bool(np.isnan(X).any()))

    # -- model selection -------------------------------------------------------------------
    def n_parameters(self) -> int:
        """Number of free parameters of the fitted mixture."""
        check_is_fitted(self)
        return covariance_model(self.covariance_type).n_parameters(
            self.n_components, self.means_.shape[1])

    _n_parameters = n_parameters  # scikit-learn's private name, for drop-in code

    def bic(self, X):
        """Bayesian information criterion on X (lower is better).

        Returns
        -------
        bic : float
        """
        n = np.asarray(X).shape[0] if hasattr(X, "shape") else len(X)
        return -2 * self.score(X) * n + self.n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion on X (lower is better).

        Returns
        -------
        aic : float
        """
        n = np.asarray(X).shape[0] if hasattr(X, "shape") else len(X)
        return -2 * self.score(X) * n + 2 * self.n_parameters()

    def _check_loaded_arrays(self) -> None:
        """Raise ValueError unless the learned attributes (from a model file) are complete,
        finite, and shaped by the parameters."""
        arrays = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
        scalars = ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_",
                   "restart_lower_bounds_")
        present = {k for k in vars(self) if k.endswith("_") and not k.startswith("_")}
        missing = set(arrays + scalars) - present
        optional = {"feature_names_in_", "n_batches_", "degenerate_", "degenerate_components_",
                    "n_extra_starts_"}
        unknown = present - set(arrays + scalars) - optional
        if missing or unknown:
            raise ValueError(f"missing attributes {sorted(missing)}, unknown {sorted(unknown)}")
        if "degenerate_" in present or "degenerate_components_" in present:
            flagged = np.asarray(getattr(self, "degenerate_components_", None))
            if not isinstance(getattr(self, "degenerate_", None), bool) \
                    or flagged.dtype.kind not in "iu" or flagged.ndim != 1 \
                    or np.any((flagged < 0) | (flagged >= self.n_components)) \
                    or self.degenerate_ != bool(flagged.size):
                raise ValueError("degenerate_ must be a bool and degenerate_components_ the "
                                 "indices of the components it names")
        extra = getattr(self, "n_extra_starts_", 0)
        if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
            raise ValueError(f"n_extra_starts_ must be a non-negative int, got {extra!r}")
        D = self.n_features_in_
        if isinstance(D, bool) or not isinstance(D, int) or D < 1:
            raise ValueError(f"n_features_in_ must be a positive int, got {D!r}")
        if not isinstance(self.converged_, bool) or isinstance(self.n_iter_, bool) \
                or not isinstance(self.n_iter_, int) or not isinstance(self.lower_bound_, float) \
                or not isinstance(self.lower_bounds_, list) \
                or not isinstance(self.restart_lower_bounds_, list):
            raise ValueError("converged_ must be a bool, n_iter_ an int, lower_bound_ a float, "
                             "lower_bounds_ a list")
        K = self.n_components
        cov_shape = covariance_model(self.covariance_type).precisions_shape(K, D)
        expected = {"weights_": (K,), "means_": (K, D), "covariances_": cov_shape,
                    "precisions_": cov_shape, "precisions_cholesky_": cov_shape}
        dtype = getattr(self.means_, "dtype", None)
        for name, shape in expected.items():
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64):
                raise ValueError(f"{name} must be a float32 or float64 array")
            if value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, expected {shape} for "
                                 f"n_components={K}, n_features_in_={D}, "
                                 f"covariance_type={self.covariance_type!r}")
            if value.dtype != dtype:
                raise ValueError(f"{name} has dtype {value.dtype}, means_ has {dtype}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} has non-finite values")
        names = getattr(self, "feature_names_in_", None)
        if names is not None and (not isinstance(names, np.ndarray) or names.shape != (D,)):
            raise ValueError(f"feature_names_in_ must be an array of shape ({D},)")

    # -- persistence -----------------------------------------------------------------------