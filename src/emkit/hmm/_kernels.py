"""numba kernels of hidden Markov models: forward-backward and Viterbi.

All kernels take the per-frame emission log-probabilities ``log_frame`` (n_samples x
n_states, float64) of many sequences stored back to back, with ``offsets`` (n_sequences + 1)
marking where each starts, and work sequence by sequence with no Python loop over time.
Categorical emissions may instead give their symbols and a table of log-probabilities per
symbol (``forward_backward_symbols``): rows are looked up, not exponentiated, and the
posterior-weighted symbol counts are made in the same pass. Sequences are split into
chunks run in parallel, each with its own accumulators; a call runs on all threads or on
the calling thread alone, whichever has lately been faster (``_thread_choice``).

Forward-backward runs in probability space with per-step scaling (Rabiner): per step and
state it costs one multiply-add per transition and one exp (none for looked-up symbols),
against one exp and one log per transition in log space. The forward pass keeps the scaled
emission probabilities for the backward pass. A sequence whose scaled recursion under- or
overflows (all reachable states with emission probabilities below 1e-300 of the best, say)
is redone in log space, where sums over states are still made in probability space
relative to their largest term (a few exp and log per state and step), so long sequences
and extreme emissions never give NaN. A sequence that is impossible under the model
(likelihood exactly zero) gets log-likelihood -inf and zero posteriors.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from .._numba_math import exp_nonpositive
from .._thread_choice import run_fastest_way

# Re-association and contraction let the compiler vectorise the inner loops; infinities
# keep their IEEE meaning (the log-space recursions use -inf).
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}

#: Scale factors below this hand the sequence to the log-space recursion.
_SCALE_FLOOR = 1e-250
#: With a transition probability below this, the scaled recursions check every step for a
#: state lost to underflow (see _forward_scaled).
_TINY_TRANSITION = 1e-250
#: exp(x) for x below this is taken as zero (no subnormal numbers).
_EXP_FLOOR = -700.0


@njit(cache=True, inline="always")
def _exp(x):
    return math.exp(x) if x > _EXP_FLOOR else 0.0


@njit(cache=True, inline="always")
def _row_max(row):
    top = -np.inf
    for k in range(row.shape[0]):
        if row[k] > top:
            top = row[k]
    return top


@njit(cache=True, inline="always")
def _log_sum_exp(values):
    top = _row_max(values)
    if top == -np.inf:
        return -np.inf
    total = 0.0
    for k in range(values.shape[0]):
        total += _exp(values[k] - top)
    return top + math.log(total)


@njit(cache=True, inline="always")
def _log_row(log_frame, symbols, log_table, t):
    """log p(x_t | state) for all states: a row of ``log_frame``, or, when ``symbols`` has
    rows, the row of ``log_table`` for symbol x_t."""
    return log_table[symbols[t]] if symbols.shape[0] > 0 else log_frame[t]


# -- scaled (probability space) -------------------------------------------------------
#: Rows whose emission probabilities are scaled together (vectorised exp).
SLAB = 128
#: The forward pass keeps a sequence's scaled emission probabilities for the backward pass
#: when they are at most this many numbers (16 MB); a longer sequence's are recomputed.
KEPT_FRAMES = 1 << 21
#: The running product of the forward scale factors becomes a log-likelihood term when it
#: leaves [1 / _PRODUCT_SPAN, _PRODUCT_SPAN]: one log every few rows, not one per row (each
#: factor is above _SCALE_FLOOR, so the product stays a normal number).
_PRODUCT_SPAN = 1e50


@njit(cache=True, fastmath=FASTMATH)
def _scaled_frames(log_frame, symbols, table, table_top, r0, r1, top, out, diffs, scratch):
    """Emission probabilities of rows r0..r1, each row scaled by its largest:
    out[(t - r0) * K + j] = p(x_t | j) / max_k p(x_t | k), and top[t] = log of that largest.
    From ``log_frame`` or, when ``symbols`` has rows, looked up in ``table`` (row x: the
    scaled probabilities of symbol x; ``table_top[x]``: the log of their largest). Returns
    False when a row's largest is zero or not finite."""
    if symbols.shape[0] > 0:
        K = table.shape[1]
        for t in range(r0, r1):
            symbol = symbols[t]
            m = table_top[symbol]
            if not (m > -np.inf and m < np.inf):
                return False
            top[t] = m
            row = table[symbol]
            base = (t - r0) * K
            for j in range(K):
                out[base + j] = row[j]
        return True
    K = log_frame.shape[1]
    for t in range(r0, r1):
        row = log_frame[t]
        m = _row_max(row)
        if not (m > -np.inf and m < np.inf):
            return False
        top[t] = m
        base = (t - r0) * K
        for j in range(K):
            diffs[base + j] = row[j] - m
    exp_nonpositive(diffs, out, scratch, (r1 - r0) * K)
    return True


@njit(cache=True, fastmath=FASTMATH)
def _forward_scaled(log_frame, symbols, log_table, table, table_top, t0, t1, startprob,
                    transmat_t, strict, alpha, keep, top, scale, kept, slab, diffs, scratch):
    """Scaled forward pass over rows t0..t1 (emissions as _scaled_frames gives them). The
    normalised filter of row t goes to alpha[t - t0] (``keep``) or to alpha[(t - t0) % 2]
    (two rolling rows); scale[t] receives the row's normaliser. The scaled emission
    probabilities stay in ``kept`` when it can hold the sequence's. Returns the
    log-likelihood, or NaN when the scaled recursion cannot be trusted (the caller falls
    back to log space): a scale factor under- or overflows, or (``strict``) a reachable
    state's filter probability underflows. ``transmat_t`` is the transposed transition
    matrix, contiguous.

    Why ``strict`` only with tiny transition probabilities: a state whose filter
    probability underflows (below ~1e-300 of the total) can matter later only through a
    future that favours it over the others by more than 1e300; with every transition
    probability at least delta, that ratio is at most 1/delta (delta >= 1e-250: the loss
    is below 1e-50 relative). Left-right models and other structural zeros need the check.
    """
    K = startprob.shape[0]
    keep_frames = (t1 - t0) * K <= kept.shape[0]
    raw = np.empty((2, K))
    inv = 1.0
    log_tops = 0.0
    log_scales = 0.0
    product = 1.0
    for s in range(t0, t1, SLAB):
        e = min(s + SLAB, t1)
        frames = kept[(s - t0) * K:(e - t0) * K] if keep_frames else slab
        if not _scaled_frames(log_frame, symbols, table, table_top, s, e, top, frames, diffs,
                              scratch):
            return np.nan
        for t in range(s, e):
            f = frames[(t - s) * K:(t - s + 1) * K]
            # the recursion runs on the unnormalised rows, each step multiplied by the last
            # normaliser: the sum and division of a row are off the chain of dependencies
            cur, prev = raw[(t - t0) % 2], raw[(t - t0 + 1) % 2]
            if t == t0:
                for j in range(K):
                    cur[j] = startprob[j] * f[j]
            else:
                for j in range(K):
                    column = transmat_t[j]
                    total = 0.0
                    for i in range(K):
                        total += prev[i] * column[i]
                    cur[j] = total * inv * f[j]
            c = 0.0
            for j in range(K):
                c += cur[j]
            if not (c > _SCALE_FLOOR and c < np.inf):
                return np.nan
            if strict and _lost_state(_log_row(log_frame, symbols, log_table, t), cur, c,
                                      t == t0, startprob, prev, transmat_t):
                return np.nan
            inv = 1.0 / c
            a = alpha[t - t0] if keep else alpha[(t - t0) % 2]
            for j in range(K):
                a[j] = cur[j] * inv
            scale[t] = c
            log_tops += top[t]
            product *= c
            if not (product > 1.0 / _PRODUCT_SPAN and product < _PRODUCT_SPAN):
                log_scales += math.log(product)
                product = 1.0
    return log_tops + (log_scales + math.log(product))


#: A reachable state whose filter probability falls below this fraction of the total has
#: (nearly) underflowed.
_LOST = 1e-290


@njit(cache=True)
def _lost_state(log_row, a, total, first, startprob, prev, transmat_t):
    """Whether some state with a non-zero true filter probability got (nearly) zero."""
    K = a.shape[0]
    for j in range(K):
        if a[j] >= _LOST * total or log_row[j] == -np.inf:
            continue
        if first:
            if startprob[j] > 0.0:
                return True
            continue
        column = transmat_t[j]
        for i in range(K):
            if prev[i] > 0.0 and column[i] > 0.0:
                return True
    return False


@njit(cache=True, fastmath=FASTMATH)
def _backward_scaled(log_frame, symbols, table, table_top, t0, t1, transmat, alpha, top,
                     scale, xi, acc, beta, nxt, e, kept, slab, diffs, scratch):
    """Scaled backward pass over rows t0..t1 after _forward_scaled (alpha[t - t0] the
    filters, ``kept`` its scaled emission probabilities when it could hold them): turns
    alpha into the posteriors in place and adds the expected transition counts into ``xi``
    when it has rows. Returns False, leaving ``xi`` untouched, on overflow."""
    K = transmat.shape[0]
    keep_frames = (t1 - t0) * K <= kept.shape[0]
    want_xi = xi.shape[0] > 0
    if want_xi:
        acc[:, :] = 0.0
    for j in range(K):
        beta[j] = 1.0
    if not _normalise(alpha[t1 - 1 - t0]):
        return False
    # u = t + 1 runs from t1 - 1 down to t0 + 1, a slab of frames at a time
    end = t1
    while end > t0 + 1:
        s = max(t0 + 1, end - SLAB)
        if keep_frames:
            frames = kept[(s - t0) * K:(end - t0) * K]
        else:
            frames = slab
            _scaled_frames(log_frame, symbols, table, table_top, s, end, top, frames, diffs,
                           scratch)
        for u in range(end - 1, s - 1, -1):
            f = frames[(u - s) * K:(u - s + 1) * K]
            inv = 1.0 / scale[u]
            for j in range(K):
                e[j] = f[j] * beta[j] * inv
            for i in range(K):
                Ai = transmat[i]
                total = 0.0
                for j in range(K):
                    total += Ai[j] * e[j]
                nxt[i] = total
            a = alpha[u - 1 - t0]
            if want_xi:
                for i in range(K):
                    ai = a[i]
                    if ai != 0.0:
                        acc_i = acc[i]
                        for j in range(K):
                            acc_i[j] += ai * e[j]
            for i in range(K):
                beta[i] = nxt[i]
                a[i] *= nxt[i]
            if not _normalise(a):
                return False
        end = s
    if want_xi:
        for i in range(K):
            for j in range(K):
                xi[i, j] += acc[i, j] * transmat[i, j]
    return True


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _normalise(row):
    """Scale a non-negative row to sum 1; False when its sum is zero or not finite."""
    total = 0.0
    for k in range(row.shape[0]):
        total += row[k]
    if not (total > 0.0 and total < np.inf):
        return False
    inv = 1.0 / total
    for k in range(row.shape[0]):
        row[k] *= inv
    return True


# -- log space (fallback) -------------------------------------------------------------
#: In log space a sum over states is taken as exp(p) * sum_i w_i P_i with p the largest
#: log term, w_i = exp(term_i - p) and P_i a probability: terms 700 nats below p are
#: dropped (exp(-700) ~ 1e-304), which is harmless while the sum is above this. Below it,
#: the sum is redone term by term (an exact log-sum-exp).
_SUM_FLOOR = 1e-250
#: A transition count exp(q) T_ij w_j is made as a product while q is below this (the
#: dropped terms are below exp(q - 700)); above it term by term.
_PRODUCT_MAX_LOG = 300.0


@njit(cache=True)
def _forward_backward_log(log_frame, symbols, log_table, t0, t1, log_startprob, log_transmat,
                          transmat, gamma, xi, w, beta, nxt):
    """Log-space forward-backward of one sequence (emissions as _log_row gives them);
    gamma[t0:t1] receives the posteriors and ``xi`` the expected transition counts.
    Returns the log-likelihood (-inf: impossible).

    Each step costs a few exp and log per state, not one per transition: the sums over
    states are made in probability space relative to the largest term (see _SUM_FLOOR)."""
    K = log_startprob.shape[0]
    first = _log_row(log_frame, symbols, log_table, t0)
    for j in range(K):
        gamma[t0, j] = log_startprob[j] + first[j]
    for t in range(t0 + 1, t1):
        row = _log_row(log_frame, symbols, log_table, t)
        prev = gamma[t - 1]
        p = _row_max(prev)
        if p == -np.inf:
            for j in range(K):
                gamma[t, j] = -np.inf
            continue
        for i in range(K):
            w[i] = _exp(prev[i] - p)
        for j in range(K):
            total = 0.0
            for i in range(K):
                total += w[i] * transmat[i, j]
            if total > _SUM_FLOOR:
                gamma[t, j] = p + math.log(total) + row[j]
            else:
                for i in range(K):
                    nxt[i] = prev[i] + log_transmat[i, j]
                gamma[t, j] = _log_sum_exp(nxt) + row[j]
    loglik = _log_sum_exp(gamma[t1 - 1])
    if not loglik > -np.inf:
        for t in range(t0, t1):
            for j in range(K):
                gamma[t, j] = 0.0
        return loglik
    want_xi = xi.shape[0] > 0
    for j in range(K):
        beta[j] = 0.0
    for t in range(t1 - 1, t0 - 1, -1):
        if t < t1 - 1:
            following = _log_row(log_frame, symbols, log_table, t + 1)
            for j in range(K):
                w[j] = following[j] + beta[j]  # log terms of the next row
            p = _row_max(w)
            if p == -np.inf:  # no continuation: beta -inf
                for i in range(K):
                    nxt[i] = -np.inf
            else:
                for j in range(K):
                    w[j] = _exp(w[j] - p)
                for i in range(K):
                    total = 0.0
                    for j in range(K):
                        total += transmat[i, j] * w[j]
                    if total > _SUM_FLOOR:
                        nxt[i] = p + math.log(total)
                    else:
                        top = -np.inf
                        for j in range(K):
                            top = max(top, log_transmat[i, j] + following[j] + beta[j])
                        total = 0.0
                        if top > -np.inf:
                            for j in range(K):
                                total += _exp(log_transmat[i, j] + following[j] + beta[j]
                                              - top)
                        nxt[i] = top + math.log(total) if top > -np.inf else -np.inf
                if want_xi:
                    for i in range(K):
                        ai = gamma[t, i]
                        if not ai > -np.inf:
                            continue
                        q = ai + p - loglik
                        if q < _PRODUCT_MAX_LOG:
                            scale = _exp(q)
                            for j in range(K):
                                xi[i, j] += scale * transmat[i, j] * w[j]
                        else:
                            for j in range(K):
                                xi[i, j] += _exp(ai + log_transmat[i, j] + following[j]
                                                 + beta[j] - loglik)
            for i in range(K):
                beta[i] = nxt[i]
        for i in range(K):
            gamma[t, i] = _exp(gamma[t, i] + beta[i] - loglik)
        _normalise(gamma[t])
    return loglik


# -- drivers ------------------------------------------------------------------------------
@njit(cache=True)
def _scaled_table(log_table):
    """Per symbol (row of ``log_table``), its emission probabilities scaled by their
    largest, and the log of that largest."""
    M, K = log_table.shape
    table, table_top = np.zeros((M, K)), np.empty(M)
    for x in range(M):
        m = _row_max(log_table[x])
        table_top[x] = m
        if m > -np.inf and m < np.inf:
            for j in range(K):
                table[x, j] = _exp(log_table[x, j] - m)
    return table, table_top


@njit(cache=True)
def _posteriors_sequences(log_frame, symbols, log_table, offsets, s0, s1, startprob,
                          transmat, gamma, start, xi, counts, loglik, top, scale):
    K = startprob.shape[0]
    log_startprob = np.log(startprob)
    log_transmat = np.log(transmat)
    transmat_t = np.ascontiguousarray(transmat.T)
    table, table_top = _scaled_table(log_table)
    strict = transmat.min() < _TINY_TRANSITION
    longest = 0
    for s in range(s0, s1):
        longest = max(longest, offsets[s + 1] - offsets[s])
    kept = np.empty(min(longest * K, KEPT_FRAMES))
    slab, diffs, scratch = np.empty(SLAB * K), np.empty(SLAB * K), np.empty(SLAB * K)
    beta, nxt, e = np.empty(K), np.empty(K), np.empty(K)
    acc = np.empty((K, K))
    for s in range(s0, s1):
        t0, t1 = offsets[s], offsets[s + 1]
        alpha = gamma[t0:t1]
        ll = _forward_scaled(log_frame, symbols, log_table, table, table_top, t0, t1,
                             startprob, transmat_t, strict, alpha, True, top, scale, kept,
                             slab, diffs, scratch)
        if not np.isnan(ll) and _backward_scaled(log_frame, symbols, table, table_top, t0,
                                                 t1, transmat, alpha, top, scale, xi, acc,
                                                 beta, nxt, e, kept, slab, diffs, scratch):
            loglik[s] = ll
        else:
            loglik[s] = _forward_backward_log(log_frame, symbols, log_table, t0, t1,
                                              log_startprob, log_transmat, transmat, gamma,
                                              xi, e, beta, nxt)
        for k in range(K):
            start[k] += gamma[t0, k]
        if counts.shape[0] > 0:  # posterior-weighted symbol counts
            for t in range(t0, t1):
                row = counts[symbols[t]]
                for k in range(K):
                    row[k] += gamma[t, k]


@njit(cache=True, parallel=True)
def _posteriors_chunks(log_frame, symbols, log_table, offsets, startprob, transmat, gamma,
                       want_xi, n_chunks):
    n, K = gamma.shape
    n_seq = offsets.shape[0] - 1
    start = np.zeros((n_chunks, K))
    xi = np.zeros((n_chunks, K, K)) if want_xi else np.zeros((n_chunks, 0, 0))
    counts = np.zeros((n_chunks, log_table.shape[0] if symbols.shape[0] > 0 else 0, K))
    loglik = np.empty(n_seq)
    top, scale = np.empty(n), np.empty(n)
    for c in prange(n_chunks):
        s0 = (n_seq * c) // n_chunks
        s1 = (n_seq * (c + 1)) // n_chunks
        _posteriors_sequences(log_frame, symbols, log_table, offsets, s0, s1, startprob,
                              transmat, gamma, start[c], xi[c], counts[c], loglik, top,
                              scale)
    return start, xi, counts, loglik


#: Below this many rows the kernels run on the calling thread.
PARALLEL_MIN_ROWS = 20_000


def _n_chunks(n_rows: int, n_sequences: int) -> int:
    threads = numba.get_num_threads()
    if n_rows < PARALLEL_MIN_ROWS or threads == 1 or n_sequences == 1:
        return 1
    return min(n_sequences, 4 * threads)


_NO_SYMBOLS = np.empty(0, dtype=np.int64)


def _posteriors(log_frame, symbols, log_table, offsets, startprob, transmat, want_xi):
    """forward_backward's work for either emission source: (gamma, start, trans, counts,
    loglik), ``counts`` (n_symbols, n_states) with no rows without symbols."""
    n, K = (symbols.shape[0], log_table.shape[1]) if symbols.shape[0] else log_frame.shape
    n_seq = offsets.shape[0] - 1
    gamma = np.empty((n, K))
    n_chunks = _n_chunks(n, n_seq)
    if n_chunks == 1:  # on the calling thread: no parallel region to wake
        start, loglik = np.zeros(K), np.empty(n_seq)
        xi = np.zeros((K, K) if want_xi else (0, 0))
        counts = np.zeros((log_table.shape[0] if symbols.shape[0] else 0, K))
        _posteriors_sequences(log_frame, symbols, log_table, offsets, 0, n_seq, startprob,
                              transmat, gamma, start, xi, counts, loglik, np.empty(n),
                              np.empty(n))
    else:
        # chunk sums made here, in chunk order: the same whichever way the call runs
        start, xi, counts, loglik = run_fastest_way(
            _posteriors_chunks, ("hmm posteriors", K, symbols.shape[0] > 0), n, log_frame,
            symbols, log_table, offsets, startprob, transmat, gamma, bool(want_xi),
            n_chunks)
        start, xi, counts = start.sum(axis=0), xi.sum(axis=0), counts.sum(axis=0)
    if not want_xi:
        xi = np.zeros((K, K))
    return gamma, start, xi, counts, loglik


def forward_backward(log_frame, offsets, startprob, transmat, want_xi=True):
    """Posteriors and expected counts of sequences stored back to back.

    Parameters
    ----------
    log_frame : ndarray of shape (n_samples, n_states), float64
        log p(x_t | state).
    offsets : ndarray of shape (n_sequences + 1,), int64
        Sequence s is rows offsets[s]:offsets[s + 1].
    startprob, transmat : ndarray
    want_xi : bool
        Whether to accumulate the expected transition counts.

    Returns
    -------
    gamma : ndarray (n_samples, n_states)
        State posteriors, rows summing to 1 (0 for an impossible sequence).
    start : ndarray (n_states,)
        Sum over sequences of the first posterior.
    trans : ndarray (n_states, n_states)
        Expected transition counts (zeros when not wanted).
    loglik : ndarray (n_sequences,)
        Per-sequence log-likelihood.
    """
    K = log_frame.shape[1]
    gamma, start, xi, _, loglik = _posteriors(log_frame, _NO_SYMBOLS, np.empty((0, K)),
                                              offsets, startprob, transmat, want_xi)
    return gamma, start, xi, loglik


def forward_backward_symbols(symbols, log_emission, offsets, startprob, transmat,
                             want_xi=True):
    """forward_backward for categorical emissions, with the posterior-weighted symbol
    counts: the emission probabilities are looked up per symbol (no per-row log-density
    array, no exp per row) and the counts accumulated in the same pass.

    Parameters
    ----------
    symbols : ndarray of shape (n_samples,), int64
        Symbols in 0..n_symbols - 1.
    log_emission : ndarray of shape (n_states, n_symbols), float64
        log p(symbol | state).
    offsets, startprob, transmat, want_xi
        As for forward_backward.

    Returns
    -------
    gamma, start, trans, loglik
        As for forward_backward.
    counts : ndarray (n_states, n_symbols)
        counts[k, x] = sum of gamma[t, k] over the rows t with symbol x.
    """
    log_table = np.ascontiguousarray(np.asarray(log_emission, dtype=np.float64).T)
    gamma, start, xi, counts, loglik = _posteriors(
        np.empty((0, log_table.shape[1])), np.ascontiguousarray(symbols, dtype=np.int64),
        log_table, offsets, startprob, transmat, want_xi)
    return gamma, start, xi, loglik, counts.T


# -- forward only (scoring) ---------------------------------------------------------------
@njit(cache=True)
def _forward_log_rolling(log_frame, t0, t1, log_startprob, log_transmat, cur, prev, vec):
    K = log_startprob.shape[0]
    for j in range(K):
        cur[j] = log_startprob[j] + log_frame[t0, j]
    for t in range(t0 + 1, t1):
        for j in range(K):
            prev[j] = cur[j]
        for j in range(K):
            for i in range(K):
                vec[i] = prev[i] + log_transmat[i, j]
            cur[j] = _log_sum_exp(vec) + log_frame[t, j]
    return _log_sum_exp(cur)


@njit(cache=True)
def _forward_sequences(log_frame, offsets, s0, s1, startprob, transmat, loglik, top, scale):
    K = startprob.shape[0]
    log_startprob = np.log(startprob)
    log_transmat = np.log(transmat)
    transmat_t = np.ascontiguousarray(transmat.T)
    strict = transmat.min() < _TINY_TRANSITION
    symbols, log_table = np.empty(0, dtype=np.int64), np.empty((0, K))
    table, table_top, kept = np.empty((0, K)), np.empty(0), np.empty(0)
    rolling = np.empty((2, K))
    cur, prev, vec = np.empty(K), np.empty(K), np.empty(K)
    slab, diffs, scratch = np.empty(SLAB * K), np.empty(SLAB * K), np.empty(SLAB * K)
    for s in range(s0, s1):
        t0, t1 = offsets[s], offsets[s + 1]
        ll = _forward_scaled(log_frame, symbols, log_table, table, table_top, t0, t1,
                             startprob, transmat_t, strict, rolling, False, top, scale, kept,
                             slab, diffs, scratch)
        if np.isnan(ll):
            ll = _forward_log_rolling(log_frame, t0, t1, log_startprob, log_transmat, cur,
                                      prev, vec)
        loglik[s] = ll


@njit(cache=True, parallel=True)
def _forward_chunks(log_frame, offsets, startprob, transmat, n_chunks, loglik):
    n = log_frame.shape[0]
    n_seq = offsets.shape[0] - 1
    top, scale = np.empty(n), np.empty(n)
    for c in prange(n_chunks):
        _forward_sequences(log_frame, offsets, (n_seq * c) // n_chunks,
                           (n_seq * (c + 1)) // n_chunks, startprob, transmat, loglik, top,
                           scale)


def forward(log_frame, offsets, startprob, transmat):
    """Per-sequence log-likelihoods by the forward recursion alone (no posteriors kept)."""
    n = log_frame.shape[0]
    n_seq = offsets.shape[0] - 1
    loglik = np.empty(n_seq)
    n_chunks = _n_chunks(n, n_seq)
    if n_chunks == 1:
        _forward_sequences(log_frame, offsets, 0, n_seq, startprob, transmat, loglik,
                           np.empty(n), np.empty(n))
    else:
        _forward_chunks(log_frame, offsets, startprob, transmat, n_chunks, loglik)
    return loglik


# -- Viterbi ----------------------------------------------------------------------------
@njit(cache=True)
def _viterbi_sequence(log_frame, t0, t1, log_startprob, log_transmat, back, path, cur, prev):
    K = log_startprob.shape[0]
    for j in range(K):
        cur[j] = log_startprob[j] + log_frame[t0, j]
    for t in range(t0 + 1, t1):
        for j in range(K):
            prev[j] = cur[j]
        for j in range(K):
            best, arg = -np.inf, 0
            for i in range(K):
                v = prev[i] + log_transmat[i, j]
                if v > best:
                    best, arg = v, i
            cur[j] = best + log_frame[t, j]
            back[t, j] = arg
    best, arg = -np.inf, 0
    for j in range(K):
        if cur[j] > best:
            best, arg = cur[j], j
    path[t1 - 1] = arg
    for t in range(t1 - 1, t0, -1):
        arg = back[t, arg]
        path[t - 1] = arg
    return best


@njit(cache=True)
def _viterbi_sequences(log_frame, offsets, s0, s1, startprob, transmat, back, path, logprob):
    K = startprob.shape[0]
    log_startprob = np.log(startprob)
    log_transmat = np.log(transmat)
    cur, prev = np.empty(K), np.empty(K)
    for s in range(s0, s1):
        logprob[s] = _viterbi_sequence(log_frame, offsets[s], offsets[s + 1], log_startprob,
                                       log_transmat, back, path, cur, prev)


@njit(cache=True, parallel=True)
def _viterbi_chunks(log_frame, offsets, startprob, transmat, n_chunks, back, path, logprob):
    n_seq = offsets.shape[0] - 1
    for c in prange(n_chunks):
        _viterbi_sequences(log_frame, offsets, (n_seq * c) // n_chunks,
                           (n_seq * (c + 1)) // n_chunks, startprob, transmat, back, path,
                           logprob)


def viterbi(log_frame, offsets, startprob, transmat):
    """Most likely state path of each sequence: (per-sequence log-probability of the
    path, path of length n_samples). Ties go to the lowest state index."""
    n, K = log_frame.shape
    n_seq = offsets.shape[0] - 1
    back = np.empty((n, K), dtype=np.int32)
    path = np.empty(n, dtype=np.int64)
    logprob = np.empty(n_seq)
    n_chunks = _n_chunks(n, n_seq)
    if n_chunks == 1:
        _viterbi_sequences(log_frame, offsets, 0, n_seq, startprob, transmat, back, path,
                           logprob)
    else:
        _viterbi_chunks(log_frame, offsets, startprob, transmat, n_chunks, back, path,
                        logprob)
    return logprob, path
