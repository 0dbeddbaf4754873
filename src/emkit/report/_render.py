"""Turning a matplotlib figure into inline SVG (for the HTML report) or PNG bytes.

matplotlib is imported here, inside the functions, never when emkit is imported.

In the SVG, an artist given a gid becomes ``<g id="gid">``. The report marks the plot area
of each axes (its background patch) with a gid and, through ``data_attributes``, the data
limits of that axes, so the drawing can be read back in data units from the page: a point
at SVG position (u, v) inside the plot area's box (x, y, width, height) is at
``xlim[0] + (u - x) / width * (xlim[1] - xlim[0])`` and
``ylim[0] + (y + height - v) / height * (ylim[1] - ylim[0])``.
"""

from __future__ import annotations

import html
import io
import re


def new_figure(width: float = 6.4, height: float = 4.2):
    """A matplotlib Figure drawn off-screen (no GUI backend is touched)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def integer_ticks(axis) -> None:
    """Ticks only at integers on ``axis`` (a matplotlib Axis)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def mark_plot_area(ax, gid: str) -> None:
    """Give the plot area of ``ax`` an id in the SVG (see :func:`plot_area_attributes`)."""
    ax.patch.set_gid(gid)


def plot_area_attributes(ax) -> dict:
    """The data limits of ``ax`` as attributes of its plot area; call after drawing."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    return {"data-xlim": f"{float(xlim[0])!r} {float(xlim[1])!r}",
            "data-ylim": f"{float(ylim[0])!r} {float(ylim[1])!r}"}


def figure_bytes(fig, fmt: str = "png") -> bytes:
    """The figure as a file's contents, in format ``fmt`` ('png', 'svg' or 'pdf')."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    return buffer.getvalue()


def inline_svg(fig, name: str, attributes=None) -> str:
    """The figure as an ``<svg>`` element to put in an HTML page.

    Parameters
    ----------
    fig : matplotlib Figure
    name : str
        Distinguishes the ids matplotlib generates (clip paths) from those of other figures
        on the same page.
    attributes : callable, default=None
        Called after the figure is drawn; returns ``{gid: {attribute: value}}`` to add to
        the elements with those ids (e.g. :func:`plot_area_attributes` of an axes).

    Returns
    -------
    str
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # inside HTML the namespaces are implied; the metadata names matplotlib's web site
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text, count=2)
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)
    for gid, values in (attributes() if attributes is not None else {}).items():
        tag = f'<g id="{gid}"'
        if tag not in text:
            raise RuntimeError(f"figure {name!r} has no element with id {gid!r}")
        extra = "".join(f' {key}="{html.escape(str(value))}"' for key, value in values.items())
        text = text.replace(tag, tag + extra, 1)
    return text.replace("<svg ", f'<svg class="figure" data-figure="{html.escape(name)}" ', 1)
