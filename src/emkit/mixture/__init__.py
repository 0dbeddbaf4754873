"""Gaussian mixture models fitted by EM."""

from ._gaussian_mixture import GaussianMixture
from ._select import SelectionResult, classification_entropy, criteria, select

__all__ = ["GaussianMixture", "SelectionResult", "classification_entropy", "criteria", "select"]
