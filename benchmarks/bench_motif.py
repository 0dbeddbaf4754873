"""Motif benchmark: MEME-style EM (emkit.motif) on planted motifs, and on the real CRP set.

Every case draws ``--sequences`` uniform random DNA sequences and plants one site of a
random matrix (each column gives probability ``strength`` to one letter) in every sequence
(OOPS data) or in 70 % of them (ZOOPS data), half of the sites on the reverse strand, then
fits ``emkit.motif.MEME`` with the matching model, both strands, and the planted width (or
a range around it with ``--search-width``). Per case and seed the table shows:

* site recall: planted sites overlapped (at least half a width, consistent strand) by a
  reported site; precision: reported sites that overlap a planted one;
* the distance between the found and planted matrices: mean Euclidean distance of aligned
  columns divided by sqrt(2) (0 identical, 1 disjoint) at the best shift and orientation;
* the width found, the E-value, and the seconds of the fit.
* in the summary, the information of the planted matrix per site (bits) beside log2 of the
  number of places a site could be: where the first is not well above the second, the
  best random windows score like true sites, and site recall must fall.

A summary line per (model, strength, length) gives the means over seeds and whether every
seed recovered the motif (recall >= 0.9 and distance < 0.2). With the CRP file at
../shared/data/crp0.fna (not in quick mode), one more row: the E. coli CRP sites, with the
consensus found and how many of the known sites (header positions, +-2) were reported.

There is no peer run in the same process: the MEME suite is a C program, not a Python
library; the planted answer is the reference.

Usage::

    python benchmarks/bench_motif.py               # full grid
    python benchmarks/bench_motif.py --quick       # tiny grid (smoke test)
    python benchmarks/bench_motif.py --models zoops --strengths 0.8 --seeds 3
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared helpers
from _common import choices as _choices  # noqa: E402
from _common import fmt as _fmt  # noqa: E402
from _common import load_note  # noqa: E402

from emkit.motif import MEME, Motif, make_planted_motif, read_fasta, score_planted  # noqa: E402

CRP = Path(__file__).resolve().parents[2] / "shared" / "data" / "crp0.fna"
SITE_FRACTION = {"oops": 1.0, "zoops": 0.7}


def _floats(text):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of numbers: {text!r}") from None
    if not values or any(not 0.25 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError("strengths must be in (0.25, 1]")
    return values


def _ints(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of ints: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("values must be positive ints")
    return values


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny grid (smoke test)")
    parser.add_argument("--models", type=lambda s: _choices(s, tuple(SITE_FRACTION), "model"),
                        default=list(SITE_FRACTION))
    parser.add_argument("--strengths", type=_floats, default=None,
                        help="consensus-letter probabilities (default 0.95,0.85,0.75)")
    parser.add_argument("--lengths", type=_ints, default=None,
                        help="sequence lengths (default 100,300)")
    parser.add_argument("--sequences", type=int, default=None,
                        help="sequences per data set (default 20)")
    parser.add_argument("--width", type=int, default=12, help="planted motif width")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per case (default 5)")
    parser.add_argument("--search-width", action="store_true",
                        help="search widths W-2..W+2 instead of fitting W")
    parser.add_argument("--no-crp", action="store_true", help="skip the real CRP row")
    args = parser.parse_args(argv)
    quick = args.quick
    args.strengths = args.strengths or ([0.95, 0.8] if quick else [0.95, 0.85, 0.75])
    args.lengths = args.lengths or ([60] if quick else [100, 300])
    args.sequences = args.sequences or (10 if quick else 20)
    args.seeds = args.seeds or (2 if quick else 5)
    return args


def run_case(model, strength, length, n_sequences, width, seed, search_width):
    """Plant, fit, score one data set; a table row."""
    data = make_planted_motif(n_sequences, length, width, strength,
                              site_fraction=SITE_FRACTION[model], reverse_fraction=0.5,
                              random_state=seed)
    widths = (max(2, width - 2), width + 2) if search_width else width
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a start stopped at max_iter
        meme = MEME(width=widths, model=model, random_state=seed).fit(data.sequences)
    seconds = time.perf_counter() - start
    motif = meme.motifs_[0]
    score = score_planted(motif, data)
    width_planted = data.ppm.shape[0]
    return {"site_bits": float(Motif("planted", data.ppm).information_content.sum()),
            "log2_windows": float(np.log2(2 * (length - width_planted + 1) * n_sequences)),
            "model": model, "strength": strength, "length": length,
            "n_sequences": n_sequences, "seed": seed, "planted_sites": len(data.sites),
            "found_sites": motif.nsites, "width": motif.width, "recall": score.recall,
            "precision": score.precision, "pwm_distance": score.distance,
            "log10_evalue": motif.log10_evalue, "seconds": seconds,
            "recovered": bool(score.recall >= 0.9 and score.distance < 0.2)}


def run_crp():
    """The real-data row: the E. coli CRP set, ZOOPS, widths 18..22."""
    records = read_fasta(CRP)
    known = {r.name: [int(p) for p in r.description.split()] for r in records}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meme = MEME(width=(18, 22), model="zoops", random_state=0).fit(CRP)
    seconds = time.perf_counter() - start
    motif = meme.motifs_[0]
    hits = sum(any(abs(s.position - k) <= 2 for k in known[s.sequence_name])
               for s in motif.sites)
    both = motif.consensus + " " + motif.reverse_complement().consensus
    return {"data": "crp0.fna", "consensus": motif.consensus, "width": motif.width,
            "found_sites": motif.nsites, "known_sites": sum(map(len, known.values())),
            "known_found": hits, "sequences_with_known_site_found": hits,
            "n_sequences": len(records), "log10_evalue": motif.log10_evalue,
            "crp_consensus_found": bool(re.search(r"TGTGA.{6}TCACA", both)),
            "seconds": seconds}


def format_table(rows):
    head = (f"{'model':6} {'strength':>8} {'length':>6} {'seed':>4} {'sites':>9} "
            f"{'width':>5} {'recall':>6} {'prec':>6} {'pwm_dist':>8} {'log10E':>8} "
            f"{'s':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['model']:6} {r['strength']:8.2f} {r['length']:6d} {r['seed']:4d} "
                     f"{r['found_sites']:>4}/{r['planted_sites']:<4} {r['width']:5d} "
                     f"{_fmt(r['recall'], '.2f'):>6} {_fmt(r['precision'], '.2f'):>6} "
                     f"{_fmt(r['pwm_distance'], '.3f'):>8} "
                     f"{_fmt(r['log10_evalue'], '.1f'):>8} {_fmt(r['seconds'], '.2f'):>6}")
    lines += ["", "summary (mean over seeds); site_bits: information of the planted matrix "
              "per site; log2_windows: log2 of the windows x strands a site could be in "
              "(the best random windows rival true sites unless bits >> log2_windows)",
              f"{'model':6} {'strength':>8} {'length':>6} {'recall':>6} {'prec':>6} "
              f"{'pwm_dist':>8} {'site_bits':>9} {'log2_windows':>12} "
              f"{'every seed recovered':>21}"]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["model"], r["strength"], r["length"]), []).append(r)
    for (model, strength, length), group in groups.items():
        mean = {k: float(np.mean([g[k] for g in group]))
                for k in ("recall", "precision", "pwm_distance")}
        first = group[0]
        lines.append(f"{model:6} {strength:8.2f} {length:6d} {mean['recall']:6.2f} "
                     f"{mean['precision']:6.2f} {mean['pwm_distance']:8.3f} "
                     f"{first['site_bits']:9.1f} {first['log2_windows']:12.1f} "
                     f"{'yes' if all(g['recovered'] for g in group) else 'no':>21}")
    return "\n".join(lines)


def main(argv=None) -> list:
    """Run the benchmark, print the table, return the rows (dicts; the CRP row last when
    it runs, marked by its 'data' key)."""
    args = parse_args(argv)
    print(load_note())
    print(f"mode: {'quick' if args.quick else 'full'}; models {','.join(args.models)}; "
          f"strengths {args.strengths}; lengths {args.lengths}; {args.sequences} sequences; "
          f"width {args.width}{' (searched +-2)' if args.search_width else ''}; "
          f"{args.seeds} seeds")
    rows = [run_case(model, strength, length, args.sequences, args.width, seed,
                     args.search_width)
            for model in args.models for strength in args.strengths
            for length in args.lengths for seed in range(args.seeds)]
    print(format_table(rows))
    if not args.quick and not args.no_crp:
        if CRP.exists():
            crp = run_crp()
            print(f"\nCRP ({crp['n_sequences']} E. coli promoters): consensus "
                  f"{crp['consensus']} (TGTGAnnnnnnTCACA found: "
                  f"{crp['crp_consensus_found']}), width {crp['width']}, "
                  f"{crp['found_sites']} sites reported, {crp['known_found']} of "
                  f"{crp['known_sites']} known sites found, log10 E {crp['log10_evalue']:.1f}"
                  f", {crp['seconds']:.1f} s")
            rows.append(crp)
        else:
            print(f"\nCRP row skipped: {CRP} not found")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
