"""Assembling the one-file HTML report (figures inline as SVG, nothing fetched)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..io import write_atomic
from . import _plots, _render
from ._fit_figure import PLOT_AREA, fit_figure, prepare
from ._format import format_column, format_value, header

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
p.provenance { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f2f2f2; } td.text, th.text { text-align: left; }
tr.chosen { background: #e8f4e8; font-weight: bold; }
tr.degenerate { color: #8a1c1c; font-style: italic; }
.warning { color: #8a1c1c; }
svg.figure { max-width: 100%; height: auto; }
figure { margin: 0; }
.figures { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
"""


def _figure(fig, name: str, caption: str, plot_area=None) -> str:
    attributes = None
    if plot_area is not None:
        ax = fig.axes[0]
        attributes = lambda: {plot_area: _render.plot_area_attributes(ax)}  # noqa: E731
    svg = _render.inline_svg(fig, name, attributes)
    return f'<figure aria-label="{html.escape(caption)}">{svg}</figure>'


def _table(columns, rows, row_classes=None, row_attributes=None) -> str:
    """An HTML table; ``rows`` are lists of raw values, formatted per column."""
    cells = [format_column(column) for column in zip(*rows)] if rows else []
    text = [not all(isinstance(v, (int, float, np.number)) for v in column)
            for column in zip(*rows)] if rows else [False] * len(columns)
    head = "".join(f'<th{" class=text" if t else ""}>{html.escape(c)}</th>'
                   for c, t in zip(columns, text))
    body = []
    for i in range(len(rows)):
        attrs = ""
        if row_classes and row_classes[i]:
            attrs += f' class="{" ".join(row_classes[i])}"'
        for key, value in (row_attributes[i] if row_attributes else {}).items():
            attrs += f' {key}="{html.escape(str(value))}"'
        row = "".join(f'<td{" class=text" if t else ""}>{html.escape(column[i])}</td>'
                      for column, t in zip(cells, text))
        body.append(f"<tr{attrs}>{row}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _provenance(source, n_rows, n_features) -> str:
    from .. import __version__

    written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = f"data: {source} ({n_rows} rows x {n_features} columns)" if source is not None \
        else f"data: {n_rows} rows x {n_features} columns"
    return (f'<p class="provenance" id="provenance">emkit {html.escape(__version__)} · '
            f"written {written} · {html.escape(data)}</p>")


def _settings_table(settings) -> str:
    if not isinstance(settings, Mapping):
        raise TypeError(f"settings must be a dict of name -> value; got "
                        f"{type(settings).__name__}.")
    # as the user gave them: 0.001 stays 0.001
    rows = [[str(name), f"{value:.12g}" if isinstance(value, float) else format_value(value)]
            for name, value in settings.items()]
    return "<h2>Settings</h2>" + _table(["Setting", "Value"], rows)


def _degenerate_components(model) -> set:
    return set(np.atleast_1d(getattr(model, "degenerate_components_", [])).tolist())


def _summary(model, X) -> str:
    degenerate = sorted(_degenerate_components(model))
    text = (f"<p>Gaussian mixture with K = {model.n_components} components, covariance "
            f"'{html.escape(model.covariance_type)}'; mean log-likelihood "
            f"{format_value(float(model.score(X)), 6)}; {model.n_iter_} iterations; "
            f"converged: {format_value(bool(model.converged_))}.</p>")
    if degenerate:
        text += ('<p class="warning" id="degenerate-fit">Degenerate fit: component(s) '
                 f"{', '.join(map(str, degenerate))} collapsed (too few rows, or a covariance "
                 "at the reg_covar floor); do not trust their parameters.</p>")
    return text


def _parameter_tables(model, names, labels) -> str:
    K = model.n_components
    degenerate = _degenerate_components(model)
    counts = np.bincount(labels, minlength=K)
    means = np.asarray(model.means_, dtype=np.float64)
    classes = [["degenerate"] if k in degenerate else [] for k in range(K)]
    rows = [[k, float(model.weights_[k]), int(counts[k]), *means[k]] for k in range(K)]
    parts = [_table(["Component", "Weight", "Rows assigned", *[f"Mean {n}" for n in names]],
                    rows, classes)]
    sds = np.sqrt(np.maximum(np.diagonal(_plots.full_covariances(model), axis1=1, axis2=2), 0))
    rows = [[k, *sds[k]] for k in range(K)]
    parts.append(_table(["Component", *[f"SD {n}" for n in names]], rows, classes))
    return "".join(parts)


def _cell(value):
    """A selection table's value; NaN (a singular fit's criteria) as mclust's NA."""
    return "NA" if isinstance(value, float) and math.isnan(value) else value


def _selection_table(selection) -> str:
    table = selection.table
    chosen = _plots.chosen_row(selection)
    keys = list(table[0])
    rows = [["chosen" if i == chosen else "", *[_cell(row[key]) for key in keys]]
            for i, row in enumerate(table)]
    classes = [(["chosen"] if i == chosen else []) + (["degenerate"] if row.get("degenerate")
                                                     else [])
               for i, row in enumerate(table)]
    attributes = [{"data-n-components": row["n_components"],
                   "data-covariance-type": row["covariance_type"]} for row in table]
    criterion = selection.criterion.upper()
    return (f"<h2>Model selection ({criterion}, lower is better)</h2>"
            f"<p>The chosen model has the lowest {criterion} among the fits that are not "
            "degenerate (rows in red italics have a singular or a collapsed component; a "
            "singular fit, with fewer rows in a component than its covariance needs, has no "
            "estimate: NA, as in mclust).</p>"
            + _table(["", *[header(key) for key in keys]], rows, classes, attributes))


def write_report(model, X, path, selection=None, feature_names=None, source=None,
                 settings=None, *, title="emkit report") -> Path:
    """Write a self-contained HTML report of a fitted GaussianMixture on data X.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    path : str or Path
        Where to write the HTML file (written atomically).
    selection : SelectionResult, default=None
        The result of :func:`emkit.mixture.select`: adds the criterion against K and the
        table of every fit, with ``selection.best_`` highlighted and degenerate fits marked.
    feature_names : list of str, default=None
        Column names; ``model.feature_names_in_`` when present, else x0, x1, ...
    source : str, default=None
        The data file's name, shown in the report.
    settings : dict, default=None
        Settings of the run (name -> value), shown as a small table.
    title : str, default="emkit report"

    Returns
    -------
    Path
        The written file.
    """
    data, names = prepare(model, X, feature_names)
    labels = model.predict(X)
    resp = model.predict_proba(X)
    parts = [f"<h1>{html.escape(title)}</h1>", _provenance(source, *data.shape)]
    if settings is not None:
        parts.append(_settings_table(settings))
    parts.append(_summary(model, X))
    parts.append(_figure(fit_figure(model, data, names, labels), "fit",
                         "the data and the fitted mixture", PLOT_AREA))
    figures = []
    if selection is not None:
        figures.append(_figure(_plots.criterion_plot(selection), "criterion",
                               f"{selection.criterion.upper()} against K",
                               _plots.CRITERION_PLOT_AREA))
    figures.append(_figure(_plots.convergence_plot(
        getattr(model, "restart_lower_bounds_", [model.lower_bounds_])), "convergence",
        "log-likelihood per iteration"))
    figures.append(_figure(_plots.uncertainty_plot(resp), "uncertainty",
                           "assignment uncertainty"))
    parts.append('<div class="figures">' + "".join(figures) + "</div>")
    parts.append("<h2>Fitted parameters</h2>")
    parts.append(_parameter_tables(model, names, labels))
    if selection is not None:
        parts.append(_selection_table(selection))
    document = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
                + "\n".join(parts) + "</body></html>")
    path = Path(path)
    write_atomic(path, document.encode("utf-8"))
    return path
