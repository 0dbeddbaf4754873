"""emkit.sc.gmm on the single-cell data set scanpy ships (pbmc68k_reduced: 700 cells).

The file is read from scanpy's installed package with anndata, without importing scanpy.
"""

import importlib.util
import os

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

anndata = pytest.importorskip("anndata", reason="anndata is not installed (pip install anndata)")

import emkit.sc  # noqa: E402


def _pbmc68k_reduced():
    spec = importlib.util.find_spec("scanpy")
    if spec is None or spec.origin is None:
        pytest.skip("scanpy is not installed: its bundled pbmc68k_reduced is the data set")
    path = os.path.join(os.path.dirname(spec.origin), "datasets", "10x_pbmc68k_reduced.h5ad")
    if not os.path.exists(path):
        pytest.skip(f"this scanpy does not ship {path}")
    return anndata.read_h5ad(path)


def test_gmm_on_pbmc68k_reduced_finds_the_cell_types():
    adata = _pbmc68k_reduced()
    assert adata.obsm["X_pca"].dtype == np.float32  # so the fit runs in float32
    adata.obsm["X_pca10"] = np.asarray(adata.obsm["X_pca"])[:, :10]
    emkit.sc.gmm(adata, n_components=range(4, 10), use_rep="X_pca10", random_state=0)
    info = adata.uns["gmm"]
    chosen = info["params"]["n_components"]
    table = info["selection"]
    assert chosen == table["n_components"][int(np.argmin(table["bic"]))]
    # mixtures on the first 10 PCs find the bulk labels about as well as scanpy's Leiden
    # clustering does (ARI 0.49 at resolution 0.5): 7 clusters, ARI 0.58 here
    assert 6 <= chosen <= 8
    labels = adata.obs["gmm"]
    assert len(labels.cat.categories) == chosen
    assert adjusted_rand_score(adata.obs["bulk_labels"], labels) > 0.45
    proba = adata.obsm["gmm_proba"]
    assert proba.shape == (700, chosen)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)  # float32 PCs
    # the labels are the most probable clusters
    np.testing.assert_array_equal(labels.astype(int).to_numpy(), proba.argmax(axis=1))
