"""The motif part of `emkit demo`: a planted motif found again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._meme import MEME
from ._output import summary_lines, write_results
from ._planted import make_planted_motif, score_planted


def run_demo(seed: int = 0, out_dir=None) -> MEME:
    """Plant a 12-letter motif (a third of the sites on the reverse strand) in 25 random
    DNA sequences of 150 letters, 20 of which hold a site; find it with ZOOPS over widths
    11..13; print what was found against what was planted.

    Parameters
    ----------
    seed : int
    out_dir : str or path-like, optional
        Where to write meme.txt, motifs.json and the logo; nothing is written without it.

    Returns
    -------
    MEME
        The fitted model.
    """
    data = make_planted_motif(n_sequences=25, length=150, width=12, strength=0.85,
                              site_fraction=0.8, reverse_fraction=0.33, random_state=seed)
    meme = MEME(width=(11, 13), model="zoops", n_starts=60, random_state=seed).fit(
        data.sequences)
    motif = meme.motifs_[0]
    score = score_planted(motif, data)
    planted_consensus = "".join("ACGT"[k] for k in np.argmax(data.ppm, axis=1))
    print("emkit demo: MEME-style motif discovery (ZOOPS, both strands)")
    print(f"  planted {len(data.sites)} sites of {planted_consensus} in "
          f"{len(data.sequences)} sequences")
    for line in summary_lines(meme):
        print("  " + line)
    print(f"  site recall {score.recall:.2f}, precision {score.precision:.2f}, matrix "
          f"distance {score.distance:.3f}; {sum(s.strand == '-' for s in motif.sites)} "
          f"sites on the '-' strand")
    if out_dir is not None:
        paths = write_results(meme, Path(out_dir))
        print("  wrote " + ", ".join(str(p) for p in paths))
    return meme
