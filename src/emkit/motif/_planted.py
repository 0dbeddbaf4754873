"""Planted-motif data sets: random background sequences with sites of a known matrix,
for tests, the benchmark and the demo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ._alphabet import DNA

__all__ = ["PlantedMotif", "PlantedScore", "make_planted_motif", "planted_ppm", "ppm_distance",
           "score_planted"]


@dataclass
class PlantedMotif:
    """A planted data set and its answer.

    Attributes
    ----------
    sequences : list of str
    ppm : ndarray of shape (width, 4)
        The matrix the sites were drawn from.
    sites : list of (sequence index, 0-based start, strand) tuples
        strand '+' or '-': a '-' site is the reverse complement of a draw from ``ppm``.
    """

    sequences: list
    ppm: np.ndarray
    sites: list


def planted_ppm(width: int, strength: float, random_state=None) -> np.ndarray:
    """A DNA matrix whose every column gives probability ``strength`` to one letter (drawn
    at random) and shares the rest equally."""
    rng = check_random_state(random_state)
    ppm = np.full((width, 4), (1.0 - strength) / 3.0)
    ppm[np.arange(width), rng.randint(0, 4, size=width)] = strength
    return ppm


def make_planted_motif(n_sequences=20, length=100, width=12, strength=0.9, *,
                       site_fraction=1.0, reverse_fraction=0.0, ppm=None,
                       random_state=None) -> PlantedMotif:
    """Uniform random DNA with one site planted in a fraction of the sequences.

    Parameters
    ----------
    n_sequences, length : int
    width : int
    strength : float
        Probability of each column's consensus letter (0.25: no motif; 0.9: strong).
    site_fraction : float
        Fraction of sequences holding a site (1: OOPS data; below 1: ZOOPS data).
    reverse_fraction : float
        Fraction of the sites planted on the reverse strand.
    ppm : array of shape (width, 4), optional
        The matrix to plant; drawn with :func:`planted_ppm` when left out.
    random_state : int, RandomState or None

    Returns
    -------
    PlantedMotif
    """
    rng = check_random_state(random_state)
    ppm = planted_ppm(width, strength, rng) if ppm is None else np.asarray(ppm, float)
    width = ppm.shape[0]
    comp = DNA.complement_codes()[:4]
    n_sites = int(round(site_fraction * n_sequences))
    with_site = set(rng.choice(n_sequences, size=n_sites, replace=False).tolist())
    sequences, sites = [], []
    for i in range(n_sequences):
        codes = rng.randint(0, 4, size=length)
        if i in with_site:
            start = int(rng.randint(0, length - width + 1))
            site = np.array([rng.choice(4, p=column) for column in ppm])
            strand = "-" if rng.rand() < reverse_fraction else "+"
            if strand == "-":
                site = comp[site[::-1]]
            codes[start:start + width] = site
            sites.append((i, start, strand))
        sequences.append(DNA.decode(codes))
    return PlantedMotif(sequences, ppm, sites)


@dataclass
class PlantedScore:
    """How well a found motif recovers a planted one.

    Attributes
    ----------
    recall : float
        Planted sites overlapped (by at least half a width, on the consistent strand) by a
        found site.
    precision : float
        Found sites that overlap a planted site so.
    distance : float
        Mean distance between aligned columns of the found and planted matrices (Euclidean,
        divided by sqrt(2): 0 identical, 1 disjoint), at the best shift and orientation.
    reverse : bool
        Whether the motif was found as the reverse complement of the planted one.
    """

    recall: float
    precision: float
    distance: float
    reverse: bool


def ppm_distance(found, planted, max_shift: int = 3) -> tuple[float, bool]:
    """(distance, reverse) of two DNA matrices: the mean column distance over the
    overlapping columns at the best shift (up to ``max_shift``) and orientation."""
    comp = DNA.complement_codes()[:4]
    best = (np.inf, False)
    for reverse in (False, True):
        f = found[::-1][:, comp] if reverse else found
        for shift in range(-max_shift, max_shift + 1):
            lo, hi = max(0, shift), min(len(planted), len(f) + shift)
            if hi - lo < max(1, min(len(planted), len(f)) // 2):
                continue
            d = np.linalg.norm(f[lo - shift:hi - shift] - planted[lo:hi], axis=1) / np.sqrt(2)
            # columns of the planted motif left uncovered count as fully wrong
            value = (d.sum() + (len(planted) - (hi - lo))) / len(planted)
            if value < best[0]:
                best = (float(value), reverse)
    return best


def score_planted(motif, data: PlantedMotif) -> PlantedScore:
    """Compare a found :class:`Motif` with the planted answer (see :class:`PlantedScore`)."""
    distance, reverse = ppm_distance(np.asarray(motif.ppm), data.ppm)
    W, Wf = data.ppm.shape[0], motif.width
    need = min(W, Wf) / 2.0

    def hit(site, planted):
        i, start, strand = planted
        if site.sequence_index != i or ((site.strand == strand) == reverse):
            return False
        lo = max(site.position - 1, start)
        hi = min(site.position - 1 + Wf, start + W)
        return hi - lo >= need

    recalled = sum(any(hit(s, p) for s in motif.sites) for p in data.sites)
    precise = sum(any(hit(s, p) for p in data.sites) for s in motif.sites)
    return PlantedScore(recalled / max(1, len(data.sites)),
                        precise / max(1, len(motif.sites)), distance, reverse)
