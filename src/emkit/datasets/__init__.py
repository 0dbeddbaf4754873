"""Small bundled data and generators with known answers."""

from ._generators import KnownMixture, make_gaussian_mixture
from ._real import load_iris

__all__ = ["KnownMixture", "load_iris", "make_gaussian_mixture"]
