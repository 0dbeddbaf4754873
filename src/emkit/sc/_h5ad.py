"""Reading an AnnData file (``.h5ad``) as a table of numbers for the ``emkit`` command."""

from __future__ import annotations

import numpy as np


def h5ad_matrix(path, error=ValueError):
    """``(matrix, names)``: the file's ``.X`` as a dense float64 cells x variables array and
    its ``var_names``.

    Parameters
    ----------
    path : path-like
    error : exception class
        Raised, with a one-line message naming the file, when anndata is missing or the
        file cannot be read.
    """
    try:
        import anndata
    except ImportError:
        raise error(f"{path}: reading .h5ad files needs the optional package anndata "
                    "(pip install 'emkit[sc]')") from None
    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:  # h5py and anndata raise many kinds
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise error(f"{path}: not a readable .h5ad file ({message})") from None
    if adata.X is None:
        raise error(f"{path}: the AnnData object has no matrix .X")
    import scipy.sparse as sp

    matrix = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    if matrix.dtype.kind not in "biuf":
        raise error(f"{path}: .X must hold numbers, got dtype {matrix.dtype}")
    if matrix.shape[0] == 0:
        raise error(f"{path}: no cells (.X has shape {matrix.shape})")
    return matrix.astype(np.float64), [str(name) for name in adata.var_names]
