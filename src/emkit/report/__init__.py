"""Self-contained HTML reports of fitted mixtures (figures inline, one file), and the
picture of a fit on its own."""

from ._fit_figure import plot_fit
from ._html import write_report

__all__ = ["plot_fit", "write_report"]
