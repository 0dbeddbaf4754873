"""emkit: fast Expectation-Maximisation for latent-variable models."""

from ._exceptions import (
    DegenerateFitWarning,
    InvalidParameterError,
    LikelihoodDecreaseWarning,
    ModelFileError,
    UnvisitedStateWarning,
)
from ._lazy import lazy_exports

# imported on first use: `import emkit` (and `emkit --help`) loads no kernels, numba,
# scikit-learn, pandas or matplotlib
__getattr__, __dir__ = lazy_exports(__name__, {
    "ConvergenceWarning": "._exceptions",
    "NotFittedError": "._exceptions",
    "BayesianGaussianMixture": ".mixture",
    "GaussianMixture": ".mixture",
    "GaussianMixtureWithNoise": ".mixture",
    "MixtureDiscriminant": ".mixture",
    "load": ".io",
    "datasets": ".datasets",
    "hmm": ".hmm",
    "impute": ".impute",
    "io": ".io",
    "mixture": ".mixture",
    "motif": ".motif",
    "report": ".report",
    "sc": ".sc",
    "segment": ".segment",
    "topics": ".topics",
    "vhmm": ".vhmm",
})

__version__ = "0.1.0"

__all__ = [
    "BayesianGaussianMixture",
    "ConvergenceWarning",
    "DegenerateFitWarning",
    "GaussianMixture",
    "GaussianMixtureWithNoise",
    "InvalidParameterError",
    "LikelihoodDecreaseWarning",
    "MixtureDiscriminant",
    "ModelFileError",
    "NotFittedError",
    "UnvisitedStateWarning",
    "__version__",
    "hmm",
    "impute",
    "load",
    "motif",
    "sc",
    "segment",
    "topics",
]
