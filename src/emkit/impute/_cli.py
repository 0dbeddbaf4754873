"""The ``emkit impute`` command: fill in missing values by EM under a Gaussian model."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._cli_support import (
    CSV_SUFFIXES,
    Command,
    check_outputs,
    check_suffix,
    one_line,
    option,
    read_table,
    status,
    table_options,
)


def _named_rows(X, table):
    """X as a DataFrame with the table's column names when they come from the file."""
    if not table.named:
        return X
    import pandas as pd

    return pd.DataFrame(X, columns=list(table.names), copy=False)


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


@click.command(name="impute", cls=Command)
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
@option("-k", "--n-components", "components", old=("--components",),
        type=click.IntRange(min=1), default=1, show_default=True,
        help="Gaussian components: 1 is the multivariate normal; more, a Gaussian mixture.")
@click.option("--max-iter", type=click.IntRange(min=1), default=500, show_default=True,
              help="Most EM iterations.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Stop when the mean log-likelihood per row gains less than this.")
@option("--random-state", "seed", old=("--seed",), type=int, default=0, show_default=True,
        help="Random seed of the starting values (for more than one component).")
@table_options
@click.pass_context
def command(ctx, data, output, std_output, components, max_iter, tol, seed, table):
    """Fill in the missing values of DATA by EM under a Gaussian model.

    Missing values are empty fields, NA, NaN, null, None or ? in text files, NaN in .npy,
    null in Parquet. Each is replaced by its conditional expectation given the row's
    observed values, under a Gaussian (or, with -k K, a K-component mixture) fitted by
    maximum likelihood to all the observed values. Writes a CSV with the same column names
    and the observed values unchanged (written so that they read back exactly). The
    summary goes to standard output, or to standard error when the CSV does.
    """
    import numpy as np

    from . import EMImputer

    if output is not None and str(output) == "-":
        output = None
    if std_output is not None and str(std_output) == "-":
        raise click.BadParameter("the standard deviations need a file, not standard "
                                 "output", ctx=ctx, param_hint="'--std'")
    check_suffix(output, CSV_SUFFIXES, "CSV", "-o")
    check_suffix(std_output, CSV_SUFFIXES, "CSV", "--std")
    check_outputs([(data, "DATA")], [(output, "-o"), (std_output, "--std")])
    data_table = read_table(data, table, allow_missing=True)
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
        with status(f"imputing with K={components}", verbose=table.verbose):
            imputer.fit(named)
            completed, std = imputer.transform(named, return_std=True)
    except np.linalg.LinAlgError as exc:
        raise click.ClickException(
            f"{data}: the fitted covariance is singular ({one_line(exc)}); there are too "
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


