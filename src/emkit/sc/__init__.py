"""Single-cell entry points in scanpy's style: functions that take an AnnData object,
fit an emkit model to one of its representations, and write the results back into it.

``emkit.sc.gmm(adata, ...)`` clusters cells with a Gaussian mixture (the number of
components chosen by BIC over a range, if asked), as ``scanpy.tl.leiden`` does by graph
clustering. anndata is an optional dependency (``pip install emkit[sc]``).
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "gmm": "._gmm",
})

__all__ = ["gmm"]
