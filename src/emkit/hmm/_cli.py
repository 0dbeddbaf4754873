"""The hidden Markov model commands: ``emkit hmm fit`` and ``emkit hmm decode``."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from .._cli_support import (
    COVARIANCE_TYPES,
    CSV_SUFFIXES,
    Command,
    TableOptions,
    check_outputs,
    check_suffix,
    model_inputs,
    model_outputs,
    name_model,
    option,
    read_data_columns,
    save_model,
    status,
    table_options,
)

_HMM_MODELS = ("gaussian", "categorical", "poisson")


def _format_id(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(
        float(value))


def _read_sequences(data: Path, id_column, table: TableOptions, expected=None):
    """The feature rows of DATA and how they split into sequences.

    Returns ``(data_table, lengths, ids, where)``: the features as a
    emkit._data_files.Table (chosen by the command's options, matched to ``expected``
    names), ``lengths`` of the consecutive runs of equal values of ``id_column`` (None
    without one: a single sequence), ``ids`` the id of each run as text (None without a
    column), ``where(i)`` how to name row i in messages.
    """
    import numpy as np

    from .._data_files import table_of

    columns = read_data_columns(data, table)

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
    from . import CategoricalHMM, GaussianHMM, PoissonHMM

    return {"gaussian": GaussianHMM, "categorical": CategoricalHMM,
            "poisson": PoissonHMM}[model_kind]


def _hmm_kind(model):
    """'gaussian', 'categorical', 'poisson' or, for another HMM, None; False: no HMM."""
    from ._base import BaseHMM

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


@click.group(name="hmm")
def group():
    """Hidden Markov models: fit to sequences, decode hidden states.

    DATA is read as for 'emkit fit'. Rows are the observations in time order; with
    --lengths-column NAME, each run of consecutive rows with the same value in column NAME
    is one sequence (that column is not a feature, and may hold text). Without it the whole
    file is one sequence.
    """


_LENGTHS_HELP = ("Column of sequence ids: each run of consecutive rows with the same id is "
                 "one sequence, in file order. The column is not a feature. Left out: the "
                 "whole file is one sequence.")


@group.command(name="fit", cls=Command)
@click.argument("data", type=click.Path(path_type=Path, dir_okay=True))
@option("-k", "--n-components", "states", old=("--states",), type=click.IntRange(min=1),
        required=True, help="Number of hidden states.")
@click.option("--lengths-column", "lengths_column", default=None, metavar="NAME",
              help=_LENGTHS_HELP)
@click.option("--model", "model_kind", type=click.Choice(_HMM_MODELS, case_sensitive=False),
              default="gaussian", show_default=True,
              help="Emissions: gaussian (real values), categorical (one column of integer "
                   "symbols 0, 1, ...) or poisson (non-negative integer counts).")
@click.option("--covariance-type", "covariance_type",
              type=click.Choice(COVARIANCE_TYPES, case_sensitive=False), default="diag",
              show_default=True, help="Covariance of the Gaussian emissions.")
@option("--max-iter", "n_iter", old=("--n-iter",), type=click.IntRange(min=1), default=100,
        show_default=True, help="Most Baum-Welch (EM) iterations.")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-2, show_default=True,
              help="Stop when the log-likelihood gains less than this.")
@click.option("--n-init", type=click.IntRange(min=1), default=1, show_default=True,
              help="EM runs from different starts (seeds SEED, SEED+1, ...); the one with "
                   "the highest log-likelihood is kept.")
@option("--random-state", "random_state", old=("--seed",), type=int, default=0,
        show_default=True, help="Random seed of the starting values.")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False),
              default=None, metavar="MODEL",
              help="Save the fitted model as MODEL.json + MODEL.npz (read it back with "
                   "'emkit hmm decode' or emkit.load).")
@table_options
@click.pass_context
def hmm_fit(ctx, data, states, lengths_column, model_kind, covariance_type, n_iter, tol,
            n_init, random_state, output, table):
    """Fit a hidden Markov model to the sequences in DATA.

    Prints a summary: the log-likelihood, iterations, convergence, BIC and each state's
    start and stay probabilities and emission parameters.
    """
    model_kind = model_kind.lower()
    covariance_type = covariance_type.lower()
    if model_kind != "gaussian" and ctx.get_parameter_source("covariance_type") != \
            click.core.ParameterSource.DEFAULT:
        raise click.BadParameter(f"only a gaussian model has a covariance type, not a "
                                 f"{model_kind} one", ctx=ctx,
                                 param_hint="'--covariance-type'")
    check_outputs([(data, "DATA")], model_outputs(output, "-o"))
    data_table, lengths, _, where = _read_sequences(data, lengths_column, table)
    names = data_table.names
    X = _check_symbols(data_table.X, names, data, model_kind, where)
    n_rows, n_cols = X.shape
    if states > n_rows:
        raise click.ClickException(f"--n-components {states} is larger than the number of rows "
                                   f"({n_rows}) in {data}")
    n_seq = 1 if lengths is None else len(lengths)
    spread = "" if lengths is None else (
        f", lengths {lengths.min()}" if lengths.min() == lengths.max() else
        f", lengths {lengths.min()}..{lengths.max()}")
    click.echo(f"data: {data}  {n_rows} rows x {n_cols} columns  {n_seq} "
               f"sequence{'s' if n_seq != 1 else ''}{spread}")
    params = dict(n_iter=n_iter, tol=tol, n_init=n_init, random_state=random_state)
    if model_kind == "gaussian":
        params["covariance_type"] = covariance_type
    with status(f"fitting a {model_kind} HMM with {states} states",
                verbose=table.verbose):
        model = _hmm_class(model_kind)(states, **params).fit(X, lengths)
    name_model(model, data_table)
    _print_hmm(model, model_kind, X, lengths, names)
    if output is not None:
        save_model(model, output)


@group.command(name="decode", cls=Command)
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
@table_options
def hmm_decode(model, data, lengths_column, algorithm, proba, output, table):
    """Decode the hidden states of the sequences in DATA with MODEL.

    MODEL is a model saved by 'emkit hmm fit -o'. Writes a CSV with a header: the sequence
    id (with --lengths-column), the row's index within its sequence, its state and, with
    --proba, the state probabilities.
    """
    import csv

    import numpy as np

    from .. import load

    if model.suffix.lower() not in ("", ".json", ".npz") and model.is_file():
        raise click.ClickException(
            f"{model}: not an emkit model; give the MODEL.json (or MODEL.npz, or the stem "
            "MODEL) written by 'emkit hmm fit -o MODEL'")
    check_suffix(output, CSV_SUFFIXES, "CSV", "-o")
    check_outputs([(data, "DATA")] + model_inputs(model), [(output, "-o")])
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


