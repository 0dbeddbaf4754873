"""``from emkit import hmm, vhmm``, as ``from hmmlearn import hmm, vhmm``: the variational
Bayesian HMMs (``emkit.hmm.vhmm``)."""

from .hmm.vhmm import VariationalCategoricalHMM, VariationalGaussianHMM

__all__ = ["VariationalCategoricalHMM", "VariationalGaussianHMM"]
