"""The report's numbers: enough digits to tell rows apart, human headers."""

import math

import numpy as np
import pytest

from emkit.report._format import format_column, format_value, header, significant_digits


def _close_enough(text, value, digits):
    """``text`` reads back as ``value`` to within half a unit in its last shown digit."""
    unit = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1) if value else 0.0
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else None
    if decimals is not None:
        unit = min(unit, 10.0 ** -decimals) if unit else 10.0 ** -decimals
    return abs(float(text) - value) <= 0.5 * unit * (1 + 1e-9) + 1e-300


def test_neighbouring_criteria_are_written_differently():
    # four significant digits would write both as 7.316e+06
    values = [7316412.31, 7316412.38, 7316955.0]
    cells = format_column(values)
    assert len(set(cells)) == 3
    assert cells[:2] == ["7316412.3", "7316412.4"]
    assert abs(float(cells[2]) - values[2]) <= 0.05


@pytest.mark.parametrize("seed", range(5))
def test_digits_tell_any_distinct_values_apart_and_read_back(seed):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-6, 12)
    base = rng.normal() * scale
    values = list(base + base * rng.choice([1e-9, 1e-6, 1e-3], size=6) * rng.normal(size=6))
    values.append(values[0])  # equal values may share a cell
    cells = format_column(values)
    digits = significant_digits(values)
    assert len(set(cells)) == len(set(values))
    assert all(_close_enough(c, v, digits) for c, v in zip(cells, values))


def test_at_least_four_significant_digits_and_no_more_than_needed():
    assert format_column([1 / 3, 2 / 3]) == ["0.3333", "0.6667"]
    assert format_column([0.0123456]) == ["0.01235"]
    assert format_column([-2.5e-7, 1.25e-7]) == ["-2.500e-07", "1.250e-07"]
    assert format_column([1234567.891]) == ["1234568"]


def test_integers_booleans_text_and_special_values():
    assert format_value(12) == "12"
    assert format_value(np.int64(7)) == "7"
    assert format_value(True) == "yes" and format_value(np.bool_(False)) == "no"
    assert format_value("full") == "full"
    assert format_value(0.0) == "0"
    assert format_value(float("nan")) == "nan"
    assert format_value(float("-inf")) == "-inf"
    assert format_column([1.5, "n/a", None]) == ["1.500", "n/a", "None"]


def test_human_headers():
    assert [header(k) for k in ("n_components", "covariance_type", "log_likelihood",
                                "n_parameters", "bic", "aic", "icl", "degenerate")] == [
        "Components", "Covariance type", "Log-likelihood", "Parameters", "BIC", "AIC", "ICL",
        "Degenerate"]
    assert header("max_iter") == "Max iter"
