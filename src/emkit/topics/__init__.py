"""Topic models by EM: probabilistic latent semantic analysis (PLSA)."""

from ._plsa import PLSA
from ._synthetic import make_topic_corpus

__all__ = ["PLSA", "make_topic_corpus"]
