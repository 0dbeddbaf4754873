"""hmmlearn's ``hmmlearn.vhmm`` module layout: the variational Bayesian HMMs."""

from ._variational_categorical_hmm import VariationalCategoricalHMM
from ._variational_gaussian_hmm import VariationalGaussianHMM

__all__ = ["VariationalCategoricalHMM", "VariationalGaussianHMM"]
