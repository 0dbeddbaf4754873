"""The picture of a fit: the data in their own units with what the mixture says about them.

One column: a histogram on the density scale, each component's weighted density and the
mixture density over it. Two columns: the rows coloured by component, in data units, with
1- and 2-sigma ellipses centred on the fitted means. More columns: the same on the first two
principal components of the centred data, named so on the axes.

Elements carry ids in the SVG so that the page can be checked: the plot area is
``fit-plot-area`` (with its data limits, see ``_render``), ellipses ``ellipse-{k}-{s}sigma``,
histogram bars ``histogram-bar-{i}``, densities ``density-component-{k}`` and
``density-mixture``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from ..io import write_atomic
from . import _render
from ._plots import full_covariances

PLOT_AREA = "fit-plot-area"
#: At most this many rows are drawn as points (a random subset of them, always the same).
MAX_POINTS = 20_000
_MAX_BINS = 200
_PLOT_FORMATS = ("png", "svg", "pdf")


def prepare(model, X, feature_names=None):
    """Check a fitted mixture, its data and the column names; return (X, names).

    X comes back as a float64 array (missing values stay NaN); names default to the
    model's ``feature_names_in_``, then to a DataFrame's columns, then to x0, x1, ...
    """
    check_is_fitted(model, "means_")
    names = feature_names
    if names is None:
        names = getattr(model, "feature_names_in_", None)
    if names is None and hasattr(X, "columns"):
        names = X.columns
    X = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=1)
    n_features = model.means_.shape[1]
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, the model was fitted to {n_features}.")
    names = [f"x{j}" for j in range(n_features)] if names is None else [str(n) for n in names]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} names for {n_features} features.")
    return X, names


def fit_figure(model, X, names, labels=None):
    """The figure of the fit (see the module's description).

    Parameters
    ----------
    model : fitted GaussianMixture
    X : ndarray of shape (n_samples, n_features)
        As returned by :func:`prepare`.
    names : list of str
    labels : ndarray of shape (n_samples,), default=None
        The component of each row (``model.predict(X)`` when None); unused for 1-D data.

    Returns
    -------
    matplotlib Figure
    """
    if X.shape[1] == 1:
        return _histogram_figure(model, X[:, 0], names[0])
    if labels is None:
        labels = model.predict(X)
    return _scatter_figure(model, X, np.asarray(labels), names)


def _bin_edges(x):
    """numpy's 'auto' bins, at most 200; for whole numbers (counts, rounded measurements),
    bins of a whole width centred on the values (one per value when there are at most 100),
    so that no bin straddles a value."""
    edges = np.histogram_bin_edges(x, bins="auto")
    if len(edges) - 1 > _MAX_BINS:
        edges = np.histogram_bin_edges(x, bins=_MAX_BINS)
    if len(x) and np.all(x == np.round(x)):
        low, high = x.min(), x.max()
        step = 1.0 if high - low < 100 else max(np.ceil(edges[1] - edges[0]),
                                                 np.ceil((high - low + 1) / _MAX_BINS))
        edges = low - 0.5 + step * np.arange(np.ceil((high - low + 1) / step) + 1)
    return edges


def _histogram_figure(model, x, name):
    from scipy.stats import norm

    fig = _render.new_figure(6.4, 4.6)
    ax = fig.add_subplot()
    _render.mark_plot_area(ax, PLOT_AREA)
    x = x[np.isfinite(x)]
    edges = _bin_edges(x)
    heights, _, bars = ax.hist(x, bins=edges, density=True, color="0.82", edgecolor="0.55",
                               linewidth=0.5, label="data (density)")
    for i, bar in enumerate(bars):
        bar.set_gid(f"histogram-bar-{i}")
    means = np.asarray(model.means_, dtype=np.float64)[:, 0]
    sds = np.sqrt(np.maximum(full_covariances(model)[:, 0, 0], 0.0))
    weights = np.asarray(model.weights_, dtype=np.float64)
    pad = 0.05 * (edges[-1] - edges[0])
    grid = np.union1d(np.linspace(edges[0] - pad, edges[-1] + pad, 600),
                      means[(means >= edges[0] - pad) & (means <= edges[-1] + pad)])
    densities = weights[:, None] * norm.pdf(grid[None, :], means[:, None],
                                            np.maximum(sds, np.finfo(float).tiny)[:, None])
    degenerate = set(np.atleast_1d(getattr(model, "degenerate_components_", [])).tolist())
    for k, density in enumerate(densities):
        note = ", degenerate" if k in degenerate else ""
        (line,) = ax.plot(grid, density, color=f"C{k % 10}", linewidth=2,
                          linestyle=":" if k in degenerate else "-",
                          label=f"component {k} (weight {weights[k]:.3g}{note})")
        line.set_gid(f"density-component-{k}")
    (line,) = ax.plot(grid, densities.sum(axis=0), color="black", linewidth=1.2,
                      linestyle="--", label="mixture")
    line.set_gid("density-mixture")
    # a collapsed component is a spike of any height: keep the histogram readable
    peak = heights.max() if len(heights) else 1.0
    top = max(peak, min(densities.sum(axis=0).max(), 3 * peak)) * 1.08
    ax.set_ylim(0, top)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_xlabel(name)
    ax.set_ylabel("density")
    clipped = " (peaks cut)" if densities.sum(axis=0).max() > top else ""
    ax.set_title(f"Histogram of {name} with the fitted densities{clipped}")
    ax.legend(fontsize="small")
    return fig


def _projection(X):
    """(centre, basis, variance share): the first two principal axes of the centred rows."""
    centre = X.mean(axis=0)
    _, singular, vt = np.linalg.svd(X - centre, full_matrices=False)
    variance = singular ** 2
    share = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return centre, vt[:2].T, share


def _scatter_figure(model, X, labels, names):
    from matplotlib.patches import Ellipse

    fig = _render.new_figure(6.4, 5.4)
    ax = fig.add_subplot()
    _render.mark_plot_area(ax, PLOT_AREA)
    finite = np.isfinite(X).all(axis=1)
    rows, row_labels = X[finite], labels[finite]
    means = np.asarray(model.means_, dtype=np.float64)
    covariances = full_covariances(model)
    if X.shape[1] == 2:
        axis_names = names
        title = "Rows by component, with 1- and 2-sigma ellipses"
    else:
        centre, basis, share = _projection(rows)
        rows = (rows - centre) @ basis
        means = (means - centre) @ basis
        covariances = np.einsum("di,kde,ej->kij", basis, covariances, basis)
        axis_names = [f"PC{i + 1} of the centred data ({share[i]:.0%} of variance)"
                      for i in range(2)]
        title = "Rows by component on the first two principal components"
        ax.set_aspect("equal", adjustable="datalim")
    drawn = np.arange(len(rows))
    if len(rows) > MAX_POINTS:
        drawn = np.sort(np.random.default_rng(0).choice(len(rows), MAX_POINTS, replace=False))
        title += f"\n({MAX_POINTS:,} of {len(rows):,} rows drawn at random)"
    colours = [f"C{k % 10}" for k in range(model.n_components)]
    ax.scatter(rows[drawn, 0], rows[drawn, 1], c=[colours[k] for k in row_labels[drawn]],
               s=8, alpha=0.6, linewidths=0, rasterized=True)
    degenerate = set(np.atleast_1d(getattr(model, "degenerate_components_", [])).tolist())
    for k in range(model.n_components):
        values, vectors = np.linalg.eigh(covariances[k])
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        for sigma, style in ((1, "-"), (2, "--")):
            width, height = 2 * sigma * np.sqrt(np.maximum(values[::-1], 0))
            ellipse = Ellipse(means[k], width, height, angle=angle, fill=False,
                              edgecolor=colours[k], linestyle=style, linewidth=1.5)
            ellipse.set_gid(f"ellipse-{k}-{sigma}sigma")
            ax.add_patch(ellipse)
        label = f"{k} (degenerate)" if k in degenerate else str(k)
        ax.annotate(label, means[k], fontweight="bold", ha="center", va="center")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title)
    return fig


def plot_fit(model, X, path, feature_names=None) -> Path:
    """Draw the picture of a fit to a file: the report's main figure, without the HTML.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    path : str or Path
        Where to write it (atomically); the format follows the suffix: .png (also when
        there is none), .svg or .pdf.
    feature_names : list of str, default=None
        Axis names; ``model.feature_names_in_`` when present, else x0, x1, ...

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in _PLOT_FORMATS:
        raise ValueError(f"{path}: a plot is written as .png, .svg or .pdf, not "
                         f"'{path.suffix}'.")
    data, names = prepare(model, X, feature_names)
    labels = model.predict(X) if data.shape[1] > 1 else None
    fig = fit_figure(model, data, names, labels)
    write_atomic(path, _render.figure_bytes(fig, fmt))
    return path
