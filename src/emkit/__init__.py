"""emkit: fast Expectation-Maximisation for latent-variable models."""

from ._exceptions import (
    ConvergenceWarning,
    DegenerateFitWarning,
    InvalidParameterError,
    LikelihoodDecreaseWarning,
    ModelFileError,
    NotFittedError,
    UnvisitedStateWarning,
)
from .io import load
from . import hmm, impute, motif, segment, topics
from .mixture import BayesianGaussianMixture, GaussianMixture

__version__ = "0.1.0"

__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "DegenerateFitWarning",
    "GaussianMixture",
    "InvalidParameterError",
    "LikelihoodDecreaseWarning",
    "ModelFileError",
    "NotFittedError",
    "UnvisitedStateWarning",
    "__version__",
    "hmm",
    "impute",
    "load",
    "motif",
    "segment",
    "topics",
]
