"""Small bundled data and generators with known answers."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "KnownMixture": "._generators",
    "make_gaussian_mixture": "._generators",
    "load_iris": "._real",
})

__all__ = ["KnownMixture", "load_iris", "make_gaussian_mixture"]
