"""The ``emkit`` command.

Every expected failure (bad data or model file, bad option value, K larger than the data) ends
the command with exit status 1 (2 for usage errors, as click does) and exactly one line on
stderr, ``emkit: error: <message>``; no traceback. Every warning a command raises is one line
``emkit: warning: <type>: <message>`` on stderr once it has finished. Both are done once, in
:class:`_Group`, not per command. The plumbing the commands share lives here too: reading
DATA with the table options (:func:`_table_options`), checking outputs before any work
(:func:`check_outputs`, :func:`check_suffix`), and progress (:func:`_status`).
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

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_ERROR_PREFIX = "emkit: error: "


def _one_line(message) -> str:
    return " ".join(str(message).split())


def _describe_exception(exc: BaseException) -> str:
    """A one-line message for an exception caught at the top of the command."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return _one_line(f"{where}: {exc.strerror}" if where != "" else exc.strerror)
    text = _one_line(exc)
    return text or type(exc).__name__


class _Group(click.Group):
    """A click group that turns every expected failure into one line on stderr."""

    def invoke(self, ctx):
        try:
            with _warnings_as_lines():  # every command's warnings, one line each
                # Commands match a model's columns by name themselves; scikit-learn's
                # warning when the library passes the matched rows on as an array would
                # only repeat that check.
                warnings.filterwarnings("ignore", message="X does not have valid feature "
                                                          "names")
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise
        except (ValueError, OSError) as exc:  # includes ModelFileError, DataFileError
            raise click.ClickException(_describe_exception(exc)) from exc

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if prog_name is None:
            prog_name = "emkit"
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  **extra)
        except click.UsageError as exc:
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(_one_line(exc.format_message()) + hint, exc.exit_code)
        except click.ClickException as exc:
            _fail(_one_line(exc.format_message()), exc.exit_code)
        except click.Abort:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # The reader of our output went away (``emkit predict ... | head``): stop quietly.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int):
    try:
        click.echo(_ERROR_PREFIX + message, err=True)
    except OSError:
        pass
    sys.exit(code)


# -- option types ----------------------------------------------------------------------------
class _Components(click.ParamType):
    """``K`` or a range ``A..B`` of numbers of components."""

    name = "K|A..B"

    def convert(self, value, param, ctx):
        if isinstance(value, range):
            return value
        text = str(value).strip()
        try:
            if ".." in text:
                low, high = (int(part) for part in text.split("..", 1))
            else:
                low = high = int(text)
        except ValueError:
            self.fail(f"{value!r} is neither a number of components (3) nor a range (1..10)",
                      param, ctx)
        if low < 1:
            self.fail(f"{value!r}: the number of components must be at least 1", param, ctx)
        if high < low:
            self.fail(f"{value!r}: the range is empty ({low} > {high})", param, ctx)
        return range(low, high + 1)


class _CovarianceTypes(click.ParamType):
    """A comma list of covariance types, or ``all``."""

    name = "TYPE[,TYPE...]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        chosen = []
        for part in str(value).split(","):
            part = part.strip().lower()
            if part == "all":
                names = _COVARIANCE_TYPES
            elif part in _COVARIANCE_TYPES:
                names = (part,)
            else:
                self.fail(f"{part!r} is not a covariance type; choose from "
                          f"{', '.join(_COVARIANCE_TYPES)} or all (a comma list is allowed)",
                          param, ctx)
            chosen.extend(n for n in names if n not in chosen)
        return tuple(chosen)


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
def _status(message: str, counts=None, verbose: bool = False):
    """Progress of one step on stderr: on a terminal, a live line with the elapsed seconds
    (and a bar when ``counts``, a [done, total] list the work updates, is given); elsewhere,
    with ``verbose``, a line when the step starts, one per change of ``counts``, and one
    when it ends. Nothing otherwise."""
    stream = sys.stderr
    live = _is_terminal(stream)
    if not live and not verbose:
        yield
        return
    start = time.monotonic()
    stop = threading.Event()

    def show_live():
        while True:
            stream.write(f"\r\033[Kemkit: {message}{_bar(counts)} "
                         f"{time.monotonic() - start:.0f}s")
            stream.flush()
            if stop.wait(0.5):
                return

    def show_lines():
        shown = None
        while True:
            if counts is not None and counts[1] and list(counts) != shown:
                shown = list(counts)
                stream.write(f"emkit: {message}{_bar(shown)} "
                             f"{time.monotonic() - start:.1f}s\n")
                stream.flush()
            if stop.wait(0.2):
                return

    if not live:
        stream.write(f"emkit: {message} ...\n")
        stream.flush()
    thread = threading.Thread(target=show_live if live else show_lines, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if live:
            stream.write("\r\033[K")
        else:
            stream.write(f"emkit: {message}{_bar(counts)} done in "
                         f"{time.monotonic() - start:.1f}s\n")
        stream.flush()


@contextlib.contextmanager
def _warnings_as_lines(quiet: bool = False):
    """Collect warnings during a fit; print each distinct one as one line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if quiet:
        return
    seen = []
    for w in caught:
        line = f"emkit: warning: {type(w.message).__name__}: {_one_line(w.message)}"
        if line not in seen:
            seen.append(line)
    for line in seen[:3]:
        click.echo(line, err=True)
    if len(seen) > 3:
        click.echo(f"emkit: warning: ... and {len(seen) - 3} more warnings", err=True)


# -- output ----------------------------------------------------------------------------------
def _print_model(model, X, names):
    import numpy as np

    n = len(X)
    loglik = float(model.score(X)) * n
    click.echo(f"model: GaussianMixture  K = {model.n_components}  "
               f"covariance = {model.covariance_type}")
    click.echo(f"log-likelihood = {loglik:.4f} (mean {loglik / n:.6f} per row)  "
               f"iterations = {model.n_iter_}  converged = {bool(model.converged_)}")
    click.echo(f"BIC = {float(model.bic(X)):.4f}  AIC = {float(model.aic(X)):.4f}")
    click.echo("components (largest weight first), means in the order: " + ", ".join(names))
    order = np.argsort(-model.weights_, kind="stable")
    with np.printoptions(precision=4, suppress=True, linewidth=10_000):
        for k in order:
            click.echo(f"  {k:>3d}  weight {model.weights_[k]:.4f}  mean {model.means_[k]}")


def _print_table(table, criterion, best):
    import numpy as np

    columns = ("n_components", "covariance_type", "log_likelihood", "n_parameters", "bic",
               "aic", "icl", "converged", "n_iter", "degenerate")
    heads = ("K", "covariance", "log-lik", "params", "BIC", "AIC", "ICL", "converged",
             "iter", "degenerate")
    chosen = (best.n_components, best.covariance_type)
    cells = []
    for row in table:
        line = []
        for key in columns:
            value = row.get(key, "")
            if isinstance(value, (bool, np.bool_)):
                line.append(str(bool(value)))
            elif isinstance(value, str):
                line.append(value)
            else:
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    line.append(str(value))
                    continue
                line.append(f"{number:.0f}" if number.is_integer() and key in (
                    "n_components", "n_parameters", "n_iter") else f"{number:.3f}")
        mark = "*" if (int(row.get("n_components", -1)), row.get("covariance_type")) == \
            chosen else " "
        cells.append((mark, line))
    widths = [max([len(h)] + [len(line[i]) for _, line in cells]) for i, h in
              enumerate(heads)]
    click.echo(f"criterion table ({criterion.upper()}, lower is better; * = chosen; a "
               "degenerate fit, with a collapsed component, is never chosen over a sound one):")
    click.echo("   " + "  ".join(h.rjust(w) for h, w in zip(heads, widths)))
    for mark, line in cells:
        click.echo(f" {mark} " + "  ".join(c.rjust(w) for c, w in zip(line, widths)))


def _model_paths(path: Path):
    if path.suffix.lower() in (".json", ".npz"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".npz")


def _select_function():
    from . import mixture

    select = getattr(mixture, "select", None)
    if select is None:
        try:
            from .mixture._select import select
        except ImportError:
            select = None
    if select is None:
        raise click.ClickException("model selection (a range of K or several covariance "
                                   "types) needs emkit.mixture.select, which this emkit "
                                   "does not have yet; give one K and one covariance type")
    return select


# -- files: what a command reads and writes ---------------------------------------------------
_CSV_SUFFIXES = ("", ".csv", ".txt")
_HTML_SUFFIXES = (".html", ".htm")


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


def _model_outputs(path, option):
    """The two files a saved model is: [(MODEL.json, option), (MODEL.npz, option)]."""
    return [(p, option) for p in _model_paths(Path(path))] if path is not None else []


def _model_inputs(path):
    return [(p, "MODEL") for p in _model_paths(Path(path))]


# -- data tables --------------------------------------------------------------------------------
class _TableOptions(typing.NamedTuple):
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


def _table_options(function):
    """The options of every command that reads a DATA table, passed to it as one
    ``table`` argument (a :class:`_TableOptions`)."""
    @functools.wraps(function)
    def command(*args, columns, exclude, drop_non_numeric, verbose, **kwargs):
        return function(*args, table=_TableOptions(columns, exclude, drop_non_numeric,
                                                   verbose), **kwargs)

    for option in reversed((
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
        command = option(command)
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


def _read_columns(data, table: _TableOptions) -> list:
    """The columns of DATA (see emkit._data_files.read_columns), with a progress line."""
    from ._data_files import read_columns

    with _status(f"reading {data}{_file_size(data)}", verbose=table.verbose):
        return read_columns(data)


def _read_table(data, table: _TableOptions, allow_missing=False, expected=None):
    """DATA as a emkit._data_files.Table, its columns chosen by the command's options (and
    matched to ``expected`` names, a model's)."""
    from ._data_files import table_of

    return table_of(Path(data), _read_columns(data, table), table.drop_non_numeric,
                    allow_missing, table.columns, table.exclude, expected)


def _note_missing(X, data) -> None:
    """A note on stderr when X has missing values: they are marginalised. Given at the
    end, so that an error is still the only line on stderr."""
    import numpy as np

    missing = np.isnan(X)
    n = int(missing.sum())
    if n:
        rows = int(missing.any(axis=1).sum())
        click.echo(f"emkit: note: {data} has {n} missing value{'s' if n > 1 else ''} in "
                   f"{rows} row{'s' if rows > 1 else ''}; each row is used through its "
                   "observed columns ('emkit impute' fills the values in)", err=True)


def _model_input(model, X):
    """X as the model takes it: a DataFrame with the model's column names when it was
    fitted to named columns (so that scikit-learn's name check holds), else X."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return X
    import pandas as pd

    return pd.DataFrame(X, columns=list(names), copy=False)


def _named_rows(X, table):
    """X as a DataFrame with the table's column names when they come from the file."""
    if not table.named:
        return X
    import pandas as pd

    return pd.DataFrame(X, columns=list(table.names), copy=False)


def _name_model(model, table) -> None:
    """Record the names of the columns the model was fitted to (saved with it)."""
    import numpy as np

    if table.named:
        model.feature_names_in_ = np.asarray(table.names, dtype=object)
    else:
        model.__dict__.pop("feature_names_in_", None)


# -- commands --------------------------------------------------------------------------------
@click.group(name="emkit", cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="emkit")
def main():
    """Fit latent-variable models by Expectation-Maximisation.

    DATA files are CSV or TSV text (delimiter sniffed, header detected), NumPy .npy
    (one 2-D array) or Parquet (needs pyarrow). Every column used must be numeric; missing
    values are marginalised by fit, predict and report, and filled in by 'emkit impute'.
    --columns and --exclude choose the columns; a pandas index column (no header name) is
    left out. A model fitted to named columns keeps the names, and predict, report and
    hmm decode find the columns by name. Warnings are lines 'emkit: warning: ...' on
    standard error, errors one line 'emkit: error: ...' with exit status 1.
    """


def _settings(ctx) -> dict:
    """The command's options as given (for the report): name -> value as text."""
    return {name: (", ".join(map(str, value)) if isinstance(value, (tuple, range)) else
                   str(value))
            for name, value in ctx.params.items() if value is not None and value is not False}


@main.command()
@click.argument("data", type=click.Path(path_type=Path, dir_okay=True))
@click.option("-k", "--n-components", "components", type=_Components(), default="1..10",
              show_default=True,
              help="Number of components K, or a range A..B to choose K from by the "
                   "criterion. Left out: 1..10, cut to the number of rows.")
@click.option("--covariance", "covariance", type=_CovarianceTypes(), default="full",
              show_default=True,
              help="Covariance type: full, tied, diag, spherical, a comma list of them, or "
                   "all. Several types are compared by the criterion.")
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"], case_sensitive=False),
              default="bic", show_default=True,
              help="Information criterion that picks the model (lower is better).")
@click.option("--n-init", type=click.IntRange(min=1), default=1, show_default=True,
              help="EM runs from different starts per model; the best is kept.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed, for reproducible fits.")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="When choosing among several models, fit them in this many processes "
                   "(-1: one per CPU core).")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="MODEL",
              help="Save the fitted model as MODEL.json + MODEL.npz (read it back with "
                   "'emkit predict' or emkit.load).")
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="HTML",
              help="Also write the HTML report of the fit (and of the selection) here.")
@click.option("--plot", "plot", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="PNG",
              help="Also draw the fitted mixture over the data in this PNG file.")
@_table_options
@click.pass_context
def fit(ctx, data, components, covariance, criterion, n_init, seed, jobs, output, report,
        plot, table):
    """Fit a Gaussian mixture to DATA and print a summary.

    With one K and one covariance type this fits that mixture. With a range of K (-k 1..10)
    or several covariance types it fits every combination and keeps the best by the
    criterion, printing the table of all fits. Missing values are marginalised.
    """
    from . import GaussianMixture

    if jobs == 0:
        raise click.BadParameter("0 is not a number of processes (use 1, N or -1)",
                                 ctx=ctx, param_hint="'-j' / '--jobs'")
    check_suffix(report, _HTML_SUFFIXES, "an HTML report", "--report")
    check_suffix(plot, (".png",), "a PNG image", "--plot")
    check_outputs([(data, "DATA")], _model_outputs(output, "-o") + [(report, "--report"),
                                                                    (plot, "--plot")])
    plot_fit = None
    if plot is not None:
        from . import report as reports

        plot_fit = getattr(reports, "plot_fit", None)
        if plot_fit is None:
            raise click.ClickException("--plot needs emkit.report.plot_fit, which this emkit "
                                       "does not have yet")
    data_table = _read_table(data, table, allow_missing=True)
    X, names = data_table.X, data_table.names
    n_rows, n_cols = X.shape
    default_k = ctx.get_parameter_source("components") == click.core.ParameterSource.DEFAULT
    if default_k:
        components = range(components.start, max(components.start, min(components.stop - 1,
                                                                         n_rows)) + 1)
    if components.stop - 1 > n_rows:
        raise click.ClickException(
            f"K = {components.stop - 1} is larger than the number of rows ({n_rows}) in "
            f"{data}; a mixture needs at least one row per component")
    if n_rows < 2:
        raise click.ClickException(f"{data}: only {n_rows} row; at least 2 are needed")
    click.echo(f"data: {data}  {n_rows} rows x {n_cols} columns")
    criterion = criterion.lower()
    result = None
    if len(components) == 1 and len(covariance) == 1:
        model = GaussianMixture(components.start, covariance_type=covariance[0],
                                n_init=n_init, random_state=seed)
        with _status(f"fitting K={components.start} {covariance[0]}",
                     verbose=table.verbose):
            model.fit(X)
    else:
        select = _select_function()
        n_fits = len(components) * len(covariance)
        counts = [0, n_fits]

        def progress(done, total):
            counts[:] = [done, total]

        with _warnings_as_lines(quiet=True), _status(
                f"fitting {n_fits} models (K={components.start}..{components.stop - 1}, "
                f"{', '.join(covariance)})", counts, verbose=table.verbose):
            try:
                result = select(X, n_components=components, covariance_types=covariance,
                                criterion=criterion, n_init=n_init, random_state=seed,
                                n_jobs=jobs, progress=progress)
            except ValueError as exc:
                import numpy as np

                if not np.isnan(X).any() or "nan" not in str(exc).lower():
                    raise
                raise click.ClickException(
                    f"{data} has missing values, and choosing among several models with "
                    "missing values needs an emkit.mixture.select that accepts them; give "
                    "one K and one covariance type (-k 3 --covariance full), or fill the "
                    "values in first with 'emkit impute'") from exc
        model = result.best_
        _print_table(result.table, criterion, model)
    _name_model(model, data_table)
    _print_model(model, _model_input(model, X), names)
    if output is not None:
        model.save(output)
        json_path, npz_path = _model_paths(output)
        click.echo(f"saved model: {json_path} + {npz_path.name}")
    if report is not None:
        from .report import write_report

        write_report(model, X, report, selection=result, feature_names=names,
                     source=str(data), settings=_settings(ctx))
        click.echo(f"report: {report}")
    if plot is not None:
        plot_fit(model, X, plot, feature_names=names)
        click.echo(f"plot: {plot}")
    _note_missing(X, data)


def _mixture_and_data(model, data, table: _TableOptions, command: str):
    """A saved Gaussian mixture and the rows of DATA it applies to: the columns found by
    the names the model was fitted to when both have names, else taken in order."""
    from . import GaussianMixture, hmm, load  # noqa: F401 (emkit.hmm: load() reads HMMs)

    if model.suffix.lower() not in ("", ".json", ".npz") and model.is_file():
        raise click.ClickException(
            f"{model}: not an emkit model; give the MODEL.json (or MODEL.npz, or the stem "
            "MODEL) written by 'emkit fit -o MODEL'")
    fitted = load(model)
    if not isinstance(fitted, GaussianMixture):
        hint = (" (for a hidden Markov model: 'emkit hmm decode')"
                if _hmm_kind(fitted) is not False else "")
        raise click.ClickException(
            f"{model}: a {type(fitted).__name__} model; 'emkit {command}' takes a "
            f"GaussianMixture saved by 'emkit fit -o MODEL'{hint}")
    expected = getattr(fitted, "feature_names_in_", None)
    data_table = _read_table(data, table, allow_missing=True, expected=expected)
    X = data_table.X
    if X.shape[1] != fitted.n_features_in_:
        raise click.ClickException(f"{data} has {X.shape[1]} numeric columns, the model was "
                                   f"fitted to {fitted.n_features_in_}")
    return fitted, X, data_table.names


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              required=True, metavar="HTML", help="Where to write the report.")
@_table_options
@click.pass_context
def report(ctx, model, data, output, table):
    """Write a self-contained HTML report of MODEL (a Gaussian mixture) applied to DATA.

    The report shows the log-likelihood of each restart per iteration, the rows coloured by
    component with 1- and 2-sigma ellipses (first two principal components when there are
    more than two columns), the assignment uncertainty, and the fitted parameters.
    """
    from .report import write_report

    check_suffix(output, _HTML_SUFFIXES, "an HTML report", "-o")
    check_outputs([(data, "DATA")] + _model_inputs(model), [(output, "-o")])
    fitted, X, names = _mixture_and_data(model, data, table, "report")
    write_report(fitted, X, output, feature_names=names, source=str(data),
                 settings=_settings(ctx))
    click.echo(f"report: {output}")
    _note_missing(X, data)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="CSV",
              help="Write the CSV to this file instead of standard output.")
@_table_options
def predict(model, data, output, table):
    """Assign the rows of DATA to the components of MODEL.

    MODEL is a model saved by 'emkit fit -o' (MODEL.json + MODEL.npz). Writes a CSV with a
    header: the most probable component of each row (label), then its responsibilities
    p0 ... p(K-1), which sum to 1. A row with missing values is assigned by its observed
    columns.
    """
    import numpy as np

    check_suffix(output, _CSV_SUFFIXES, "CSV", "-o")
    check_outputs([(data, "DATA")] + _model_inputs(model), [(output, "-o")])
    fitted, X, _ = _mixture_and_data(model, data, table, "predict")
    proba = fitted.predict_proba(_model_input(fitted, X))
    labels = fitted.predict(_model_input(fitted, X))
    header = ",".join(["label"] + [f"p{k}" for k in range(proba.shape[1])])
    values = np.column_stack([labels, proba])
    fmt = ["%d"] + ["%.10g"] * proba.shape[1]
    if output is None:
        np.savetxt(sys.stdout, values, fmt=fmt, delimiter=",", header=header, comments="")
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="") as f:
            np.savetxt(f, values, fmt=fmt, delimiter=",", header=header, comments="")
        click.echo(f"wrote {len(labels)} rows x {proba.shape[1]} components to {output}")
    _note_missing(X, data)


def _column_label(j: int, name: str) -> str:
    """How messages name column j: "2 ('b')", or "2" when the file has no header."""
    return f"{j + 1}" if name == f"column {j + 1}" else f"{j + 1} ({name!r})"


def _write_csv(stream, names, table):
    """A header, then the rows with every value in the shortest text that reads back as
    the same float64 (``repr``)."""
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    for row in table.tolist():
        writer.writerow([repr(v) for v in row])


def _write_csv_to(target, names, table):
    """Write the CSV to the file ``target``, or to standard output when it is None."""
    if target is None:
        _write_csv(sys.stdout, names, table)
        sys.stdout.flush()
    else:
        with open(target, "w", encoding="utf-8", newline="") as f:
            _write_csv(f, names, table)


@main.command()
@click.argument("data", type=click.Path(path_type=Path, dir_okay=True))
@click.option("-o", "--output", "output",
              type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              default=None, metavar="CSV",
              help="Write the completed table to this file instead of standard output "
                   "('-': standard output).")
@click.option("--std", "std_output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="CSV",
              help="Also write each entry's conditional standard deviation given the row's "
                   "observed entries (0 where observed), in the same shape, to this file.")
@click.option("-k", "--components", "components", type=click.IntRange(min=1), default=1,
              show_default=True,
              help="Gaussian components: 1 is the multivariate normal; more, a Gaussian "
                   "mixture.")
@click.option("--max-iter", type=click.IntRange(min=1), default=500, show_default=True,
              help="Most EM iterations.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Stop when the mean log-likelihood per row gains less than this.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed of the starting values (for more than one component).")
@_table_options
@click.pass_context
def impute(ctx, data, output, std_output, components, max_iter, tol, seed, table):
    """Fill in the missing values of DATA by EM under a Gaussian model.

    Missing values are empty fields, NA, NaN, null, None or ? in text files, NaN in .npy,
    null in Parquet. Each is replaced by its conditional expectation given the row's
    observed values, under a Gaussian (or, with -k K, a K-component mixture) fitted by
    maximum likelihood to all the observed values. Writes a CSV with the same column names
    and the observed values unchanged (written so that they read back exactly). The
    summary goes to standard output, or to standard error when the CSV does.
    """
    import numpy as np

    from .impute import EMImputer

    if output is not None and str(output) == "-":
        output = None
    if std_output is not None and str(std_output) == "-":
        raise click.BadParameter("the standard deviations need a file, not standard "
                                 "output", ctx=ctx, param_hint="'--std'")
    check_suffix(output, _CSV_SUFFIXES, "CSV", "-o")
    check_suffix(std_output, _CSV_SUFFIXES, "CSV", "--std")
    check_outputs([(data, "DATA")], [(output, "-o"), (std_output, "--std")])
    data_table = _read_table(data, table, allow_missing=True)
    X, names = data_table.X, data_table.names
    n_rows, n_cols = X.shape
    missing = np.isnan(X)
    empty = np.flatnonzero(missing.all(axis=0))
    if empty.size:
        shown = ", ".join(_column_label(int(j), names[j]) for j in empty[:5])
        more = f" and {empty.size - 5} more" if empty.size > 5 else ""
        one = empty.size == 1
        raise click.ClickException(
            f"{data}: {'column' if one else 'columns'} {shown}{more} "
            f"{'has' if one else 'have'} no observed value (all {n_rows} rows missing), so "
            f"{'its' if one else 'their'} distribution cannot be estimated; remove "
            f"{'it' if one else 'them'}")
    if components > n_rows:
        raise click.ClickException(
            f"K = {components} is larger than the number of rows ({n_rows}) in {data}; a "
            "mixture needs at least one row per component")
    n_missing = int(missing.sum())
    n_incomplete = int(missing.any(axis=1).sum())
    imputer = EMImputer(n_components=components, max_iter=max_iter, tol=tol,
                        random_state=seed)
    named = _named_rows(X, data_table)  # the imputer keeps the names
    try:
        with _status(f"imputing with K={components}", verbose=table.verbose):
            imputer.fit(named)
            completed, std = imputer.transform(named, return_std=True)
    except np.linalg.LinAlgError as exc:
        raise click.ClickException(
            f"{data}: the fitted covariance is singular ({_one_line(exc)}); there are too "
            "few rows, or columns that are constant or collinear given the missing "
            "values") from exc
    loglik = float(imputer.score(named)) * n_rows
    # The summary comes after the fit, so that a failure is still the only line on stderr
    # when the CSV goes to standard output.
    echo = (lambda line: click.echo(line, err=True)) if output is None else click.echo
    echo(f"data: {data}  {n_rows} rows x {n_cols} columns  {n_missing} missing "
         f"entr{'y' if n_missing == 1 else 'ies'} ({100.0 * n_missing / X.size:.1f}%) in "
         f"{n_incomplete} row{'' if n_incomplete == 1 else 's'}")
    kind = "Gaussian" if components == 1 else "Gaussian mixture"
    echo(f"model: {kind}  K = {components}  covariance = full")
    echo(f"log-likelihood of the observed values = {loglik:.4f} (mean {loglik / n_rows:.6f} "
         f"per row)  iterations = {imputer.n_iter_}  converged = {bool(imputer.converged_)}")
    if n_missing == 0:
        echo(f"note: {data} has no missing values; the completed table is the input")
    _write_csv_to(output, names, completed)
    if output is not None:
        echo(f"wrote {n_rows} rows x {n_cols} columns ({n_missing} imputed) to {output}")
    if std_output is not None:
        _write_csv_to(std_output, names, std)
        echo(f"wrote the conditional standard deviations to {std_output}")


@main.command()
@click.option("--seed", default=0, show_default=True, help="Random seed of the fits.")
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False),
              default="emkit-demo-report.html", show_default=True, metavar="HTML",
              help="Where to write the HTML report of the iris fits.")
def demo(seed, report):
    """Run emkit on bundled data and print what each model found.

    \b
    It runs, in this order:
    - Gaussian mixtures on iris (150 flowers x 4 measurements): K = 1..6 and the four
      covariance types, the best by BIC (its HTML report goes to --report), and K = 3
      against the three species;
    - Gaussian mixtures on 3000 synthetic rows from 4 known components: K chosen by BIC
      and the fit set against the truth;
    - image segmentation of a photograph shipped with scikit-learn;
    - DNA motif discovery (MEME-style EM) in sequences with planted sites;
    - a topic model (PLSA) of Python's own help texts.
    """
    from .demo import run_demo

    run_demo(seed=seed, report=report)


# -- hidden Markov models --------------------------------------------------------------------
_HMM_MODELS = ("gaussian", "categorical", "poisson")


def _format_id(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(
        float(value))


def _read_sequences(data: Path, id_column, table: _TableOptions, expected=None):
    """The feature rows of DATA and how they split into sequences.

    Returns ``(data_table, lengths, ids, where)``: the features as a
    emkit._data_files.Table (chosen by the command's options, matched to ``expected``
    names), ``lengths`` of the consecutive runs of equal values of ``id_column`` (None
    without one: a single sequence), ``ids`` the id of each run as text (None without a
    column), ``where(i)`` how to name row i in messages.
    """
    import numpy as np

    from ._data_files import table_of

    columns = _read_columns(data, table)

    def features(candidates):
        def without_id(names):
            return None if names is None else tuple(n for n in names if n != id_column)

        data_table = table_of(Path(data), candidates, table.drop_non_numeric, False,
                              without_id(table.columns), without_id(table.exclude),
                              expected)
        where = next(c.where for c in candidates if c.values is not None)  # stacked: one is
        return data_table, where

    if id_column is None:
        data_table, where = features(columns)
        return data_table, None, None, where
    matches = [j for j, c in enumerate(columns) if c.name == id_column]
    if not matches:
        shown = ", ".join(repr(c.name) for c in columns[:20])
        more = f" and {len(columns) - 20} more" if len(columns) > 20 else ""
        raise click.ClickException(f"{data}: no column named {id_column!r} for "
                                   f"--lengths-column; the columns are {shown}{more}")
    index = matches[0]
    id_col = columns[index]
    rest = [c for j, c in enumerate(columns) if j != index]
    if not rest:
        raise click.ClickException(f"{data}: the only column is the sequence id "
                                   f"{id_column!r}; there are no features to model")
    data_table, where = features(rest)
    n_rows = data_table.X.shape[0]
    if id_col.values is not None:
        missing = np.flatnonzero(~np.isfinite(id_col.values))
        values = id_col.values
    else:
        raw = id_col.raw
        missing = np.array([i for i, v in enumerate(raw) if v is None], dtype=np.int64)
        values = np.array(["" if v is None else v for v in raw], dtype=object)
    if len(values) != n_rows:  # pragma: no cover - the readers give equal columns
        raise click.ClickException(f"{data}: the column {id_column!r} has {len(values)} "
                                   f"values for {n_rows} rows")
    if missing.size:
        raise click.ClickException(
            f"{data}: the sequence id column {id_col.label} has {missing.size} missing or "
            f"non-finite value{'s' if missing.size > 1 else ''} (first at "
            f"{where(int(missing[0]))}); every row needs a sequence id")
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    lengths = np.diff(np.append(starts, n_rows))
    ids = [str(values[s]) if id_col.values is None else _format_id(values[s])
           for s in starts]
    if len(set(ids)) < len(ids):
        seen, repeated = set(), None
        for i in ids:
            if i in seen:
                repeated = i
                break
            seen.add(i)
        n_runs = ids.count(repeated)
        warnings.warn(f"sequence id {repeated!r} occurs in {n_runs} separate runs of rows; "
                      "each run is a sequence of its own (sort DATA by "
                      f"{id_column!r} to join them)", UserWarning, stacklevel=2)
    return data_table, lengths, ids, where


def _check_symbols(X, names, data, model_kind, where):
    """Categorical symbols / Poisson counts: whole non-negative numbers, as integers; other
    kinds of model take X as it is."""
    import numpy as np

    if model_kind not in ("categorical", "poisson"):
        return X
    if model_kind == "categorical" and X.shape[1] != 1:
        raise click.ClickException(
            f"{data}: a categorical HMM takes one column of integer symbols, DATA has "
            f"{X.shape[1]} feature columns ({', '.join(names[:10])}"
            f"{', ...' if len(names) > 10 else ''}); keep one (and the sequence id)")
    what = "integer symbols 0, 1, 2, ..." if model_kind == "categorical" else \
        "counts (whole numbers >= 0)"
    bad = (X != np.round(X)) | (X < 0)
    if np.any(bad):
        i, j = (int(v[0]) for v in np.nonzero(bad))
        raise click.ClickException(
            f"{data}: a {model_kind} HMM needs {what}, but column {names[j]!r} has "
            f"{X[i, j]:.10g} at {where(i)}")
    return X.astype(np.int64)


def _hmm_class(model_kind):
    from . import hmm

    return {"gaussian": hmm.GaussianHMM, "categorical": hmm.CategoricalHMM,
            "poisson": hmm.PoissonHMM}[model_kind]


def _hmm_kind(model):
    """'gaussian', 'categorical', 'poisson' or, for another HMM, None; False: no HMM."""
    from .hmm._base import BaseHMM

    for kind in _HMM_MODELS:
        if isinstance(model, _hmm_class(kind)):
            return kind
    return None if isinstance(model, BaseHMM) else False


def _print_hmm(model, kind, X, lengths, names):
    import numpy as np

    n = len(X)
    loglik = float(model.score(X, lengths))
    extra = f"  covariance = {model.covariance_type}" if kind == "gaussian" else ""
    click.echo(f"model: {type(model).__name__}  states = {model.n_components}{extra}")
    click.echo(f"log-likelihood = {loglik:.4f} (mean {loglik / n:.6f} per row)  "
               f"iterations = {model.n_iter_}  converged = {bool(model.converged_)}")
    click.echo(f"BIC = {float(model.bic(X, lengths)):.4f}  "
               f"AIC = {float(model.aic(X, lengths)):.4f}  "
               f"parameters = {model.n_parameters()}")
    if kind == "gaussian":
        head, values = "mean in the order: " + ", ".join(names), model.means_
    elif kind == "poisson":
        head, values = "rates in the order: " + ", ".join(names), model.lambdas_
    else:
        head, values = "probabilities of the symbols 0, 1, ...", model.emissionprob_
    click.echo(f"states (start probability, probability of staying; {head}):")
    with np.printoptions(precision=4, suppress=True, linewidth=10_000, threshold=50):
        for k in range(model.n_components):
            click.echo(f"  {k:>3d}  start {model.startprob_[k]:.4f}  "
                       f"stay {model.transmat_[k, k]:.4f}  {values[k]}")


@main.group(name="hmm")
def hmm_group():
    """Hidden Markov models: fit one to sequences, decode the hidden states.

    DATA is read as for 'emkit fit'. Rows are the observations in time order; with
    --lengths-column NAME, each run of consecutive rows with the same value in column NAME
    is one sequence (that column is not a feature, and may hold text). Without it the whole
    file is one sequence.
    """


_LENGTHS_HELP = ("Column of sequence ids: each run of consecutive rows with the same id is "
                 "one sequence, in file order. The column is not a feature. Left out: the "
                 "whole file is one sequence.")


@hmm_group.command(name="fit")
@click.argument("data", type=click.Path(path_type=Path, dir_okay=True))
@click.option("-k", "--states", "states", type=click.IntRange(min=1), required=True,
              help="Number of hidden states.")
@click.option("--lengths-column", "lengths_column", default=None, metavar="NAME",
              help=_LENGTHS_HELP)
@click.option("--model", "model_kind", type=click.Choice(_HMM_MODELS, case_sensitive=False),
              default="gaussian", show_default=True,
              help="Emissions: gaussian (real values), categorical (one column of integer "
                   "symbols 0, 1, ...) or poisson (non-negative integer counts).")
@click.option("--covariance-type", "covariance_type",
              type=click.Choice(_COVARIANCE_TYPES, case_sensitive=False), default="diag",
              show_default=True, help="Covariance of the Gaussian emissions.")
@click.option("--n-iter", type=click.IntRange(min=1), default=100, show_default=True,
              help="Most Baum-Welch (EM) iterations.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-2, show_default=True,
              help="Stop when the log-likelihood gains less than this.")
@click.option("--n-init", type=click.IntRange(min=1), default=1, show_default=True,
              help="EM runs from different starts (seeds SEED, SEED+1, ...); the one with "
                   "the highest log-likelihood is kept.")
@click.option("--random-state", "--seed", "random_state", type=int, default=0,
              show_default=True, help="Random seed of the starting values.")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="MODEL",
              help="Save the fitted model as MODEL.json + MODEL.npz (read it back with "
                   "'emkit hmm decode' or emkit.load).")
@_table_options
@click.pass_context
def hmm_fit(ctx, data, states, lengths_column, model_kind, covariance_type, n_iter, tol,
            n_init, random_state, output, table):
    """Fit a hidden Markov model to the sequences in DATA and print a summary."""
    import numpy as np

    model_kind = model_kind.lower()
    covariance_type = covariance_type.lower()
    if model_kind != "gaussian" and ctx.get_parameter_source("covariance_type") != \
            click.core.ParameterSource.DEFAULT:
        raise click.BadParameter(f"only a gaussian model has a covariance type, not a "
                                 f"{model_kind} one", ctx=ctx,
                                 param_hint="'--covariance-type'")
    check_outputs([(data, "DATA")], _model_outputs(output, "-o"))
    data_table, lengths, _, where = _read_sequences(data, lengths_column, table)
    names = data_table.names
    X = _check_symbols(data_table.X, names, data, model_kind, where)
    n_rows, n_cols = X.shape
    if states > n_rows:
        raise click.ClickException(f"--states {states} is larger than the number of rows "
                                   f"({n_rows}) in {data}")
    n_seq = 1 if lengths is None else len(lengths)
    spread = "" if lengths is None else (
        f", lengths {lengths.min()}" if lengths.min() == lengths.max() else
        f", lengths {lengths.min()}..{lengths.max()}")
    click.echo(f"data: {data}  {n_rows} rows x {n_cols} columns  {n_seq} "
               f"sequence{'s' if n_seq != 1 else ''}{spread}")
    params = dict(n_iter=n_iter, tol=tol)
    if model_kind == "gaussian":
        params["covariance_type"] = covariance_type
    model, best = None, -np.inf
    counts = [0, n_init if n_init > 1 else 0]
    with _status(f"fitting a {model_kind} HMM with {states} states", counts,
                 verbose=table.verbose):
        for run in range(n_init):
            candidate = _hmm_class(model_kind)(states, random_state=random_state + run,
                                               **params).fit(X, lengths)
            score = candidate.score(X, lengths) if n_init > 1 else 0.0
            if model is None or score > best:
                model, best = candidate, score
            counts[0] = run + 1
    _name_model(model, data_table)
    _print_hmm(model, model_kind, X, lengths, names)
    if output is not None:
        model.save(output)
        json_path, npz_path = _model_paths(output)
        click.echo(f"saved model: {json_path} + {npz_path.name}")


@hmm_group.command(name="decode")
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--lengths-column", "lengths_column", default=None, metavar="NAME",
              help=_LENGTHS_HELP)
@click.option("--algorithm", type=click.Choice(("viterbi", "map"), case_sensitive=False),
              default="viterbi", show_default=True,
              help="viterbi: the most likely path of states; map: each row's most likely "
                   "state.")
@click.option("--proba", is_flag=True,
              help="Also write each row's state probabilities p0 ... p(K-1), which sum to 1.")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="CSV",
              help="Write the CSV to this file instead of standard output.")
@_table_options
def hmm_decode(model, data, lengths_column, algorithm, proba, output, table):
    """Decode the hidden states of the sequences in DATA with MODEL.

    MODEL is a model saved by 'emkit hmm fit -o'. Writes a CSV with a header: the sequence
    id (with --lengths-column), the row's index within its sequence, its state and, with
    --proba, the state probabilities.
    """
    import csv

    import numpy as np

    from . import hmm, load  # noqa: F401 (importing emkit.hmm lets load() read HMM files)

    if model.suffix.lower() not in ("", ".json", ".npz") and model.is_file():
        raise click.ClickException(
            f"{model}: not an emkit model; give the MODEL.json (or MODEL.npz, or the stem "
            "MODEL) written by 'emkit hmm fit -o MODEL'")
    check_suffix(output, _CSV_SUFFIXES, "CSV", "-o")
    check_outputs([(data, "DATA")] + _model_inputs(model), [(output, "-o")])
    fitted = load(model)
    kind = _hmm_kind(fitted)
    if kind is False:
        raise click.ClickException(
            f"{model}: a {type(fitted).__name__} model is not a hidden Markov model; give "
            "one written by 'emkit hmm fit -o MODEL'")
    data_table, lengths, ids, where = _read_sequences(
        data, lengths_column, table, expected=getattr(fitted, "feature_names_in_", None))
    X = _check_symbols(data_table.X, data_table.names, data, kind, where)
    expected = fitted.n_features_in_
    if X.shape[1] != expected:
        raise click.ClickException(f"{data} has {X.shape[1]} feature columns, the model was "
                                   f"fitted to {expected}")
    log_prob, states = fitted.decode(X, lengths, algorithm=algorithm.lower())
    posteriors = fitted.predict_proba(X, lengths) if proba else None
    if lengths is None:
        lengths = np.array([len(X)])
    position = np.arange(len(X)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    header = ([lengths_column] if ids is not None else []) + ["index", "state"]
    if posteriors is not None:
        header += [f"p{k}" for k in range(posteriors.shape[1])]
    row_ids = np.repeat(np.array(ids, dtype=object), lengths) if ids is not None else None

    def write(stream):
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        for i in range(len(X)):
            row = [row_ids[i]] if row_ids is not None else []
            row += [int(position[i]), int(states[i])]
            if posteriors is not None:
                row += [f"{p:.10g}" for p in posteriors[i]]
            writer.writerow(row)

    if output is None:
        write(sys.stdout)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="") as f:
            write(f)
        click.echo(f"wrote {len(X)} rows ({len(lengths)} sequence"
                   f"{'s' if len(lengths) != 1 else ''}) to {output}; "
                   f"{algorithm.lower()} log-probability = {log_prob:.4f}")


def _add_model_commands():
    """The commands each model family defines next to its code."""
    from .motif._cli import command as motif_command
    from .segment._cli import command as segment_command
    from .topics._cli import command as topics_command

    for command in (segment_command, motif_command, topics_command):
        main.add_command(command)


_add_model_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
