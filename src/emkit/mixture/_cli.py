"""The Gaussian mixture commands: ``emkit fit``, ``emkit predict`` and ``emkit report``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._cli_support import (
    COVARIANCE_TYPES,
    CSV_SUFFIXES,
    HTML_SUFFIXES,
    Command,
    TableOptions,
    check_outputs,
    check_suffix,
    model_inputs,
    model_outputs,
    name_model,
    option,
    read_table,
    save_model,
    status,
    table_options,
    warnings_as_lines,
)


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
    """A comma list of covariance types (scikit-learn's or mclust's names), ``all``
    (scikit-learn's four) or ``mclust`` (mclust's grid)."""

    name = "TYPE[,TYPE...]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        from ._select import MCLUST_MODELS, MCLUST_UNIVARIATE_MODELS

        mclust_names = MCLUST_MODELS + MCLUST_UNIVARIATE_MODELS
        chosen = []
        for part in str(value).split(","):
            part = part.strip()
            if part.lower() == "all":
                names = COVARIANCE_TYPES
            elif part.lower() in COVARIANCE_TYPES + ("mclust",):
                names = (part.lower(),)
            elif part.upper() in mclust_names:
                names = (part.upper(),)
            else:
                self.fail(f"{part!r} is not a covariance type; choose from "
                          f"{', '.join(COVARIANCE_TYPES)}, all, mclust's names "
                          f"({', '.join(mclust_names)}) or mclust (its whole grid); a comma "
                          "list is allowed", param, ctx)
            chosen.extend(n for n in names if n not in chosen)
        if "mclust" in chosen and len(chosen) > 1:
            self.fail("mclust (mclust's whole grid) is given alone", param, ctx)
        return tuple(chosen)


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


def _settings(ctx) -> dict:
    """The command's arguments and options as given, for the report: the name --help shows
    (DATA, --n-components, ...) -> the value as text."""
    settings = {}
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value is False:
            continue
        if isinstance(param, click.Option):
            old = getattr(param, "old_spellings", ())
            name = max((n for n in param.opts if n not in old), key=len)
        else:
            name = param.human_readable_name
        settings[name] = (", ".join(map(str, value)) if isinstance(value, (tuple, range))
                          else str(value))
    return settings


@click.command(cls=Command)
@click.argument("data", type=click.Path(path_type=Path, dir_okay=True))
@click.option("-k", "--n-components", "components", type=_Components(), default="1..10",
              show_default=True,
              help="Number of components K, or a range A..B to choose K from by the "
                   "criterion. Left out: 1..10, cut to the number of rows.")
@option("--covariance-type", "covariance", old=("--covariance",), type=_CovarianceTypes(),
        default="full",
        show_default=True,
        help="Covariance type: full, tied, diag, spherical, mclust's names (EII, VII, EEI, "
             "VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV; E, V for one column), "
             "a comma list of them, all (scikit-learn's four), or mclust (mclust's grid from "
             "its hierarchical start, as Mclust). Several types are compared by the "
             "criterion.")
@click.option("--prior", type=click.Choice(["none", "default"], case_sensitive=False),
              default="none", show_default=True,
              help="default: mclust's conjugate prior (priorControl()), a MAP fit of mclust's "
                   "models; mclust leaves EVE, VEE, VVE and EVV out of its grid then.")
@click.option("--criterion", type=click.Choice(["bic", "aic", "icl"], case_sensitive=False),
              default="bic", show_default=True,
              help="Information criterion that picks the model (lower is better).")
@click.option("--n-init", type=click.IntRange(min=1), default=1, show_default=True,
              help="EM runs from different starts per model; the best is kept.")
@option("--random-state", "seed", old=("--seed",), type=int, default=0, show_default=True,
        help="Random seed, for reproducible fits.")
@option("-j", "--n-jobs", "jobs", old=("--jobs",), type=int, default=1, show_default=True,
        help="When choosing among several models, fit them in this many processes (-1: one "
             "per CPU core).")
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
@table_options
@click.pass_context
def fit(ctx, data, components, covariance, criterion, n_init, seed, jobs, output, report,
        plot, table, prior="none"):
    """Fit a Gaussian mixture to DATA and print a summary.

    With one K and one covariance type this fits that mixture. With a range of K (-k 1..10)
    or several covariance types it fits every combination and keeps the best by the
    criterion, printing the table of all fits. Missing values are marginalised.
    """
    from .. import GaussianMixture

    if jobs == 0:
        raise click.BadParameter("0 is not a number of processes (use 1, N or -1)",
                                 ctx=ctx, param_hint="'-j' / '--n-jobs'")
    check_suffix(report, HTML_SUFFIXES, "an HTML report", "--report")
    check_suffix(plot, (".png",), "a PNG image", "--plot")
    check_outputs([(data, "DATA")], model_outputs(output, "-o") + [(report, "--report"),
                                                                   (plot, "--plot")])
    data_table = read_table(data, table, allow_missing=True)
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
    extra = {} if prior.lower() == "none" else dict(prior=prior.lower())
    as_mclust = covariance == ("mclust",)
    if as_mclust:
        extra["init_params"] = "hierarchical"
    if len(components) == 1 and len(covariance) == 1 and not as_mclust:
        model = GaussianMixture(components.start, covariance_type=covariance[0],
                                n_init=n_init, random_state=seed, **extra)
        with status(f"fitting K={components.start} {covariance[0]}", verbose=table.verbose):
            model.fit(X)
    else:
        from . import select
        from ._select import MCLUST_MODELS_WITHOUT_PRIOR, mclust_model_names

        if as_mclust:  # the models select fits for mclust's grid
            covariance = tuple(name for name in mclust_model_names(n_cols)
                               if not extra.get("prior")
                               or name not in MCLUST_MODELS_WITHOUT_PRIOR)
        n_fits = len(components) * len(covariance)
        with warnings_as_lines(quiet=True), status(
                f"fitting {n_fits} models (K={components.start}..{components.stop - 1}, "
                f"{', '.join(covariance)})", n_fits, verbose=table.verbose) as progress:
            try:
                result = select(X, n_components=components,
                                covariance_types="mclust" if as_mclust else covariance,
                                criterion=criterion, n_init=n_init, random_state=seed,
                                n_jobs=jobs, progress=progress, **extra)
            except ValueError as exc:
                import numpy as np

                if not np.isnan(X).any() or "nan" not in str(exc).lower():
                    raise
                raise click.ClickException(
                    f"{data} has missing values, and choosing among several models with "
                    "missing values needs an emkit.mixture.select that accepts them; give "
                    "one K and one covariance type (-k 3 --covariance-type full), or fill "
                    "the values in first with 'emkit impute'") from exc
        model = result.best_
        _print_table(result.table, criterion, model)
    name_model(model, data_table)
    _print_model(model, _model_input(model, X), names)
    if output is not None:
        save_model(model, output)
    if report is not None:
        from ..report import write_report

        write_report(model, X, report, selection=result, feature_names=names,
                     source=str(data), settings=_settings(ctx))
        click.echo(f"report: {report}")
    if plot is not None:
        from ..report import plot_fit

        plot_fit(model, X, plot, feature_names=names)
        click.echo(f"plot: {plot}")
    _note_missing(X, data)


def _mixture_and_data(model, data, table: TableOptions, command: str):
    """A saved Gaussian mixture and the rows of DATA it applies to: the columns found by
    the names the model was fitted to when both have names, else taken in order."""
    from .. import GaussianMixture, load
    from ..hmm._base import BaseHMM  # importing emkit.hmm lets load() read HMM files

    if model.suffix.lower() not in ("", ".json", ".npz") and model.is_file():
        raise click.ClickException(
            f"{model}: not an emkit model; give the MODEL.json (or MODEL.npz, or the stem "
            "MODEL) written by 'emkit fit -o MODEL'")
    fitted = load(model)
    if not isinstance(fitted, GaussianMixture):
        hint = (" (for a hidden Markov model: 'emkit hmm decode')"
                if isinstance(fitted, BaseHMM) else "")
        raise click.ClickException(
            f"{model}: a {type(fitted).__name__} model; 'emkit {command}' takes a "
            f"GaussianMixture saved by 'emkit fit -o MODEL'{hint}")
    expected = getattr(fitted, "feature_names_in_", None)
    data_table = read_table(data, table, allow_missing=True, expected=expected)
    X = data_table.X
    if X.shape[1] != fitted.n_features_in_:
        raise click.ClickException(f"{data} has {X.shape[1]} numeric columns, the model was "
                                   f"fitted to {fitted.n_features_in_}")
    return fitted, X, data_table.names


@click.command(cls=Command)
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              required=True, metavar="HTML", help="Where to write the report.")
@table_options
@click.pass_context
def report(ctx, model, data, output, table):
    """Write an HTML report of MODEL (a Gaussian mixture) on DATA.

    The report is one self-contained file. It shows the log-likelihood of each restart per
    iteration, the rows coloured by component with 1- and 2-sigma ellipses (first two
    principal components when there are more than two columns), the assignment uncertainty,
    and the fitted parameters.
    """
    from ..report import write_report

    check_suffix(output, HTML_SUFFIXES, "an HTML report", "-o")
    check_outputs([(data, "DATA")] + model_inputs(model), [(output, "-o")])
    fitted, X, names = _mixture_and_data(model, data, table, "report")
    write_report(fitted, X, output, feature_names=names, source=str(data),
                 settings=_settings(ctx))
    click.echo(f"report: {output}")
    _note_missing(X, data)


@click.command(cls=Command)
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="CSV",
              help="Write the CSV to this file instead of standard output.")
@table_options
def predict(model, data, output, table):
    """Assign the rows of DATA to the components of MODEL.

    MODEL is a model saved by 'emkit fit -o' (MODEL.json + MODEL.npz). Writes a CSV with a
    header: the most probable component of each row (label), then its responsibilities
    p0 ... p(K-1), which sum to 1. A row with missing values is assigned by its observed
    columns.
    """
    import numpy as np

    check_suffix(output, CSV_SUFFIXES, "CSV", "-o")
    check_outputs([(data, "DATA")] + model_inputs(model), [(output, "-o")])
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


