"""What the ``emkit`` commands of every family share.

Options with old spellings (:func:`option`, :class:`Command`), progress on stderr
(:func:`status`), warnings as one line each (:func:`warnings_as_lines`), checking outputs
before any work (:func:`check_outputs`, :func:`check_suffix`), reading DATA with the table
options (:func:`table_options`, :func:`read_table`) and saving a model
(:func:`save_model`). Only click and the standard library are imported here, so that
``emkit --help`` stays light; each command imports what it needs when it runs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
import typing
import warnings
from pathlib import Path

import click

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def one_line(message) -> str:
    """``message`` as text on one line (runs of white space become one space)."""
    return " ".join(str(message).split())


# -- options with old spellings ----------------------------------------------------------------
class OldSpellingOption(click.Option):
    """A click option that also accepts old spellings of its names, which ``--help`` and
    error messages do not show.

    Parameters
    ----------
    param_decls : list of str
        The option's names (and destination), as for :class:`click.Option`.
    old : tuple of str, default=()
        Old spellings that still set the option.
    old_off : tuple of str, default=()
        Old spellings of the off switch of a ``--flag/--no-flag`` option.
    """

    def __init__(self, param_decls, old=(), old_off=(), **kwargs):
        super().__init__(list(param_decls) + list(old), **kwargs)
        self.secondary_opts = self.secondary_opts + list(old_off)
        self.old_spellings = tuple(old) + tuple(old_off)

    def canonical_name(self, spelling: str) -> str:
        """The name shown today for an old ``spelling``."""
        names = self.secondary_opts if spelling in self.secondary_opts else self.opts
        shown = [n for n in names if n not in self.old_spellings]
        return max(shown, key=len)

    @contextlib.contextmanager
    def _shown_names(self):
        opts, secondary = self.opts, self.secondary_opts
        self.opts = [n for n in opts if n not in self.old_spellings]
        self.secondary_opts = [n for n in secondary if n not in self.old_spellings]
        try:
            yield
        finally:
            self.opts, self.secondary_opts = opts, secondary

    def get_help_record(self, ctx):
        with self._shown_names():
            return super().get_help_record(ctx)

    def get_error_hint(self, ctx):
        with self._shown_names():
            return super().get_error_hint(ctx)


def option(*param_decls, old=(), old_off=(), **kwargs):
    """``click.option`` with old spellings kept as hidden aliases (see
    :class:`OldSpellingOption`); use it with commands of class :class:`Command`."""
    return click.option(*param_decls, cls=OldSpellingOption, old=old, old_off=old_off,
                        **kwargs)


class Command(click.Command):
    """A click command that warns (``FutureWarning``) when an option is given by an old
    spelling: the old spellings go in a later release. The ``emkit`` group shows the
    warning as one line once the command has run."""

    def parse_args(self, ctx, args):
        for token in args:
            if token == "--":
                break
            spelling = token.split("=", 1)[0]
            for param in self.params:
                if isinstance(param, OldSpellingOption) and spelling in param.old_spellings:
                    new = param.canonical_name(spelling)
                    warnings.warn(f"{spelling} is an old spelling of {new} and stops working "
                                  f"in a later release; use {new}", FutureWarning,
                                  stacklevel=2)
        return super().parse_args(ctx, args)


# -- progress ---------------------------------------------------------------------------------
def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _bar(counts) -> str:
    if counts is None or not counts[1]:
        return ""
    done, total = counts
    filled = int(20 * done / total)
    return f" [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}"


@contextlib.contextmanager
def status(message: str, total: int = 0, verbose: bool = False):
    """Progress of one step on stderr.

    Yields ``advance(done, total=None)``, for the work to call as it goes (a bar shows
    ``done`` of ``total`` when ``total`` is given). On a terminal: a live line with the
    elapsed seconds. Elsewhere, with ``verbose``: a line when the step starts, one at each
    call of ``advance`` that changes the counts, and one when it ends. Nothing otherwise.
    """
    stream = sys.stderr
    live = _is_terminal(stream)
    shown = verbose and not live
    counts = [0, total]
    start = time.monotonic()

    def advance(done: int, new_total: int | None = None) -> None:
        update = [done, counts[1] if new_total is None else new_total]
        if update == counts:
            return
        counts[:] = update
        if shown and counts[1]:
            stream.write(f"emkit: {message}{_bar(counts)} {time.monotonic() - start:.1f}s\n")
            stream.flush()

    if not live and not verbose:
        yield advance
        return
    stop = threading.Event()

    def show_live():
        while True:
            stream.write(f"\r\033[Kemkit: {message}{_bar(counts)} "
                         f"{time.monotonic() - start:.0f}s")
            stream.flush()
            if stop.wait(0.5):
                return

    thread = None
    if live:
        thread = threading.Thread(target=show_live, daemon=True)
        thread.start()
    else:
        stream.write(f"emkit: {message} ...\n")
        stream.flush()
    try:
        yield advance
    finally:
        if live:
            stop.set()
            thread.join()
            stream.write("\r\033[K")
        else:
            stream.write(f"emkit: {message}{_bar(counts)} done in "
                         f"{time.monotonic() - start:.1f}s\n")
        stream.flush()


@contextlib.contextmanager
def warnings_as_lines(quiet: bool = False):
    """Collect warnings during a fit; print each distinct one as one line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if quiet:
        return
    seen = []
    for w in caught:
        line = f"emkit: warning: {type(w.message).__name__}: {one_line(w.message)}"
        if line not in seen:
            seen.append(line)
    for line in seen[:3]:
        click.echo(line, err=True)
    if len(seen) > 3:
        click.echo(f"emkit: warning: ... and {len(seen) - 3} more warnings", err=True)


# -- files: what a command reads and writes ---------------------------------------------------
CSV_SUFFIXES = ("", ".csv", ".txt")
HTML_SUFFIXES = (".html", ".htm")


def check_outputs(inputs, outputs, folders_exist: bool = True) -> None:
    """Refuse, before any work, an output that would overwrite an input or another output,
    or whose folder does not exist; paths are compared resolved (symlinks followed, and
    hard links by ``samefile``).

    Parameters
    ----------
    inputs : list of (path or None, str)
        The files read and how messages name them ('DATA', 'MODEL', ...).
    outputs : list of (path or None, str)
        The files to be written and their options ('-o', '--std', ...).
    folders_exist : bool, default=True
        Whether the outputs' folders must exist already (False: the command creates them).
    """
    read = [(Path(p), what) for p, what in inputs if p is not None]
    written = []
    for path, option in outputs:
        if path is None:
            continue
        path = Path(path)
        if folders_exist and not path.parent.is_dir():
            raise click.ClickException(f"{path}: the folder {path.parent} does not exist")
        for source, what in read:
            if _same_file(path, source):
                raise click.ClickException(f"{path} ({option}) is {what} itself; write the "
                                           "output to another file")
        for other, other_option in written:
            if _same_file(path, other):
                raise click.ClickException(f"{path}: {other_option} and {option} name the "
                                           "same file")
        written.append((path, option))


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_suffix(path, allowed, what: str, option: str) -> None:
    """Refuse, before any work, an output whose extension is not one of ``allowed``."""
    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        shown = ", ".join(a for a in allowed if a)
        raise click.ClickException(
            f"{path}: {option} writes {what}, not {suffix or 'a file without an extension'};"
            f" name it {shown}")


def model_paths(path: Path):
    """The two files a saved model is, MODEL.json and MODEL.npz, for the stem or either."""
    if path.suffix.lower() in (".json", ".npz"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".npz")


def model_outputs(path, option):
    """The two files a saved model is: [(MODEL.json, option), (MODEL.npz, option)]."""
    return [(p, option) for p in model_paths(Path(path))] if path is not None else []


def model_inputs(path):
    """The two files of a saved model as inputs of a command: [(MODEL.json, 'MODEL'), ...]."""
    return [(p, "MODEL") for p in model_paths(Path(path))]


# -- data tables --------------------------------------------------------------------------------
class TableOptions(typing.NamedTuple):
    columns: tuple | None
    exclude: tuple | None
    drop_non_numeric: bool
    verbose: bool


def _names(ctx, param, value):
    if value is None:
        return None
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise click.BadParameter("give one or more column names, separated by commas",
                                 ctx=ctx, param=param)
    return names


def table_options(function):
    """The options of every command that reads a DATA table, passed to it as one
    ``table`` argument (a :class:`TableOptions`)."""
    @functools.wraps(function)
    def command(*args, columns, exclude, drop_non_numeric, verbose, **kwargs):
        return function(*args, table=TableOptions(columns, exclude, drop_non_numeric,
                                                  verbose), **kwargs)

    for add in reversed((
            click.option("--columns", callback=_names, default=None, metavar="A,B,...",
                         help="Use only these columns of DATA, in this order (header "
                              "names, or numbers counted from 1)."),
            click.option("--exclude", callback=_names, default=None, metavar="A,B,...",
                         help="Leave these columns of DATA out."),
            click.option("--drop-non-numeric", is_flag=True,
                         help="Drop non-numeric columns of DATA instead of refusing the "
                              "file."),
            click.option("-v", "--verbose", is_flag=True,
                         help="Show progress (reading, fitting, selection) on standard "
                              "error also when it is not a terminal."))):
        command = add(command)
    return command


def _file_size(path) -> str:
    try:
        size = Path(path).stat().st_size
    except OSError:
        return ""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f" ({size:.0f} {unit})" if unit == "bytes" else f" ({size:.1f} {unit})"
        size /= 1024
    return ""  # pragma: no cover


def read_data_columns(data, table: TableOptions) -> list:
    """The columns of DATA (see emkit._data_files.read_columns), with a progress line."""
    from ._data_files import read_columns

    with status(f"reading {data}{_file_size(data)}", verbose=table.verbose):
        return read_columns(data)


def read_table(data, table: TableOptions, allow_missing=False, expected=None):
    """DATA as a emkit._data_files.Table, its columns chosen by the command's options (and
    matched to ``expected`` names, a model's)."""
    from ._data_files import table_of

    return table_of(Path(data), read_data_columns(data, table), table.drop_non_numeric,
                    allow_missing, table.columns, table.exclude, expected)


def name_model(model, table) -> None:
    """Record the names of the columns the model was fitted to (saved with it)."""
    import numpy as np

    if table.named:
        model.feature_names_in_ = np.asarray(table.names, dtype=object)
    else:
        model.__dict__.pop("feature_names_in_", None)


def save_model(model, output) -> None:
    """Save ``model`` as OUTPUT.json + OUTPUT.npz and say where."""
    model.save(output)
    json_path, npz_path = model_paths(Path(output))
    click.echo(f"saved model: {json_path} + {npz_path.name}")
