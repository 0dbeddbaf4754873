"""The report's figures (matplotlib, drawn off-screen), each returned as PNG bytes."""

from __future__ import annotations

import io

import numpy as np

from ..mixture._covariance import covariance_model


def _figure(width=6.4, height=4.2):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def criterion_plot(table, criterion: str) -> bytes:
    """The criterion against K, one line per covariance type; the best fit circled."""
    fig = _figure()
    ax = fig.add_subplot()
    for covariance_type in dict.fromkeys(row["covariance_type"] for row in table):
        rows = sorted((r for r in table if r["covariance_type"] == covariance_type),
                      key=lambda r: r["n_components"])
        ax.plot([r["n_components"] for r in rows], [r[criterion] for r in rows], marker="o",
                label=covariance_type)
    best = min(table, key=lambda r: r[criterion])
    ax.scatter([best["n_components"]], [best[criterion]], s=250, facecolors="none",
               edgecolors="black", linewidths=2, label="chosen", zorder=5)
    ax.set_xlabel("number of components K")
    _integer_ticks(ax.xaxis)
    ax.set_ylabel(f"{criterion.upper()} (lower is better)")
    ax.set_title(f"{criterion.upper()} by K and covariance type")
    ax.legend()
    return _png(fig)


def convergence_plot(restart_lower_bounds) -> bytes:
    """Mean log-likelihood per EM iteration, one line per restart."""
    fig = _figure()
    ax = fig.add_subplot()
    for i, history in enumerate(restart_lower_bounds):
        ax.plot(np.arange(1, len(history) + 1), history, marker=".", label=f"restart {i}")
    ax.set_xlabel("EM iteration")
    _integer_ticks(ax.xaxis)
    ax.set_ylabel("mean log-likelihood")
    ax.set_title("Convergence of each restart")
    if 0 < len(restart_lower_bounds) <= 12:
        ax.legend()
    return _png(fig)


def _projection(X, means):
    """(centre, basis): the first two principal axes of X (identity for D <= 2)."""
    centre = X.mean(axis=0)
    if X.shape[1] <= 2:
        return centre, np.eye(X.shape[1])
    _, _, vt = np.linalg.svd(X - centre, full_matrices=False)
    return centre, vt[:2].T


def cluster_plot(model, X, labels) -> bytes:
    """The rows (first two principal components when D > 2) coloured by component, with
    each component's 1- and 2-sigma ellipses."""
    from matplotlib.patches import Ellipse

    fig = _figure(6.4, 5.2)
    ax = fig.add_subplot()
    centre, basis = _projection(X, model.means_)
    points = (X - centre) @ basis
    if points.shape[1] == 1:
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
    colours = [f"C{k % 10}" for k in range(model.n_components)]
    ax.scatter(points[:, 0], points[:, 1], c=[colours[k] for k in labels], s=8, alpha=0.6)
    covariances = full_covariances(model)
    for k in range(model.n_components):
        mean = (model.means_[k] - centre) @ basis
        cov = basis.T @ covariances[k] @ basis
        if cov.shape == (1, 1):
            mean, cov = np.r_[mean, 0.0], np.diag([cov[0, 0], 1e-12])
        values, vectors = np.linalg.eigh(cov)
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        for sigma, style in ((1, "-"), (2, "--")):
            width, height = 2 * sigma * np.sqrt(np.maximum(values[::-1], 0))
            ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False,
                                 edgecolor=colours[k], linestyle=style, linewidth=1.5))
        ax.annotate(str(k), mean, fontweight="bold", ha="center", va="center")
    axes = ("PC1", "PC2") if X.shape[1] > 2 else ("x0", "x1")
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title("Rows by component, with 1- and 2-sigma ellipses")
    ax.set_aspect("equal", adjustable="datalim")
    return _png(fig)


def uncertainty_plot(resp) -> bytes:
    """Histogram of each row's assignment uncertainty, 1 - max responsibility."""
    fig = _figure()
    ax = fig.add_subplot()
    uncertainty = 1.0 - resp.max(axis=1)
    ax.hist(uncertainty, bins=30, range=(0, 1 - 1 / resp.shape[1] if resp.shape[1] > 1 else 1))
    ax.set_xlabel("1 - max responsibility")
    ax.set_ylabel("rows")
    ax.set_title("Assignment uncertainty")
    return _png(fig)


def full_covariances(model) -> np.ndarray:
    """Every component's covariance as a (K, D, D) stack, whatever the parametrisation."""
    K, D = model.means_.shape
    return covariance_model(model.covariance_type).full_matrices(
        np.asarray(model.covariances_, dtype=np.float64), K, D)
