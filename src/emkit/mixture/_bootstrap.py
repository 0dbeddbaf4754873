"""Bootstrap of a fitted Gaussian mixture: standard errors of its parameters (mclust's
``MclustBootstrap``) and the bootstrap likelihood-ratio test for the number of components
(mclust's ``mclustBootstrapLRT``)."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from .._exceptions import ConvergenceWarning
from .._validation import check_sample_weight
from ._gaussian_mixture import GaussianMixture
from ._noise import NOISE_LABEL, GaussianMixtureWithNoise

BOOTSTRAP_METHODS = ("nonparametric", "weighted")


@dataclass(frozen=True)
class BootstrapResult:
    """The parameters of every bootstrap refit, stacked along the first axis.

    Attributes
    ----------
    method : {'nonparametric', 'weighted'}
    weights : ndarray of shape (n_boot, n_components)
    means : ndarray of shape (n_boot, n_components, n_features)
    covariances : ndarray of shape (n_boot, ...)
        Each refit's ``covariances_`` (the shape of the model's ``covariance_type``).
    noise_weight : ndarray of shape (n_boot,) or None
        The noise weight of each refit (a :class:`GaussianMixtureWithNoise`), else None.
    """

    method: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    noise_weight: np.ndarray | None = None

    def _parameters(self) -> dict:
        named = {"weights": self.weights, "means": self.means,
                 "covariances": self.covariances}
        if self.noise_weight is not None:
            named["noise_weight"] = self.noise_weight
        return named

    def standard_errors(self) -> dict:
        """Bootstrap standard error of each parameter (the refits' standard deviation,
        ddof=1, as mclust's ``summary(..., what="se")``): a dict of arrays shaped like
        the model's attributes."""
        return {name: np.std(values, axis=0, ddof=1)
                for name, values in self._parameters().items()}

    def percentile_intervals(self, level: float = 0.95) -> dict:
        """Percentile confidence intervals: name -> (lower, upper) arrays (mclust's
        ``summary(..., what="ci")``)."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        tails = [50 * (1 - level), 50 * (1 + level)]
        return {name: tuple(np.percentile(values, tails, axis=0))
                for name, values in self._parameters().items()}


#: Draws a replicate may take: a refit that fails (a component collapsing onto a few
#: rows of a resample) is replaced by a fresh draw, as mclust does, at most this often.
MAX_REDRAWS = 10


def _retried(draw_and_fit, what: str):
    """``draw_and_fit()``, drawn again when the fit fails (ValueError), up to MAX_REDRAWS
    times; ConvergenceWarning is silenced (a replicate's fit is judged by its values)."""
    for attempt in range(MAX_REDRAWS + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return draw_and_fit()
        except ValueError as error:
            if attempt == MAX_REDRAWS:
                raise ValueError(f"Every one of {MAX_REDRAWS + 1} draws of a {what} "
                                 f"failed; the last: {error}") from error
    raise AssertionError("unreachable")


def _check_n_boot(n_boot) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 2:
        raise ValueError(f"n_boot must be an int >= 2, got {n_boot!r}")


def _refit_from_solution(model: GaussianMixture, X: np.ndarray):
    """An unfitted copy of ``model`` whose one EM run starts from its fitted parameters
    (a noise model: from the rows it labels noise)."""
    start = clone(model).set_params(
        weights_init=model.weights_ / model.weights_.sum(), means_init=model.means_,
        precisions_init=model.precisions_, n_init=1, warm_start=False)
    if isinstance(model, GaussianMixtureWithNoise):
        noise = model.predict(X) == NOISE_LABEL
        if not noise.any():  # the start needs a noise row: the likeliest one
            noise[np.argmax(model.predict_proba(X)[:, -1])] = True
        start.set_params(noise_init=noise)
    return start


def bootstrap_parameters(model: GaussianMixture, X, n_boot: int = 999,
                         method: str = "nonparametric", sample_weight=None,
                         random_state=None) -> BootstrapResult:
    """Refit a fitted mixture to bootstrap replicates of its data, each from the fitted
    solution (mclust's ``MclustBootstrap``).

    Parameters
    ----------
    model : GaussianMixture or GaussianMixtureWithNoise
        Fitted on ``X``.
    X : array-like of shape (n_samples, n_features)
        The data the model was fitted on.
    n_boot : int, default=999
        Number of replicates.
    method : {'nonparametric', 'weighted'}, default='nonparametric'
        'nonparametric': rows resampled with replacement (as row weights: a row drawn
        twice weighs 2). 'weighted': the weighted likelihood bootstrap, rows weighted by
        n times a flat Dirichlet draw. A replicate whose refit fails is drawn again (at
        most MAX_REDRAWS times), as mclust drops it.
    sample_weight : array-like of shape (n_samples,), default=None
        The row weights of the fit: rows are drawn in proportion to them, and the
        weighted bootstrap's weights multiply them.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    result : BootstrapResult
        ``result.standard_errors()`` and ``result.percentile_intervals()`` summarise it.
    """
    check_is_fitted(model)
    _check_n_boot(n_boot)
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    X = check_array(X, dtype=[np.float64, np.float32])
    n = X.shape[0]
    if X.shape[1] != model.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, the model was fitted on "
                         f"{model.n_features_in_}")
    weights = check_sample_weight(sample_weight, n, np.float64)
    weights = np.ones(n) if weights is None else weights
    rng = check_random_state(random_state)
    start = _refit_from_solution(model, X)

    def replicate_fit():
        if method == "nonparametric":
            replicate = rng.multinomial(n, weights / weights.sum()).astype(np.float64)
        else:
            draw = rng.standard_exponential(n)
            replicate = weights * draw * (n / draw.sum())
        return clone(start).fit(X, sample_weight=replicate)

    fits = [_retried(replicate_fit, "bootstrap refit") for _ in range(n_boot)]
    noisy = isinstance(model, GaussianMixtureWithNoise)
    return BootstrapResult(
        method,
        np.array([fit.weights_ for fit in fits]),
        np.array([fit.means_ for fit in fits]),
        np.array([fit.covariances_ for fit in fits]),
        np.array([fit.noise_weight_ for fit in fits]) if noisy else None)


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """Bootstrap likelihood-ratio tests of G against G + 1 components.

    Attributes
    ----------
    n_components : ndarray of int
        The G of each test (against G + 1).
    statistic : ndarray of float
        The observed statistic 2 (logL(G + 1) - logL(G)) of each test.
    bootstrap : ndarray of shape (n_boot, n_tests)
        The statistic on each data set simulated from the fitted G-component model.
    p_value : ndarray of float
        (1 + #(bootstrap >= statistic)) / (n_boot + 1), as mclust.
    """

    n_components: np.ndarray
    statistic: np.ndarray
    bootstrap: np.ndarray
    p_value: np.ndarray


def _log_likelihood(model: GaussianMixture, X) -> float:
    return float(model.score(X) * X.shape[0])


def bootstrap_lrt(X, covariance_type: str = "full", n_boot: int = 999,
                  max_components: int | None = None, level: float = 0.05,
                  random_state=None, **params) -> LikelihoodRatioTest:
    """Parametric bootstrap of the likelihood-ratio test for the number of components
    (mclust's ``mclustBootstrapLRT``).

    For G = 1, 2, ...: fit G and G + 1 components to X; simulate ``n_boot`` data sets of
    X's size from the G-component fit; refit both models to each, starting from the
    fits to X (a data set whose refit fails is simulated again, as mclust does); the
    p-value is the share of simulated statistics at least the observed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    covariance_type : str, default='full'
        Any of GaussianMixture's.
    n_boot : int, default=999
    max_components : int or None, default=None
        Test G against G + 1 for every G up to this. None: stop at the first test whose
        p-value exceeds ``level`` (and at G = 8 at most, as mclust).
    level : float, default=0.05
    random_state : int, RandomState instance or None, default=None
        Seeds the fits' starts and the simulations.
    **params
        More GaussianMixture parameters for every fit (``n_init``, ``tol``, ...).

    Returns
    -------
    result : LikelihoodRatioTest
    """
    _check_n_boot(n_boot)
    if max_components is not None and (isinstance(max_components, bool) or not isinstance(
            max_components, numbers.Integral) or max_components < 1):
        raise ValueError(f"max_components must be an int >= 1 or None, got "
                         f"{max_components!r}")
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
    rng = check_random_state(random_state)
    n = X.shape[0]
    last = 8 if max_components is None else max_components
    tested, observed, simulated, p_values = [], [], [], []
    fitted = {}

    def fit(G, data, start=None):
        model = (GaussianMixture(G, covariance_type=covariance_type, **params)
                 if start is None else _refit_from_solution(start, data))
        model.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        return model.fit(data)

    for G in range(1, last + 1):
        for k in (G, G + 1):
            if k not in fitted:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    fitted[k] = fit(k, X)
        null, alternative = fitted[G], fitted[G + 1]
        statistic = 2 * (_log_likelihood(alternative, X) - _log_likelihood(null, X))

        def simulated_statistic():
            null.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
            data = null.sample(n)[0]
            return 2 * (_log_likelihood(fit(G + 1, data, alternative), data)
                        - _log_likelihood(fit(G, data, null), data))

        boot = np.array([_retried(simulated_statistic, "refit to simulated data")
                         for _ in range(n_boot)])
        p_value = (1 + np.count_nonzero(boot >= statistic)) / (n_boot + 1)
        tested.append(G)
        observed.append(statistic)
        simulated.append(boot)
        p_values.append(p_value)
        if max_components is None and p_value > level:
            break
    return LikelihoodRatioTest(np.array(tested), np.array(observed),
                               np.column_stack(simulated), np.array(p_values))
