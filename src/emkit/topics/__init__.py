"""Topic models by EM: probabilistic latent semantic analysis (PLSA)."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "PLSA": "._plsa",
    "make_topic_corpus": "._synthetic",
})

__all__ = ["PLSA", "make_topic_corpus"]
