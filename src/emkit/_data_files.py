"""Read a numeric data table from a file: CSV/TSV text, ``.npy`` or Parquet.

Used by the ``emkit`` command; every problem is a :class:`DataFileError` (a ValueError) with
a one-line message that names the file and, where it applies, the column and row.

Text files
    The delimiter is sniffed from the first lines (``,`` ``\\t`` ``;`` ``|``, the one the
    extension suggests first: ``.tsv``/``.tab`` tab, ``.csv`` comma), falling back to runs of
    whitespace (``np.savetxt``'s default), and the header is detected, on the first lines;
    then pandas' C parser reads the whole file. Fields may be quoted. Blank lines and lines
    that start with ``#`` are skipped (``#`` after a value starts a comment). The first row
    is a header when some field of it is not a number and either every field of it is text
    or the rest of that field's column is numeric; so a file without a header whose last
    column holds text labels is still read as data (and that column refused as
    non-numeric).
``.npy``
    One 2-D array of numbers (bool, integer or float), read with ``allow_pickle=False`` and
    memory-mapped, after its header is checked against the file's size and the available
    memory.
Parquet (``.parquet``, ``.pq``)
    Needs the optional package ``pyarrow``. Integer, floating, decimal and boolean columns
    are numeric; others are non-numeric.
AnnData (``.h5ad``)
    Needs the optional package ``anndata`` (``emkit[sc]``): its matrix ``.X`` (dense or
    sparse), one column per variable, named by ``var_names`` (see :mod:`emkit.sc._h5ad`).

Files are recognised by their first bytes (the .npy and Parquet magic numbers) before their
extension. Columns that are not numeric are refused, naming them, or dropped when
``drop_non_numeric`` is true. Missing values (empty fields, ``NA``, ``NaN``, ``null``,
``None``, ``?``, NaN in a .npy, null in Parquet) are refused unless ``allow_missing`` is true,
when they come through as NaN. Infinities are always refused. Columns can be chosen by name
(or 1-based number) and left out; a pandas index column (``DataFrame.to_csv``: no header
name, distinct integers) is dropped with a warning.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DataFileError", "Table", "read_named_table", "read_table"]

_NPY_MAGIC = b"\x93NUMPY"
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_DELIMITERS = (",", "\t", ";", "|")
_BY_EXTENSION = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|"}
_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"})
# the words pandas turns into NaN as it reads (case variants; others are parsed here)
_NA_WORDS = sorted({w for m in _MISSING for w in (m, m.upper(), m.capitalize())} | {" "})
_UNNAMED = re.compile(r"Unnamed: \d+|__index_level_\d+__")
_SNIFF_LINES = 50
_HEAD_BYTES = 1 << 16


class DataFileError(ValueError):
    """A data file is missing, unreadable, malformed, or holds data emkit cannot use."""


@dataclass
class Table:
    """A numeric table read from a file.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_columns), float64
        NaN where a value is missing (only when missing values were allowed).
    names : list of str
        The header's names, or ``"column 1"``, ``"column 2"``, ... without a header.
    named : bool
        Whether the names come from the file (a header, Parquet), so that they identify
        the columns; False for ``.npy`` files and text without a header.
    """

    X: np.ndarray
    names: list
    named: bool


def read_table(path, drop_non_numeric: bool = False, allow_missing: bool = False,
               columns=None, exclude=None):
    """Read a 2-D table of numbers from ``path``.

    Parameters
    ----------
    path : str or path-like
        A CSV/TSV (or other delimited) text file, a ``.npy`` file, or a Parquet file.
    drop_non_numeric : bool, default=False
        Drop columns that are not numeric instead of refusing the file.
    allow_missing : bool, default=False
        Keep missing values as NaN instead of refusing the file. A column may then be
        missing in every row; the caller decides what that means.
    columns : sequence of str, optional
        Keep only these columns, in this order (names, or 1-based numbers).
    exclude : sequence of str, optional
        Leave these columns out.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns), float64
        NaN where a value is missing (only with ``allow_missing``).
    column_names : list of str
        The header's names, or ``"column 1"``, ``"column 2"``, ... when the file has none.

    Raises
    ------
    DataFileError
        If the file is missing, empty, unreadable or malformed, has no numeric column, has a
        non-numeric column (unless ``drop_non_numeric``), has missing values (unless
        ``allow_missing``), has infinite values, or names an unknown column.
    """
    table = read_named_table(path, drop_non_numeric, allow_missing, columns, exclude)
    return table.X, table.names


def read_named_table(path, drop_non_numeric: bool = False, allow_missing: bool = False,
                     columns=None, exclude=None, expected=None) -> Table:
    """Like :func:`read_table`, with whether the names come from the file; a pandas index
    column (no header name, or ``Unnamed: 0``, holding 0..n-1 or distinct integers) is
    dropped with a warning unless ``columns`` names it. With ``expected`` (the names a
    model was fitted to) and a file whose columns have names, the table holds those columns
    in that order (see :func:`match_names`)."""
    path = Path(os.fspath(path))
    return table_of(path, read_columns(path), drop_non_numeric, allow_missing, columns,
                    exclude, expected)


def table_of(path: Path, found: list, drop_non_numeric: bool = False,
             allow_missing: bool = False, columns=None, exclude=None,
             expected=None) -> Table:
    """The :class:`Table` of columns from :func:`read_columns`: chosen, the index column
    dropped, matched to ``expected`` names, checked and stacked."""
    named = any(c.named for c in found)
    chosen = choose_columns(path, found, columns, exclude)
    if columns is None:
        chosen = drop_index_column(path, chosen)
    if expected is not None and named:
        chosen = match_names(path, chosen, expected)
    X, names = stack_columns(path, chosen, drop_non_numeric, allow_missing=allow_missing)
    return Table(X, names, named)


def _quoted(names, limit: int = 10) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(repr(str(n)) for n in names[:limit]) + more


def match_names(path: Path, columns: list, expected) -> list:
    """The columns named ``expected``, in that order (a file's columns may come in any
    order); a warning names the columns left out. Raises DataFileError naming the expected
    columns the file lacks, and the ones it has instead."""
    expected = [str(n) for n in expected]
    by_name = {}
    for c in columns:
        by_name.setdefault(c.name, c)
    missing = [n for n in expected if n not in by_name]
    extra = [c.name for c in columns if c.name not in set(expected)]
    if missing:
        instead = f"; it has {_quoted(extra)} instead" if extra else ""
        raise DataFileError(f"{path}: no column {_quoted(missing)}, which the model was "
                            f"fitted to (columns {_quoted(expected)}){instead}; rename the "
                            "columns, or choose them with --columns")
    if extra:
        warnings.warn(f"{path}: {'column' if len(extra) == 1 else 'columns'} "
                      f"{_quoted(extra)} {'is' if len(extra) == 1 else 'are'} not in the "
                      "model and left out", UserWarning, stacklevel=2)
    return [by_name[n] for n in expected]


def choose_columns(path: Path, columns: list, include=None, exclude=None) -> list:
    """The columns named by ``include`` (in its order; all when None) less those named by
    ``exclude``. A name is a header name, or a 1-based column number."""
    def find(name, option):
        for c in columns:
            if c.name == name:
                return c
        text = str(name).strip()
        if text.isdigit() and 1 <= int(text) <= len(columns):
            return columns[int(text) - 1]
        shown = ", ".join(repr(c.name) for c in columns[:20])
        more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
        raise DataFileError(f"{path}: no column named {name!r} ({option}); the columns are "
                            f"{shown}{more}")

    chosen = columns if include is None else [find(n, "--columns") for n in include]
    if include is not None and len({id(c) for c in chosen}) < len(chosen):
        raise DataFileError(f"{path}: a column is named twice in --columns")
    if exclude:
        dropped = {id(find(n, "--exclude")) for n in exclude}
        chosen = [c for c in chosen if id(c) not in dropped]
    if not chosen:
        raise DataFileError(f"{path}: no columns left after --exclude")
    return chosen


def drop_index_column(path: Path, columns: list) -> list:
    """The columns without a leading pandas index (written by ``DataFrame.to_csv``), with a
    warning when one is dropped."""
    first = columns[0] if columns else None
    if first is None or not first.unnamed or first.values is None or len(columns) < 2:
        return columns
    values = first.values
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        return columns
    if not np.array_equal(values, np.arange(len(values))) and \
            len(np.unique(values)) != len(values):
        return columns
    warnings.warn(f"{path}: column {first.label} has no name and holds distinct integers, "
                  "a pandas index (DataFrame.to_csv); it is left out (name it in --columns "
                  "to keep it)", UserWarning, stacklevel=2)
    return columns[1:]


def read_columns(path) -> list:
    """The columns of a data file before they are checked and stacked: numeric ones with
    their float values (NaN where missing), others with their raw text (``raw``, None where
    missing), so that a caller can take a column out (a sequence id) before stacking the
    rest with :func:`stack_columns`.

    Raises
    ------
    DataFileError
        If the file is missing, empty, unreadable or malformed.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    if path.is_dir():
        raise DataFileError(f"{path}: is a directory, not a data file")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise DataFileError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if head.startswith(_NPY_MAGIC):
        return _read_npy(path)
    if head.startswith(_PARQUET_MAGIC) or suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    if head.startswith(_HDF5_MAGIC) or suffix == ".h5ad":
        return _read_h5ad(path)
    if suffix == ".npy":
        raise DataFileError(f"{path}: not a .npy file (no NumPy header)")
    if head.startswith(_ZIP_MAGIC) or suffix == ".npz":
        raise DataFileError(f"{path}: a zip/.npz archive is not supported; save one 2-D "
                            "array with numpy.save as .npy, or write a CSV")
    return _read_text(path)


class _Column:
    """One column on its way to the table: float values, or why it is not numeric."""

    def __init__(self, label: str, name: str, values=None, bad=None,
                 where=None, raw=None, named: bool = False, unnamed: bool = False):
        self.label = label  # how messages name it after "column": "2 ('x')" or "2"
        self.name = name
        self.values = values  # float64 array, NaN where missing; None when not numeric
        self._bad = bad  # an example of a non-numeric value, with its place (or a function
        # giving it, so that the place is looked up only for a message)
        self.raw = raw  # a non-numeric column's values as text, None where missing
        # where(i): how messages name the place of value i, "line 7" or "row index 6"
        self.where = where or (lambda i: f"row index {i}")
        self.named = named  # the name comes from the file
        self.unnamed = unnamed  # a header without a name for it (a pandas index?)

    @property
    def bad(self) -> str:
        return self._bad() if callable(self._bad) else self._bad


def _label(j: int, name: str | None) -> str:
    return f"{j + 1}" + (f" ({name!r})" if name else "")


def _one_line(message) -> str:
    return " ".join(str(message).split())


def stack_columns(path: Path, columns: list, drop_non_numeric: bool,
                  allow_missing: bool = False):
    """Check the columns (from :func:`read_columns`), drop or refuse the non-numeric ones,
    stack the rest: ``(X, column_names)``. Missing values (NaN) are refused unless
    ``allow_missing``; infinite ones always are."""
    if not columns:
        raise DataFileError(f"{path}: no columns")
    text = [c for c in columns if c.values is None]
    if text and not drop_non_numeric:
        shown = ", ".join(f"{c.label}{c.bad}" for c in text[:5])
        more = f" and {len(text) - 5} more" if len(text) > 5 else ""
        noun = "column" if len(text) == 1 else "columns"
        raise DataFileError(f"{path}: non-numeric {noun} {shown}{more}; remove "
                            f"{'it' if len(text) == 1 else 'them'} or pass "
                            "--drop-non-numeric (drop_non_numeric=True) to ignore "
                            f"{'it' if len(text) == 1 else 'them'}")
    kept = [c for c in columns if c.values is not None]
    if not kept:
        raise DataFileError(f"{path}: no numeric columns (all {len(columns)} are "
                            "non-numeric)")
    n_rows = len(kept[0].values)
    if n_rows == 0:
        raise DataFileError(f"{path}: no data rows")
    bad_values = (
        (np.isnan, "missing value", "empty or NaN; ",
         "; missing data is not supported yet, remove or fill those rows"),
        (np.isinf, "infinite value", "", ""),
    )
    if allow_missing:
        bad_values = bad_values[1:]
    for c in kept:
        for test, what, kinds, advice in bad_values:
            rows = np.flatnonzero(test(c.values))
            if rows.size:
                raise DataFileError(
                    f"{path}: column {c.label} has {rows.size} {what}"
                    f"{'s' if rows.size > 1 else ''} ({kinds}first at "
                    f"{c.where(rows[0])}){advice}")
    X = np.empty((n_rows, len(kept)), dtype=np.float64)
    for j, c in enumerate(kept):
        X[:, j] = c.values
    return X, [c.name for c in kept]


# -- .npy ------------------------------------------------------------------------------------
def available_memory():
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None when
    the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return ""  # pragma: no cover


def open_npy(path, bytes_per_value: int = 8, error=DataFileError) -> np.ndarray:
    """The array of a ``.npy`` file, memory-mapped where its type allows, after checking
    its header: the data it promises must be in the file, and ``bytes_per_value`` bytes per
    value (what the caller will make of it) must fit in the available memory.

    Raises
    ------
    DataFileError (or ``error``)
        A missing, truncated or malformed file, Python objects (never unpickled), or an
        array too large for the memory.
    """
    path = Path(os.fspath(path))
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            else:  # 2.0; 3.0 differs only in the header's text encoding
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, UnicodeError) as exc:
        raise error(f"{path}: not a valid .npy file ({_one_line(exc)})") from None
    if dtype.hasobject:
        raise error(f"{path}: holds Python objects, which are not loaded "
                    "(allow_pickle=False); save a numeric array")
    n_values = int(np.prod(shape, dtype=np.float64)) if shape else 1
    promised = n_values * dtype.itemsize
    held = path.stat().st_size - offset
    if held < promised:
        raise error(f"{path}: not a valid .npy file (truncated: its header promises "
                    f"{' x '.join(map(str, shape))} {dtype} values, {_size(promised)}, the "
                    f"file holds {_size(max(held, 0))})")
    needed = n_values * max(bytes_per_value, dtype.itemsize)
    free = available_memory()
    if free is not None and needed > free:
        raise error(f"{path}: the array ({' x '.join(map(str, shape))} {dtype} values) needs "
                    f"{_size(needed)} of memory, {_size(free)} is available")
    if n_values == 0 or dtype.fields is not None:
        return np.load(path, allow_pickle=False)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _read_npy(path: Path) -> list:
    array = open_npy(path)
    if array.dtype.fields is not None:
        raise DataFileError(f"{path}: a structured array (fields "
                            f"{list(array.dtype.names)}) is not supported; save a plain "
                            "2-D numeric array")
    if array.ndim != 2:
        hint = (" (for a single feature save X.reshape(-1, 1))" if array.ndim == 1 else "")
        raise DataFileError(f"{path}: the array must be 2-D (rows x features), got shape "
                            f"{array.shape}{hint}")
    if array.dtype.kind not in "biuf":
        raise DataFileError(f"{path}: the array must hold numbers, got dtype {array.dtype}")
    if array.shape[0] == 0:
        raise DataFileError(f"{path}: no data rows (shape {array.shape})")
    columns = []
    for j in range(array.shape[1]):
        columns.append(_Column(_label(j, None), f"column {j + 1}",
                               values=np.asarray(array[:, j], dtype=np.float64)))
    return columns


def _read_h5ad(path: Path) -> list:
    from .sc._h5ad import h5ad_matrix

    matrix, names = h5ad_matrix(path, DataFileError)
    return [_Column(_label(j, name), name, values=matrix[:, j], named=True)
            for j, name in enumerate(names)]


# -- Parquet ---------------------------------------------------------------------------------
def _read_parquet(path: Path) -> list:
    try:
        import pyarrow.parquet as pq
        import pyarrow.types as pat
    except ImportError:
        raise DataFileError(f"{path}: reading Parquet needs the package 'pyarrow', which is "
                            "not installed (pip install pyarrow, or pip install "
                            "'emkit[parquet]')") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError, ...
        raise DataFileError(f"{path}: not a readable Parquet file "
                            f"({' '.join(str(exc).split())})") from None
    columns = []
    for j, name in enumerate(table.column_names):
        chunked = table.column(j)
        kind = chunked.type
        label = _label(j, name)
        if not (pat.is_integer(kind) or pat.is_floating(kind) or pat.is_boolean(kind)
                or pat.is_decimal(kind)):
            raw = [None if v is None else str(v) for v in chunked.to_pylist()]
            columns.append(_Column(label, name, bad=f" (type {kind})", raw=raw, named=True,
                                   unnamed=_UNNAMED.fullmatch(name) is not None))
            continue
        if pat.is_decimal(kind) or pat.is_boolean(kind):
            import pyarrow.compute as pc

            chunked = pc.cast(chunked, "float64")
        values = chunked.to_numpy().astype(np.float64, copy=True)  # nulls become NaN
        columns.append(_Column(label, name, values=values, named=True,
                               unnamed=_UNNAMED.fullmatch(name) is not None))
    if columns and all(c.values is not None for c in columns) and table.num_rows == 0:
        raise DataFileError(f"{path}: no data rows")
    return columns


# -- text ------------------------------------------------------------------------------------
def _read_text(path: Path) -> list:
    """Sniff the delimiter and the header on the first lines, then read the whole file with
    pandas' C parser; columns it cannot read as numbers are parsed again here, to find the
    missing-value words and the first non-numeric value."""
    try:
        with open(path, "rb") as f:
            raw = f.read(_HEAD_BYTES)
            whole = not f.read(1)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    head = _decode_head(path, raw, whole)
    lines = _data_lines(head.splitlines(), whole)
    if not lines:
        raise DataFileError(f"{path}: the file is empty (no data lines)")
    delimiter = _sniff(path, [line for _, line in lines[:_SNIFF_LINES]])
    rows, numbers = _split(path, lines[:_SNIFF_LINES], delimiter)
    width = len(rows[0])
    for fields, number in zip(rows, numbers):
        if len(fields) != width:
            raise _ragged(path, number, len(fields), width, delimiter)
    parsed_sample = [_parse(column) for column in zip(*rows[1:])] if len(rows) > 1 else \
        [(np.empty(0), None)] * width
    header = _is_header(rows[0], parsed_sample)
    if header and len(lines) == 1:
        raise DataFileError(f"{path}: a header but no data rows")
    frame = _pandas_read(path, delimiter, header, width)
    lines_of = _LineNumbers(path, header, delimiter)
    if frame.shape[1] != width:
        raise lines_of.ragged_error(width)
    if width > 1:  # pandas pads a short row with NaN: find one by its last field
        last = frame.iloc[:, -1]
        if last.dtype.kind not in "iub" and bool(last.isna().any()):
            lines_of.check_widths(np.flatnonzero(last.isna().to_numpy()), width)
    names = [field.strip() for field in rows[0]] if header else [None] * width
    columns = []
    for j in range(width):
        label = _label(j, names[j])
        name = names[j] or f"column {j + 1}"
        series = frame.iloc[:, j]
        unnamed = header and (not names[j] or _UNNAMED.fullmatch(names[j]) is not None)
        if series.dtype.kind in "iuf":
            columns.append(_Column(label, name, values=series.to_numpy(np.float64),
                                   where=lines_of.where, named=header, unnamed=unnamed))
            continue
        fields = ["" if missing else str(v) for v, missing in
                  zip(series.to_numpy(object), series.isna().to_numpy())]
        values, bad_index = _parse(fields)
        if values is None:
            raw = [None if _is_missing(f) else f.strip() for f in fields]
            example = fields[bad_index].strip()
            columns.append(_Column(label, name, raw=raw, where=lines_of.where,
                                   bad=lambda i=bad_index, v=example:
                                       f" ({lines_of.where(i)}: {v!r})",
                                   named=header, unnamed=unnamed))
        else:
            columns.append(_Column(label, name, values=values, where=lines_of.where,
                                   named=header, unnamed=unnamed))
    return columns


def _decode_head(path: Path, raw: bytes, whole: bool) -> str:
    if b"\x00" in raw:
        raise DataFileError(f"{path}: binary content (NUL bytes); expected CSV/TSV text, "
                            ".npy or Parquet")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(raw) - 4:  # not a character cut at the end of the head
            raise DataFileError(f"{path}: not a UTF-8 text file, nor a .npy or Parquet "
                                "file; expected CSV/TSV, .npy or Parquet") from None
        return raw[:exc.start].decode("utf-8-sig")


def _data_lines(lines, whole: bool) -> list:
    """(line number, line) of the lines that hold data: not blank, not a comment (# first,
    as pandas reads them); the last line of a head that stops inside the file is left out
    (it may be cut)."""
    if not whole and lines:
        lines = lines[:-1]
    return [(n, line) for n, line in enumerate(lines, start=1)
            if line.strip() and not line.startswith("#")]


def _pandas_read(path: Path, delimiter, header: bool, width: int):
    import pandas as pd

    options = dict(sep=r"\s+" if delimiter is None else delimiter,
                   header=0 if header else None, index_col=False, comment="#",
                   skip_blank_lines=True, na_values=_NA_WORDS, keep_default_na=False,
                   encoding="utf-8-sig", engine="c")
    if int(pd.__version__.split(".")[0]) < 3:  # pandas 3 parses exactly by default
        options["float_precision"] = "round_trip"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DtypeWarning: mixed columns are parsed here
            return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: the file is empty (no data lines)") from None
    except pd.errors.ParserError as exc:
        raise _LineNumbers(path, header, delimiter).ragged_error(width, exc) from None
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not a UTF-8 text file, nor a .npy or Parquet file; "
                            "expected CSV/TSV, .npy or Parquet") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _ragged(path, number, n_fields, width, delimiter) -> DataFileError:
    return DataFileError(f"{path}: line {number} has {n_fields} fields, the first row has "
                         f"{width} (delimiter {delimiter or 'whitespace'!r})")


class _LineNumbers:
    """The file's line numbers of its data rows, found by a second pass over the file
    only when a message needs one (an error, the place of a bad value)."""

    def __init__(self, path: Path, header: bool, delimiter):
        self.path, self.header, self.delimiter = path, header, delimiter
        self._numbers = None

    def _lines(self):
        """(line number, line) of every data row, in file order."""
        with open(self.path, encoding="utf-8-sig", newline="") as f:
            first = True
            for n, line in enumerate(f, start=1):
                if not line.strip() or line.startswith("#"):
                    continue
                if first and self.header:
                    first = False
                    continue
                first = False
                yield n, line

    def where(self, i) -> str:
        if self._numbers is None:
            self._numbers = np.fromiter((n for n, _ in self._lines()), dtype=np.int64)
        return f"line {self._numbers[int(i)]}" if i < len(self._numbers) else \
            f"data row {int(i) + 1}"

    def _width(self, line: str) -> int:
        if self.delimiter is None:
            return len(line.split())
        return len(next(csv.reader([line.rstrip("\r\n")], delimiter=self.delimiter), []))

    def check_widths(self, rows, width: int) -> None:
        """Raise the ragged-row error when one of the data rows ``rows`` is short."""
        wanted = set(int(i) for i in rows)
        for i, (n, line) in enumerate(self._lines()):
            if i in wanted and self._width(line) != width:
                raise _ragged(self.path, n, self._width(line), width, self.delimiter)

    def ragged_error(self, width: int, exc=None) -> DataFileError:
        for n, line in self._lines():
            if self._width(line) != width:
                return _ragged(self.path, n, self._width(line), width, self.delimiter)
        detail = f" ({_one_line(exc)})" if exc is not None else ""
        return DataFileError(f"{self.path}: malformed text table{detail}")


def _sniff(path: Path, sample: list):
    """The delimiter of the sample lines; None means runs of whitespace."""
    preferred = _BY_EXTENSION.get(path.suffix.lower())
    order = ([preferred] if preferred else []) + [d for d in _DELIMITERS if d != preferred]
    widths = {}
    for d in order:
        try:
            widths[d] = [len(r) for r in csv.reader(io.StringIO("\n".join(sample)),
                                                       delimiter=d)]
        except csv.Error:
            continue
    for d in order:  # the same number (> 1) of fields on every line
        w = widths.get(d)
        if w and min(w) > 1 and len(set(w)) == 1:
            return d
    split = [len(line.split()) for line in sample]
    if min(split) > 1 and len(set(split)) == 1:
        return None
    for d in order:  # more than one field on every line: ragged rows, reported later
        w = widths.get(d)
        if w and min(w) > 1:
            return d
    return preferred or ","  # one column


def _split(path: Path, lines: list, delimiter):
    if delimiter is None:
        return [line.split() for _, line in lines], [n for n, _ in lines]
    rows, numbers = [], []
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    try:
        for (number, _), fields in zip(lines, reader):
            rows.append(fields)
            numbers.append(number)
    except csv.Error as exc:
        raise DataFileError(f"{path}: malformed line {lines[len(rows)][0]} ({exc})") from None
    return rows, numbers


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return field.strip().lower() not in _MISSING


def _is_missing(field: str) -> bool:
    return field.strip().lower() in _MISSING


def _parse(fields):
    """(float64 values with NaN where missing, None) or (None, index of a text field)."""
    try:
        return np.asarray(fields, dtype=str).astype(np.float64), None
    except ValueError:
        pass
    values = np.empty(len(fields), dtype=np.float64)
    for i, field in enumerate(fields):
        if _is_missing(field):
            values[i] = np.nan
            continue
        try:
            values[i] = float(field)
        except ValueError:
            return None, i
    return values, None


def _is_header(first: list, parsed_body: list) -> bool:
    """A first row with text in it is a header when all of it is text, or when the column
    under one of its text fields is numeric."""
    text = [not _is_number(f) and not _is_missing(f) for f in first]
    if not any(text):
        return False
    if all(t or _is_missing(f) for t, f in zip(text, first)):
        return True
    return any(t and values is not None for t, (values, _) in zip(text, parsed_body))
