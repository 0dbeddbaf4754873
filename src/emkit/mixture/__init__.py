"""Gaussian mixture models fitted by EM."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "BayesianGaussianMixture": "._bayesian_mixture",
    "ConjugatePrior": "._mclust_prior",
    "GaussianMixture": "._gaussian_mixture",
    "SelectionResult": "._select",
    "classification_entropy": "._select",
    "criteria": "._select",
    "select": "._select",
})

__all__ = ["BayesianGaussianMixture", "ConjugatePrior", "GaussianMixture", "SelectionResult",
           "classification_entropy", "criteria", "select"]
