"""Reading data tables for the command line: emkit._data_files.read_table."""

import sys

import numpy as np
import pytest

from emkit._data_files import DataFileError, read_named_table, read_table

ROWS = np.array([[1.5, 2.0, -3.0], [4.0, 5.25, 6.0], [7.0, 8.0, 9.5], [0.0, 1e-3, 2e5]])


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines(rows, sep):
    return "".join(sep.join(repr(float(v)) for v in row) + "\n" for row in rows)


# -- header detection ------------------------------------------------------------------------
def test_header_is_detected_and_gives_the_names(tmp_path):
    path = write(tmp_path, "a.csv", "x,y,z\n" + lines(ROWS, ","))
    X, names = read_table(path)
    np.testing.assert_array_equal(X, ROWS)
    assert X.dtype == np.float64
    assert names == ["x", "y", "z"]


def test_no_header_reads_the_first_row_as_data(tmp_path):
    path = write(tmp_path, "a.csv", lines(ROWS, ","))
    X, names = read_table(path)
    np.testing.assert_array_equal(X, ROWS)
    assert names == ["column 1", "column 2", "column 3"]


def test_header_with_one_numeric_looking_name(tmp_path):
    # "2020" is a number, but the text names beside it over numeric columns make a header.
    path = write(tmp_path, "a.csv", "x,2020,z\n" + lines(ROWS, ","))
    X, names = read_table(path)
    np.testing.assert_array_equal(X, ROWS)
    assert names == ["x", "2020", "z"]


def test_text_label_column_without_header_is_data_not_a_header(tmp_path):
    text = "".join(f"{a},{b},{lab}\n" for (a, b, _), lab in zip(ROWS, "pqrs"))
    path = write(tmp_path, "a.csv", text)
    X, names = read_table(path, drop_non_numeric=True)
    np.testing.assert_array_equal(X, ROWS[:, :2])  # all 4 rows: no row taken as a header
    assert names == ["column 1", "column 2"]


def test_quoted_header_names_with_delimiters_inside(tmp_path):
    path = write(tmp_path, "a.csv", '"len, cm","w",z\n' + lines(ROWS, ","))
    X, names = read_table(path)
    assert names == ["len, cm", "w", "z"]
    np.testing.assert_array_equal(X, ROWS)


def test_byte_order_mark_comments_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(("\ufeff# written by hand\nx,y,z\n\n" + lines(ROWS, ",") + "\n")
                     .encode("utf-8"))
    X, names = read_table(path)
    assert names == ["x", "y", "z"]
    np.testing.assert_array_equal(X, ROWS)


def test_savetxt_output_reads_back(tmp_path):
    path = tmp_path / "a.txt"
    np.savetxt(path, ROWS, header="x y z")  # space-separated, '#' header
    X, names = read_table(path)
    np.testing.assert_array_equal(X, ROWS)
    assert names == ["column 1", "column 2", "column 3"]


# -- delimiters ------------------------------------------------------------------------------
@pytest.mark.parametrize("sep,name", [(",", "a.csv"), ("\t", "a.tsv"), ("\t", "a.txt"),
                                      (";", "a.csv"), ("|", "a.dat"), ("\t", "a.csv"),
                                      ("  ", "a.dat")])
def test_delimiter_is_sniffed(tmp_path, sep, name):
    path = write(tmp_path, name, sep.join(["a", "b", "c"]) + "\n" + lines(ROWS, sep))
    X, names = read_table(path)
    np.testing.assert_array_equal(X, ROWS)
    assert names == ["a", "b", "c"]


def test_one_column_file(tmp_path):
    path = write(tmp_path, "a.csv", "v\n1\n2.5\n-3\n")
    X, names = read_table(path)
    np.testing.assert_array_equal(X, [[1.0], [2.5], [-3.0]])
    assert names == ["v"]


def test_ragged_rows_are_refused_with_the_line(tmp_path):
    path = write(tmp_path, "a.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(DataFileError, match=r"line 4 has 2 fields, the first row has 3"):
        read_table(path)


# -- non-numeric columns ---------------------------------------------------------------------
def iris_like(tmp_path):
    text = "a,name,b,site\n" + "".join(
        f"{r[0]},n{i},{r[1]},s\n" for i, r in enumerate(ROWS))
    return write(tmp_path, "a.csv", text)


def test_non_numeric_columns_are_refused_by_name(tmp_path):
    with pytest.raises(DataFileError) as info:
        read_table(iris_like(tmp_path))
    message = str(info.value)
    assert "non-numeric columns 2 ('name')" in message
    assert "4 ('site')" in message
    assert "--drop-non-numeric" in message
    assert "\n" not in message


def test_non_numeric_columns_are_dropped_on_request(tmp_path):
    X, names = read_table(iris_like(tmp_path), drop_non_numeric=True)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, ROWS[:, :2])


def test_a_stray_word_makes_a_column_non_numeric_and_says_where(tmp_path):
    path = write(tmp_path, "a.csv", "a,b\n1,2\n3,oops\n5,6\n")
    with pytest.raises(DataFileError, match=r"column 2 \('b'\) \(line 3: 'oops'\)"):
        read_table(path)


def test_no_numeric_column_left(tmp_path):
    path = write(tmp_path, "a.csv", "name,kind\nx,y\nz,w\n")
    with pytest.raises(DataFileError, match="no numeric columns"):
        read_table(path, drop_non_numeric=True)


# -- missing and infinite values -------------------------------------------------------------
@pytest.mark.parametrize("token", ["", "NA", "nan", "NaN", "null", " "])
def test_missing_values_are_refused_naming_column_and_count(tmp_path, token):
    path = write(tmp_path, "a.csv", f"a,b\n1,2\n3,{token}\n5,6\n7,{token}\n")
    with pytest.raises(DataFileError) as info:
        read_table(path)
    message = str(info.value)
    assert "column 2 ('b') has 2 missing values" in message
    assert "line 3" in message
    assert "not supported" in message


def test_infinite_values_are_refused(tmp_path):
    path = write(tmp_path, "a.csv", "a,b\n1,inf\n3,4\n")
    with pytest.raises(DataFileError, match=r"column 2 \('b'\) has 1 infinite value"):
        read_table(path)


@pytest.mark.parametrize("token", ["", "NA", "n/a", "nan", "NaN", "-nan", "null", "None",
                                   "?", " "])
def test_allow_missing_gives_nan_where_missing(tmp_path, token):
    path = write(tmp_path, "a.csv", f"a,b\n1,2\n3,{token}\n{token},6\n7,{token}\n")
    X, names = read_table(path, allow_missing=True)
    assert names == ["a", "b"]
    expected = np.array([[1, 2], [3, np.nan], [np.nan, 6], [7, np.nan]])
    np.testing.assert_array_equal(X, expected)  # NaN in the same places
    assert X.dtype == np.float64


def test_allow_missing_first_row_and_no_header(tmp_path):
    # a missing value in the first row does not make it a header, nor the header data
    path = write(tmp_path, "a.csv", "1.5,,3\n4,5,NA\n")
    X, names = read_table(path, allow_missing=True)
    np.testing.assert_array_equal(X, [[1.5, np.nan, 3], [4, 5, np.nan]])
    assert names == ["column 1", "column 2", "column 3"]
    path = write(tmp_path, "b.tsv", "x\ty\n\t2\n3\t\n")
    X, names = read_table(path, allow_missing=True)
    np.testing.assert_array_equal(X, [[np.nan, 2], [3, np.nan]])
    assert names == ["x", "y"]


def test_allow_missing_keeps_an_all_missing_column(tmp_path):
    path = write(tmp_path, "a.csv", "a,b,c\n1,,x\n2,NA,\n3,?,y\n")
    with pytest.raises(DataFileError, match=r"non-numeric column 3 \('c'\)"):
        read_table(path, allow_missing=True)
    X, names = read_table(path, drop_non_numeric=True, allow_missing=True)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, [[1, np.nan], [2, np.nan], [3, np.nan]])


def test_allow_missing_still_refuses_infinities_and_text(tmp_path):
    path = write(tmp_path, "a.csv", "a,b\n1,\n3,-inf\n")
    with pytest.raises(DataFileError, match=r"column 2 \('b'\) has 1 infinite value "
                                            r"\(first at line 3\)"):
        read_table(path, allow_missing=True)
    path = write(tmp_path, "b.csv", "a,b\n1,\n3,oops\n5,6\n")
    with pytest.raises(DataFileError, match=r"non-numeric column 2 \('b'\) "
                                            r"\(line 3: 'oops'\)"):
        read_table(path, allow_missing=True)


def test_allow_missing_is_off_by_default(tmp_path):
    path = write(tmp_path, "a.csv", "a,b\n1,\n3,4\n")
    with pytest.raises(DataFileError, match="missing data is not supported yet"):
        read_table(path)
    with pytest.raises(DataFileError, match="missing data is not supported yet"):
        read_table(path, allow_missing=False)


def test_allow_missing_npy(tmp_path):
    path = tmp_path / "a.npy"
    data = ROWS.copy()
    data[1, 2] = data[3, 0] = np.nan
    np.save(path, data)
    X, names = read_table(path, allow_missing=True)
    np.testing.assert_array_equal(X, data)
    data[0, 0] = np.inf
    np.save(path, data)
    with pytest.raises(DataFileError, match="column 1 has 1 infinite value"):
        read_table(path, allow_missing=True)


# -- empty, missing, unreadable files --------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"# only a comment\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match="empty"):
        read_table(path)


def test_header_without_rows(tmp_path):
    with pytest.raises(DataFileError, match="no data rows"):
        read_table(write(tmp_path, "a.csv", "a,b,c\n"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="is a directory"):
        read_table(tmp_path)


def test_binary_garbage_is_not_text(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataFileError, match="not a UTF-8 text file|binary"):
        read_table(path)


def test_npz_archive_is_refused_with_advice(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, X=ROWS)
    with pytest.raises(DataFileError, match=r"numpy.save as .npy"):
        read_table(path)


# -- .npy ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_])
def test_npy_2d_numeric(tmp_path, dtype):
    path = tmp_path / "a.npy"
    np.save(path, ROWS.astype(dtype))
    X, names = read_table(path)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, ROWS.astype(dtype).astype(np.float64))
    assert names == ["column 1", "column 2", "column 3"]


def test_npy_is_recognised_by_content_whatever_the_extension(tmp_path):
    path = tmp_path / "data.bin"
    with open(path, "wb") as f:
        np.save(f, ROWS)
    np.testing.assert_array_equal(read_table(path)[0], ROWS)


@pytest.mark.parametrize("shape,match", [((5,), r"2-D.*shape \(5,\).*reshape"),
                                         ((2, 2, 2), r"2-D.*shape \(2, 2, 2\)")])
def test_npy_must_be_2d(tmp_path, shape, match):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(shape))
    with pytest.raises(DataFileError, match=match):
        read_table(path)


def test_npy_objects_strings_and_nan_are_refused(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(DataFileError, match="pickle"):
        read_table(path)
    np.save(path, np.array([["1", "a"]]))
    with pytest.raises(DataFileError, match="must hold numbers"):
        read_table(path)
    bad = ROWS.copy()
    bad[2, 1] = np.nan
    np.save(path, bad)
    with pytest.raises(DataFileError, match=r"column 2 has 1 missing value .*row index 2"):
        read_table(path)
    np.save(path, np.zeros((0, 3)))
    with pytest.raises(DataFileError, match="no data rows"):
        read_table(path)


def test_truncated_npy(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, ROWS)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataFileError, match="not a valid .npy file"):
        read_table(path)


# -- Parquet ---------------------------------------------------------------------------------
def test_parquet_without_pyarrow_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "a.parquet"
    path.write_bytes(b"PAR1 not really PAR1")
    with pytest.raises(DataFileError, match="needs the package 'pyarrow'"):
        read_table(path)


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (optional extra)")
    import pyarrow.parquet as pq

    table = pa.table({"a": ROWS[:, 0], "n": [1, 2, 3, 4], "s": ["p", "q", "r", "s"],
                      "b": [True, False, True, True]})
    path = tmp_path / "a.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataFileError, match=r"non-numeric column 3 \('s'\)"):
        read_table(path)
    X, names = read_table(path, drop_non_numeric=True)
    assert names == ["a", "n", "b"]
    np.testing.assert_array_equal(X, np.column_stack([ROWS[:, 0], [1, 2, 3, 4], [1, 0, 1, 1]]))
    pq.write_table(pa.table({"a": [1.0, None, 3.0]}), path)
    with pytest.raises(DataFileError, match=r"column 1 \('a'\) has 1 missing value"):
        read_table(path)
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "n": pa.array([None, 2, 3],
                                                                   pa.int64())}), path)
    X, names = read_table(path, allow_missing=True)
    assert names == ["a", "n"]
    np.testing.assert_array_equal(X, [[1, np.nan], [np.nan, 2], [3, 3]])
    path.write_bytes(b"PAR1 garbage")
    with pytest.raises(DataFileError, match="not a readable Parquet file"):
        read_table(path)


# -- the whole file through pandas: what the first lines do not show -------------------------
def test_a_ragged_row_far_down_the_file_names_its_line(tmp_path):
    body = "".join(f"{i},{i + 0.5}\n" for i in range(200))
    short = write(tmp_path, "short.csv", "a,b\n# note\n" + body + "7\n" + body)
    with pytest.raises(DataFileError, match=r"line 203 has 1 fields, the first row has 2"):
        read_table(short)
    long = write(tmp_path, "long.csv", "a,b\n" + body + "7,8,9\n" + body)
    with pytest.raises(DataFileError, match=r"line 202 has 3 fields, the first row has 2"):
        read_table(long)


def test_a_stray_word_far_down_the_file_names_its_line(tmp_path):
    body = "".join(f"{i},{i + 0.5}\n" for i in range(200))
    path = write(tmp_path, "a.csv", "a,b\n" + body + "3,oops\n")
    with pytest.raises(DataFileError, match=r"column 2 \('b'\) \(line 202: 'oops'\)"):
        read_table(path)
    path = write(tmp_path, "b.csv", "a,b\n" + body + "3,\n")
    with pytest.raises(DataFileError, match=r"1 missing value .*first at line 202"):
        read_table(path)


def test_values_read_back_exactly(tmp_path):
    values = np.random.default_rng(0).normal(size=(300, 3)) * 10.0 ** np.arange(-5, 10, 5)
    path = write(tmp_path, "a.csv", "x,y,z\n" + lines(values, ","))
    np.testing.assert_array_equal(read_table(path)[0], values)


# -- choosing columns, names, a pandas index --------------------------------------------------
def test_columns_and_exclude_choose_by_name_or_number(tmp_path):
    path = write(tmp_path, "a.csv", "x,y,z\n" + lines(ROWS, ","))
    X, names = read_table(path, columns=["z", "x"])
    assert names == ["z", "x"]
    np.testing.assert_array_equal(X, ROWS[:, [2, 0]])
    X, names = read_table(path, exclude=["y"])
    assert names == ["x", "z"]
    np.testing.assert_array_equal(X, ROWS[:, [0, 2]])
    assert read_table(path, columns=["3", "1"])[1] == ["z", "x"]
    with pytest.raises(DataFileError, match=r"no column named 'w' \(--columns\); the "
                                            r"columns are 'x', 'y', 'z'"):
        read_table(path, columns=["x", "w"])
    with pytest.raises(DataFileError, match=r"no column named 'w' \(--exclude\)"):
        read_table(path, exclude=["w"])
    with pytest.raises(DataFileError, match="no columns left"):
        read_table(path, exclude=["x", "y", "z"])


def test_a_chosen_subset_skips_non_numeric_columns(tmp_path):
    X, names = read_table(iris_like(tmp_path), columns=["b", "a"])
    assert names == ["b", "a"]
    np.testing.assert_array_equal(X, ROWS[:, [1, 0]])


def test_names_are_known_to_come_from_the_file_or_not(tmp_path):
    assert read_named_table(write(tmp_path, "a.csv", "x,y,z\n" + lines(ROWS, ","))).named
    assert not read_named_table(write(tmp_path, "b.csv", lines(ROWS, ","))).named
    np.save(tmp_path / "c.npy", ROWS)
    assert not read_named_table(tmp_path / "c.npy").named


@pytest.mark.parametrize("index", [None, [7, 3, 11, 0]])
def test_a_pandas_index_column_is_dropped_with_a_warning(tmp_path, index):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "a.csv"
    pd.DataFrame(ROWS, columns=["x", "y", "z"], index=index).to_csv(path)
    with pytest.warns(UserWarning, match=r"column 1 has no name .* pandas index .* left out"):
        table = read_named_table(path)
    assert table.names == ["x", "y", "z"]
    np.testing.assert_array_equal(table.X, ROWS)
    kept = read_named_table(path, columns=["1", "x"])  # named in --columns: kept
    np.testing.assert_array_equal(kept.X[:, 0], index if index else np.arange(4))


def test_an_unnamed_column_of_other_values_is_data(tmp_path):
    path = write(tmp_path, "a.csv", ",y\n0.5,1\n1,2\n2,3\n")  # not integers
    X, names = read_table(path)
    assert names == ["column 1", "y"]
    path = write(tmp_path, "b.csv", "Unnamed: 0,y\n1,1\n1,2\n2,3\n")  # repeated integers
    X, names = read_table(path)
    np.testing.assert_array_equal(X[:, 0], [1, 1, 2])


# -- .npy headers that promise more than there is ---------------------------------------------
def npy_claiming(path, shape, dtype="<f8"):
    """A .npy header for ``shape`` followed by 16 bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 16)
    return path


def test_npy_header_claiming_a_tebibyte_is_refused_before_allocating(tmp_path):
    path = npy_claiming(tmp_path / "claims1tb.npy", (2 ** 37, 1))
    with pytest.raises(DataFileError, match=r"truncated: its header promises 137438953472 x "
                                            r"1 float64 values, 1\.0 TiB, the file holds "
                                            r"16 bytes"):
        read_table(path)


def test_npy_larger_than_the_memory_is_refused(tmp_path, monkeypatch):
    import emkit._data_files as files

    path = tmp_path / "a.npy"
    np.save(path, ROWS.astype(np.float32))
    monkeypatch.setattr(files, "available_memory", lambda: 95)  # 12 float64 values: 96 bytes
    with pytest.raises(DataFileError, match=r"needs 96 bytes of memory, 95 bytes is "
                                            r"available"):
        read_table(path)
    monkeypatch.setattr(files, "available_memory", lambda: 96)
    np.testing.assert_array_equal(read_table(path)[0], ROWS.astype(np.float32))
