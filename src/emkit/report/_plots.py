"""The report's smaller figures (matplotlib, drawn off-screen), each returned as a Figure.

In the criterion plot the chosen fit's circle has the id ``chosen-fit`` and the plot area
``criterion-plot-area`` (see ``_render``), so the page can be checked.
"""

from __future__ import annotations

import numpy as np

from ..mixture._covariance import covariance_model
from . import _render

CRITERION_PLOT_AREA = "criterion-plot-area"


def chosen_row(selection) -> int:
    """Index in ``selection.table`` of the row of the chosen model, ``selection.best_``."""
    best = selection.best_
    models = getattr(selection, "models_", None) or {}
    for i, row in enumerate(selection.table):
        if models.get((row["n_components"], row["covariance_type"])) is best:
            return i
    for i, row in enumerate(selection.table):
        if (row["n_components"], row["covariance_type"]) == (best.n_components,
                                                            best.covariance_type):
            return i
    raise ValueError("selection.best_ matches no row of selection.table.")


#: Markers of the criterion plot's lines, cycled with the colours so that mclust's
#: fourteen models are told apart.
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "*", "h", "p", "d", "8")


def criterion_plot(selection):
    """The criterion against K, one line per covariance type (mclust's
    ``plot(mclustBIC)``: every model's curve, each with its own colour and marker); the
    chosen fit (``selection.best_``) circled, degenerate fits crossed out, singular fits
    (no estimate, mclust's NA) left as gaps in their line."""
    table, criterion = selection.table, selection.criterion
    fig = _render.new_figure()
    ax = fig.add_subplot()
    _render.mark_plot_area(ax, CRITERION_PLOT_AREA)
    types = list(dict.fromkeys(row["covariance_type"] for row in table))
    colours = plt_colours(len(types))
    for i, covariance_type in enumerate(types):
        rows = sorted((r for r in table if r["covariance_type"] == covariance_type),
                      key=lambda r: r["n_components"])
        ax.plot([r["n_components"] for r in rows], [r[criterion] for r in rows],
                marker=_MARKERS[i % len(_MARKERS)], color=colours[i], label=covariance_type)
    degenerate = [r for r in table if r.get("degenerate") and not r.get("singular")]
    if degenerate:
        ax.scatter([r["n_components"] for r in degenerate], [r[criterion] for r in degenerate],
                   marker="x", s=120, color="crimson", linewidths=2, zorder=6,
                   label="degenerate (never chosen over a sound fit)")
    if any(r.get("singular") for r in table):
        ax.plot([], [], linestyle="none", label="gaps: singular fits (NA)")
    best = table[chosen_row(selection)]
    circle = ax.scatter([best["n_components"]], [best[criterion]], s=250, facecolors="none",
                        edgecolors="black", linewidths=2, zorder=5,
                        label=f"chosen: K={best['n_components']}, {best['covariance_type']}")
    circle.set_gid("chosen-fit")
    ax.set_xlabel("number of components K")
    _render.integer_ticks(ax.xaxis)
    ax.set_ylabel(f"{criterion.upper()} (lower is better)")
    ax.set_title(f"{criterion.upper()} by K and covariance type")
    ax.legend(fontsize="small", ncol=2 if len(types) > 6 else 1)
    return fig


def plt_colours(count: int) -> list:
    """``count`` distinct colours: matplotlib's tab10, or tab20 for more lines."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(count)]


def convergence_plot(restart_lower_bounds):
    """Mean log-likelihood per EM iteration, one line per restart."""
    fig = _render.new_figure()
    ax = fig.add_subplot()
    for i, history in enumerate(restart_lower_bounds):
        ax.plot(np.arange(1, len(history) + 1), history, marker=".", label=f"restart {i}")
    ax.set_xlabel("EM iteration")
    _render.integer_ticks(ax.xaxis)
    ax.set_ylabel("mean log-likelihood")
    ax.set_title("Convergence of each restart")
    if 0 < len(restart_lower_bounds) <= 12:
        ax.legend(fontsize="small")
    return fig


def uncertainty_plot(resp):
    """Histogram of each row's assignment uncertainty, 1 - max responsibility."""
    fig = _render.new_figure()
    ax = fig.add_subplot()
    uncertainty = 1.0 - resp.max(axis=1)
    ax.hist(uncertainty, bins=30, range=(0, 1 - 1 / resp.shape[1] if resp.shape[1] > 1 else 1))
    ax.set_xlabel("1 - max responsibility")
    ax.set_ylabel("rows")
    ax.set_title("Assignment uncertainty")
    return fig


def full_covariances(model) -> np.ndarray:
    """Every component's covariance as a (K, D, D) stack, whatever the parametrisation."""
    K, D = model.means_.shape
    return covariance_model(model.covariance_type).full_matrices(
        np.asarray(model.covariances_, dtype=np.float64), K, D)
