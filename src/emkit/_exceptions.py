"""Exceptions and warnings raised by emkit."""

from __future__ import annotations

# ConvergenceWarning and NotFittedError (scikit-learn's own) come from __getattr__ below
__all__ = [
    "DegenerateFitWarning",
    "InvalidParameterError",
    "LikelihoodDecreaseWarning",
    "ModelFileError",
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


def __getattr__(name: str):
    """scikit-learn's own ConvergenceWarning and NotFittedError (so code catching
    scikit-learn's catches emkit's), imported on first use: scikit-learn takes a second to
    import, which ``emkit --help`` should not pay."""
    if name in ("ConvergenceWarning", "NotFittedError"):
        import sklearn.exceptions

        return getattr(sklearn.exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
