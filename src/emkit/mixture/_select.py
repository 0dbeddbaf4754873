"""Choosing the number of components and the covariance type by information criteria."""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from .._exceptions import ConvergenceWarning, DegenerateFitWarning, InvalidParameterError
from .._validation import named_matrix
from ._covariance import COVARIANCE_MODELS, SKLEARN_COVARIANCE_TYPES
from ._gaussian_mixture import GaussianMixture

CRITERIA = ("bic", "aic", "icl")


@dataclass
class SelectionResult:
    """The fits of a model-selection grid.

    Attributes
    ----------
    best_ : GaussianMixture
        The fitted model with the lowest criterion among the fits that are not degenerate
        (among all of them when every fit is).
    table : list of dict
        One row per fit, in grid order: n_components, covariance_type, log_likelihood
        (total, on the data), n_parameters, bic, aic, icl, converged, n_iter, and
        degenerate (whether the fit has a collapsed component; see GaussianMixture).
    criterion : str
        The criterion that chose ``best_``.
    models_ : dict
        Every fitted model, keyed by (n_components, covariance_type).
    """

    best_: GaussianMixture
    table: list
    criterion: str
    models_: dict = field(repr=False, default_factory=dict)

    def to_frame(self):
        """The table as a pandas DataFrame (pandas must be installed)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test dependency
            raise ImportError("SelectionResult.to_frame needs pandas: pip install pandas") \
                from exc
        return pd.DataFrame(self.table)


def classification_entropy(resp: np.ndarray, sample_weight=None) -> float:
    """EN = -sum_i w_i sum_k t_ik log t_ik (>= 0): how uncertain the assignments are."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(resp > 0, resp * np.log(resp), 0.0)
    per_row = -terms.sum(axis=1)
    return float(per_row.sum() if sample_weight is None else sample_weight @ per_row)


def criteria(model: GaussianMixture, X, sample_weight=None) -> dict:
    """Log-likelihood, free parameters and BIC, AIC, ICL of a fitted model on X.

    Signs follow scikit-learn (lower is better): BIC = -2 logL + p log n,
    AIC = -2 logL + 2 p, and ICL = BIC + 2 EN with EN the classification entropy
    (Biernacki, Celeux & Govaert 2000), so ICL >= BIC and penalises overlapping components.
    With row weights, logL and EN are weighted sums and n is the total weight.
    """
    log_prob = model.score_samples(X)
    n = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    log_likelihood = float(log_prob.sum() if sample_weight is None else sample_weight @ log_prob)
    p = model.n_parameters()
    bic = -2.0 * log_likelihood + p * math.log(n)
    entropy = classification_entropy(model.predict_proba(X), sample_weight)
    return dict(log_likelihood=log_likelihood, n_parameters=p, bic=bic,
                aic=-2.0 * log_likelihood + 2.0 * p, icl=bic + 2.0 * entropy)


def _fit_one(X, sample_weight, n_components, covariance_type, seed, params, names=None):
    model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=seed,
                            **params)
    with warnings.catch_warnings():
        # reported in the table instead (converged, degenerate)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateFitWarning)
        model.fit(X, sample_weight=sample_weight)
    row = dict(n_components=n_components, covariance_type=covariance_type)
    row.update(criteria(model, X, sample_weight))
    row.update(converged=model.converged_, n_iter=model.n_iter_,
               degenerate=bool(model.degenerate_))
    if names is not None:  # the columns of the user's table, as a fit on it would keep
        model.feature_names_in_ = names
    return model, row


def select(X, n_components=range(1, 11), covariance_types=SKLEARN_COVARIANCE_TYPES,
           criterion="bic", *, n_init=1, random_state=None, n_jobs=None, sample_weight=None,
           progress=None, **params) -> SelectionResult:
    """Fit a Gaussian mixture for every number of components and covariance type; keep the
    one with the lowest criterion, a degenerate fit only when every fit is degenerate.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 11)
    covariance_types : iterable of {'full', 'tied', 'diag', 'spherical'}, default all four
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        Lower is better for each; see :func:`criteria` for the definitions and signs.
    n_init : int, default=1
        Restarts of each fit.
    random_state : int, RandomState or None
        With an int every fit starts from the same seed (as separate scikit-learn fits
        would); a RandomState draws one seed per fit.
    n_jobs : int or None, default=None
        Fits run in this many processes (joblib); None runs them one after another.
    sample_weight : array-like of shape (n_samples,), default=None
    progress : callable, default=None
        Called as ``progress(done, total)`` after each fit (a progress bar's hook).
    **params
        Other GaussianMixture parameters (tol, reg_covar, max_iter, init_params, ...).

    Returns
    -------
    SelectionResult
    """
    if criterion not in CRITERIA:
        raise InvalidParameterError(
            f"criterion must be one of {CRITERIA}; got {criterion!r}.")
    ks = list(n_components) if not isinstance(n_components, numbers.Integral) \
        else [n_components]
    types = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    if not ks or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1
                     for k in ks):
        raise InvalidParameterError(
            f"n_components must be positive ints; got {list(n_components)!r}.")
    unknown = [t for t in types if t not in COVARIANCE_MODELS]
    if not types or unknown:
        raise InvalidParameterError(
            f"covariance_types must be among {tuple(COVARIANCE_MODELS)}; got {types!r}.")
    X = named_matrix(X)
    columns = getattr(X, "columns", None)
    names = (np.asarray(columns, dtype=object) if columns is not None
             and all(isinstance(c, str) for c in columns) else None)
    # NaN entries are missing values, marginalised by every fit as GaussianMixture does
    X = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2,
                    ensure_all_finite="allow-nan")
    if max(ks) > X.shape[0]:
        raise ValueError(f"n_components up to {max(ks)} needs at least as many rows; X has "
                         f"{X.shape[0]}.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=X.dtype)
    grid = [(k, t) for t in types for k in ks]
    if isinstance(random_state, np.random.RandomState):
        seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(grid))
    else:
        seeds = [random_state] * len(grid)
    params = dict(params, n_init=n_init)
    tasks = [(X, sample_weight, k, t, seed, params, names)
             for (k, t), seed in zip(grid, seeds)]
    if n_jobs in (None, 1):
        results = (_fit_one(*task) for task in tasks)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fit_one)(*task) for task in tasks)
    fitted = []
    for result in results:
        fitted.append(result)
        if progress is not None:
            progress(len(fitted), len(tasks))
    table = [row for _, row in fitted]
    # a spurious (degenerate) fit never wins over a sound one, however good its criterion
    best = min(range(len(table)), key=lambda i: (table[i]["degenerate"], table[i][criterion]))
    models = {(row["n_components"], row["covariance_type"]): model for model, row in fitted}
    return SelectionResult(best_=fitted[best][0], table=table, criterion=criterion,
                           models_=models)
