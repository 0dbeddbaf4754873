"""Assembling the one-file HTML report."""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path

import numpy as np

from . import _plots

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f2f2f2; } tr.best { background: #e8f4e8; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; }
.figures { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
"""


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _table(header, rows, best_index=None) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row)
        cls = ' class="best"' if i == best_index else ""
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def write_report(model, X, path, *, selection=None, title="emkit report",
                 feature_names=None) -> Path:
    """Write a self-contained HTML report of a fitted GaussianMixture on data X.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    path : str or Path
        Where to write the HTML file (written atomically).
    selection : SelectionResult, default=None
        When given, the criterion-against-K plot and the whole table are included.
    title : str
    feature_names : list of str, default=None

    Returns
    -------
    Path
        The written file.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = model.predict(X)
    resp = model.predict_proba(X)
    names = list(feature_names) if feature_names is not None else [
        f"x{j}" for j in range(X.shape[1])]
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>{X.shape[0]} rows x {X.shape[1]} features; Gaussian mixture with "
             f"K = {model.n_components}, covariance '{model.covariance_type}'; "
             f"mean log-likelihood {model.score(X):.4f}; {model.n_iter_} iterations; "
             f"converged: {model.converged_}.</p>"]
    figures = []
    if selection is not None:
        figures.append(_image(_plots.criterion_plot(selection.table, selection.criterion),
                              f"{selection.criterion} against K"))
    figures.append(_image(_plots.convergence_plot(
        getattr(model, "restart_lower_bounds_", [model.lower_bounds_])),
        "log-likelihood per iteration"))
    figures.append(_image(_plots.cluster_plot(model, X, labels), "rows by component"))
    figures.append(_image(_plots.uncertainty_plot(resp), "assignment uncertainty"))
    parts.append('<div class="figures">' + "".join(figures) + "</div>")
    parts.append("<h2>Fitted parameters</h2>")
    counts = np.bincount(labels, minlength=model.n_components)
    rows = [[k, model.weights_[k], counts[k], *model.means_[k]]
            for k in range(model.n_components)]
    parts.append(_table(["component", "weight", "rows assigned",
                         *[f"mean {n}" for n in names]], rows))
    covariances = _plots.full_covariances(model)
    rows = [[k, *np.sqrt(np.diag(covariances[k]))] for k in range(model.n_components)]
    parts.append(_table(["component", *[f"sd {n}" for n in names]], rows))
    if selection is not None:
        parts.append(f"<h2>Model selection ({selection.criterion.upper()}, lower is better)</h2>")
        header = list(selection.table[0])
        best = min(range(len(selection.table)),
                   key=lambda i: selection.table[i][selection.criterion])
        parts.append(_table(header, [[r[h] for h in header] for r in selection.table], best))
    document = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
                + "\n".join(parts) + "</body></html>")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                               prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(document)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the report from others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
