"""``emkit.sc.gmm``: Gaussian-mixture clustering of the cells of an AnnData object."""

from __future__ import annotations

import numbers

import numpy as np

from ..mixture import select


def _representation(adata, use_rep: str) -> np.ndarray:
    """The cells x features matrix ``use_rep`` names: ``'X'`` (the matrix itself) or a key
    of ``adata.obsm`` ('X_pca', 'X_umap', ...)."""
    if not all(hasattr(adata, name) for name in ("X", "obs", "obsm", "uns")):
        raise TypeError(f"adata must be an AnnData object, got {type(adata).__name__}")
    if use_rep == "X":
        import scipy.sparse as sp

        return adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    if use_rep not in adata.obsm:
        keys = ", ".join(repr(k) for k in adata.obsm.keys()) or "none"
        raise ValueError(f"use_rep={use_rep!r} is not in adata.obsm (its keys: {keys}); "
                         "compute it first (scanpy.pp.pca for 'X_pca') or pass use_rep='X'")
    X = np.asarray(adata.obsm[use_rep])
    if X.ndim != 2:
        raise ValueError(f"adata.obsm[{use_rep!r}] must be a cells x features matrix, got "
                         f"shape {X.shape}")
    return X


def gmm(adata, n_components=range(1, 11), *, use_rep: str = "X_pca", key_added: str = "gmm",
        covariance_type="full", criterion: str = "bic", n_init: int = 1,
        random_state=0, copy: bool = False, **params):
    """Cluster cells with an :class:`emkit.GaussianMixture` (scanpy's calling style).

    Parameters
    ----------
    adata : anndata.AnnData
    n_components : int or iterable of int, default=range(1, 11)
        The number of clusters, or the numbers to choose from by ``criterion``.
    use_rep : str, default='X_pca'
        The representation fitted: a key of ``adata.obsm``, or 'X' for ``adata.X``.
    key_added : str, default='gmm'
        Where the results go: ``adata.obs[key_added]`` the labels (categorical '0', '1',
        ...), ``adata.obsm[key_added + '_proba']`` the cells' cluster probabilities
        (cells x clusters), ``adata.uns[key_added]`` a dict with 'params' (the chosen
        n_components and covariance_type, use_rep, criterion, random_state), 'selection'
        (one array per column of :func:`emkit.mixture.select`'s table) and the fitted
        'weights', 'means' and 'covariances'.
    covariance_type : str or iterable of str, default='full'
        Covariance type(s) tried, as in :class:`emkit.GaussianMixture`.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
    n_init : int, default=1
        Restarts of each fit.
    random_state : int, RandomState or None, default=0
        scanpy's default seed 0, so that a call is reproducible.
    copy : bool, default=False
        Work on a copy of ``adata`` and return it (else write into ``adata``, return None).
    **params
        Other GaussianMixture parameters (tol, reg_covar, max_iter, init_params, ...).

    Returns
    -------
    anndata.AnnData or None
        The copy, when ``copy`` is true.

    Raises
    ------
    ValueError
        ``use_rep`` missing, fewer cells than the largest number of clusters, bad
        parameters.
    """
    import pandas as pd

    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"key_added must be a non-empty string, got {key_added!r}")
    if copy:
        adata = adata.copy()
    X = _representation(adata, use_rep)
    ks = [n_components] if isinstance(n_components, numbers.Integral) else list(n_components)
    if X.shape[0] < 2 or (ks and all(isinstance(k, numbers.Integral) for k in ks)
                          and max(ks) > X.shape[0]):
        raise ValueError(f"adata has {X.shape[0]} cells, too few for up to "
                         f"{max(ks) if ks else '?'} clusters (a mixture needs at least as "
                         "many cells as clusters, and 2)")
    result = select(X, ks, covariance_type, criterion, n_init=n_init,
                    random_state=random_state, **params)
    best = result.best_
    labels = best.predict(X)
    names = [str(k) for k in range(best.n_components)]
    adata.obs[key_added] = pd.Categorical([names[k] for k in labels], categories=names)
    adata.obsm[key_added + "_proba"] = best.predict_proba(X)
    table = result.to_frame()
    adata.uns[key_added] = {
        "params": {"n_components": int(best.n_components),
                   "covariance_type": str(best.covariance_type), "use_rep": use_rep,
                   "criterion": criterion,
                   "random_state": random_state if isinstance(random_state, numbers.Integral)
                   else repr(random_state)},
        "selection": {column: (table[column].to_numpy().astype(str)
                               if table[column].dtype == object else table[column].to_numpy())
                      for column in table.columns},
        "weights": best.weights_, "means": best.means_, "covariances": best.covariances_,
    }
    return adata if copy else None
