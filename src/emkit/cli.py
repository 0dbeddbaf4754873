"""The ``emkit`` command.

Every expected failure (bad data or model file, bad option value, K larger than the data) ends
the command with exit status 1 (2 for usage errors, as click does) and exactly one line on
stderr, ``emkit: error: <message>``; no traceback. This is done once, in :class:`_Group`,
not per command.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
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


# -- progress --------------------------------------------------------------------------------
@contextlib.contextmanager
def _status(message: str, counts=None):
    """A one-line status with elapsed seconds on stderr, only when stderr is a terminal;
    with ``counts`` (a [done, total] list the work updates) it shows a progress bar."""
    stream = sys.stderr
    try:
        live = stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        live = False
    if not live:
        yield
        return
    start = time.monotonic()
    stop = threading.Event()

    def show():
        while True:
            bar = ""
            if counts is not None and counts[1]:
                done, total = counts
                filled = int(20 * done / total)
                bar = f" [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}"
            stream.write(f"\r\033[Kemkit: {message}{bar} {time.monotonic() - start:.0f}s")
            stream.flush()
            if stop.wait(0.5):
                return

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stream.write("\r\033[K")
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
               "aic", "icl", "converged", "n_iter")
    heads = ("K", "covariance", "log-lik", "params", "BIC", "AIC", "ICL", "converged",
             "iter")
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
    click.echo(f"criterion table ({criterion.upper()}, lower is better; * = chosen):")
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


# -- commands --------------------------------------------------------------------------------
@click.group(name="emkit", cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="emkit")
def main():
    """Fit latent-variable models by Expectation-Maximisation.

    DATA files are CSV or TSV text (delimiter sniffed, header detected), NumPy .npy
    (one 2-D array) or Parquet (needs pyarrow). Every column must be numeric, without
    missing values.
    """


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
@click.option("--drop-non-numeric", is_flag=True,
              help="Drop non-numeric columns of DATA instead of refusing the file.")
@click.pass_context
def fit(ctx, data, components, covariance, criterion, n_init, seed, jobs, output, report,
        drop_non_numeric):
    """Fit a Gaussian mixture to DATA and print a summary.

    With one K and one covariance type this fits that mixture. With a range of K (-k 1..10)
    or several covariance types it fits every combination and keeps the best by the
    criterion, printing the table of all fits.
    """
    from . import GaussianMixture
    from ._data_files import read_table

    if jobs == 0:
        raise click.BadParameter("0 is not a number of processes (use 1, N or -1)",
                                 ctx=ctx, param_hint="'-j' / '--jobs'")
    for target in (output, report):
        if target is not None and not target.parent.is_dir():
            raise click.ClickException(f"{target}: the folder {target.parent} does not exist")
    X, names = read_table(data, drop_non_numeric=drop_non_numeric)
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
        with _warnings_as_lines(), _status(
                f"fitting K={components.start} {covariance[0]} ..."):
            model.fit(X)
    else:
        select = _select_function()
        n_fits = len(components) * len(covariance)
        counts = [0, n_fits]

        def progress(done, total):
            counts[:] = [done, total]

        with _warnings_as_lines(quiet=True), _status(
                f"fitting {n_fits} models (K={components.start}..{components.stop - 1}, "
                f"{', '.join(covariance)})", counts):
            result = select(X, n_components=components, covariance_types=covariance,
                            criterion=criterion, n_init=n_init, random_state=seed,
                            n_jobs=jobs, progress=progress)
        model = result.best_
        _print_table(result.table, criterion, model)
    _print_model(model, X, names)
    if output is not None:
        model.save(output)
        json_path, npz_path = _model_paths(output)
        click.echo(f"saved model: {json_path} + {npz_path.name}")
    if report is not None:
        from .report import write_report

        write_report(model, X, report, selection=result, feature_names=names,
                     title=f"emkit: {data.name}")
        click.echo(f"report: {report}")


def _model_and_data(model, data, drop_non_numeric):
    """A saved mixture and the numeric rows of DATA it can be applied to."""
    from . import load
    from ._data_files import read_table

    if model.suffix.lower() not in ("", ".json", ".npz") and model.is_file():
        raise click.ClickException(
            f"{model}: not an emkit model; give the MODEL.json (or MODEL.npz, or the stem "
            "MODEL) written by 'emkit fit -o MODEL'")
    fitted = load(model)
    if not hasattr(fitted, "predict_proba"):
        raise click.ClickException(f"{model}: a {type(fitted).__name__} model cannot assign "
                                   "rows to components")
    X, names = read_table(data, drop_non_numeric=drop_non_numeric)
    expected = getattr(fitted, "n_features_in_", X.shape[1])
    if X.shape[1] != expected:
        raise click.ClickException(f"{data} has {X.shape[1]} numeric columns, the model was "
                                   f"fitted to {expected}")
    return fitted, X, names


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              required=True, metavar="HTML", help="Where to write the report.")
@click.option("--drop-non-numeric", is_flag=True,
              help="Drop non-numeric columns of DATA instead of refusing the file.")
def report(model, data, output, drop_non_numeric):
    """Write a self-contained HTML report of MODEL applied to DATA.

    The report shows the log-likelihood of each restart per iteration, the rows coloured by
    component with 1- and 2-sigma ellipses (first two principal components when there are
    more than two columns), the assignment uncertainty, and the fitted parameters.
    """
    from .report import write_report

    if not output.parent.is_dir():
        raise click.ClickException(f"{output}: the folder {output.parent} does not exist")
    fitted, X, names = _model_and_data(model, data, drop_non_numeric)
    write_report(fitted, X, output, feature_names=names, title=f"emkit: {data.name}")
    click.echo(f"report: {output}")


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="CSV",
              help="Write the CSV to this file instead of standard output.")
@click.option("--drop-non-numeric", is_flag=True,
              help="Drop non-numeric columns of DATA instead of refusing the file.")
def predict(model, data, output, drop_non_numeric):
    """Assign the rows of DATA to the components of MODEL.

    MODEL is a model saved by 'emkit fit -o' (MODEL.json + MODEL.npz). Writes a CSV with a
    header: the most probable component of each row (label), then its responsibilities
    p0 ... p(K-1), which sum to 1.
    """
    import numpy as np

    fitted, X, _ = _model_and_data(model, data, drop_non_numeric)
    proba = fitted.predict_proba(X)
    labels = fitted.predict(X)
    header = ",".join(["label"] + [f"p{k}" for k in range(proba.shape[1])])
    table = np.column_stack([labels, proba])
    fmt = ["%d"] + ["%.10g"] * proba.shape[1]
    if output is None:
        np.savetxt(sys.stdout, table, fmt=fmt, delimiter=",", header=header, comments="")
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="") as f:
            np.savetxt(f, table, fmt=fmt, delimiter=",", header=header, comments="")
        click.echo(f"wrote {len(labels)} rows x {proba.shape[1]} components to {output}")


@main.command()
@click.option("--seed", default=0, show_default=True, help="Random seed of the fits.")
@click.option("--report", "report", type=click.Path(path_type=Path, dir_okay=False),
              default="emkit-demo-report.html", show_default=True, metavar="HTML",
              help="Where to write the HTML report of the iris fits.")
def demo(seed, report):
    """Fit Gaussian mixtures to bundled data (iris, and a synthetic set with a known
    answer), print what was found, and write the HTML report."""
    from .demo import run_demo

    run_demo(seed=seed, report=report)


if __name__ == "__main__":  # pragma: no cover
    main()
