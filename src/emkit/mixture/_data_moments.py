"""The mean and covariance of rows read in blocks (any of the engine's data sources), in
one pass: the defaults of a streamed variational fit's priors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._em import row_weight, summed_expectation


@dataclass(frozen=True)
class RowMoments:
    """sum_i w_i (x_i - a) and sum_i w_i (x_i - a)(x_i - a)^T about an anchor a: additive
    over blocks of rows."""

    first: np.ndarray
    second: np.ndarray

    def __add__(self, other: "RowMoments") -> "RowMoments":
        return RowMoments(self.first + other.first, self.second + other.second)


class RowMomentsProblem:
    """An E-step-only problem whose statistics are the rows' moments about ``theta`` (the
    anchor; near the mean keeps the sums accurate)."""

    block_weight = staticmethod(row_weight)

    def e_step(self, X, theta, sample_weight):
        centred = np.asarray(X, dtype=np.float64) - theta
        weighted = centred if sample_weight is None else centred * sample_weight[:, None]
        return RowMoments(weighted.sum(axis=0), weighted.T @ centred), 0.0

    def m_step(self, stats, theta):  # pragma: no cover - moments need no M-step
        return theta


def data_moments(blocks, anchor: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(total weight, mean, unbiased covariance)`` of the rows of ``blocks`` (a weight of
    w counting a row w times), read once; ``anchor``: a point near their mean."""
    anchor = np.asarray(anchor, dtype=np.float64)
    stats, _, total = summed_expectation(RowMomentsProblem(), blocks, anchor)
    shift = stats.first / total
    scatter = stats.second - total * np.outer(shift, shift)
    return total, anchor + shift, scatter / (total - 1.0)
