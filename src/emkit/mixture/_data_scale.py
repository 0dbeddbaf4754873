"""Data at an extreme scale: fitted at unit scale, reported in the data's units.

Values near 1e200 have squares that overflow float64, and values near 1e-200 squares that
underflow to zero; EM on them returns -inf log-likelihoods and NaN responsibilities. Such
data are fitted as x' = (x - c) / s, with c the midpoint of each column's range and s a
power of two (exact to divide by) that brings the largest |x - c| to [0.5, 1). The fitted
mixture is mapped back: means c + s m', covariances s^2 S', precisions P' / s^2, Cholesky
factors U' / s, and every log-likelihood per row shifted by the log-Jacobian -D log s, so
the model scores, predicts and samples in the data's own units. ``reg_covar`` then applies
to the rescaled data (as if the user had rescaled them), so the fit equals that of the
rescaled data. A model whose parameters do not fit in the floating-point range even so (a
variance of 1e600) is an error naming the scale, never a model of NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._covariance import covariance_model
from ._gaussian_problem import GaussianMixtureParams


def ordinary_range(dtype) -> tuple[float, float]:
    """``(smallest, largest)`` largest-magnitude value that is fitted as it is: cube roots
    of the dtype's range, so squares summed over any realistic number of rows stay finite
    and normal (float64: about 2.8e-103 to 5.6e102)."""
    info = np.finfo(dtype)
    return float(info.tiny) ** (1 / 3), float(info.max) ** (1 / 3)


@dataclass(frozen=True)
class DataScale:
    """The map x = centre + scale * x' between the data's units and unit scale.

    ``half_centre`` is c / 2 and ``half_scale`` s / 2 (a power of two), so that neither the
    map nor its inverse overflows for data anywhere in the floating-point range.
    """

    half_centre: np.ndarray
    half_scale: float
    magnitude: float

    @classmethod
    def needed_for(cls, X: np.ndarray) -> "DataScale | None":
        """The map for X (NaN entries ignored), or None when X's largest magnitude is in
        :func:`ordinary_range` (the data are then fitted exactly as they are)."""
        with np.errstate(invalid="ignore"):
            magnitude = float(np.nanmax(np.abs(X))) if X.size else 0.0
        smallest, largest = ordinary_range(X.dtype)
        if magnitude == 0.0 or smallest <= magnitude <= largest:
            return None
        half = 0.5 * np.asarray(X, dtype=np.float64)
        half_centre = 0.5 * np.nanmin(half, axis=0) + 0.5 * np.nanmax(half, axis=0)
        spread = float(np.nanmax(np.abs(half - half_centre)))
        if spread == 0.0:  # every row equal: any unit will do
            spread = 0.5 * magnitude
        half_scale = math.ldexp(1.0, math.frexp(spread)[1])
        return cls(half_centre, half_scale, magnitude)

    @property
    def log_scale(self) -> float:
        """log s (s itself may not be representable)."""
        return math.log(self.half_scale) + math.log(2.0)

    def to_unit(self, X: np.ndarray) -> np.ndarray:
        """Rows at unit scale, in X's dtype."""
        unit = (0.5 * np.asarray(X, dtype=np.float64) - self.half_centre) / self.half_scale
        return unit.astype(X.dtype, copy=False)

    def user_init_to_unit(self, user_init):
        """User-given ``(weights, means, precisions)`` (None where not given) at unit scale."""
        weights, means, precisions = user_init
        if means is not None:
            means = self.to_unit(means)
        if precisions is not None:
            with np.errstate(over="ignore"):
                precisions = precisions * self.half_scale * 2.0 * self.half_scale * 2.0
            if not np.all(np.isfinite(precisions)):
                raise ValueError(self._unrepresentable("precisions_init"))
        return weights, means, precisions

    def theta_to_unit(self, theta: GaussianMixtureParams) -> GaussianMixtureParams:
        """Parameters in the data's units mapped to unit scale (a warm start)."""
        factor = 2.0 * self.half_scale
        dtype = theta.means.dtype
        with np.errstate(under="ignore", over="ignore"):
            covariances = theta.covariances / factor / factor
            chol = theta.precisions_cholesky * factor
        return GaussianMixtureParams(theta.weights, self.to_unit(theta.means),
                                     covariances.astype(dtype), chol.astype(dtype))

    def theta_to_data(self, theta: GaussianMixtureParams, covariance_type: str
                      ) -> tuple[GaussianMixtureParams, np.ndarray]:
        """Fitted parameters at unit scale mapped to the data's units, with the precisions
        (``(theta, precisions)``); ValueError when they do not fit in the dtype."""
        dtype = theta.means.dtype
        factor = 2.0 * self.half_scale
        with np.errstate(under="ignore", over="ignore"):
            means = 2.0 * (self.half_centre + self.half_scale * theta.means.astype(np.float64))
            covariances = theta.covariances.astype(np.float64) * factor * factor
            chol = theta.precisions_cholesky.astype(np.float64) / factor
            precisions = (covariance_model(covariance_type).precisions(
                theta.precisions_cholesky.astype(np.float64)) / factor / factor)
        mapped = {"means_": means, "covariances_": covariances,
                  "precisions_cholesky_": chol, "precisions_": precisions}
        for name, value in mapped.items():
            with np.errstate(under="ignore", over="ignore"):
                value = value.astype(dtype)
            mapped[name] = value
            if not np.all(np.isfinite(value)):
                raise ValueError(self._unrepresentable(name))
        for name in ("covariances_", "precisions_cholesky_", "precisions_"):
            if not np.all(_diagonal(mapped[name], covariance_type) > 0.0):
                raise ValueError(self._unrepresentable(name))
        theta = GaussianMixtureParams(theta.weights, mapped["means_"], mapped["covariances_"],
                                      mapped["precisions_cholesky_"])
        return theta, mapped["precisions_"]

    def log_likelihood_to_data(self, value: float, n_features: int) -> float:
        """A mean log-likelihood per row at unit scale, in the data's units."""
        return float(value) - n_features * self.log_scale

    def _unrepresentable(self, name: str) -> str:
        return (f"X's values reach {self.magnitude:.3g} in magnitude, and their spread is "
                f"about {2.0 * self.half_scale:.3g}: the mixture was fitted at unit scale but "
                f"its {name} do not fit in floating point in X's units (the variances are "
                "about the spread squared); rescale X (divide it by a constant near its "
                "spread) first.")


def _diagonal(values: np.ndarray, covariance_type: str) -> np.ndarray:
    """The variances (or precisions) of each component: matrix diagonals for 'full',
    'tied' and mclust's models, the values themselves otherwise."""
    if covariance_model(covariance_type).full_moments:
        return np.diagonal(values, axis1=-2, axis2=-1)
    return values
