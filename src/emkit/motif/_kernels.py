"""numba kernels of motif discovery: the E-step over site starts, background log-probabilities,
k-mer counts and the window operations of erasing.

Sequences are stored back to back as int8 codes (``0 .. A-1`` letters, ``A`` the wildcard)
with ``offsets`` (n_sequences + 1) marking where each starts. Everything runs in log space:
a site likelihood ratio of a wide motif easily exceeds the float range.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

OOPS, ZOOPS, TCM = 0, 1, 2


@njit(cache=True, inline="always")
def _logaddexp(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@njit(cache=True)
def kmer_counts(codes, offsets, k, n_letters):
    """Counts of every k-mer (k >= 1) without a wildcard, indexed by its base-``n_letters``
    number (first letter most significant)."""
    counts = np.zeros(n_letters ** k, dtype=np.float64)
    top = n_letters ** (k - 1)
    for i in range(offsets.shape[0] - 1):
        run = 0  # letters since the last wildcard
        index = 0
        for p in range(offsets[i], offsets[i + 1]):
            c = codes[p]
            if c >= n_letters:
                run = 0
                index = 0
                continue
            index = (index % top) * n_letters + c
            run += 1
            if run >= k:
                counts[index] += 1.0
    return counts


@njit(cache=True)
def background_log_probs(codes, offsets, log_tables, table_starts, order, n_letters):
    """log P(x_p | preceding letters) under a Markov background, for every position.

    ``log_tables[table_starts[o] + context * n_letters + letter]`` is the log-probability of
    ``letter`` after the order-``o`` ``context``. A position uses the longest context of up
    to ``order`` letters with no wildcard; a wildcard position gets 0 (any letter).
    """
    out = np.zeros(codes.shape[0], dtype=np.float64)
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        run = 0
        for p in range(start, stop):
            c = codes[p]
            if c >= n_letters:
                run = 0
                continue
            o = min(run, order)
            context = 0
            for q in range(p - o, p):
                context = context * n_letters + codes[q]
            out[p] = log_tables[table_starts[o] + context * n_letters + c]
            run += 1
    return out


@njit(cache=True)
def window_min(values, offsets, width):
    """out[p] = min(values[p : p + width]) for every window inside its sequence; 0 after
    the last window of a sequence."""
    out = np.zeros(values.shape[0], dtype=np.float64)
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        for p in range(start, stop - width + 1):
            low = values[p]
            for q in range(p + 1, p + width):
                if values[q] < low:
                    low = values[q]
            out[p] = low
    return out


@njit(cache=True)
def coverage(z, offsets, width):
    """Probability that each position lies inside a site: the summed posteriors of the
    windows (both strands) that cover it, capped at 1."""
    out = np.zeros(z.shape[0], dtype=np.float64)
    for i in range(offsets.shape[0] - 1):
        start, stop = offsets[i], offsets[i + 1]
        for j in range(start, stop - width + 1):
            zj = z[j, 0] + z[j, 1]
            if zj > 0.0:
                for p in range(j, j + width):
                    out[p] += zj
    for p in range(out.shape[0]):
        if out[p] > 1.0:
            out[p] = 1.0
    return out


@njit(cache=True)
def site_log_ratios(codes, start, n_windows, bg_log, log_ppm, comp, n_strands, out):
    """out[j, s] = log P(window j on strand s | motif) - log P(window j | background)."""
    width = log_ppm.shape[0]
    for j in range(n_windows):
        background = 0.0
        plus = 0.0
        for k in range(width):
            background += bg_log[start + j + k]
            plus += log_ppm[k, codes[start + j + k]]
        out[j, 0] = plus - background
        if n_strands == 2:
            minus = 0.0
            for k in range(width):
                minus += log_ppm[k, comp[codes[start + j + width - 1 - k]]]
            out[j, 1] = minus - background


@njit(cache=True)
def e_step(codes, offsets, seq_ids, bg_log, log_keep, log_erased, log_ppm, comp, n_strands,
           model, log_site, log_none, counts, z_out, want_z):
    """One E-step over the sequences ``seq_ids``.

    Hidden variable per sequence (OOPS, ZOOPS) or per window (TCM): where a site starts and
    on which strand. A site at window j emits from the motif with probability ``keep[j]``
    (erasing of earlier motifs) and from the background otherwise. Prior of a site at
    (j, s): OOPS 1 / (S m); ZOOPS gamma / (S m) with no site 1 - gamma; TCM lambda per window
    and strand with no site 1 - S lambda; ``log_site`` is log(gamma) or log(lambda) (0 for
    OOPS) and ``log_none`` the log-probability of no site.

    Adds the expected letter counts of motif-emitted sites to ``counts`` (W x A); writes the
    site posteriors to ``z_out[p, s]`` when ``want_z``. Returns (sum of log-likelihood
    ratios against the background, expected number of sites, number of prior units).
    """
    width = log_ppm.shape[0]
    n_letters = counts.shape[1]
    loglik = 0.0
    n_sites = 0.0
    n_units = 0.0
    longest = 0
    for t in range(seq_ids.shape[0]):
        i = seq_ids[t]
        longest = max(longest, offsets[i + 1] - offsets[i] - width + 1)
    ratios = np.empty((max(longest, 1), 2), dtype=np.float64)
    norm = np.empty(max(longest, 1), dtype=np.float64)  # log P(unit) of each window's unit
    for t in range(seq_ids.shape[0]):
        i = seq_ids[t]
        start = offsets[i]
        m = offsets[i + 1] - start - width + 1
        site_log_ratios(codes, start, m, bg_log, log_ppm, comp, n_strands, ratios)
        if model == TCM:  # one unit per window
            log_prior = log_site
            n_units += n_strands * m
            for j in range(m):
                total = log_none
                for s in range(n_strands):
                    total = _logaddexp(total, log_prior + _mixed(ratios[j, s],
                                                                  log_keep[start + j],
                                                                  log_erased[start + j]))
                norm[j] = total
                loglik += total
        else:  # one unit per sequence
            log_prior = log_site - math.log(n_strands * m)
            n_units += 1.0
            total = log_none if model == ZOOPS else -np.inf
            for j in range(m):
                for s in range(n_strands):
                    total = _logaddexp(total, log_prior + _mixed(ratios[j, s],
                                                                  log_keep[start + j],
                                                                  log_erased[start + j]))
            norm[:m] = total
            loglik += total
        for j in range(m):
            keep, erased = log_keep[start + j], log_erased[start + j]
            for s in range(n_strands):
                z = math.exp(log_prior + _mixed(ratios[j, s], keep, erased) - norm[j])
                n_sites += z
                if want_z:
                    z_out[start + j, s] = z
                motif = math.exp(log_prior + keep + ratios[j, s] - norm[j])
                _add_counts(codes, start + j, s, motif, comp, counts, width, n_letters)
    return loglik, n_sites, n_units


@njit(cache=True, inline="always")
def _mixed(log_ratio, log_keep, log_erased):
    """log of the erasing-mixed ratio keep * r + (1 - keep)."""
    return _logaddexp(log_keep + log_ratio, log_erased)


@njit(cache=True, inline="always")
def _add_counts(codes, p, strand, weight, comp, counts, width, n_letters):
    if weight == 0.0:
        return
    for k in range(width):
        if strand == 0:
            c = codes[p + k]
        else:
            c = comp[codes[p + width - 1 - k]]
        if c < n_letters:
            counts[k, c] += weight
