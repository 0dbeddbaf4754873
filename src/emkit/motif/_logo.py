"""Sequence logos: each position a stack of letters, the stack as high as the position's
information content (bits), each letter as high as its share of it (Schneider & Stephens,
1990; no small-sample correction)."""

from __future__ import annotations

import numpy as np

from ._alphabet import get_alphabet

__all__ = ["plot_logo"]

_DNA_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}


def _colour(letter: str) -> str:
    if letter in _DNA_COLOURS:
        return _DNA_COLOURS[letter]
    # protein: hydrophobic, polar, charged
    if letter in "AVLIMFWPGC":
        return "#000000"
    if letter in "DE":
        return "#D62839"
    if letter in "KRH":
        return "#255C99"
    return "#109648"


def plot_logo(motif, path=None, *, title=None):
    """Draw the sequence logo of a motif.

    Parameters
    ----------
    motif : Motif
    path : str or path-like, optional
        Where to save the PNG; without it the figure is returned unsaved.
    title : str, optional
        Defaults to the motif's names and E-value.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    letters = get_alphabet(motif.alphabet).letters
    ppm = np.asarray(motif.ppm, dtype=float)
    ic = motif.information_content
    font = FontProperties(family="DejaVu Sans", weight="bold")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * motif.width + 1.0), 2.6))
    for k in range(motif.width):
        bottom = 0.0
        for a in np.argsort(ppm[k]):
            height = ppm[k, a] * ic[k]
            if height <= 1e-3:
                continue
            glyph = TextPath((0, 0), letters[a], size=1, prop=font)
            box = glyph.get_extents()
            transform = (Affine2D().translate(-box.x0, -box.y0)
                         .scale(0.9 / box.width, height / box.height)
                         .translate(k + 0.55, bottom))
            ax.add_patch(PathPatch(transform.transform_path(glyph), color=_colour(letters[a]),
                                   linewidth=0))
            bottom += height
    ax.set_xlim(0.5, motif.width + 0.5)
    ax.set_ylim(0, np.log2(len(letters)))
    ax.set_xticks(range(1, motif.width + 1))
    ax.set_ylabel("bits")
    ax.spines[["top", "right"]].set_visible(False)
    if title is None:
        from ._motif import format_evalue

        title = f"{motif.name} {motif.alt_name}  E = {format_evalue(motif.log10_evalue)}"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
