"""Choosing the number of components and the covariance type by information criteria.

``covariance_types="mclust"`` runs mclust's grid (``Mclust`` / ``mclustBIC``): mclust's
fourteen model names, each with mclust's EM convergence rule, singular fits reported as
NA. BIC keeps scikit-learn's sign (lower is better): mclust's BIC is minus emkit's.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from .._em import single_threaded_blas
from .._exceptions import ConvergenceWarning, DegenerateFitWarning, InvalidParameterError
from .._validation import named_matrix
from ._covariance import (
    COVARIANCE_MODELS,
    SKLEARN_COVARIANCE_TYPES,
    FullCovariance,
    IllDefinedCovarianceError,
    covariance_model,
)
from ._degeneracy import singular_and_collapsed
from ._gaussian_mixture import GaussianMixture

CRITERIA = ("bic", "aic", "icl")

#: mclust's multivariate models, in mclust's order (``mclust.options("emModelNames")``).
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                 "EEV", "VEV", "EVV", "VVV")
#: ... and its univariate ones (one feature).
MCLUST_UNIVARIATE_MODELS = ("E", "V")
#: mclust models without a conjugate prior: mclustBIC leaves them out when given one.
MCLUST_MODELS_WITHOUT_PRIOR = ("EVE", "VEE", "VVE", "EVV")
#: mclust models that scikit-learn's covariance types fit (the same mixtures): where
#: GaussianMixture does not take the mclust name, the grid fits these.
SCIKIT_LEARN_EQUIVALENTS = {"VII": "spherical", "VVI": "diag", "EEE": "tied", "VVV": "full",
                            "E": "tied", "V": "full"}
#: mclust's EM stops when the total log-likelihood L changes by less than this times
#: (1 + |L|) (``emControl()$tol[1]``).
MCLUST_TOL = 1e-5


@dataclass
class SelectionResult:
    """The fits of a model-selection grid.

    Attributes
    ----------
    best_ : GaussianMixture
        The fitted model with the lowest criterion among the fits that are not degenerate
        (among all of them when every fit is). Its ``covariance_type`` is the name the
        grid asked for where GaussianMixture takes it (mclust's names, once it does).
    table : list of dict
        One row per fit, in grid order: n_components, covariance_type (the name asked
        for), log_likelihood (total, on the data), n_parameters, bic, aic, icl,
        converged, n_iter, degenerate (whether the fit has a singular or collapsed
        component; see GaussianMixture) and singular (a component with fewer rows than
        its covariance needs: log_likelihood and the criteria are then NaN, mclust's NA).
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
    # one E-step gives both the rows' log-likelihoods and their responsibilities
    (rows, problem), theta = model._validated(X), model._theta()
    weighted = model._map_rows(rows, lambda block: problem.weighted_log_prob(block, theta))
    log_prob = logsumexp(weighted, axis=1)
    with np.errstate(under="ignore"):
        resp = np.exp(weighted - log_prob[:, None])
    n = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    log_likelihood = float(log_prob.sum() if sample_weight is None else sample_weight @ log_prob)
    p = model.n_parameters()
    bic = -2.0 * log_likelihood + p * math.log(n)
    entropy = classification_entropy(resp, sample_weight)
    return dict(log_likelihood=log_likelihood, n_parameters=p, bic=bic,
                aic=-2.0 * log_likelihood + 2.0 * p, icl=bic + 2.0 * entropy)


def mclust_model_names(n_features: int) -> tuple:
    """mclust's model names for data of ``n_features`` columns that this emkit fits: all
    of them where GaussianMixture takes mclust's names, else those scikit-learn's four
    covariance types fit."""
    names = MCLUST_UNIVARIATE_MODELS if n_features == 1 else MCLUST_MODELS
    return tuple(name for name in names
                 if name in COVARIANCE_MODELS or name in SCIKIT_LEARN_EQUIVALENTS)


def fitted_covariance_type(name: str) -> str:
    """The covariance_type GaussianMixture is given for the grid's ``name``: the name
    itself where GaussianMixture takes it, else its scikit-learn equivalent."""
    return name if name in COVARIANCE_MODELS else SCIKIT_LEARN_EQUIVALENTS.get(name, name)


def _fit_until_mclust_converges(model: GaussianMixture, X, sample_weight, guess=None):
    """Fit ``model`` until mclust's rule holds: the total log-likelihood L changes by less
    than MCLUST_TOL (1 + |L|) between iterations. In per-row terms that is a change of the
    mean log-likelihood below MCLUST_TOL (1 / n + |L / n|); EM runs to a loose tolerance
    first, then continues (warm start) with the tolerance the rule gives at the
    log-likelihood reached, until the rule holds where EM stops. ``guess``: a mean
    log-likelihood near the one expected (the previous K's), whose tolerance is tried
    first: EM then stops about where mclust's rule does (a tighter first tolerance would run
    iterations mclust does not), and a short warm-started continuation makes up for a
    guess on the loose side."""
    n = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    first = 1e-3 if guess is None or not math.isfinite(guess) else \
        MCLUST_TOL * (1.0 / n + abs(guess))
    model.tol = first
    model.fit(X, sample_weight=sample_weight)
    n_iter, previous = model.n_iter_, -np.inf
    while model.converged_:
        history = [previous, *model.lower_bounds_]
        needed = MCLUST_TOL * (1.0 / n + abs(history[-1]))
        if abs(history[-1] - history[-2]) < needed:
            break
        previous = history[-1]
        model.tol, model.warm_start = needed, True
        model.fit(X, sample_weight=sample_weight)
        n_iter += model.n_iter_
    model.warm_start = False
    model.n_iter_ = n_iter
    return model


def _fit_one(X, sample_weight, n_components, covariance_type, seed, params, names=None,
             guess=None):
    """One cell of the grid: the fitted model and its table row (``guess``: see
    :func:`_fit_until_mclust_converges`)."""
    params = dict(params)
    mclust_rule = params.get("tol") is None
    if mclust_rule:
        params.pop("tol", None)
        params.setdefault("max_iter", 1000)
    model = GaussianMixture(n_components, covariance_type=fitted_covariance_type(
        covariance_type), random_state=seed, **params)
    row = dict(n_components=n_components, covariance_type=covariance_type)
    try:
        with warnings.catch_warnings():
            # reported in the table instead (converged, degenerate, singular)
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DegenerateFitWarning)
            if mclust_rule:
                _fit_until_mclust_converges(model, X, sample_weight, guess)
            else:
                model.fit(X, sample_weight=sample_weight)
    except IllDefinedCovarianceError:
        # a covariance with no estimate where reg_covar=0 allows none: mclust's NA cell
        row.update(log_likelihood=np.nan, n_parameters=covariance_model(
            model.covariance_type).n_parameters(n_components, X.shape[1]), bic=np.nan,
            aic=np.nan, icl=np.nan, converged=False, n_iter=0, degenerate=True, singular=True)
        return model, row
    row.update(criteria(model, X, sample_weight))
    total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    singular, _ = singular_and_collapsed(covariance_model(model.covariance_type),
                                         model._theta(), total, model.reg_covar)
    if params.get("prior") is not None:  # the prior determines every covariance: a
        singular = singular[:0]           # component of few rows has an estimate
    degenerate = bool(model.degenerate_)  # (under a prior: collapsed components only)
    if singular.size:  # no estimate (mclust's NA): the covariance is reg_covar's
        row.update(log_likelihood=np.nan, bic=np.nan, aic=np.nan, icl=np.nan)
    row.update(converged=model.converged_, n_iter=model.n_iter_, degenerate=degenerate,
               singular=bool(singular.size))
    if names is not None:  # the columns of the user's table, as a fit on it would keep
        model.feature_names_in_ = names
    return model, row


def _fit_in_turn(tasks):
    """The cells one after another, each K's fit told the mean log-likelihood of the
    previous K's fit of the same model (its convergence tolerance's first guess)."""
    previous: dict = {}
    for task in tasks:
        X, sample_weight, _, covariance_type = task[:4]
        model, row = _fit_one(*task, guess=previous.get(covariance_type))
        total = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        previous[covariance_type] = row["log_likelihood"] / total
        yield model, row


def select(X, n_components=range(1, 11), covariance_types=SKLEARN_COVARIANCE_TYPES,
           criterion="bic", *, n_init=1, random_state=None, n_jobs=None, sample_weight=None,
           progress=None, tol=None, **params) -> SelectionResult:
    """Fit a Gaussian mixture for every number of components and covariance type; keep the
    one with the lowest criterion among the sound fits (a degenerate or singular fit only
    when no fit is sound).

    As mclust (``Mclust(X, G = 1:9)``)::

        select(X, range(1, 10), covariance_types="mclust", init_params="hierarchical")

    fits mclust's fourteen models from mclust's own start (the hierarchical tree is
    computed once and cut for every K and model), each to mclust's convergence; the table
    has mclust's model names, and a singular fit (a component with fewer rows than its
    covariance needs) has NaN for its log-likelihood and criteria, as mclust's NA. BIC
    keeps scikit-learn's sign: read ``-bic`` as mclust's BIC (higher is better there).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default=range(1, 11)
    covariance_types : iterable of str, or 'mclust', default=('full', 'tied', 'diag', \
'spherical')
        GaussianMixture covariance types, or mclust model names. 'mclust': mclust's models
        ('EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI', 'EEE', 'VEE', 'EVE', 'VVE', 'EEV',
        'VEV', 'EVV', 'VVV'; 'E', 'V' for one feature), those GaussianMixture fits: where
        it does not take mclust's names, 'VII', 'VVI', 'EEE', 'VVV' (and 'E', 'V') are
        fitted as 'spherical', 'diag', 'tied', 'full' (the same mixtures), the others left
        out; with a ``prior``, as in mclust, without EVE, VEE, VVE and EVV.
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
    tol : float or None, default=None
        GaussianMixture's ``tol`` (the change of the mean log-likelihood at which EM
        stops). None: with ``covariance_types='mclust'`` mclust's rule (the total
        log-likelihood L changes by less than 1e-5 (1 + |L|); ``max_iter`` then defaults
        to 1000), else GaussianMixture's default (1e-3, scikit-learn's).
    **params
        Other GaussianMixture parameters (reg_covar, max_iter, init_params, ...).

    Returns
    -------
    SelectionResult
        Its table has, per fit: n_components, covariance_type (the name asked for),
        log_likelihood, n_parameters, bic, aic, icl, converged, n_iter, degenerate and
        singular.
    """
    if criterion not in CRITERIA:
        raise InvalidParameterError(
            f"criterion must be one of {CRITERIA}; got {criterion!r}.")
    ks = list(n_components) if not isinstance(n_components, numbers.Integral) \
        else [n_components]
    as_mclust = isinstance(covariance_types, str) and covariance_types == "mclust"
    types = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    if not ks or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1
                     for k in ks):
        raise InvalidParameterError(
            f"n_components must be positive ints; got {list(n_components)!r}.")
    unknown = [t for t in types if t not in COVARIANCE_MODELS
               and t not in SCIKIT_LEARN_EQUIVALENTS and not as_mclust]
    if not types or unknown:
        raise InvalidParameterError(
            "covariance_types must be among "
            f"{tuple(dict.fromkeys([*COVARIANCE_MODELS, *SCIKIT_LEARN_EQUIVALENTS]))}, or "
            f"'mclust'; got {unknown or types!r}.")
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
    if as_mclust:
        types = [name for name in mclust_model_names(X.shape[1])
                 if params.get("prior") is None or name not in MCLUST_MODELS_WITHOUT_PRIOR]
    grid = [(k, t) for t in types for k in ks]
    if isinstance(random_state, np.random.RandomState):
        seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(grid))
    else:
        seeds = [random_state] * len(grid)
    params = dict(params, n_init=n_init, tol=tol if tol is not None or as_mclust else 1e-3)
    tasks = [(X, sample_weight, k, t, seed, params, names)
             for (k, t), seed in zip(grid, seeds)]
    if n_jobs in (None, 1):
        results = _fit_in_turn(tasks)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fit_one)(*task) for task in tasks)
    fitted = []
    # the fits' small matrices gain nothing from BLAS threads: one limit for the whole grid
    # instead of one per EM iteration (the fused E-step kernels use no BLAS)
    blas = single_threaded_blas() if X.shape[1] <= FullCovariance.FUSED_MAX_FEATURES \
        else contextlib.nullcontext()
    with blas:
        for result in results:
            fitted.append(result)
            if progress is not None:
                progress(len(fitted), len(tasks))
    table = [row for _, row in fitted]
    # a spurious (degenerate) fit never wins over a sound one, however good its criterion;
    # a singular one (NaN) only when every fit is
    best = min(range(len(table)), key=lambda i: (
        table[i]["singular"], table[i]["degenerate"],
        table[i][criterion] if math.isfinite(table[i][criterion]) else math.inf))
    if not hasattr(fitted[best][0], "means_"):
        raise ValueError("every fit of the grid failed: each has a covariance with no "
                         "estimate (singular, and reg_covar=0 allows no regularisation); "
                         "use a positive reg_covar, fewer components or a prior")
    models = {(row["n_components"], row["covariance_type"]): model for model, row in fitted}
    return SelectionResult(best_=fitted[best][0], table=table, criterion=criterion,
                           models_=models)
