"""Hidden Markov models trained by Baum-Welch, with hmmlearn's interface."""

from ._base import BaseHMM
from ._categorical_hmm import CategoricalHMM
from ._gaussian_hmm import GaussianHMM
from ._gmm_hmm import GMMHMM
from ._monitor import ConvergenceMonitor
from ._multinomial_hmm import MultinomialHMM
from ._poisson_hmm import PoissonHMM

__all__ = ["BaseHMM", "CategoricalHMM", "ConvergenceMonitor", "GMMHMM", "GaussianHMM",
           "MultinomialHMM", "PoissonHMM"]
