"""Discriminant analysis with a Gaussian mixture per class: mclust's MclustDA and EDDA as
a scikit-learn classifier."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._exceptions import ConvergenceWarning
from .._fit_guard import untouched_on_failure
from .._validation import (Interval, Options, check_sample_weight, named_matrix,
                           validate_params)
from ..io import register_model
from ._covariance import COVARIANCE_MODELS, covariance_model
from ._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from ._init import INIT_METHODS
from ._select import select

MODEL_TYPES = ("MclustDA", "EDDA")


def _as_list(value, default, name, accepts) -> list:
    """A parameter given as one value or a sequence, as a non-empty list of checked
    values (``default`` when None)."""
    values = default if value is None else (
        [value] if isinstance(value, (str, numbers.Integral)) else list(value))
    if not values or not all(accepts(v) for v in values):
        raise ValueError(f"{name} must be one value or a non-empty sequence of valid ones, "
                         f"got {value!r}")
    return values


def _component_slice(covariance, arrays: np.ndarray, k: int, n_components: int,
                     n_features: int) -> np.ndarray:
    """Component ``k``'s part of a covariance parameter of ``n_components`` components,
    shaped as the parameter of a 1-component mixture of the same type (a parameter shared
    by every component, as 'tied', is returned whole)."""
    if covariance.precisions_shape(n_components, n_features) == \
            covariance.precisions_shape(1, n_features):
        return arrays
    return arrays[k:k + 1]


@register_model
class MixtureDiscriminant(ClassifierMixin, BaseEstimator):
    """Classifier with a Gaussian mixture density per class (mclust's ``MclustDA``).

    Each class's density is a Gaussian mixture; a row's posterior probability of a class
    is the class's prior (its share of the training rows) times its density, normalised
    (the Bayes rule under the fitted model).

    Parameters
    ----------
    model_type : {'MclustDA', 'EDDA'}, default='MclustDA'
        'MclustDA': per class, the number of components and the covariance type with the
        lowest BIC among ``n_components`` x ``covariance_type`` (fitted by EM, as
        :func:`emkit.mixture.select`). 'EDDA': one Gaussian per class, all classes under
        one covariance type fitted together from the known labels (a shared covariance
        with 'tied': linear discriminant analysis; 'full': quadratic), the type with the
        lowest BIC (mclust's: the mixture log-likelihood, the class proportions not
        counted as parameters).
    n_components : int or sequence of int, default=None
        The numbers of components tried per class (MclustDA). None: 1 to 5, as mclust.
    covariance_type : str or sequence of str, default=None
        The covariance types tried; None: every type GaussianMixture has.
    init_params : str, default='hierarchical'
        GaussianMixture's start of each fit (MclustDA); mclust's by default.
    n_init, reg_covar, tol, max_iter, random_state
        As GaussianMixture's, for each fit. EDDA uses ``reg_covar`` only.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
        The classes' shares of the training rows (of their weight).
    covariance_types_ : list of str
        Each class's covariance type (one type for every class with EDDA).
    n_components_ : ndarray of int, shape (n_classes,)
    weights_, means_, covariances_, precisions_cholesky_ : list of ndarray
        Each class's mixture parameters, shaped as GaussianMixture's for its type and
        number of components (an EDDA class: one component; its 'tied' covariance is the
        one all classes share).
    n_iter_ : int
        The most EM iterations of the classes' fits (EDDA: 1, its one M-step).
    bic_ : float
        mclust's BIC of the fit kept, with scikit-learn's sign (lower is better): of the
        rows' marginal density, sum_c prior_c density_c(x), the priors not counted as
        parameters.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.
    """

    _parameter_constraints: dict = {
        "model_type": [Options(MODEL_TYPES)],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left"), "array-like",
                         None],
        "covariance_type": [Options(tuple(COVARIANCE_MODELS)), "array-like", None],
        "init_params": [Options(INIT_METHODS)],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "reg_covar": [Interval(numbers.Real, 0.0, None, closed="left")],
        "tol": [Interval(numbers.Real, 0.0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, model_type="MclustDA", *, n_components=None, covariance_type=None,
                 init_params="hierarchical", n_init=1, reg_covar=1e-6, tol=1e-3,
                 max_iter=100, random_state=None):
        self.model_type = model_type
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.init_params = init_params
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, y, sample_weight=None):
        """Fit each class's density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The class of each row.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MixtureDiscriminant
        """
        validate_params(self, self._parameter_constraints)
        types = _as_list(self.covariance_type, list(COVARIANCE_MODELS), "covariance_type",
                         lambda t: isinstance(t, str) and t in COVARIANCE_MODELS)
        ks = _as_list(self.n_components, [1, 2, 3, 4, 5], "n_components",
                      lambda k: isinstance(k, numbers.Integral) and not isinstance(k, bool)
                      and k >= 1)
        X, y = validate_data(self, named_matrix(X), y, dtype=np.float64, ensure_min_samples=2)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        weights = check_sample_weight(sample_weight, X.shape[0], np.float64)
        row_weights = np.ones(X.shape[0]) if weights is None else weights
        class_weight = np.bincount(labels, weights=row_weights, minlength=len(self.classes_))
        if np.any(class_weight <= 0):
            raise ValueError("every class needs a row of positive sample_weight; "
                             f"{list(self.classes_[class_weight <= 0])} have none")
        self.class_prior_ = class_weight / class_weight.sum()
        if self.model_type == "EDDA":
            self._fit_edda(X, labels, weights, types)
        else:
            self._fit_mclustda(X, labels, weights, types, ks)
        return self

    def _fit_edda(self, X, labels, weights, types) -> None:
        """One Gaussian per class, fitted from the known labels (one M-step) under each
        covariance type; the type of lowest BIC kept."""
        n_classes, n_features = len(self.classes_), X.shape[1]
        resp = np.eye(n_classes)[labels]
        best = None
        for kind in types:
            problem = GaussianMixtureProblem(covariance_model(kind), self.reg_covar)
            theta = problem.params_from_resp(X, resp, weights)
            theta = GaussianMixtureParams(self.class_prior_, theta.means, theta.covariances,
                                          theta.precisions_cholesky)
            n_parameters = problem.covariance.n_parameters(n_classes, n_features) \
                - (n_classes - 1)
            bic = _bic(problem.weighted_log_prob(X, theta), weights, n_parameters)
            if best is None or bic < best[0]:
                best = (bic, kind, problem.covariance, theta)
        bic, kind, covariance, theta = best
        self.n_iter_ = 1  # one M-step from the labels
        self.bic_ = float(bic)
        self.covariance_types_ = [kind] * n_classes
        self.n_components_ = np.ones(n_classes, dtype=np.int64)
        self.weights_ = [np.ones(1) for _ in range(n_classes)]
        self.means_ = [theta.means[k:k + 1] for k in range(n_classes)]
        self.covariances_ = [_component_slice(covariance, theta.covariances, k, n_classes,
                                              n_features) for k in range(n_classes)]
        self.precisions_cholesky_ = [
            _component_slice(covariance, theta.precisions_cholesky, k, n_classes, n_features)
            for k in range(n_classes)]

    def _fit_mclustda(self, X, labels, weights, types, ks) -> None:
        """Per class, the mixture of lowest BIC (the class's) among ks x types; ``bic_`` as
        mclust's: of the rows' marginal density, the class priors not counted."""
        positive = labels if weights is None else labels[weights > 0]
        counts = np.bincount(positive, minlength=len(self.classes_))
        if counts.min() < 2:
            raise ValueError("MclustDA fits a mixture to each class and needs at least 2 "
                             "rows (of positive weight) per class; classes "
                             f"{self.classes_[counts < 2].tolist()} have fewer (use "
                             "model_type='EDDA').")
        fits = []
        for k in range(len(self.classes_)):
            rows = labels == k
            X_class = X[rows]
            w_class = None if weights is None else weights[rows]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                result = select(X_class, [g for g in ks if g <= counts[k]] or [1], types,
                                "bic", n_init=self.n_init, random_state=self.random_state,
                                sample_weight=w_class, init_params=self.init_params,
                                reg_covar=self.reg_covar, tol=self.tol,
                                max_iter=self.max_iter)
            fits.append(result.best_)
        self.n_iter_ = max(gm.n_iter_ for gm in fits)
        self.covariance_types_ = [gm.covariance_type for gm in fits]
        self.n_components_ = np.array([gm.n_components for gm in fits], dtype=np.int64)
        self.weights_ = [gm.weights_ for gm in fits]
        self.means_ = [gm.means_ for gm in fits]
        self.covariances_ = [gm.covariances_ for gm in fits]
        self.precisions_cholesky_ = [gm.precisions_cholesky_ for gm in fits]
        n_parameters = sum(covariance_model(gm.covariance_type).n_parameters(
            gm.n_components, X.shape[1]) for gm in fits)
        self.bic_ = _bic(self._joint_log_density(X), weights, n_parameters)

    # -- prediction ------------------------------------------------------------------------
    def _class_log_density(self, X) -> np.ndarray:
        """log of each class's density at each row, shape (n_samples, n_classes)."""
        columns = []
        for k, kind in enumerate(self.covariance_types_):
            problem = GaussianMixtureProblem(covariance_model(kind), 0.0)
            theta = GaussianMixtureParams(self.weights_[k], self.means_[k],
                                          self.covariances_[k], self.precisions_cholesky_[k])
            columns.append(logsumexp(problem.weighted_log_prob(X, theta), axis=1))
        return np.column_stack(columns)

    def _joint_log_density(self, X) -> np.ndarray:
        """log(prior) + log density of each class at each row."""
        return self._class_log_density(X) + np.log(self.class_prior_)

    def predict_log_proba(self, X):
        """Log posterior probability of each class.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, named_matrix(X), reset=False, dtype=np.float64)
        joint = self._joint_log_density(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Posterior probability of each class (the Bayes rule under the fitted model).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(under="ignore"):
            return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The class of highest posterior probability of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        best = np.argmax(self.predict_log_proba(X), axis=1)
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # BIC may pick few components on toy data
        return tags

    def _check_loaded_arrays(self) -> None:
        """Raise ValueError unless the learned attributes (from a model file) are
        consistent: one entry per class, each shaped by its covariance type."""
        n_classes = len(self.classes_)
        D = self.n_features_in_
        lists = (self.covariance_types_, self.weights_, self.means_, self.covariances_,
                 self.precisions_cholesky_)
        if np.shape(self.class_prior_) != (n_classes,) or np.shape(self.n_components_) != \
                (n_classes,) or any(len(values) != n_classes for values in lists):
            raise ValueError(f"every per-class attribute must have {n_classes} entries")
        for k, kind in enumerate(self.covariance_types_):
            if kind not in COVARIANCE_MODELS:
                raise ValueError(f"unknown covariance type {kind!r}")
            G = int(self.n_components_[k])
            shape = covariance_model(kind).precisions_shape(G, D)
            expected = {"weights_": (G,), "means_": (G, D), "covariances_": shape,
                        "precisions_cholesky_": shape}
            for name, wanted in expected.items():
                value = getattr(self, name)[k]
                if not isinstance(value, np.ndarray) or value.shape != wanted \
                        or not np.all(np.isfinite(value)):
                    raise ValueError(f"{name}[{k}] must be a finite array of shape {wanted}")


def _bic(joint_log_density, sample_weight, n_parameters: int) -> float:
    """BIC (lower is better) of the rows' marginal density, from log(prior) + log density
    of each class (or component) at each row; a weight of 2 counts a row twice."""
    log_density = logsumexp(joint_log_density, axis=1)
    if sample_weight is None:
        return float(-2 * log_density.sum() + n_parameters * math.log(len(log_density)))
    return float(-2 * (sample_weight @ log_density)
                 + n_parameters * math.log(sample_weight.sum()))
