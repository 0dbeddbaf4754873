"""Self-contained HTML reports of fitted mixtures (figures inline, one file), and the
picture of a fit on its own."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "plot_fit": "._fit_figure",
    "write_report": "._html",
})

__all__ = ["plot_fit", "write_report"]
