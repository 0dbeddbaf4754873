"""Writing a MEME run's results to a folder: MEME text, JSON, logos."""

from __future__ import annotations

import json
from pathlib import Path

from ._logo import plot_logo
from ._motif import format_evalue

__all__ = ["motifs_json", "summary_lines", "write_results"]


def motifs_json(model) -> dict:
    """The fitted model's motifs and settings as a JSON-ready dict."""
    return {"program": "emkit motif", "model": model.model, "alphabet": model.alphabet,
            "revcomp": bool(model.revcomp), "background_order": int(model.background_order),
            "background_frequencies": model.background_frequencies_.tolist(),
            "n_sequences": int(model.n_sequences_),
            "evalue_method": "chi-squared p-value of 2 x site LLR (df = W (A-1)) times the "
                             "number of site choices; see emkit.motif._evalue",
            "motifs": [m.to_dict() for m in model.motifs_]}


def write_results(model, out_dir, *, logos: bool = True) -> list[Path]:
    """Write ``meme.txt`` (MEME minimal motif format), ``motifs.json`` and one logo PNG per
    motif (``logo1.png``, ...) into ``out_dir`` (created if needed).

    Returns
    -------
    paths : list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "meme.txt", out / "motifs.json"]
    model.write_meme(paths[0])
    paths[1].write_text(json.dumps(motifs_json(model), indent=2) + "\n")
    if logos:
        for k, motif in enumerate(model.motifs_, start=1):
            path = out / f"logo{k}.png"
            plot_logo(motif, path)
            paths.append(path)
    return paths


def summary_lines(model) -> list[str]:
    """One line per motif: names, width, sites, LLR, E-value."""
    lines = []
    for motif in model.motifs_:
        lines.append(f"{motif.alt_name}  {motif.name}  width {motif.width}  sites "
                     f"{motif.nsites}  llr {motif.llr:.1f} bits  E-value "
                     f"{format_evalue(motif.log10_evalue)}")
    return lines
