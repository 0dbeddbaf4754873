"""EMImputer: maximum-likelihood imputation by EM under a Gaussian (mixture) model."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._em import Monitor, RowBlocks, block_rows_for, fit_with_restarts
from .._estimator_base import EMEstimator
from .._fit_guard import untouched_on_failure
from .._exceptions import InvalidParameterError
from .._validation import Interval, Options, validate_params
from ..io import register_model
from ..mixture._covariance import covariance_model
from ..mixture._gaussian_mixture import GaussianMixture
from ..mixture._gaussian_problem import GaussianMixtureParams
from ..mixture._init import RESPONSIBILITY_METHODS
from ..mixture._missing import MissingDataProblem, check_observed_columns, fill_with_column_means


@register_model
class EMImputer(EMEstimator, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Impute missing entries by their conditional expectation under a Gaussian model fitted
    by EM with the missing entries latent (scikit-learn's ``IterativeImputer`` interface).

    With ``n_components=1`` this is the classic maximum-likelihood multivariate normal: the
    E-step fills each row's missing entries with their conditional means given the observed
    ones, and the M-step adds their conditional covariance to the scatter. With more
    components, a Gaussian mixture: the imputation averages the components' conditional
    means by the row's responsibilities.

    Parameters
    ----------
    missing_values : float or int, default=np.nan
        The placeholder of a missing entry.
    n_components : int, default=1
        Gaussian components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full' (or 'tied') is what imputation needs: the other types make the features
        independent within a component.
    tol : float, default=1e-6
        Stop when the mean observed-data log-likelihood gains less than this.
    max_iter : int, default=500
        Most iterations (E-steps). EM is accelerated by squared extrapolation (SQUAREM),
        kept monotone: the same fixed point in far fewer iterations.
    reg_covar : float or None, default=None
        Added to the covariance diagonals. None: 0 for one component (the exact
        maximum-likelihood estimate; a singular covariance still gets the smallest jitter
        that makes it invertible), scikit-learn's 1e-6 for a mixture, whose components
        could otherwise collapse onto a few rows.
    n_init : int, default=1
        Restarts (for mixtures); the highest likelihood is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hierarchical'}, \
default='kmeans'
        Starting responsibilities, computed on the data with missing entries at their
        column means, drawn as GaussianMixture draws them ('hierarchical': mclust's
        model-based hierarchical clustering of at most ``init_subsample`` = 2000 rows).
    sample_posterior : bool, default=False
        ``transform`` draws each row's missing entries from their conditional distribution
        (multiple imputation: call it with different ``random_state``) instead of taking
        the conditional mean.
    random_state : int, RandomState or None
    verbose : int, default=0

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        The fitted mean (the mixture's overall mean when n_components > 1).
    covariance_ : ndarray of shape (n_features, n_features)
        The fitted covariance (the mixture's overall covariance when n_components > 1).
    weights_, means_, covariances_ : ndarray
        The fitted mixture (``covariances_`` in the shape of ``covariance_type``).
    n_iter_, converged_, lower_bound_, lower_bounds_ : EM's record
    n_features_in_, feature_names_in_
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "covariance_type": [Options(("full", "tied", "diag", "spherical"))],
        "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "reg_covar": [Interval(numbers.Real, 0.0, None, closed="left"), None],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "init_params": [Options(RESPONSIBILITY_METHODS + ("hierarchical",))],
        "sample_posterior": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    _accelerated = True  # SQUAREM: the same fixed point in far fewer iterations
    _keeps_restart_histories = False

    def __init__(self, *, missing_values=np.nan, n_components=1, covariance_type="full",
                 tol=1e-6, max_iter=500, reg_covar=None, n_init=1, init_params="kmeans",
                 sample_posterior=False, random_state=None, verbose=0):
        self.missing_values = missing_values
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.init_params = init_params
        self.sample_posterior = sample_posterior
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- data -------------------------------------------------------------------------------
    def _as_nan(self, X, reset: bool) -> np.ndarray:
        """X as float64 with every missing entry NaN (infinities refused)."""
        is_nan_marker = bool(np.isnan(self.missing_values))
        X = validate_data(self, X, reset=reset, dtype=np.float64, copy=True,
                          ensure_all_finite="allow-nan")
        if not is_nan_marker:
            if np.isnan(X).any():
                raise ValueError(f"X has NaN but missing_values={self.missing_values!r}; "
                                 "use missing_values=np.nan, or fill the NaN first.")
            X[X == self.missing_values] = np.nan
        return X

    def _problem(self) -> MissingDataProblem:
        reg_covar = self.reg_covar
        if reg_covar is None:
            reg_covar = 0.0 if self.n_components == 1 else 1e-6
        return MissingDataProblem(covariance_model(self.covariance_type), reg_covar,
                                  jitter=True)

    def _mixture(self, reg_covar: float) -> GaussianMixture:
        """The GaussianMixture whose starts and rule for degenerate runs the fit shares."""
        return GaussianMixture(self.n_components, covariance_type=self.covariance_type,
                               reg_covar=reg_covar, max_iter=self.max_iter, n_init=self.n_init,
                               init_params=self.init_params, random_state=self.random_state)

    def _theta(self) -> GaussianMixtureParams:
        return GaussianMixtureParams(self.weights_, self.means_, self.covariances_,
                                     self.precisions_cholesky_)

    # -- fit / transform --------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, y=None):
        """Fit the Gaussian model to X's observed entries by EM.

        Raises
        ------
        ValueError
            On infinite values, a column with no observed value, or fewer rows than
            components.
        """
        validate_params(self, self._parameter_constraints)
        if isinstance(self.missing_values, bool) or not isinstance(self.missing_values,
                                                                   numbers.Real):
            raise InvalidParameterError(f"The 'missing_values' parameter of EMImputer must be "
                                        f"a number or np.nan. Got {self.missing_values!r}.")
        X = self._as_nan(X, reset=True)
        check_observed_columns(X, getattr(self, "feature_names_in_", None))
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {n_samples}")
        problem = self._problem()
        blocks = RowBlocks(X, None, block_rows_for(self.n_components * (n_features + 1)))
        # the starts see the missing entries as their column means
        filled = fill_with_column_means(X)
        mixture = self._mixture(problem.reg_covar)
        start, n_init, extra_starts = mixture._starts(
            problem, blocks, filled, None, (None, None, None),
            check_random_state(self.random_state), warm_theta=None)
        single = self.n_components == 1  # one Gaussian: no component can collapse
        best = fit_with_restarts(problem, blocks, start, n_init=n_init, tol=self.tol,
                                 max_iter=self.max_iter, monitor=Monitor(self.verbose),
                                 runner=self._runner(),
                                 degenerate=None if single else mixture._degeneracy_check(problem),
                                 extra_starts=0 if single else extra_starts)
        self._store(best.theta)
        self._store_run(best)
        return self

    def _store(self, theta: GaussianMixtureParams) -> None:
        self.weights_, self.means_ = theta.weights, theta.means
        self.covariances_, self.precisions_cholesky_ = theta.covariances, theta.precisions_cholesky
        self.mean_, self.covariance_ = self._overall_moments(theta, theta.means.shape[1])

    def _overall_moments(self, theta, n_features):
        K = self.n_components
        full = covariance_model(self.covariance_type).full_matrices(theta.covariances, K,
                                                                    n_features)
        mean = theta.weights @ theta.means
        centred = theta.means - mean
        covariance = (np.einsum("k,kij->ij", theta.weights, full)
                      + (centred.T * theta.weights) @ centred)
        return mean, covariance

    def transform(self, X, return_std=False):
        """X with its missing entries imputed; observed entries are returned unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return each entry's conditional standard deviation given the row's
            observed entries (0 where observed).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
        X_std : ndarray of shape (n_samples, n_features), only with ``return_std``
        """
        check_is_fitted(self)
        X = self._as_nan(X, reset=False)
        rng = check_random_state(self.random_state) if self.sample_posterior else None
        completed, std = self._problem().impute(X, self._theta(), return_std=return_std,
                                                rng=rng)
        return (completed, std) if return_std else completed

    def score_samples(self, X):
        """Observed-data log-likelihood of each row (its missing entries marginalised)."""
        check_is_fitted(self)
        X = self._as_nan(X, reset=False)
        return logsumexp(self._problem().weighted_log_prob(X, self._theta()), axis=1)

    def score(self, X, y=None):
        """Mean observed-data log-likelihood of the rows of X."""
        return float(np.mean(self.score_samples(X)))
