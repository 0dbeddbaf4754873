"""numba kernels of hidden Markov models: forward-backward and Viterbi.

All kernels take the per-frame emission log-probabilities ``log_frame`` (n_samples x
n_states, float64) of many sequences stored back to back, with ``offsets`` (n_sequences + 1)
marking where each starts, and work sequence by sequence with no Python loop over time.
Sequences are split into chunks run in parallel, each with its own accumulators.

Forward-backward runs in probability space with per-step scaling (Rabiner): per step and
state it costs one multiply-add per transition and one exp, against one exp and one log per
transition in log space. A sequence whose scaled recursion under- or overflows (all
reachable states with emission probabilities below 1e-300 of the best, say) is redone in log
space, so long sequences and extreme emissions never give NaN. A sequence that is
impossible under the model (likelihood exactly zero) gets log-likelihood -inf and zero
posteriors.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

#: Scale factors below this hand the sequence to the log-space recursion.
_SCALE_FLOOR = 1e-250
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


# -- scaled (probability space) -------------------------------------------------------
@njit(cache=True)
def _forward_scaled(log_frame, t0, t1, startprob, transmat, alpha, log_scale, frame):
    """Scaled forward pass over rows t0..t1: alpha[t] (normalised filter) and log_scale[t]
    (log of step t's normaliser); returns False when a scale factor under- or overflows."""
    K = startprob.shape[0]
    for t in range(t0, t1):
        row = log_frame[t]
        top = _row_max(row)
        if not (top > -np.inf and top < np.inf):
            return False
        for j in range(K):
            frame[j] = _exp(row[j] - top)
        a = alpha[t]
        if t == t0:
            for j in range(K):
                a[j] = startprob[j] * frame[j]
        else:
            prev = alpha[t - 1]
            for j in range(K):
                a[j] = 0.0
            for i in range(K):
                p = prev[i]
                if p != 0.0:
                    Ai = transmat[i]
                    for j in range(K):
                        a[j] += p * Ai[j]
            for j in range(K):
                a[j] *= frame[j]
        c = 0.0
        for j in range(K):
            c += a[j]
        if not (c > _SCALE_FLOOR and c < np.inf):
            return False
        inv = 1.0 / c
        for j in range(K):
            a[j] *= inv
        log_scale[t] = top + math.log(c)
    return True


@njit(cache=True)
def _backward_scaled(log_frame, t0, t1, transmat, alpha, log_scale, xi, beta, nxt, e):
    """Scaled backward pass; turns alpha[t] into the posteriors gamma[t] in place and adds
    the expected transition counts into ``xi`` (when it has rows). Returns False (leaving
    ``xi`` untouched) on overflow."""
    K = transmat.shape[0]
    want_xi = xi.shape[0] > 0
    # accumulate into a private buffer first, so a failed sequence adds nothing
    acc = np.zeros((K, K)) if want_xi else np.zeros((0, 0))
    for j in range(K):
        beta[j] = 1.0
    last = alpha[t1 - 1]
    _normalise(last)
    for t in range(t1 - 2, t0 - 1, -1):
        row = log_frame[t + 1]
        s = log_scale[t + 1]
        for j in range(K):
            e[j] = _exp(row[j] - s) * beta[j]
        for i in range(K):
            Ai = transmat[i]
            total = 0.0
            for j in range(K):
                total += Ai[j] * e[j]
            nxt[i] = total
        a = alpha[t]
        if want_xi:
            for i in range(K):
                ai = a[i]
                if ai != 0.0:
                    acc_i = acc[i]
                    for j in range(K):
                        acc_i[j] += ai * e[j]
        finite = True
        for i in range(K):
            beta[i] = nxt[i]
            if not (nxt[i] < np.inf):
                finite = False
            a[i] *= nxt[i]
        if not finite:
            return False
        _normalise(a)
    if want_xi:
        for i in range(K):
            for j in range(K):
                xi[i, j] += acc[i, j] * transmat[i, j]
    return True


@njit(cache=True, inline="always")
def _normalise(row):
    total = 0.0
    for k in range(row.shape[0]):
        total += row[k]
    if total > 0.0:
        inv = 1.0 / total
        for k in range(row.shape[0]):
            row[k] *= inv


# -- log space (fallback) -------------------------------------------------------------
@njit(cache=True)
def _forward_backward_log(log_frame, t0, t1, log_startprob, log_transmat, transmat, gamma,
                          xi, vec, beta, nxt):
    """Log-space forward-backward of one sequence; gamma[t0:t1] receives the posteriors and
    ``xi`` the expected transition counts. Returns the log-likelihood (-inf: impossible)."""
    K = log_startprob.shape[0]
    for j in range(K):
        gamma[t0, j] = log_startprob[j] + log_frame[t0, j]
    for t in range(t0 + 1, t1):
        for j in range(K):
            for i in range(K):
                vec[i] = gamma[t - 1, i] + log_transmat[i, j]
            gamma[t, j] = _log_sum_exp(vec) + log_frame[t, j]
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
            for i in range(K):
                for j in range(K):
                    vec[j] = log_transmat[i, j] + log_frame[t + 1, j] + beta[j]
                nxt[i] = _log_sum_exp(vec)
            if want_xi:
                for i in range(K):
                    ai = gamma[t, i]
                    if ai > -np.inf:
                        for j in range(K):
                            xi[i, j] += _exp(ai + log_transmat[i, j] + log_frame[t + 1, j]
                                             + beta[j] - loglik)
            for i in range(K):
                beta[i] = nxt[i]
        for i in range(K):
            gamma[t, i] = _exp(gamma[t, i] + beta[i] - loglik)
        _normalise(gamma[t])
    return loglik


# -- drivers ------------------------------------------------------------------------------
@njit(cache=True)
def _posteriors_sequences(log_frame, offsets, s0, s1, startprob, transmat, gamma, start,
                          xi, loglik):
    K = startprob.shape[0]
    log_startprob = np.log(startprob)
    log_transmat = np.log(transmat)
    log_scale = np.empty(0)
    frame, beta, nxt, e = np.empty(K), np.empty(K), np.empty(K), np.empty(K)
    for s in range(s0, s1):
        t0, t1 = offsets[s], offsets[s + 1]
        if log_scale.shape[0] < t1 - t0:
            log_scale = np.empty(t1 - t0)
        scale = log_scale[: t1 - t0]
        # the recursions index log_scale by absolute row: hand them a shifted view
        ok = _forward_scaled(log_frame[t0:t1], 0, t1 - t0, startprob, transmat,
                             gamma[t0:t1], scale, frame)
        if ok:
            ok = _backward_scaled(log_frame[t0:t1], 0, t1 - t0, transmat, gamma[t0:t1],
                                  scale, xi, beta, nxt, e)
        if ok:
            total = 0.0
            for t in range(t1 - t0):
                total += scale[t]
            loglik[s] = total
        else:
            loglik[s] = _forward_backward_log(log_frame, t0, t1, log_startprob,
                                              log_transmat, transmat, gamma, xi, frame,
                                              beta, nxt)
        for k in range(K):
            start[k] += gamma[t0, k]


@njit(cache=True, parallel=True)
def _posteriors_chunks(log_frame, offsets, startprob, transmat, gamma, want_xi, n_chunks):
    K = startprob.shape[0]
    n_seq = offsets.shape[0] - 1
    start = np.zeros((n_chunks, K))
    xi = np.zeros((n_chunks, K, K)) if want_xi else np.zeros((n_chunks, 0, 0))
    loglik = np.empty(n_seq)
    for c in prange(n_chunks):
        s0 = (n_seq * c) // n_chunks
        s1 = (n_seq * (c + 1)) // n_chunks
        _posteriors_sequences(log_frame, offsets, s0, s1, startprob, transmat, gamma,
                              start[c], xi[c], loglik)
    return start.sum(axis=0), xi.sum(axis=0), loglik


#: Below this many rows the kernels run on the calling thread.
PARALLEL_MIN_ROWS = 20_000


def _n_chunks(n_rows: int, n_sequences: int) -> int:
    threads = numba.get_num_threads()
    if n_rows < PARALLEL_MIN_ROWS or threads == 1 or n_sequences == 1:
        return 1
    return min(n_sequences, 4 * threads)


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
    n, K = log_frame.shape
    gamma = np.empty((n, K))
    n_seq = offsets.shape[0] - 1
    n_chunks = _n_chunks(n, n_seq)
    start, xi, loglik = _posteriors_chunks(log_frame, offsets, startprob, transmat, gamma,
                                           bool(want_xi), n_chunks)
    if not want_xi:
        xi = np.zeros((K, K))
    return gamma, start, xi, loglik


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
def _forward_scaled_rolling(log_frame, t0, t1, startprob, transmat, cur, prev, frame):
    """Scaled forward over one sequence keeping only the current filter; returns the
    log-likelihood, or NaN when the scaled recursion fails (caller falls back to logs)."""
    K = startprob.shape[0]
    total = 0.0
    for t in range(t0, t1):
        row = log_frame[t]
        top = _row_max(row)
        if not (top > -np.inf and top < np.inf):
            return np.nan
        for j in range(K):
            frame[j] = _exp(row[j] - top)
        if t == t0:
            for j in range(K):
                cur[j] = startprob[j] * frame[j]
        else:
            for j in range(K):
                prev[j] = cur[j]
                cur[j] = 0.0
            for i in range(K):
                p = prev[i]
                if p != 0.0:
                    Ai = transmat[i]
                    for j in range(K):
                        cur[j] += p * Ai[j]
            for j in range(K):
                cur[j] *= frame[j]
        c = 0.0
        for j in range(K):
            c += cur[j]
        if not (c > _SCALE_FLOOR and c < np.inf):
            return np.nan
        inv = 1.0 / c
        for j in range(K):
            cur[j] *= inv
        total += top + math.log(c)
    return total


@njit(cache=True, parallel=True)
def _forward_chunks(log_frame, offsets, startprob, transmat, n_chunks):
    K = startprob.shape[0]
    n_seq = offsets.shape[0] - 1
    loglik = np.empty(n_seq)
    log_startprob = np.log(startprob)
    log_transmat = np.log(transmat)
    for c in prange(n_chunks):
        cur, prev, frame = np.empty(K), np.empty(K), np.empty(K)
        for s in range((n_seq * c) // n_chunks, (n_seq * (c + 1)) // n_chunks):
            t0, t1 = offsets[s], offsets[s + 1]
            ll = _forward_scaled_rolling(log_frame, t0, t1, startprob, transmat, cur, prev,
                                         frame)
            if np.isnan(ll):
                ll = _forward_log_rolling(log_frame, t0, t1, log_startprob, log_transmat,
                                          cur, prev, frame)
            loglik[s] = ll
    return loglik


def forward(log_frame, offsets, startprob, transmat):
    """Per-sequence log-likelihoods by the forward recursion alone (no posteriors kept)."""
    n_seq = offsets.shape[0] - 1
    return _forward_chunks(log_frame, offsets, startprob, transmat,
                           _n_chunks(log_frame.shape[0], n_seq))


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


@njit(cache=True, parallel=True)
def _viterbi_chunks(log_frame, offsets, startprob, transmat, n_chunks):
    n, K = log_frame.shape
    n_seq = offsets.shape[0] - 1
    log_startprob = np.log(startprob)
    log_transmat = np.log(transmat)
    back = np.empty((n, K), dtype=np.int32)
    path = np.empty(n, dtype=np.int64)
    logprob = np.empty(n_seq)
    for c in prange(n_chunks):
        cur, prev = np.empty(K), np.empty(K)
        for s in range((n_seq * c) // n_chunks, (n_seq * (c + 1)) // n_chunks):
            logprob[s] = _viterbi_sequence(log_frame, offsets[s], offsets[s + 1],
                                           log_startprob, log_transmat, back, path, cur,
                                           prev)
    return logprob, path


def viterbi(log_frame, offsets, startprob, transmat):
    """Most likely state path of each sequence: (per-sequence log-probability of the
    path, path of length n_samples). Ties go to the lowest state index."""
    n_seq = offsets.shape[0] - 1
    return _viterbi_chunks(log_frame, offsets, startprob, transmat,
                           _n_chunks(log_frame.shape[0], n_seq))
