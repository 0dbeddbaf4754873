"""MEME's search for one motif of one width: starting points from the data, the best few
refined to convergence by the EM engine, then the sites and their E-value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._em import Monitor, RowBlocks, fit_with_restarts, run_em
from ._evalue import log10_evalue, site_llr
from ._problem import MotifParams, MotifProblem

#: Probability given to the letter of a starting sub-sequence at each motif position (the
#: rest is shared by the other letters), as MEME's starts from sub-sequences.
SEED_PROBABILITY = 0.5


@dataclass
class WidthResult:
    """The best motif of one width."""

    width: int
    theta: MotifParams
    lower_bound: float
    lower_bounds: list
    converged: bool
    n_iter: int
    z: np.ndarray          # site posteriors per window start and strand
    sites: np.ndarray      # (n, 4): sequence, 0-based start, strand (+1/-1), probability
    counts: np.ndarray     # letter counts of the sites (W x A)
    llr: float             # nats
    log10_evalue: float


def candidate_starts(codes, offsets, width, n_letters, rng, n_starts) -> np.ndarray:
    """Start positions of sub-sequences without wildcards; a random subsample of
    ``n_starts`` when there are more."""
    valid = np.concatenate([np.arange(a, b - width + 1) for a, b in
                            zip(offsets[:-1], offsets[1:])])
    if len(valid) == 0:
        return valid
    wild = np.concatenate([[0], np.cumsum(codes >= n_letters)])
    valid = valid[wild[valid + width] - wild[valid] == 0]
    if len(valid) > n_starts:
        valid = np.sort(rng.choice(valid, size=n_starts, replace=False))
    return valid


def seed_ppm(codes, start, width, n_letters) -> np.ndarray:
    """The matrix of a starting sub-sequence."""
    other = (1.0 - SEED_PROBABILITY) / (n_letters - 1)
    ppm = np.full((width, n_letters), other)
    ppm[np.arange(width), codes[start:start + width]] = SEED_PROBABILITY
    return ppm


def candidate_sites(problem: MotifProblem, z: np.ndarray) -> np.ndarray:
    """Candidate sites from the posteriors (per window the strands' posteriors add up):
    OOPS and ZOOPS the best window of each sequence; TCM every window of probability at
    least 0.5 not overlapping a better one. Rows: sequence, 0-based start, strand (+1 /
    -1), probability."""
    W = problem.width
    rows = []
    for i in range(problem.n_sequences):
        a, b = problem.offsets[i], problem.offsets[i + 1] - W + 1
        zi = z[a:b]
        total = zi.sum(axis=1)
        if problem.model == "tcm":
            taken = np.zeros(len(total), dtype=bool)
            for j in np.argsort(-total, kind="stable"):
                if total[j] < 0.5:
                    break
                if taken[max(0, j - W + 1):j + W].any():
                    continue
                taken[j] = True
                rows.append((i, j, 1 if zi[j, 0] >= zi[j, 1] else -1, min(1.0, total[j])))
        else:
            j = int(np.argmax(total))
            rows.append((i, j, 1 if zi[j, 0] >= zi[j, 1] else -1, min(1.0, total[j])))
    return np.asarray(rows, dtype=float).reshape(-1, 4)


def site_letters(problem: MotifProblem, site) -> np.ndarray:
    """The codes of a site read on its strand."""
    seq, start, strand = int(site[0]), int(site[1]), site[2]
    p = problem.offsets[seq] + start
    letters = problem.codes[p:p + problem.width]
    return problem.comp[letters[::-1]] if strand < 0 else letters


def site_scores(problem: MotifProblem, ppm: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """Log-odds score of each site: log P(site | motif) - log P(site | background)."""
    log_ppm = problem.log_ppm(ppm)
    W = problem.width
    scores = np.empty(len(sites))
    for n, site in enumerate(sites):
        p = problem.offsets[int(site[0])] + int(site[1])
        scores[n] = (log_ppm[np.arange(W), site_letters(problem, site)].sum()
                     - problem.bg_log[p:p + W].sum())
    return scores


def site_counts(problem: MotifProblem, sites: np.ndarray) -> np.ndarray:
    """Letter counts (W x A) of the sites read on their strands (wildcards not counted)."""
    W, A = problem.width, problem.n_letters
    counts = np.zeros((W, A))
    for site in sites:
        letters = site_letters(problem, site)
        keep = letters < A
        np.add.at(counts, (np.arange(W)[keep], letters[keep]), 1.0)
    return counts


def choose_sites(problem: MotifProblem, ppm: np.ndarray, candidates: np.ndarray):
    """The reported sites, as MEME chooses them: OOPS all candidates; ZOOPS and TCM the
    best-scoring ``n`` candidates, ``n`` minimising the E-value (at least 2 where there are).
    Returns (sites, letter counts, LLR in nats, log10 E-value)."""
    A = problem.n_letters
    order = np.argsort(-site_scores(problem, ppm, candidates), kind="stable")
    candidates = candidates[order]
    if problem.model == "oops" or len(candidates) <= 2:
        counts = site_counts(problem, candidates)
        llr = site_llr(counts, problem.prior_freqs)
        return candidates, counts, llr, log10_evalue(llr, problem.width, A, problem.model,
                                                     problem.windows, len(candidates))
    best = None
    counts = np.zeros((problem.width, A))
    for n, site in enumerate(candidates, start=1):
        counts = counts + site_counts(problem, site[None])
        llr = site_llr(counts, problem.prior_freqs)
        log_e = log10_evalue(llr, problem.width, A, problem.model, problem.windows, n)
        if n >= 2 and (best is None or log_e < best[3]):
            best = (n, counts, llr, log_e)
    n, counts, llr, log_e = best
    return candidates[:n], counts, llr, log_e


def shift_ppm(ppm: np.ndarray, shift: int, background: np.ndarray) -> np.ndarray:
    """The matrix moved ``shift`` columns right (left when negative); the columns that
    come in are the background."""
    out = np.tile(background, (ppm.shape[0], 1))
    if shift >= 0:
        out[shift:] = ppm[:ppm.shape[0] - shift]
    else:
        out[:shift] = ppm[-shift:]
    return out


def fit_width(problem: MotifProblem, rng, *, n_starts, n_refine, tol, max_iter,
              monitor: Monitor, max_shift: int = 0) -> WidthResult:
    """Score every starting point by the log-likelihood of its matrix, refine the best
    ``n_refine`` to convergence with the engine, keep the most likely; try the best
    shifted by up to ``max_shift`` columns either way; then sites and E-value."""
    W, A = problem.width, problem.n_letters
    starts = candidate_starts(problem.codes, problem.offsets, W, A, rng, n_starts)
    if len(starts) == 0:
        starts = np.array([problem.offsets[0]])
    ids = np.arange(problem.n_sequences)
    prior = problem.initial_prior()
    thetas = [MotifParams(seed_ppm(problem.codes, s, W, A), prior) for s in starts]
    scores = np.array([problem.run_kernel(ids, t)[1] for t in thetas])
    best = np.argsort(-scores, kind="stable")[:n_refine]
    queue = iter([thetas[k] for k in best])
    blocks = RowBlocks(ids[:, None], None, block_rows=max(1, problem.n_sequences))
    run = fit_with_restarts(problem, blocks, lambda: next(queue), n_init=len(best), tol=tol,
                            max_iter=max_iter, monitor=monitor)
    # MEME's phase shifts: a motif caught a few positions off its true centre is restarted
    # shifted, new columns at the background; the most likely run is kept.
    for shift in [k for d in range(1, max_shift + 1) for k in (d, -d)]:
        shifted = MotifParams(shift_ppm(run.theta.ppm, shift, problem.prior_freqs),
                              run.theta.prior)
        candidate = run_em(problem, blocks, shifted, tol=tol, max_iter=max_iter,
                           monitor=monitor)
        if candidate.lower_bound > run.lower_bound:
            run = candidate
    # The final E-step: posteriors of the returned parameters.
    _, loglik, z = problem.run_kernel(ids, run.theta, want_z=True)
    sites, counts, llr, log10_e = choose_sites(problem, run.theta.ppm,
                                               candidate_sites(problem, z))
    return WidthResult(W, run.theta, loglik / problem.n_sequences, list(run.lower_bounds),
                       run.converged, run.n_iter, z, sites, counts, llr, log10_e)
