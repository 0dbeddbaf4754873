"""Input checks shared by every estimator.

Hyper-parameters are validated once, at the public boundary, against a declared table of
constraints (``_parameter_constraints`` on each estimator); the kernels trust their inputs.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_array

from ._exceptions import InvalidParameterError


@dataclass(frozen=True)
class Interval:
    """A number of type ``kind`` (``numbers.Integral`` or ``numbers.Real``) in a range."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # 'left', 'right', 'both' or 'neither'

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        name = "an int" if self.kind is numbers.Integral else "a float"
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{name} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: tuple

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "a str among {" + ", ".join(repr(v) for v in sorted(self.values)) + "}"


def _accepts(constraint, value) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if constraint == "array-like":
        return hasattr(value, "__len__") or hasattr(value, "__array__")
    if constraint == "random_state":
        return value is None or isinstance(
            value, (numbers.Integral, np.random.RandomState, np.random.Generator)
        ) and not isinstance(value, bool)
    if constraint == "verbose":
        return isinstance(value, (numbers.Integral, bool, np.bool_))
    return constraint.accepts(value)


def _describe(constraint) -> str:
    return {
        None: "None",
        "boolean": "an instance of 'bool'",
        "array-like": "an array-like",
        "random_state": "an int, a numpy RandomState or Generator, or None",
        "verbose": "an int or a bool",
    }.get(constraint if isinstance(constraint, (str, type(None))) else "", str(constraint))


def validate_params(estimator, constraints: dict) -> None:
    """Check each hyper-parameter of ``estimator`` against its declared constraints.

    Raises
    ------
    InvalidParameterError
        Naming the parameter, what it must be, and what it got.
    """
    cls = type(estimator).__name__
    for name, allowed in constraints.items():
        value = getattr(estimator, name)
        if any(_accepts(c, value) for c in allowed):
            continue
        described = [_describe(c) for c in allowed]
        must = described[0] if len(described) == 1 else (
            ", ".join(described[:-1]) + " or " + described[-1]
        )
        raise InvalidParameterError(
            f"The {name!r} parameter of {cls} must be {must}. Got {value!r} instead."
        )


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """Validate per-row weights: finite, non-negative, not all zero, one per row.

    Returns None when no weights are given (every row weighs 1).
    """
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, sample_weight)
    sample_weight = check_array(
        sample_weight, ensure_2d=False, dtype=[np.float64, np.float32], input_name="sample_weight"
    )
    sample_weight = np.asarray(sample_weight, dtype=dtype)
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X, "
            f"but got shape {sample_weight.shape}."
        )
    if np.any(sample_weight < 0):
        raise ValueError(
            f"sample_weight must be non-negative; got {int(np.sum(sample_weight < 0))} "
            f"negative weight(s), the smallest {sample_weight.min()!r}."
        )
    if not np.any(sample_weight > 0):
        raise ValueError("sample_weight is zero for every row; at least one row must weigh > 0.")
    return sample_weight


def check_shape(array: np.ndarray, expected: tuple, name: str) -> None:
    """Raise a ValueError naming ``name`` when ``array`` is not of the ``expected`` shape."""
    if array.shape != tuple(expected):
        raise ValueError(
            f"The parameter {name!r} should have the shape of {tuple(expected)}, "
            f"but got {array.shape}"
        )


def named_matrix(X):
    """An AnnData object (single-cell data: a matrix ``.X`` with ``.var_names``) as a pandas
    DataFrame of its matrix with the variable (gene) names as columns, so that a fit keeps
    the names as ``feature_names_in_``; anything else is returned unchanged. AnnData is
    recognised by its attributes, never imported."""
    if not all(hasattr(X, name) for name in ("X", "var_names", "obs_names")):
        return X
    import pandas as pd
    import scipy.sparse as sp

    matrix = X.X.toarray() if sp.issparse(X.X) else np.asarray(X.X)
    return pd.DataFrame(matrix, columns=[str(name) for name in X.var_names])
