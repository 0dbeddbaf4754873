"""Column names travel with a fit: from a DataFrame, from an AnnData object, through select."""

import types

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from emkit import GaussianMixture, load
from emkit.mixture import select
from conftest import make_blobs


def anndata_like(X, names, sparse=False):
    """An object shaped like AnnData (what scanpy users hold): .X, .var_names, .obs_names."""
    return types.SimpleNamespace(X=sp.csr_matrix(X) if sparse else X,
                                 var_names=pd.Index(names),
                                 obs_names=pd.Index([f"cell{i}" for i in range(len(X))]))


@pytest.mark.parametrize("sparse", [False, True])
def test_an_anndata_fit_keeps_the_gene_names_and_its_numbers(sparse, tmp_path):
    X, _ = make_blobs()
    genes = ["CD3E", "MS4A1", "LYZ"]
    gm = GaussianMixture(3, random_state=0).fit(anndata_like(X, genes, sparse))
    plain = GaussianMixture(3, random_state=0).fit(X)
    assert list(gm.feature_names_in_) == genes
    np.testing.assert_allclose(gm.means_, plain.means_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(gm.predict(anndata_like(X, genes)), plain.predict(X))
    gm.save(tmp_path / "cells")
    assert list(load(tmp_path / "cells.json").feature_names_in_) == genes


def test_an_anndata_with_other_genes_is_refused():
    X, _ = make_blobs()
    gm = GaussianMixture(2, random_state=0).fit(anndata_like(X, ["a", "b", "c"]))
    with pytest.raises(ValueError, match="feature names"):
        gm.predict(anndata_like(X, ["a", "b", "d"]))


def test_select_keeps_the_column_names_of_a_dataframe():
    X, _ = make_blobs()
    frame = pd.DataFrame(X, columns=["x", "y", "z"])
    result = select(frame, n_components=range(1, 3), covariance_types=("full",),
                    random_state=0)
    assert list(result.best_.feature_names_in_) == ["x", "y", "z"]
    assert all(list(m.feature_names_in_) == ["x", "y", "z"] for m in result.models_.values())
    plain = select(X, n_components=range(1, 3), covariance_types=("full",), random_state=0)
    assert not hasattr(plain.best_, "feature_names_in_")
    np.testing.assert_array_equal(result.best_.predict(frame), plain.best_.predict(X))
