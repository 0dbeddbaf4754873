"""Numbers and headers of the report's tables, written so that people can read them."""

from __future__ import annotations

import math
import numbers

import numpy as np

#: Human headers for the columns of a selection table (and of other tables).
HEADERS = {
    "n_components": "Components",
    "covariance_type": "Covariance type",
    "log_likelihood": "Log-likelihood",
    "n_parameters": "Parameters",
    "bic": "BIC",
    "aic": "AIC",
    "icl": "ICL",
    "converged": "Converged",
    "n_iter": "Iterations",
    "degenerate": "Degenerate",
    "singular": "Singular (NA)",
}

MIN_DIGITS = 4
_MAX_DIGITS = 17  # enough to tell any two distinct float64 values apart


def header(key: str) -> str:
    """The human header of a table column: 'n_components' -> 'Components'."""
    return HEADERS.get(key, str(key).replace("_", " ").capitalize())


def _is_real(value) -> bool:
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def _is_integral(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def significant_digits(values) -> int:
    """The fewest significant digits (at least 4) at which the distinct finite values of a
    column are all written differently.

    Parameters
    ----------
    values : iterable of float

    Returns
    -------
    int
    """
    distinct = sorted({float(v) for v in values if _is_real(v) and math.isfinite(v)})
    for digits in range(MIN_DIGITS, _MAX_DIGITS + 1):
        if len({_plain(v, digits) for v in distinct}) == len(distinct):
            return digits
    return _MAX_DIGITS


def _plain(value: float, digits: int) -> str:
    """``value`` with ``digits`` significant digits, without an exponent where the number is
    of a size people read as it is (1e-3 <= |value| < 1e15)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if -3 <= magnitude < 15:
        return f"{value:.{max(digits - 1 - magnitude, 0)}f}"
    return f"{value:.{digits - 1}e}"


def format_value(value, digits: int = MIN_DIGITS) -> str:
    """One table cell: integers as they are, booleans as yes/no, reals with ``digits``
    significant digits."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if _is_integral(value):
        return str(int(value))
    if _is_real(value):
        return _plain(float(value), digits)
    return str(value)


def format_column(values) -> list[str]:
    """Every cell of one column, reals with the digits that tell neighbouring rows apart."""
    values = list(values)
    digits = significant_digits(values)
    return [format_value(v, digits) for v in values]
