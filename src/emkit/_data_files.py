"""Read a numeric data table from a file: CSV/TSV text, ``.npy`` or Parquet.

Used by the ``emkit`` command; every problem is a :class:`DataFileError` (a ValueError) with
a one-line message that names the file and, where it applies, the column and row.

Text files
    The delimiter is sniffed from the first lines (``,`` ``\\t`` ``;`` ``|``, the one the
    extension suggests first: ``.tsv``/``.tab`` tab, ``.csv`` comma), falling back to runs of
    whitespace (``np.savetxt``'s default). Fields may be quoted. Blank lines and lines that
    start with ``#`` are skipped. The first row is a header when some field of it is not a
    number and either every field of it is text or the rest of that field's column is
    numeric; so a file without a header whose last column holds text labels is still read
    as data (and that column refused as non-numeric).
``.npy``
    One 2-D array of numbers (bool, integer or float), read with ``allow_pickle=False``.
Parquet (``.parquet``, ``.pq``)
    Needs the optional package ``pyarrow``. Integer, floating, decimal and boolean columns
    are numeric; others are non-numeric.

Files are recognised by their first bytes (the .npy and Parquet magic numbers) before their
extension. Columns that are not numeric are refused, naming them, or dropped when
``drop_non_numeric`` is true. Missing values (empty fields, ``NA``, ``NaN``, ``null``,
``None``, ``?``, NaN in a .npy, null in Parquet) are refused unless ``allow_missing`` is true,
when they come through as NaN. Infinities are always refused.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

__all__ = ["DataFileError", "read_table"]

_NPY_MAGIC = b"\x93NUMPY"
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_DELIMITERS = (",", "\t", ";", "|")
_BY_EXTENSION = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|"}
_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"})
_SNIFF_LINES = 50


class DataFileError(ValueError):
    """A data file is missing, unreadable, malformed, or holds data emkit cannot use."""


def read_table(path, drop_non_numeric: bool = False, allow_missing: bool = False):
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
        ``allow_missing``), or has infinite values.
    """
    path = Path(os.fspath(path))
    return stack_columns(path, read_columns(path), drop_non_numeric,
                         allow_missing=allow_missing)


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
    if suffix == ".npy":
        raise DataFileError(f"{path}: not a .npy file (no NumPy header)")
    if head.startswith(_ZIP_MAGIC) or suffix == ".npz":
        raise DataFileError(f"{path}: a zip/.npz archive is not supported; save one 2-D "
                            "array with numpy.save as .npy, or write a CSV")
    return _read_text(path)


class _Column:
    """One column on its way to the table: float values, or why it is not numeric."""

    def __init__(self, label: str, name: str, values=None, bad: str | None = None,
                 where=None, raw=None):
        self.label = label  # how messages name it after "column": "2 ('x')" or "2"
        self.name = name
        self.values = values  # float64 array, NaN where missing; None when not numeric
        self.bad = bad  # an example of a non-numeric value, with its place
        self.raw = raw  # a non-numeric column's values as text, None where missing
        # where(i): how messages name the place of value i, "line 7" or "row index 6"
        self.where = where or (lambda i: f"row index {i}")


def _label(j: int, name: str | None) -> str:
    return f"{j + 1}" + (f" ({name!r})" if name else "")


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
def _read_npy(path: Path) -> list:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataFileError(f"{path}: holds Python objects, which are not loaded "
                                "(allow_pickle=False); save a numeric array") from None
        raise DataFileError(f"{path}: not a valid .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path}: not a valid .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise DataFileError(f"{path}: not a single .npy array")
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
    columns = []
    for j in range(array.shape[1]):
        columns.append(_Column(_label(j, None), f"column {j + 1}",
                               values=np.asarray(array[:, j], dtype=np.float64)))
    if array.shape[0] == 0:
        raise DataFileError(f"{path}: no data rows (shape {array.shape})")
    return columns


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
            columns.append(_Column(label, name, bad=f" (type {kind})", raw=raw))
            continue
        if pat.is_decimal(kind) or pat.is_boolean(kind):
            import pyarrow.compute as pc

            chunked = pc.cast(chunked, "float64")
        values = chunked.to_numpy().astype(np.float64, copy=True)  # nulls become NaN
        columns.append(_Column(label, name, values=values))
    if columns and all(c.values is not None for c in columns) and table.num_rows == 0:
        raise DataFileError(f"{path}: no data rows")
    return columns


# -- text ------------------------------------------------------------------------------------
def _read_text(path: Path) -> list:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not a UTF-8 text file, nor a .npy or Parquet file; "
                            "expected CSV/TSV, .npy or Parquet") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise DataFileError(f"{path}: binary content (NUL bytes); expected CSV/TSV text, "
                            ".npy or Parquet")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataFileError(f"{path}: the file is empty (no data lines)")
    delimiter = _sniff(path, [line for _, line in lines[:_SNIFF_LINES]])
    rows, numbers = _split(path, lines, delimiter)
    width = len(rows[0])
    for fields, number in zip(rows, numbers):
        if len(fields) != width:
            raise DataFileError(f"{path}: line {number} has {len(fields)} fields, the first "
                                f"row has {width} (delimiter {delimiter or 'whitespace'!r})")
    body = list(zip(*rows[1:])) if len(rows) > 1 else [() for _ in range(width)]
    parsed_body = [_parse(column) for column in body]
    header = _is_header(rows[0], parsed_body)
    if header:
        names = [field.strip() for field in rows[0]]
        data_numbers = numbers[1:]
        parsed = parsed_body
    else:
        names = [None] * width
        data_numbers = numbers
        parsed = [_parse(column) for column in zip(*rows)]
    if header and len(rows) == 1:
        raise DataFileError(f"{path}: a header but no data rows")

    def where(i, numbers=data_numbers):
        return f"line {numbers[i]}"

    columns = []
    for j, (values, bad_index) in enumerate(parsed):
        label = _label(j, names[j])
        name = names[j] or f"column {j + 1}"
        if values is None:
            data_rows = rows[1:] if header else rows
            value = data_rows[bad_index][j]
            raw = [None if _is_missing(row[j].strip()) else row[j].strip() for row in data_rows]
            columns.append(_Column(label, name, raw=raw, where=where,
                                   bad=f" (line {data_numbers[bad_index]}: {value.strip()!r})"))
        else:
            columns.append(_Column(label, name, values=values, where=where))
    return columns


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
