"""mclust's hierarchical start: emkit's partitions against R's ``hclass(hc(X), G)``.

The R comparisons run where Rscript and the mclust package are installed (the data sets
are read from mclust at test time, never stored here); elsewhere they are skipped.
"""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from emkit.mixture._hierarchical import (_as_mclust_stores_it, hierarchical_labels,
                                         mclust_merges, merge_sequence, partition,
                                         quantile_classes,
                                         trace_scale, transformed)
from _benchmarks import load_benchmark

pytestmark = pytest.mark.numerics

MCLUST = load_benchmark("_mclust_r")
needs_r = pytest.mark.skipif(not MCLUST.available(),
                             reason="Rscript with the mclust package is not installed")


@needs_r
@pytest.mark.parametrize("name", sorted([*MCLUST.DATASETS, *MCLUST.UNIVARIATE]))
def test_partitions_equal_mclusts(name):
    # mclust's hclass(hc(X, "VVV", use = "SVD"), G), or qclass(x, G) for one column
    reference = MCLUST.reference(name)
    X = reference["X"]
    for G in range(1, 10):
        ours = hierarchical_labels(X, G)
        assert adjusted_rand_score(ours, reference["start"][:, G - 1]) == 1.0, (name, G)


def test_alpha_is_the_scatter_per_entry_of_the_transformed_rows():
    X = np.random.RandomState(0).randn(50, 3) * [1.0, 10.0, 100.0]
    Z = transformed(X)
    # the SVD transform leaves Z^T Z diagonal with the singular values of the
    # standardised rows on it, so the scatter per entry is their sum over n p
    singular = np.linalg.svd((X - X.mean(0)) / X.std(0, ddof=1), compute_uv=False)
    assert trace_scale(Z) == pytest.approx(singular.sum() / (50 * 3), rel=1e-12)


def test_stored_scatter_is_the_first_factor_row_read_from_each_column():
    rng = np.random.RandomState(1)
    A = rng.randn(6, 3)
    W = A.T @ A
    first = np.linalg.cholesky(W).T[0]  # R^T R = W, R upper triangular
    expected = sum(np.outer(np.where(np.arange(3) >= k, first, 0.0),
                            np.where(np.arange(3) >= k, first, 0.0)) for k in range(3))
    out = np.empty((3, 3))
    _as_mclust_stores_it(W, 3, out)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    _as_mclust_stores_it(W, 1, out)  # a cluster of two rows keeps one factor row
    np.testing.assert_allclose(out, np.outer(first, first), rtol=1e-12, atol=1e-12)


def test_duplicated_rows_merge_first_and_ties_go_to_the_highest_positions():
    # rows 0, 2 and 4 coincide, as do 1 and 3: every duplicate merge costs the same
    X = np.array([[0.0, 0.0], [5.0, 1.0], [0.0, 0.0], [5.0, 1.0], [0.0, 0.0],
                  [2.0, 7.0], [3.0, 3.0], [1.0, 4.0]])
    merges = mclust_merges(X)
    # mclust 6.0's hc(X, "VVV", use = "SVD") merges, 0-based: the tie its scan finds last
    # (the pair in the highest positions, rows 2 and 4) first
    expected = [(2, 4), (0, 2), (1, 3), (6, 7), (5, 6), (1, 5), (0, 1)]
    assert [tuple(m) for m in merges] == expected


def test_textbook_criterion_is_kept_apart():
    Z = transformed(np.random.RandomState(2).randn(30, 2))
    textbook = merge_sequence(Z, "VVV", 1.0)
    assert textbook.shape == (29, 2)
    assert np.all(textbook[:, 0] < textbook[:, 1])


def test_quantile_classes_of_one_column():
    x = np.array([5.0, 1.0, 3.0, 3.0, 3.0, 9.0, 7.0, 2.0])
    labels = quantile_classes(x, 3)
    # between the distinct quantiles, each class an interval, ordered along x
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(labels[order]) >= 0)
    assert set(labels) == {0, 1, 2}
    assert quantile_classes(x, 1).tolist() == [0] * 8
    with pytest.raises(ValueError, match="distinct values"):
        quantile_classes(np.ones(5), 2)


def test_ward_tree_equals_scipys_ward_linkage():
    # 'EII' merges by the rise of the summed traces: Ward's method, whose cuts scipy's
    # ward linkage gives on the same (transformed) rows
    from scipy.cluster.hierarchy import fcluster, linkage

    blobs = np.repeat(np.eye(3) * 4, [14, 13, 13], axis=0)
    Z = transformed(np.random.RandomState(3).randn(40, 3) + blobs)
    merges = merge_sequence(Z, "EII", as_mclust=True)
    tree = linkage(Z, method="ward")
    for G in range(1, 8):
        ours = partition(merges, len(Z), G)
        assert adjusted_rand_score(ours, fcluster(tree, G, criterion="maxclust")) == 1.0, G


def test_no_more_rows_than_columns_start_from_the_ward_tree():
    # mclustBIC cuts hc(X, "EII") when n <= d: so does init_params='hierarchical'
    from emkit.mixture._init import hierarchical_start

    X = np.random.RandomState(4).randn(8, 10) + np.repeat([[0.0], [3.0]], 4, axis=0)
    for G in range(1, 6):
        rows, resp = hierarchical_start(X, G, None, np.random.RandomState(0), subsample=100,
                                        covariance_type="VVV")
        expected = partition(mclust_merges(X, "EII"), len(X), G)
        assert adjusted_rand_score(resp.argmax(axis=1), expected) == 1.0, G
    # and not from the VVV tree, which cuts these rows otherwise
    assert adjusted_rand_score(partition(mclust_merges(X, "VVV"), len(X), 3),
                               partition(mclust_merges(X, "EII"), len(X), 3)) < 1.0


R_WARD_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
write.table(hclass(hc(X, modelName = "EII", use = "SVD"), 1:7), args[2], sep = ",",
            row.names = FALSE, col.names = FALSE)
"""


@needs_r
def test_ward_tree_equals_mclusts_hc_eii(tmp_path):
    import subprocess

    X = np.random.RandomState(5).randn(8, 10) + np.repeat([[0.0], [3.0]], 4, axis=0)
    np.savetxt(tmp_path / "X.csv", X, delimiter=",", fmt="%.17g")
    (tmp_path / "run.R").write_text(R_WARD_SCRIPT)
    subprocess.run(["Rscript", str(tmp_path / "run.R"), str(tmp_path / "X.csv"),
                    str(tmp_path / "cl.csv")], check=True, capture_output=True, timeout=120)
    theirs = np.loadtxt(tmp_path / "cl.csv", delimiter=",", dtype=np.int64, ndmin=2)
    for G in range(1, 8):
        ours = hierarchical_labels(X, G, "EII")
        assert adjusted_rand_score(ours, theirs[:, G - 1]) == 1.0, G
