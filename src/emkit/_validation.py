"""Input checks shared by every estimator.

Hyper-parameters are validated once, at the public boundary, against a declared table of
constraints (``_parameter_constraints`` on each estimator); the kernels trust their inputs.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, validate_data

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


#: Values whose acceptance depends only on the value: a combination of them that passed
#: the checks once passes again without being checked (estimators are made and fitted
#: many times with the same settings: restarts, model selection, small fits).
_PLAIN_TYPES = frozenset({int, float, str, bool, type(None)})
_ACCEPTED: set = set()
_ACCEPTED_MAX = 1024


def validate_params(estimator, constraints: dict) -> None:
    """Check each hyper-parameter of ``estimator`` against its declared constraints.

    A combination of plain values (numbers, strings, None) already accepted for the same
    class (its ``_parameter_constraints``) is not checked again.

    Raises
    ------
    InvalidParameterError
        Naming the parameter, what it must be, and what it got.
    """
    values = tuple(getattr(estimator, name) for name in constraints)
    key = None
    if constraints is getattr(type(estimator), "_parameter_constraints", None) \
            and all(type(value) in _PLAIN_TYPES for value in values):
        key = (type(estimator), tuple(constraints),
               tuple((type(value), value) for value in values))
        if key in _ACCEPTED:
            return
    _check_params(estimator, constraints)
    if key is not None:
        if len(_ACCEPTED) >= _ACCEPTED_MAX:
            _ACCEPTED.clear()
        _ACCEPTED.add(key)


def _check_params(estimator, constraints: dict) -> None:
    """:func:`validate_params` without its memory of accepted values."""
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


def _plain_finite_matrix(X, dtypes: tuple, min_rows: int) -> bool:
    """Whether X is already what the checks below would return unchanged: a 2-d ndarray
    (no subclass) of one of ``dtypes`` with at least ``min_rows`` rows and one column, all
    finite (a finite sum proves it; an overflowing one sends X to the full check)."""
    if not (type(X) is np.ndarray and X.ndim == 2 and X.dtype in dtypes
            and X.shape[0] >= min_rows and X.shape[1] >= 1):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X.sum()))


def check_float_rows(X, dtype=np.float64) -> np.ndarray:
    """``check_array(X, dtype=dtype)``: finite rows as a 2-d float array, scikit-learn's
    errors for anything else; an array that already is one is returned at once."""
    if _plain_finite_matrix(X, (np.dtype(dtype),), 1):
        return X
    return check_array(X, dtype=dtype, input_name="X")


def validate_rows(estimator, X, *, ensure_min_samples: int = 1,
                  allow_nan: bool = False) -> np.ndarray:
    """scikit-learn's ``validate_data(estimator, X, reset=True)`` for float64 or float32
    rows: X checked, ``n_features_in_`` and ``feature_names_in_`` set. A finite float
    ndarray is taken as it is (a fit of a few hundred rows spent a sixth of its time in
    the general check); anything else, NaN included, goes through scikit-learn's check
    and gets its errors."""
    if _plain_finite_matrix(X, (np.dtype(np.float64), np.dtype(np.float32)),
                            ensure_min_samples):
        estimator.n_features_in_ = X.shape[1]
        estimator.__dict__.pop("feature_names_in_", None)
        return X
    return validate_data(estimator, named_matrix(X), dtype=[np.float64, np.float32],
                         ensure_min_samples=ensure_min_samples,
                         ensure_all_finite="allow-nan" if allow_nan else True)


#: RandomState objects free for reuse: making one costs about 0.1 ms (it first seeds
#: itself from the operating system), re-seeding one a microsecond.
_FREE_RANDOM_STATES: list = []


@contextlib.contextmanager
def random_state_of(seed) -> Iterator[np.random.RandomState]:
    """``check_random_state(seed)`` for the duration of a ``with`` block: for an int the
    same draws as ``np.random.RandomState(seed)``, from a generator re-seeded for this
    block alone (it must not outlive the block); None or a generator are returned as
    they are."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        yield check_random_state(seed)
        return
    try:
        rng = _FREE_RANDOM_STATES.pop()
    except IndexError:
        rng = np.random.RandomState()
    try:
        rng.seed(seed)
        yield rng
    finally:
        _FREE_RANDOM_STATES.append(rng)
