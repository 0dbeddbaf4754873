"""Gaussian mixture models fitted by EM."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "BayesianGaussianMixture": "._bayesian_mixture",
    "BootstrapResult": "._bootstrap",
    "GaussianMixture": "._gaussian_mixture",
    "GaussianMixtureWithNoise": "._noise",
    "LikelihoodRatioTest": "._bootstrap",
    "MixtureDiscriminant": "._discriminant",
    "SelectionResult": "._select",
    "bootstrap_lrt": "._bootstrap",
    "bootstrap_parameters": "._bootstrap",
    "classification_entropy": "._select",
    "criteria": "._select",
    "select": "._select",
})

__all__ = ["BayesianGaussianMixture", "BootstrapResult", "GaussianMixture",
           "GaussianMixtureWithNoise", "LikelihoodRatioTest", "MixtureDiscriminant",
           "SelectionResult",
           "bootstrap_lrt", "bootstrap_parameters", "classification_entropy", "criteria",
           "select"]
