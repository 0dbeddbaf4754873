"""Hidden Markov models trained by Baum-Welch, with hmmlearn's interface."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "BaseHMM": "._base",
    "CategoricalHMM": "._categorical_hmm",
    "GaussianHMM": "._gaussian_hmm",
    "GMMHMM": "._gmm_hmm",
    "ConvergenceMonitor": "._monitor",
    "MultinomialHMM": "._multinomial_hmm",
    "PoissonHMM": "._poisson_hmm",
    "VariationalCategoricalHMM": "._variational_categorical_hmm",
    "VariationalGaussianHMM": "._variational_gaussian_hmm",
    "utils": ".utils",
})

__all__ = ["BaseHMM", "CategoricalHMM", "ConvergenceMonitor", "GMMHMM", "GaussianHMM",
           "MultinomialHMM", "PoissonHMM", "VariationalCategoricalHMM",
           "VariationalGaussianHMM"]
