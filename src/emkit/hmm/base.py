"""hmmlearn's ``hmmlearn.base`` module layout: the class to derive custom emissions from,
and the convergence monitor."""

from ._base import BaseHMM
from ._monitor import ConvergenceMonitor

__all__ = ["BaseHMM", "ConvergenceMonitor"]
