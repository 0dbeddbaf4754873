"""hmmlearn's ``hmmlearn.hmm`` module layout: ``from emkit.hmm.hmm import GaussianHMM`` and
``from emkit.hmm import hmm`` work as they do with hmmlearn (the classes are emkit.hmm's)."""

from ._categorical_hmm import CategoricalHMM
from ._gaussian_hmm import GaussianHMM
from ._gmm_hmm import GMMHMM
from ._multinomial_hmm import MultinomialHMM
from ._poisson_hmm import PoissonHMM

__all__ = ["CategoricalHMM", "GMMHMM", "GaussianHMM", "MultinomialHMM", "PoissonHMM"]
