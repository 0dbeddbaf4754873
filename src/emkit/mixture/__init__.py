"""Gaussian mixture models fitted by EM."""

from ._bayesian_mixture import BayesianGaussianMixture
from ._gaussian_mixture import GaussianMixture
from ._select import SelectionResult, classification_entropy, criteria, select

__all__ = ["BayesianGaussianMixture", "GaussianMixture", "SelectionResult",
           "classification_entropy", "criteria", "select"]
