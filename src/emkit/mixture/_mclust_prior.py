"""mclust's conjugate prior and MAP EM (Fraley and Raftery 2007; ``priorControl()``).

The prior is mclust's ``defaultPrior``: component means normal about ``mean`` with
precision ``shrinkage`` times the component's, covariances inverse-Wishart (ellipsoidal
models) or inverse-gamma (diagonal and spherical models) with ``dof`` degrees of freedom
and ``scale``. Each supported mclust model has its MAP M-step as mclust computes it
(``mstep`` with a prior, including mclust's own choices: EII ignores the scale and takes
the scatter about the shrunk means, EEI and EEV do not shrink the means (EEV drops the
shrinkage altogether), VEV's volumes ignore the degrees of freedom; EEI and EVI as mclust's
EM, ``me``, computes them, which differs from its ``mstep``). mclust defines no prior for
VEE, EVE, VVE and EVV.

The log-likelihood and BIC of a MAP fit are, as in mclust, those of the data under the MAP
parameters (the prior is not added).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from ._stats import GaussianStats

#: mclust's models with a conjugate prior (its ``mstep`` with ``prior``).
PRIOR_MODELS = ("E", "V", "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "EEV", "VEV",
                "VVV")


@dataclass(frozen=True)
class ConjugatePrior:
    """mclust's conjugate prior on the components' means and covariances.

    Parameters left None take mclust's ``defaultPrior`` values from the data.

    Parameters
    ----------
    shrinkage : float, default=0.01
        The prior mean's weight, in rows (kappa_P); 0 leaves the means unshrunk.
    mean : array-like of shape (n_features,), default=None
        Prior mean (default: the column means of X).
    dof : float, default=None
        Degrees of freedom (default: n_features + 2; 3 for one feature).
    scale : float or array-like of shape (n_features, n_features), default=None
        Prior scale: a matrix for the ellipsoidal models (EEE, EEV, VEV, VVV), a number for
        the diagonal and spherical ones (default: mclust's, from the variances of X and
        n_components).
    """

    shrinkage: float = 0.01
    mean: object = None
    dof: float | None = None
    scale: object = None

    def resolved(self, X: np.ndarray, weights, n_components: int,
                 covariance) -> "ResolvedPrior":
        """The prior's numbers for data X (rows weighted by ``weights``, or None) and a
        model (mclust's ``defaultPrior``); ValueError for a model without a prior."""
        name = covariance.name
        if name not in PRIOR_MODELS:
            raise ValueError(
                f"mclust defines no conjugate prior for covariance_type={name!r}; the prior "
                f"applies to {', '.join(repr(m) for m in PRIOR_MODELS)}")
        n_features = X.shape[1]
        shrinkage = float(self.shrinkage)
        if not (math.isfinite(shrinkage) and shrinkage >= 0):
            raise ValueError(f"prior shrinkage must be a finite number >= 0, got {shrinkage!r}")
        w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
        total = w.sum()
        centre = (w @ X) / total
        if self.mean is None:
            mean = centre
        else:
            if shrinkage == 0:
                raise ValueError("a prior mean is given but shrinkage is 0")
            mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
            if mean.shape != (n_features,) or not np.all(np.isfinite(mean)):
                raise ValueError(f"prior mean must be {n_features} finite numbers, got "
                                 f"shape {mean.shape}")
        dof = float(n_features + 2 if self.dof is None else self.dof)
        if not (math.isfinite(dof) and dof > 0):
            raise ValueError(f"prior dof must be a finite number > 0, got {dof!r}")
        matrix = name in ("EEE", "EEV", "VEV", "VVV")
        if self.scale is None:
            diff = X - centre
            variance = (diff.T * w) @ diff / max(total - 1.0, np.finfo(np.float64).tiny)
            factor = (1.0 / n_components) ** (2.0 / n_features)
            if len(name) == 1:
                scale = float(variance[0, 0]) / n_components**2
            elif matrix:
                scale = factor * (variance if total > n_features
                                  else np.diag(np.diag(variance)))
            else:
                scale = factor * float(np.trace(variance)) / n_features
        else:
            scale = np.asarray(self.scale, dtype=np.float64)
            expected = (n_features, n_features) if matrix else ()
            if scale.shape != expected or not np.all(np.isfinite(scale)):
                raise ValueError(f"prior scale for {name!r} must be "
                                 + ("a finite (n_features, n_features) matrix" if matrix
                                    else "a finite number") + f", got shape {scale.shape}")
            if matrix and not (np.allclose(scale, scale.T)
                               and np.all(np.linalg.eigvalsh(scale) >= 0)):
                raise ValueError("prior scale must be symmetric positive semi-definite")
            if not matrix and scale < 0:
                raise ValueError("prior scale must be >= 0")
            scale = scale if matrix else float(scale)
        return ResolvedPrior(shrinkage, mean, dof, scale)


@dataclass(frozen=True)
class ResolvedPrior:
    """A prior's numbers for one fit: shrinkage kappa, mean (D,), dof nu, and scale (a
    (D, D) matrix for ellipsoidal models, a float otherwise)."""

    shrinkage: float
    mean: np.ndarray
    dof: float
    scale: object

    def scale_matrix(self, n_features: int) -> np.ndarray:
        scale = np.asarray(self.scale, dtype=np.float64)
        return scale if scale.ndim == 2 else float(scale) * np.eye(n_features)


class PriorConstraint:
    """Accepts None, 'default' or a ConjugatePrior (for validate_params)."""

    def accepts(self, value) -> bool:
        return isinstance(value, ConjugatePrior) or (isinstance(value, str)
                                                     and value == "default")

    def __str__(self) -> str:
        return "'default' or a ConjugatePrior"


def as_prior(value) -> ConjugatePrior | None:
    """``GaussianMixture(prior=...)`` as a ConjugatePrior (None: maximum likelihood)."""
    return ConjugatePrior() if isinstance(value, str) else value


#: Models whose MAP M-step is mclust's, which is not the maximiser of the likelihood plus
#: :meth:`MapGaussianMixtureProblem.log_prior` (EII leaves out the prior's scale, EEI and
#: EEV do not shrink the means, VEV's volumes leave out the degrees of freedom, EEI and EVI
#: divide by mclust's ``me`` counts, VEI alternates mclust's approximate updates): their
#: log-likelihood may fall a little between iterations, as it does in mclust.
APPROXIMATE_MAP_MODELS = frozenset({"EII", "EEI", "VEI", "EVI", "EEV", "VEV"})


class MapGaussianMixtureProblem(GaussianMixtureProblem):
    """A Gaussian mixture whose M-step is mclust's MAP estimate under a conjugate prior."""

    def __init__(self, covariance, reg_covar: float, prior: ResolvedPrior, **kwargs):
        super().__init__(covariance, reg_covar, **kwargs)
        self.prior = prior

    def m_step(self, stats: GaussianStats, theta=None) -> GaussianMixtureParams:
        dtype = stats.first.dtype
        nk = stats.weight + 10 * np.finfo(dtype).eps
        shift = stats.first / nk[:, None]
        means, covariances = self.covariance.map_step(stats, nk, shift, self.reg_covar,
                                                      self.prior)
        return GaussianMixtureParams(
            weights=(nk / nk.sum()).astype(dtype, copy=False),
            means=means.astype(dtype, copy=False),
            covariances=covariances.astype(dtype, copy=False),
            precisions_cholesky=self.covariance.precisions_cholesky(
                covariances, jitter=self.jitter).astype(dtype, copy=False),
        )

    def log_prior(self, theta: GaussianMixtureParams) -> float:
        """Normal-inverse-Wishart log density (up to a constant) of the means and
        covariances: the term a MAP M-step trades against the likelihood. A covariance
        shared by every component (EII, EEI, EEE, E) has one inverse-Wishart term."""
        prior = self.prior
        covariances = np.asarray(theta.covariances, dtype=np.float64)
        n_features = covariances.shape[-1]
        inverse = np.linalg.inv(covariances)
        log_det = np.linalg.slogdet(covariances)[1]
        diff = np.asarray(theta.means, dtype=np.float64) - prior.mean
        scale = prior.scale_matrix(n_features)
        wishart = (-0.5 * (prior.dof + n_features + 1) * log_det
                   - 0.5 * np.einsum("ij,kji->k", scale, inverse))
        if "V" not in self.covariance.name:  # one covariance shared by every component
            wishart = wishart[:1]
        return float(np.sum(wishart) + np.sum(
            -0.5 * log_det - 0.5 * prior.shrinkage
            * np.einsum("ki,kij,kj->k", diff, inverse, diff)))

    def likelihood_slack(self, stats, theta, previous=None) -> float:
        """The log-likelihood alone may fall by as much as the log prior rose (per row),
        plus what ``reg_covar`` costs. For the models whose MAP M-step is mclust's
        approximation (:data:`APPROXIMATE_MAP_MODELS`) EM is not an ascent of any one
        objective, as in mclust: no fall is taken for numerical trouble."""
        if self.covariance.name in APPROXIMATE_MAP_MODELS:
            return math.inf
        slack = super().likelihood_slack(stats, theta, previous)
        if previous is None:
            return slack
        total = max(float(stats.weight.sum()), np.finfo(np.float64).tiny)
        rise = self.log_prior(theta) - self.log_prior(previous)
        return slack + abs(rise) / total
