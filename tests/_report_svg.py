"""Reading the report's SVG figures back in data units.

A box is (x, y, width, height) in SVG units (y down), either parsed here from the path data
of an element or measured by a browser (getBBox). The plot area of a figure carries its data
limits (data-xlim, data-ylim), which turn such boxes into data coordinates.
"""

import re

import numpy as np

_NUMBER = r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


def figure_svg(text, name):
    """The inline <svg> of the report's figure ``name``."""
    match = re.search(rf'<svg class="figure" data-figure="{name}".*?</svg>', text, re.DOTALL)
    assert match, f"no figure {name!r} in the report"
    return match.group(0)


def group(svg, gid):
    """(attributes, inner text) of the element <g id="gid">."""
    match = re.search(rf'<g id="{re.escape(gid)}"([^>]*)>(.*?)</g>', svg, re.DOTALL)
    assert match, f"no element {gid!r}"
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))
    return attributes, match.group(2)


def ids(svg, prefix):
    """Every id in ``svg`` that starts with ``prefix``, in document order."""
    return re.findall(rf'<g id="({re.escape(prefix)}[^"]*)"', svg)


def _curve_points(d):
    """Points along an SVG path made of M, L, C and z commands (cubics sampled densely)."""
    points, current = [], None
    for command, args in re.findall(r"([MLCz])([^MLCz]*)", d):
        values = np.array(re.findall(_NUMBER, args), dtype=float).reshape(-1, 2)
        if command in "ML":
            points.extend(values)
            current = values[-1] if len(values) else current
        elif command == "C":
            for i in range(0, len(values), 3):
                p1, p2, p3 = values[i:i + 3]
                t = np.linspace(0, 1, 201)[:, None]
                points.extend((1 - t) ** 3 * current + 3 * (1 - t) ** 2 * t * p1
                              + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3)
                current = p3
    return np.array(points)


def path_box(svg, gid):
    """The box of the drawn outline of element ``gid`` (its path data), in SVG units."""
    _, inner = group(svg, gid)
    paths = re.findall(r'<path d="([^"]*)"', inner)
    assert paths, f"element {gid!r} has no path"
    points = np.vstack([_curve_points(d) for d in paths])
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return x0, y0, x1 - x0, y1 - y0


def plot_area(svg):
    """(box, xlim, ylim) of the figure's plot area."""
    match = re.search(r'<g id="([^"]+)" data-xlim="([^"]+)" data-ylim="([^"]+)"', svg)
    assert match, "the figure's plot area has no data limits"
    xlim = [float(v) for v in match.group(2).split()]
    ylim = [float(v) for v in match.group(3).split()]
    return path_box(svg, match.group(1)), xlim, ylim


def to_data(box, area, xlim, ylim):
    """A box in SVG units as (x_min, x_max, y_min, y_max) in data units."""
    x, y, width, height = box
    ax, ay, aw, ah = area

    def data_x(u):
        return xlim[0] + (u - ax) / aw * (xlim[1] - xlim[0])

    def data_y(v):
        return ylim[0] + (ay + ah - v) / ah * (ylim[1] - ylim[0])

    return data_x(x), data_x(x + width), data_y(y + height), data_y(y)


def data_box(svg, gid):
    """(x_min, x_max, y_min, y_max) in data units of the drawn element ``gid``."""
    return to_data(path_box(svg, gid), *plot_area(svg))
