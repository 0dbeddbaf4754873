"""Exceptions and warnings raised by emkit."""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = [
    "ConvergenceWarning",
    "DegenerateFitWarning",
    "InvalidParameterError",
    "LikelihoodDecreaseWarning",
    "ModelFileError",
    "NotFittedError",
    "UnvisitedStateWarning",
]


class DegenerateFitWarning(UserWarning):
    """Every restart of a fit ended with a spurious (collapsed or near-empty) component."""


class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter has a wrong type or value.

    Subclasses both ValueError and TypeError, like scikit-learn's error of the same name,
    so code written against either keeps working.
    """


class LikelihoodDecreaseWarning(UserWarning):
    """The log-likelihood decreased between two EM iterations beyond round-off."""


class ModelFileError(ValueError):
    """A model file is missing, malformed, tampered with or of a foreign kind."""


class UnvisitedStateWarning(UserWarning):
    """An HMM state got no expected counts in an M-step; its old parameters were kept."""
