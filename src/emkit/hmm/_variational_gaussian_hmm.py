"""VariationalGaussianHMM: hmmlearn's variational Gaussian HMM on emkit's engine."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from .._validation import Options
from ..io import register_model
from ..mixture._covariance import COVARIANCE_MODELS
from ._gaussian_hmm import GaussianHMM, check_covariances, check_enough_rows, starting_covariance
from ._variational_base import VariationalHMMMixin
from ._variational_gaussian import VariationalGaussianEmission, normal_wishart_params

#: hmmlearn's regularisation of the starting covariance.
_STARTING_MIN_COVAR = 1e-3
#: hmmlearn's default Wishart inverse scale: this times the identity.
_DEFAULT_SCALE = 1e-3


@register_model
class VariationalGaussianHMM(VariationalHMMMixin, GaussianHMM):
    """Hidden Markov model with Gaussian emissions trained by variational Bayesian EM
    (hmmlearn's ``VariationalGaussianHMM``).

    Dirichlet priors on the start and transition probabilities and a Normal-Wishart prior
    on each state's mean and precision; the fit returns their posteriors. States the data
    do not need keep posteriors near their priors. From the same ``random_state`` the fit
    is hmmlearn's; scoring, decoding and sampling use the posterior means, as in hmmlearn.

    Parameters
    ----------
    n_components : int
        Number of states.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    startprob_prior, transmat_prior : float, array or None
        Dirichlet parameters (None: 1 / n_components).
    means_prior, beta_prior : array-like or None
        Mean (n_components, n_features) and relative precision (n_components,) of the
        Normal prior on the means (None: the mean of X, and 1).
    dof_prior, scale_prior : array-like or None
        Degrees of freedom ((n_components,), a number for 'tied'; None: n_features) and
        inverse scale (compact shape per covariance type; None: 1e-3 times the identity)
        of the Wishart prior on the precisions.
    algorithm : {'viterbi', 'map'}
    random_state : int, RandomState or None
    n_iter : int, default=100
    tol : float, default=1e-6
        Stop when the lower bound gains less than this.
    verbose : bool
    params, init_params : str
        's' start, 't' transitions, 'm' means, 'c' covariances.
    implementation : {'log', 'scaling'}
        Accepted for hmmlearn compatibility (emkit chooses per sequence).
    block_size : int or None
        Rows per E-step block of whole sequences (None: a fixed memory budget).
    n_init : int, default=1
        Restarts; the run with the highest lower bound is kept.

    Attributes
    ----------
    startprob_prior_, startprob_posterior_, transmat_prior_, transmat_posterior_
    means_prior_, means_posterior_, beta_prior_, beta_posterior_
    dof_prior_, dof_posterior_, scale_prior_, scale_posterior_
    startprob_, transmat_, means_ : ndarray
        Posterior means (``means_`` is ``means_posterior_``).
    covars_ : ndarray of shape (n_components, n_features, n_features)
        scale / dof as full matrices; ``_covars_`` (and ``covariances_``) the compact form.
    monitor_, lower_bounds_, lower_bound_, converged_, n_iter_
        The lower bound (hmmlearn's, constants dropped) per iteration.
    """

    _parameter_constraints = {
        **VariationalHMMMixin._parameter_constraints,
        "covariance_type": [Options(("spherical", "diag", "full", "tied"))],
    }

    def __init__(self, n_components=1, covariance_type="full", startprob_prior=None,
                 transmat_prior=None, means_prior=None, beta_prior=None, dof_prior=None,
                 scale_prior=None, algorithm="viterbi", random_state=None, n_iter=100,
                 tol=1e-6, verbose=False, params="stmc", init_params="stmc",
                 implementation="log", block_size=None, n_init=1):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.means_prior = means_prior
        self.beta_prior = beta_prior
        self.dof_prior = dof_prior
        self.scale_prior = scale_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.block_size = block_size
        self.n_init = n_init

    # -- hooks --------------------------------------------------------------------------
    def _emission(self, update):
        return VariationalGaussianEmission(self.covariance_type, update)

    def _shapes(self, n_features):
        K = self.n_components
        scale = COVARIANCE_MODELS[self.covariance_type].precisions_shape(K, n_features)
        return {"means": (K, n_features), "beta": (K,),
                "dof": () if self.covariance_type == "tied" else (K,), "scale": scale}

    def _prior(self, name, shape, default):
        value = getattr(self, name)
        if value is None:
            return np.broadcast_to(np.asarray(default, dtype=np.float64), shape).copy()
        try:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()
        except ValueError:
            raise ValueError(f"{name} must broadcast to shape {shape}, got shape "
                             f"{np.shape(value)}") from None

    def _init_emission(self, X, needs_init, random_state, n_rows=None):
        groups = {"m": ("means_prior_", "means_posterior_", "beta_prior_", "beta_posterior_"),
                  "c": ("dof_prior_", "dof_posterior_", "scale_prior_", "scale_posterior_")}
        wanted = [letter for letter, names in groups.items() if needs_init(letter, *names)]
        if not wanted:
            return {}
        check_enough_rows(X, self.n_components)
        K, D = self.n_components, X.shape[1]
        shapes = self._shapes(D)
        kmeans = KMeans(n_clusters=K, random_state=random_state, n_init=10).fit(X)
        counts = np.bincount(kmeans.predict(X), minlength=K).astype(np.float64)
        attributes = {}
        if "m" in wanted:
            attributes["means_prior_"] = self._prior("means_prior", shapes["means"],
                                                     X.mean(axis=0))
            attributes["means_posterior_"] = kmeans.cluster_centers_.copy()
            attributes["beta_prior_"] = self._prior("beta_prior", shapes["beta"], 1.0)
            attributes["beta_posterior_"] = counts.copy()
        if "c" in wanted:
            kind = self.covariance_type
            dof_prior = self._prior("dof_prior", shapes["dof"], float(D))
            attributes["dof_prior_"] = float(dof_prior) if kind == "tied" else dof_prior
            dof = float(counts.sum()) if kind == "tied" else counts.copy()
            attributes["dof_posterior_"] = dof
            cv = starting_covariance(X, _STARTING_MIN_COVAR)
            default_scale = {"full": np.eye(D), "tied": np.eye(D), "diag": np.ones(D),
                             "spherical": 1.0}[kind] * _DEFAULT_SCALE
            attributes["scale_prior_"] = self._prior("scale_prior", shapes["scale"],
                                                     default_scale)
            attributes["scale_posterior_"] = {
                "full": lambda: cv[None] * dof[:, None, None],
                "tied": lambda: cv * dof,
                "diag": lambda: np.diag(cv)[None] * dof[:, None],
                "spherical": lambda: np.full(K, cv.mean()) * dof,  # hmmlearn: all entries
            }[kind]()
        return attributes

    def _emission_params(self, attributes):
        names = ("means_prior_", "means_posterior_", "beta_prior_", "beta_posterior_",
                 "dof_prior_", "dof_posterior_", "scale_prior_", "scale_posterior_")
        missing = [name for name in names if attributes.get(name) is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} not set: fit the model or assign them")
        arrays = {}
        for name in names:
            try:
                arrays[name] = np.array(attributes[name], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be an array of numbers") from None
        n_features = arrays["means_posterior_"].shape[-1] if arrays["means_posterior_"].ndim \
            else 0
        shapes = self._shapes(n_features)
        for name, array in arrays.items():
            shape = shapes[name.split("_")[0]]
            if array.shape != shape:
                raise ValueError(f"{name} must have shape {shape} for covariance_type="
                                 f"{self.covariance_type!r}, got {array.shape}")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} has non-finite values")
        for name in ("beta_prior_", "beta_posterior_"):
            if np.any(arrays[name] <= 0):
                raise ValueError(f"{name} must be positive")
        for name in ("dof_prior_", "dof_posterior_"):
            if np.any(arrays[name] <= n_features - 1):
                raise ValueError(f"{name} must exceed n_features - 1 = {n_features - 1} "
                                 "(Wishart degrees of freedom)")
        for name in ("scale_prior_", "scale_posterior_"):
            check_covariances(self.covariance_type, arrays[name], shapes["scale"], name)
        a = arrays
        dof_prior, dof = a["dof_prior_"], a["dof_posterior_"]
        if self.covariance_type == "tied":
            dof_prior, dof = float(dof_prior), float(dof)
        return normal_wishart_params(
            self.covariance_type, a["means_prior_"], a["means_posterior_"], a["beta_prior_"],
            a["beta_posterior_"], dof_prior, dof, a["scale_prior_"], a["scale_posterior_"])

    def _emission_attributes(self, params):
        return {"means_prior_": params.means_prior, "means_posterior_": params.means,
                "beta_prior_": params.beta_prior, "beta_posterior_": params.beta,
                "dof_prior_": params.dof_prior, "dof_posterior_": params.dof,
                "scale_prior_": params.scale_prior, "scale_posterior_": params.scale,
                "means_": params.means, "covariances_": params.covars}

    def _n_emission_parameters(self):
        """hmmlearn's count: the means and covariances plus each state's beta and dof."""
        K, D = self.n_components, np.shape(self.means_posterior_)[1]
        covariance = COVARIANCE_MODELS[self.covariance_type]
        n_dof = 1 if self.covariance_type == "tied" else K
        return {"m": K * D + K, "c": covariance.n_covariance_parameters(K, D) + n_dof}
