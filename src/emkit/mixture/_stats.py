"""Sufficient statistics of a Gaussian mixture: explicit, additive values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """Weighted moments of the rows about an anchor, per component.

    With responsibilities r_ik and row weights w_i, and ``anchor`` a_k (the component means
    of the E-step's parameters, so the moments are small and free of cancellation):

    - ``weight[k]``  = sum_i w_i r_ik
    - ``first[k]``   = sum_i w_i r_ik (x_i - a_k)
    - ``second``     = the second moments sum_i w_i r_ik (x_i - a_k)(x_i - a_k)^T, reduced as
      the covariance parametrisation needs (``kind``): per component full matrices, their
      sum over components ('tied'), diagonals, or the diagonals' sums ('spherical').

    Statistics add up over blocks of rows (``+``) and scale (``*``), which is all the batch,
    out-of-core, online and distributed drivers need.
    """

    weight: np.ndarray
    first: np.ndarray
    second: np.ndarray
    anchor: np.ndarray
    kind: str

    def __add__(self, other: "GaussianStats") -> "GaussianStats":
        if other.kind != self.kind:
            raise ValueError(f"cannot add {other.kind!r} statistics to {self.kind!r} ones")
        if not np.array_equal(other.anchor, self.anchor):
            other = other.recentered(self.anchor)
        return GaussianStats(self.weight + other.weight, self.first + other.first,
                             self.second + other.second, self.anchor, self.kind)

    def __mul__(self, factor: float) -> "GaussianStats":
        return GaussianStats(self.weight * factor, self.first * factor,
                             self.second * factor, self.anchor, self.kind)

    __rmul__ = __mul__

    def recentered(self, anchor: np.ndarray) -> "GaussianStats":
        """The same statistics expressed about another anchor (exact algebra)."""
        from ._covariance import covariance_model  # the parametrisation knows its layout

        delta = self.anchor - anchor  # x - new = (x - old) + delta
        s0, s1 = self.weight, self.first
        second = covariance_model(self.kind).recentred_second(self.second, s0, s1, delta)
        first = s1 + s0[:, None] * delta
        return GaussianStats(s0, first, second, np.array(anchor, copy=True), self.kind)
