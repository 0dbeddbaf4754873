"""Gaussian mixture models fitted by EM."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "BayesianGaussianMixture": "._bayesian_mixture",
    "GaussianMixture": "._gaussian_mixture",
    "GaussianMixtureWithNoise": "._noise",
    "SelectionResult": "._select",
    "classification_entropy": "._select",
    "criteria": "._select",
    "select": "._select",
})

__all__ = ["BayesianGaussianMixture", "GaussianMixture", "GaussianMixtureWithNoise",
           "SelectionResult",
           "classification_entropy", "criteria", "select"]
