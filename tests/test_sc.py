"""emkit.sc.gmm (scanpy's calling style) and .h5ad files for the emkit command."""

import numpy as np
import pytest
from click.testing import CliRunner

anndata = pytest.importorskip("anndata", reason="anndata is not installed (pip install anndata)")

import emkit.sc  # noqa: E402
from emkit._data_files import DataFileError, read_table  # noqa: E402
from emkit.cli import main  # noqa: E402
from emkit.mixture import select  # noqa: E402

SEED = 0


def _cells(n_per=60, seed=SEED):
    """An AnnData of three well-separated groups of cells: 6 genes in .X, a 3-D 'X_pca'."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 2]], dtype=float)
    pca = np.vstack([c + rng.normal(size=(n_per, 3)) for c in centres])
    genes = np.abs(pca @ rng.normal(size=(3, 6))) + rng.random((len(pca), 6))
    adata = anndata.AnnData(genes)
    adata.var_names = [f"gene{j}" for j in range(6)]
    adata.obsm["X_pca"] = pca
    return adata


def test_gmm_reproduces_select_and_writes_the_documented_keys():
    adata = _cells()
    assert emkit.sc.gmm(adata, n_components=range(1, 6), random_state=SEED) is None
    peer = select(adata.obsm["X_pca"], range(1, 6), "full", random_state=SEED).best_
    assert peer.n_components == 3
    labels = adata.obs["gmm"]
    assert labels.dtype == "category" and list(labels.cat.categories) == ["0", "1", "2"]
    np.testing.assert_array_equal(labels.astype(int).to_numpy(),
                                  peer.predict(adata.obsm["X_pca"]))
    proba = adata.obsm["gmm_proba"]
    assert proba.shape == (adata.n_obs, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    info = adata.uns["gmm"]
    assert info["params"] == {"n_components": 3, "covariance_type": "full",
                              "use_rep": "X_pca", "criterion": "bic", "random_state": SEED}
    np.testing.assert_array_equal(info["selection"]["n_components"], [1, 2, 3, 4, 5])
    assert int(np.argmin(info["selection"]["bic"])) == 2
    np.testing.assert_allclose(info["means"], peer.means_)
    np.testing.assert_allclose(info["weights"], peer.weights_)


def test_the_keys_survive_an_h5ad_round_trip(tmp_path):
    adata = _cells()
    emkit.sc.gmm(adata, n_components=[2, 3], key_added="clusters",
                 covariance_type=["full", "diag"])
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    back = anndata.read_h5ad(path)
    np.testing.assert_array_equal(back.obs["clusters"].to_numpy(),
                                  adata.obs["clusters"].to_numpy())
    np.testing.assert_allclose(back.obsm["clusters_proba"], adata.obsm["clusters_proba"])
    info, same = back.uns["clusters"], adata.uns["clusters"]
    assert dict(info["params"]) == same["params"]
    np.testing.assert_array_equal(info["selection"]["covariance_type"],
                                  same["selection"]["covariance_type"])
    np.testing.assert_allclose(info["selection"]["bic"], same["selection"]["bic"])
    np.testing.assert_allclose(info["covariances"], same["covariances"])


def test_a_single_k_on_x_and_copy():
    adata = _cells()
    out = emkit.sc.gmm(adata, n_components=3, use_rep="X", copy=True, random_state=SEED)
    assert "gmm" not in adata.obs and "gmm" in out.obs
    assert out.uns["gmm"]["params"]["n_components"] == 3
    assert len(out.uns["gmm"]["selection"]["bic"]) == 1


def test_bad_input_gets_a_clear_error():
    adata = _cells()
    with pytest.raises(ValueError, match=r"use_rep='X_umap' is not in adata.obsm .*'X_pca'"):
        emkit.sc.gmm(adata, use_rep="X_umap")
    with pytest.raises(ValueError, match="adata has 4 cells, too few for up to 10 clusters"):
        emkit.sc.gmm(adata[:4].copy())
    with pytest.raises(TypeError, match="must be an AnnData object"):
        emkit.sc.gmm(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="key_added"):
        emkit.sc.gmm(adata, key_added="")


def test_the_command_reads_h5ad_files(tmp_path):
    adata = _cells()
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    X, names = read_table(path)
    assert names == [f"gene{j}" for j in range(6)]
    np.testing.assert_array_equal(X, adata.X)
    result = CliRunner().invoke(main, ["fit", str(path), "-k", "2", "--random-state", "0"])
    assert result.exit_code == 0, result.output
    broken = tmp_path / "broken.h5ad"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(DataFileError, match="broken.h5ad: not a readable .h5ad file"):
        read_table(broken)
