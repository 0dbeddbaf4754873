"""GaussianHMM: hmmlearn's Gaussian-emission HMM on emkit's engine and kernels."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import Interval, Options, random_state_of
from ..io import register_model
from ..mixture._covariance import COVARIANCE_MODELS
from ..mixture._init import hierarchical_start
from ..mixture._kmeans import kmeans
from ._base import BaseHMM, check_feature_count, check_observations
from ._gaussian_emission import GaussianEmission, gaussian_emission_params


def check_covariances(covariance_type, covariances, shape, name="covars_") -> np.ndarray:
    """Compact covariances of the right shape: positive variances or symmetric
    positive-definite matrices."""
    covariances = np.array(covariances, dtype=np.float64)
    if covariances.shape != tuple(shape):
        raise ValueError(f"{covariance_type!r} {name} must have shape {tuple(shape)}, got "
                         f"{covariances.shape}")
    if not np.all(np.isfinite(covariances)):
        raise ValueError(f"{name} has non-finite values")
    if covariance_type in ("diag", "spherical"):
        if np.any(covariances <= 0):
            raise ValueError(f"{covariance_type!r} {name} must be positive")
        return covariances
    for matrix in covariances.reshape((-1,) + covariances.shape[-2:]):
        if not np.allclose(matrix, matrix.T) or np.any(np.linalg.eigvalsh(matrix) <= 0):
            raise ValueError(f"{covariance_type!r} {name} must be symmetric, "
                             "positive-definite")
    return covariances


def check_enough_rows(X, n_components) -> None:
    """The k-means start needs a row per state."""
    if X.shape[0] < n_components:
        raise ValueError(f"X has {X.shape[0]} rows but n_components={n_components}: the "
                         "k-means start needs at least one row per state.")


def starting_covariance(X, min_covar) -> np.ndarray:
    """hmmlearn's starting covariance: that of all the data plus ``min_covar``."""
    n_features = X.shape[1]
    if X.shape[0] < 2:
        return min_covar * np.eye(n_features) + np.eye(n_features)
    return np.atleast_2d(np.cov(X.T)) + min_covar * np.eye(n_features)


@register_model
class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``).

    Parameters
    ----------
    n_components : int
        Number of states.
    covariance_type : {'spherical', 'diag', 'full', 'tied'}
    min_covar : float
        Added to the diagonal of the starting covariance.
    startprob_prior, transmat_prior : float or array
        Dirichlet parameters of the start and transition probabilities (1: none).
    means_prior, means_weight : float or array
        Mean and relative precision of a Normal prior on the means.
    covars_prior, covars_weight : float or array
        Inverse-gamma ('spherical', 'diag') or inverse-Wishart ('full', 'tied') prior on
        the covariances, as in hmmlearn (the defaults keep every variance positive).
    algorithm : {'viterbi', 'map'}
        Decoder of ``predict`` and ``decode``.
    random_state : int, RandomState or None
    n_iter : int
        Most EM iterations.
    tol : float
        Stop when the log-likelihood (summed over sequences) gains less than this.
    verbose : bool
        Print each iteration's log-likelihood to stderr.
    params, init_params : str
        Parameters updated by training / initialised before it: 's' start, 't'
        transitions, 'm' means, 'c' covariances.
    implementation : {'log', 'scaling'}
        Accepted for hmmlearn compatibility; emkit picks per sequence (scaled, with a
        log-space fallback).
    learning_decay, learning_offset : float
        Step sizes of :meth:`partial_fit` (online Baum-Welch): (t + learning_offset) **
        -learning_decay after t updates.
    block_size : int or None, default=None
        Rows per E-step block of whole sequences (memory grows with this); None: blocks
        sized to a fixed memory budget. A sequence longer than this is a block of its own.
    batch_size : int or None, default=None
        Mini-batch EM inside :meth:`fit`: each iteration streams batches of whole
        sequences of about this many rows and re-estimates after every batch (stepwise
        EM, step sizes as in :meth:`partial_fit`). None: batch EM.
    n_init : int, default=1
        Restarts: EM from this many starts, the run with the highest final log-likelihood
        kept (``restart_lower_bounds_`` holds every run's history). The first start is the
        one ``random_state`` draws (hmmlearn's); the others come from seeds it draws.
    emission_init : {'kmeans', 'hierarchical'}, default='kmeans'
        How the starting means are found (init_params 'm'): hmmlearn's k-means, or the
        cluster means of mclust's model-based hierarchical clustering of at most
        ``init_subsample`` rows (deterministic with no more rows than that).
    init_subsample : int, default=2000
        Rows the 'hierarchical' start clusters (a random subsample when there are more).

    Attributes
    ----------
    startprob_, transmat_ : ndarray
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Compact covariances (scikit-learn's shapes per type).
    covars_ : ndarray of shape (n_components, n_features, n_features)
        Full covariance matrices (hmmlearn's view); assigning sets the compact form.
    monitor_ : ConvergenceMonitor
    lower_bounds_, converged_, n_iter_, n_features_in_
    lower_bound_ : float
        The kept run's last log-likelihood.
    restart_lower_bounds_ : list of list of float
        Every run's ``lower_bounds_``, in the order the starts were drawn.
    """

    _emission_letters = "mc"
    _n_features_from = ("means_", 1)
    _parameter_constraints = {
        **BaseHMM._parameter_constraints,
        "covariance_type": [Options(("spherical", "diag", "full", "tied"))],
        "min_covar": [Interval(numbers.Real, 0, None, closed="left")],
        "emission_init": [Options(("kmeans", "hierarchical"))],
        "init_subsample": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_components=1, covariance_type="diag", min_covar=1e-3,
                 startprob_prior=1.0, transmat_prior=1.0, means_prior=0, means_weight=0,
                 covars_prior=1e-2, covars_weight=1, algorithm="viterbi", random_state=None,
                 n_iter=10, tol=1e-2, verbose=False, params="stmc", init_params="stmc",
                 implementation="log", learning_decay=0.7,
                 learning_offset=10.0, block_size=None, batch_size=None, n_init=1,
                 emission_init="kmeans", init_subsample=2000):
        super().__init__(n_components, startprob_prior, transmat_prior, algorithm=algorithm,
                         random_state=random_state, n_iter=n_iter, tol=tol, verbose=verbose,
                         params=params, init_params=init_params,
                         implementation=implementation, learning_decay=learning_decay,
                         learning_offset=learning_offset,
                         block_size=block_size, batch_size=batch_size,
                         n_init=n_init)
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.emission_init = emission_init
        self.init_subsample = init_subsample

    @property
    def covars_(self):
        check_is_fitted(self, "covariances_")
        return COVARIANCE_MODELS[self.covariance_type].full_matrices(
            self.covariances_, self.n_components, np.shape(self.means_)[1])

    @covars_.setter
    def covars_(self, covariances):
        covariances = np.array(covariances, dtype=np.float64)
        if (self.covariance_type == "spherical" and covariances.ndim > 1
                and covariances.size == self.n_components):
            covariances = covariances.reshape(self.n_components)  # hmmlearn takes (K, 1)
        self.covariances_ = covariances

    @property
    def _covars_(self):
        """hmmlearn's name for the compact covariances (``covariances_``)."""
        return self.covariances_

    @_covars_.setter
    def _covars_(self, covariances):
        self.covars_ = covariances

    # -- hooks ------------------------------------------------------------------------------
    def _check_X(self, X):
        return check_observations(X)

    def _emission(self, update):
        return GaussianEmission(self.covariance_type, self.means_prior, self.means_weight,
                                self.covars_prior, self.covars_weight, update)

    def _init_emission(self, X, needs_init, random_state):
        attributes = {}
        if needs_init("m", "means_"):
            check_enough_rows(X, self.n_components)
            attributes["means_"] = self._starting_means(X, random_state)
        if needs_init("c", "covariances_"):
            cv = starting_covariance(X, self.min_covar)
            K = self.n_components
            attributes["covariances_"] = {
                "spherical": np.full(K, cv.mean()),
                "diag": np.tile(np.diag(cv), (K, 1)),
                "full": np.tile(cv, (K, 1, 1)),
                "tied": cv,
            }[self.covariance_type]
        return attributes

    def _starting_means(self, X, random_state):
        K = self.n_components
        if self.emission_init == "kmeans":
            with random_state_of(random_state) as rng:
                return kmeans(X, K, None, rng, n_init=10)[0]
        if self.init_subsample < K:
            raise ValueError(f"init_subsample={self.init_subsample} is smaller than "
                             f"n_components={K}: the hierarchical start cuts the subsample "
                             "into n_components clusters")
        rows, resp = hierarchical_start(X, K, None, check_random_state(random_state),
                                        subsample=self.init_subsample,
                                        covariance_type=self.covariance_type)
        return (resp.T @ X[rows]) / resp.sum(axis=0)[:, None]

    def _emission_params(self, attributes):
        K = self.n_components
        means = np.array(attributes["means_"], dtype=np.float64)
        if means.ndim != 2 or means.shape[0] != K or not np.all(np.isfinite(means)):
            raise ValueError(f"means_ must be a finite array of shape (n_components={K}, "
                             f"n_features), got shape {means.shape}")
        covariance = COVARIANCE_MODELS[self.covariance_type]
        covars = check_covariances(self.covariance_type, attributes["covariances_"],
                                   covariance.precisions_shape(K, means.shape[1]))
        return gaussian_emission_params(covariance, means, covars)

    def _check_X_against(self, X, emission_params):
        check_feature_count(X, emission_params.means.shape[1], self)

    def _emission_attributes(self, params):
        return {"means_": params.means, "covariances_": params.covars}

    def _n_emission_parameters(self):
        K, D = self.n_components, self.means_.shape[1]
        return {"m": K * D,
                "c": COVARIANCE_MODELS[self.covariance_type].n_covariance_parameters(K, D)}

    def _sample_from_state(self, state, random_state):
        return random_state.multivariate_normal(self.means_[state], self.covars_[state])
