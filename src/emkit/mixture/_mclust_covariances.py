"""mclust's fourteen Gaussian covariance models (Celeux and Govaert 1995).

Each covariance is Sigma_k = lambda_k D_k A_k D_k^T: a volume lambda_k, a shape A_k
(diagonal, determinant 1) and an orientation D_k (orthogonal). A model's three letters say
which of them are Equal across components, Varying, or the Identity (axis-aligned
orientation, or a spherical shape): 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI', 'EEE', 'VEE',
'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV'; 'E' and 'V' are the univariate equal- and
varying-variance models.

Every model is stored as full (K, D, D) covariance matrices, so the E-step, the
log-densities and the sampling are those of 'full' covariances; a model supplies only its
constrained M-step (from the per-component scatter matrices) and its number of free
parameters (mclust's ``nVarParams``). The iterative M-steps (VEI, VEV, VEE, EVE, VVE) run
mclust's inner iterations, from mclust's starting values, to a tight tolerance.

``reg_covar`` is added to every scatter matrix as ``n_k * reg_covar * I`` before the
constrained M-step, so the fitted covariances keep their model's constraint exactly; for
VVV, EEE, VVI and VII this is scikit-learn's regularisation of 'full', 'tied', 'diag' and
'spherical'.
"""

from __future__ import annotations

import numpy as np

from . import _mclust_kernels
from ._covariance import (_LOG_2PI, COVARIANCE_MODELS, RESOLUTION, FullCovariance,
                          ill_defined_covariance)

#: Inner iterations of the iterative M-steps stop when the relative change of their
#: parameters (or objective) falls below this, or after INNER_MAX_ITER iterations.
INNER_TOL = 1e-12
INNER_MAX_ITER = 200
#: EVE's and VVE's orientation iterations, which start from the current covariances, stop
#: at mclust's inner tolerance (``emControl()$tol[2]``, the square root of the machine
#: epsilon): each iteration improves on the start, so EM stays monotone.
ORIENTATION_TOL = float(np.sqrt(np.finfo(np.float64).eps))


def _geometric_mean(values: np.ndarray) -> np.ndarray:
    """Geometric means along the last axis (values positive)."""
    return np.exp(np.mean(np.log(values), axis=-1))


def _float64(array) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float64)


def _common_shape(scatter_diagonals: np.ndarray, denominators: np.ndarray,
                  shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Volumes lambda_k and one shape A (geometric mean 1) maximising the likelihood of
    per-component diagonal scatters w_kj ~ lambda_k * A_j (mclust's VEI and VEV inner
    iteration): alternately lambda_k = sum_j w_kj / A_j / denominators_k (D n_k for
    maximum likelihood) and A_j proportional to sum_k w_kj / lambda_k, from ``shape``."""
    diagonals = np.ascontiguousarray(scatter_diagonals, dtype=np.float64)
    if not (np.all(np.isfinite(diagonals)) and np.all(np.isfinite(shape))):
        return np.full(len(denominators), np.nan), np.full(diagonals.shape[1], np.nan)
    return _mclust_kernels.common_shape(
        diagonals, np.asarray(denominators, dtype=np.float64),
        np.asarray(shape, dtype=np.float64), INNER_TOL, INNER_MAX_ITER)


def _descending_eigh(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, clipped at 0) and eigenvectors (columns) of each matrix."""
    values, vectors = np.linalg.eigh(matrices)
    return np.maximum(values[..., ::-1], 0.0), vectors[..., ::-1]


def _rotate(vectors: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """D diag(eigenvalues) D^T for stacks of orientations and eigenvalues."""
    return np.einsum("kij,kj,klj->kil", vectors, eigenvalues, vectors)


def _diagonal_matrices(variances: np.ndarray) -> np.ndarray:
    return variances[:, :, None] * np.eye(variances.shape[1])


class MclustCovariance(FullCovariance):
    """One of mclust's parametrisations, stored as full (K, D, D) covariances.

    ``name`` is mclust's three-letter model name (volume, shape, orientation).
    """

    def __init__(self, name: str):
        self.name = name

    @property
    def rules_name(self) -> str:
        """The scikit-learn covariance_type whose degeneracy rules apply (the rows a
        component needs): 'tied' when volume and shape are pooled (EII, EEI, EEE and EEV,
        whose covariances are positive-definite whatever a component's rows, as mclust
        reports them), 'full' for the other varying orientations, 'spherical' for VII,
        'diag' otherwise."""
        if self.volume == "E" and self.shape in ("E", "I"):
            return "tied"
        if self.orientation == "V":
            return "full"
        return "spherical" if self.name in ("VII", "V") else "diag"

    @property
    def volume(self) -> str:
        return self.name[0]

    @property
    def shape(self) -> str:
        return self.name[1] if len(self.name) == 3 else "I"

    @property
    def orientation(self) -> str:
        return self.name[2] if len(self.name) == 3 else "I"

    def n_covariance_parameters(self, n_components, n_features):
        """mclust's ``nVarParams``: volumes, shapes and orientations counted apart."""
        per = {"E": 1, "V": n_components, "I": 0}
        rotation = n_features * (n_features - 1) // 2
        return (per[self.volume] + per[self.shape] * (n_features - 1)
                + per[self.orientation] * rotation)

    def _regularised_scatter(self, stats, nk, shift, reg_covar):
        """Scatter matrices W_k about the new means (K, D, D), float64, each with
        ``n_k * reg`` added to its diagonal; and the weights n_k."""
        n_features = stats.first.shape[1]
        self.check_features(n_features)
        counts = np.asarray(nk, dtype=np.float64)
        # regularisation at least what float64 resolves (see resolvable_reg_covar)
        resolution = RESOLUTION * n_features * np.finfo(np.float64).eps
        scatter = _mclust_kernels.regularised_scatter(
            _float64(stats.second), _float64(stats.first), _float64(stats.weight),
            _float64(shift), counts,
            float(reg_covar), resolution)
        return scatter, counts

    def precisions_cholesky(self, covariances, jitter=True):
        """Upper-triangular U_k with U_k U_k^T = Sigma_k^-1, compiled for the small
        matrices of mclust's grids (float64, positive-definite); any other case as
        'full' covariances."""
        if covariances.dtype == np.float64 and covariances.ndim == 3:
            chol, ok = _mclust_kernels.precisions_cholesky(np.ascontiguousarray(covariances))
            if ok:
                return chol
        return super().precisions_cholesky(covariances, jitter)

    def log_normaliser(self, weights, precisions_cholesky, n_features):
        """log(weight_k) - D/2 log(2 pi) + log det(precision_k) / 2, compiled (float64
        factors; any other case as 'full' covariances)."""
        if precisions_cholesky.dtype == np.float64 and precisions_cholesky.ndim == 3:
            return _mclust_kernels.log_normaliser(
                _float64(weights), np.ascontiguousarray(precisions_cholesky), _LOG_2PI)
        return super().log_normaliser(weights, precisions_cholesky, n_features)

    @staticmethod
    def _checked(cov, dtype):
        if not np.all(np.isfinite(cov)):
            raise ill_defined_covariance(dtype)
        return cov.astype(dtype, copy=False)

    def covariances(self, stats, nk, shift, reg_covar, previous=None):
        """Constrained M-step: covariances about the new means from the scatter matrices,
        each with ``n_k * reg`` added to its diagonal first. The iterative M-steps with a
        common orientation (EVE, VVE) start from ``previous`` covariances when given, so
        the step never lowers the expected log-likelihood (generalised EM)."""
        scatter, counts = self._regularised_scatter(stats, nk, shift, reg_covar)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cov = self.constrained(scatter, counts, previous)
        return self._checked(cov, stats.first.dtype)

    def map_step(self, stats, nk, shift, reg_covar, prior):
        """mclust's MAP M-step under a conjugate prior (see _mclust_prior): the means
        (K, D) and covariances (K, D, D)."""
        if self.name not in _MAP_STEPS:
            raise ValueError(f"mclust defines no conjugate prior for {self.name!r}")
        scatter, counts = self._regularised_scatter(stats, nk, shift, reg_covar)
        data_means = (stats.anchor + shift).astype(np.float64)
        shrinkage = 0.0 if self.name == "EEV" else prior.shrinkage  # as mclust's mseevp
        offset = prior.mean - data_means
        pull = shrinkage / (counts + shrinkage)      # how far each mean moves to the prior's
        outer = offset[:, :, None] * offset[:, None, :]
        between = (counts * pull)[:, None, None] * outer
        if self.name == "EII":  # mclust's mseiip: the scatter about the shrunk means
            scatter = scatter + (counts * pull**2)[:, None, None] * outer
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cov = _MAP_STEPS[self.name](scatter, counts, between, prior,
                                        1.0 if shrinkage > 0 else 0.0)
        if self.name == "EEI":  # mclust's mseeip does not shrink the means
            pull = np.zeros_like(pull)
        means = data_means + pull[:, None] * offset
        return means, self._checked(cov, stats.first.dtype)

    def constrained(self, scatter: np.ndarray, counts: np.ndarray,
                    previous: np.ndarray | None = None) -> np.ndarray:
        """The model's covariances (K, D, D) maximising the expected complete-data
        log-likelihood given scatter matrices W_k (K, D, D) and weights n_k (K,)
        (``previous``: where EVE's and VVE's iterations start, if given)."""
        if self.name in ("EVE", "VVE"):
            return _M_STEPS[self.name](scatter, counts, previous)
        return _M_STEPS[self.name](scatter, counts)

    def check_features(self, n_features: int) -> None:
        """Raise ValueError when the model does not apply to ``n_features`` features."""
        if len(self.name) == 1 and n_features != 1:
            raise ValueError(
                f"covariance_type={self.name!r} is mclust's univariate model and needs one "
                f"feature, got {n_features}; use {self.name + 'II'!r} for several features")


# -- the M-steps ---------------------------------------------------------------------------

def _eii(W, n):
    K, D = W.shape[:2]
    volume = np.trace(W, axis1=1, axis2=2).sum() / (n.sum() * D)
    return np.broadcast_to(volume * np.eye(D), (K, D, D)).copy()


def _vii(W, n):
    D = W.shape[1]
    volumes = np.trace(W, axis1=1, axis2=2) / (n * D)
    return volumes[:, None, None] * np.eye(D)


def _eei(W, n):
    K, D = W.shape[:2]
    variances = np.diagonal(W.sum(axis=0)) / n.sum()
    return np.broadcast_to(np.diag(variances), (K, D, D)).copy()


def _vei(W, n):
    diagonals = np.diagonal(W, axis1=1, axis2=2)
    volumes, shape = _common_shape(diagonals, W.shape[1] * n, np.ones(W.shape[1]))
    return _diagonal_matrices(volumes[:, None] * shape)


def _evi(W, n):
    diagonals = np.diagonal(W, axis1=1, axis2=2)
    sizes = _geometric_mean(diagonals)
    volume = sizes.sum() / n.sum()
    return _diagonal_matrices(volume * diagonals / sizes[:, None])


def _vvi(W, n):
    return _diagonal_matrices(np.diagonal(W, axis1=1, axis2=2) / n[:, None])


def _eee(W, n):
    return np.broadcast_to(W.sum(axis=0) / n.sum(), W.shape).copy()


def _vee(W, n):
    """Common C = D A D^T (determinant 1), volumes lambda_k: C proportional to
    sum_k W_k / lambda_k, lambda_k = tr(W_k C^-1) / (D n_k) (mclust's msvee)."""
    if not np.all(np.isfinite(W)):
        return np.full(W.shape, np.nan)
    volumes, common = _mclust_kernels.common_matrix(np.ascontiguousarray(W), n, INNER_TOL,
                                                    INNER_MAX_ITER)
    return volumes[:, None, None] * common


def _common_orientation(W, n, varying_volume: bool, start=None):
    """One orientation O (rows: axes) with per-component shapes, by the MM iteration of
    Browne and McNicholas (2014) that mclust runs (mseve / msvve), from O = I and unit
    shapes as mclust's ``mstep`` (or from the axes and shapes of ``start`` covariances,
    as its ``me`` carries them over): each half-step maximises a minorizer of
    -sum_k tr(O W_k O^T Lambda_k^-1) (Lambda_k = lambda_k A_k) by an SVD, so the objective
    never gets worse than at the start. For VVE the weights include the volumes lambda_k
    (mclust's msvve leaves them out, which makes its VVE M-step inexact and EM able to
    decrease). Returns (O, shapes (K, D), volumes (K,))."""
    K, D = W.shape[:2]
    if not np.all(np.isfinite(W)):
        return np.full((D, D), np.nan), np.full((K, D), np.nan), np.full(K, np.nan)
    W = _float64(W)
    start = _float64(start) if start is not None and np.all(np.isfinite(start)) \
        else np.empty((0, D, D))
    # inverse: 1 / (lambda_k a_kj), up to a common factor
    largest, rotation, inverse = _mclust_kernels.orientation_start(W, start, varying_volume)
    rotation, shapes, sizes, target = _mclust_kernels.common_orientation(
        W, n, largest, rotation, inverse, varying_volume, ORIENTATION_TOL, INNER_MAX_ITER)
    if varying_volume:
        volumes = sizes
    else:
        volumes = np.full(K, target / (n.sum() * D))
    return rotation, shapes, volumes


def _eve(W, n, previous=None):
    rotation, shapes, volumes = _common_orientation(W, n, False, previous)
    axes = np.broadcast_to(rotation.T, W.shape)
    return _rotate(axes, volumes[:, None] * shapes)


def _vve(W, n, previous=None):
    rotation, shapes, volumes = _common_orientation(W, n, True, previous)
    axes = np.broadcast_to(rotation.T, W.shape)
    return _rotate(axes, volumes[:, None] * shapes)


def _eev(W, n):
    eigenvalues, axes = _descending_eigh(W)
    return _rotate(axes, np.broadcast_to(eigenvalues.sum(axis=0) / n.sum(), eigenvalues.shape))


def _vev(W, n):
    eigenvalues, axes = _descending_eigh(W)
    start = eigenvalues.sum(axis=0)
    volumes, shape = _common_shape(eigenvalues, W.shape[1] * n, start / _geometric_mean(start))
    return _rotate(axes, volumes[:, None] * shape)


def _evv(W, n):
    D = W.shape[1]
    sizes = np.exp(np.linalg.slogdet(W)[1] / D)
    volume = sizes.sum() / n.sum()
    return volume * W / sizes[:, None, None]


def _vvv(W, n):
    return W / n[:, None, None]


_M_STEPS = {
    "EII": _eii, "VII": _vii, "EEI": _eei, "VEI": _vei, "EVI": _evi, "VVI": _vvi,
    "EEE": _eee, "VEE": _vee, "EVE": _eve, "VVE": _vve,
    "EEV": _eev, "VEV": _vev, "EVV": _evv, "VVV": _vvv,
    "E": _eii, "V": _vii,
}


# -- MAP M-steps (mclust's mstep with a prior; W: scatters, B: kappa n_k / (n_k + kappa)
# (xbar_k - mu_P)(xbar_k - mu_P)^T, c: 1 when the means are shrunk) --------------------------

def _map_e(W, n, B, prior, c):
    total = prior.scale + (W + B).sum(axis=0)[0, 0]
    return np.full((len(n), 1, 1), total / (prior.dof + n.sum() + 2 + c * len(n)))


def _map_v(W, n, B, prior, c):
    return (prior.scale + (W + B)[:, :1, :1]) / (prior.dof + n + 2 + c)[:, None, None]


def _map_eii(W, n, B, prior, c):  # mclust's mseiip leaves the prior scale out
    K, D = W.shape[:2]
    variance = np.trace(W + B, axis1=1, axis2=2).sum() / (prior.dof + n.sum() * D + 2
                                                          + c * K * D)
    return np.broadcast_to(variance * np.eye(D), W.shape).copy()


def _map_vii(W, n, B, prior, c):
    D = W.shape[1]
    variances = (prior.scale + np.trace(W + B, axis1=1, axis2=2)) / (prior.dof + n * D + 2
                                                                      + c * D)
    return variances[:, None, None] * np.eye(D)


def _map_eei(W, n, B, prior, c):  # as mclust's EM (meeeip): its mstep adds c K below
    diagonal = prior.scale + np.diagonal((W + B).sum(axis=0))
    return np.broadcast_to(np.diag(diagonal / (prior.dof + n.sum() + 2)), W.shape).copy()


def _map_vei(W, n, B, prior, c):
    if len(n) == 1:  # mclust fits one component of every diagonal model by mvnXXI
        return _map_vvi(W, n, B, prior, c)
    diagonals = prior.scale + np.diagonal(W + B, axis1=1, axis2=2)
    volumes, shape = _common_shape(diagonals, prior.dof + W.shape[1] * n + 2 + c,
                                   np.ones(W.shape[1]))
    return _diagonal_matrices(volumes[:, None] * shape)


def _map_evi(W, n, B, prior, c):  # as mclust's EM (meevip): its mstep adds c K below
    diagonals = prior.scale + np.diagonal(W + B, axis1=1, axis2=2)
    sizes = _geometric_mean(diagonals)
    volume = sizes.sum() / (prior.dof + n.sum() + 2)
    return _diagonal_matrices(volume * diagonals / sizes[:, None])


def _map_vvi(W, n, B, prior, c):
    diagonals = prior.scale + np.diagonal(W + B, axis1=1, axis2=2)
    return _diagonal_matrices(diagonals / (prior.dof + n + 2 + c)[:, None])


def _map_eee(W, n, B, prior, c):
    D, K = W.shape[1], len(n)
    pooled = prior.scale + (W + B).sum(axis=0)
    return np.broadcast_to(pooled / (prior.dof + n.sum() + D + 1 + c * K), W.shape).copy()


def _map_eev(W, n, B, prior, c):  # mclust's mseevp: no mean shrinkage (B = 0)
    D = W.shape[1]
    eigenvalues, axes = _descending_eigh(prior.scale + W)
    pooled = eigenvalues.sum(axis=0) / (prior.dof + D + 1 + n.sum())
    return _rotate(axes, np.broadcast_to(pooled, eigenvalues.shape))


def _map_vev(W, n, B, prior, c):  # mclust's msvevp: the volumes ignore the dof
    return _vev(prior.scale + W + B, n)


def _map_vvv(W, n, B, prior, c):
    D = W.shape[1]
    return (prior.scale + W + B) / (prior.dof + n + D + 1 + c)[:, None, None]


_MAP_STEPS = {
    "E": _map_e, "V": _map_v, "EII": _map_eii, "VII": _map_vii, "EEI": _map_eei,
    "VEI": _map_vei, "EVI": _map_evi, "VVI": _map_vvi, "EEE": _map_eee, "EEV": _map_eev,
    "VEV": _map_vev, "VVV": _map_vvv,
}

#: mclust's model names, in mclust's order (the univariate ones last).
MCLUST_MODEL_NAMES = tuple(_M_STEPS)

MCLUST_MODELS = {name: MclustCovariance(name) for name in MCLUST_MODEL_NAMES}

COVARIANCE_MODELS.update(MCLUST_MODELS)
