"""numba kernels of the Gaussian mixture E-step.

One pass over the rows computes each row's component log-densities, its log-likelihood, its
responsibilities, and accumulates the M-step statistics (:class:`GaussianStats`) about the
anchor = the current means. No (rows x components x features) temporary exists; rows are
split into chunks run in parallel, each with its own accumulators, summed at the end.
Accumulation is in float64 whatever the data's dtype.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from .._numba_math import LOG_RESP_FLOOR_F64, exp_nonpositive, log_resp_floor
from .._thread_choice import run_fastest_way

# Re-association and contraction let the compiler vectorise the inner loops; infinities and
# NaN keep their IEEE meaning (a zero weight has log-weight -inf).
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
_LOG_2PI = math.log(2.0 * math.pi)

#: Responsibilities below exp(LOG_RESP_FLOOR) (about 1e-152) are set to zero: they change no
#: statistic at float64 precision, and subnormal numbers they would breed slow every
#: arithmetic unit down by orders of magnitude (float32 kernels use a higher floor, see
#: emkit._numba_math.log_resp_floor).
LOG_RESP_FLOOR = LOG_RESP_FLOOR_F64


def flushed_exp(log_resp: np.ndarray) -> np.ndarray:
    """exp(log_resp), with values below exp(LOG_RESP_FLOOR) set to zero (no subnormals)."""
    with np.errstate(under="ignore"):
        resp = np.exp(log_resp)
    resp[log_resp < LOG_RESP_FLOOR] = 0.0
    return resp


#: Below this many rows a kernel runs on the calling thread: waking a thread pool costs more.
PARALLEL_MIN_ROWS = 20_000


def n_chunks_for(n_samples: int) -> int:
    """Independent row chunks run in parallel: 1 (serial) for small inputs, else a few per
    thread."""
    threads = numba.get_num_threads()
    if n_samples < PARALLEL_MIN_ROWS or threads == 1:
        return 1
    return 4 * threads


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _normalise_row(logp):
    """In place: logp_k -> exp(logp_k - logsumexp(logp)); returns the logsumexp."""
    top = -np.inf
    for k in range(logp.shape[0]):
        if logp[k] > top:
            top = logp[k]
    if top == -np.inf:  # every component impossible: the row's likelihood is zero
        for k in range(logp.shape[0]):
            logp[k] = 0.0
        return -np.inf
    total = 0.0
    for k in range(logp.shape[0]):
        gap = logp[k] - top
        logp[k] = math.exp(gap) if gap > LOG_RESP_FLOOR else 0.0
        total += logp[k]
    for k in range(logp.shape[0]):
        logp[k] /= total
    return top + math.log(total)


def _chunk_sums(parts):
    """Per-chunk statistics summed over the chunks, outside the parallel kernel: a sum
    inside it becomes a parallel reduction whose order depends on the number of threads."""
    return tuple(part.sum(axis=0) for part in parts[:-1]) + (float(parts[-1].sum()),)


@njit(cache=True, inline="always")
def _chunk_bounds(n, n_chunks, c):
    return (n * c) // n_chunks, (n * (c + 1)) // n_chunks


# -- full ------------------------------------------------------------------------
#: Rows processed together: the innermost loops run over a tile's rows, which vectorises
#: where loops over a handful of features would not. Longer tiles amortise the horizontal
#: sums better; shorter ones keep the (components x features x rows) buffer in cache.
TILE_MIN, TILE_MAX = 32, 256
TILE_CACHE_BYTES = 512 * 1024


def tile_rows(n_components: int, n_features: int, itemsize: int = 8) -> int:
    """Rows per tile for a model of this size: the longest power of two from TILE_MIN to
    TILE_MAX whose (components x features x rows) buffer fits TILE_CACHE_BYTES."""
    tile = TILE_MAX
    while tile > TILE_MIN and n_components * n_features * tile * itemsize > TILE_CACHE_BYTES:
        tile //= 2
    return tile


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _load_tile_diffs(X, i0, nt, means, xt, diffs):
    """diffs[k, d, t] = X[i0 + t, d] - means[k, d] (feature-major, rows innermost), through
    one transposed copy xt (D, TILE) of the tile so the subtractions vectorise."""
    K, D = means.shape
    for t in range(nt):
        x = X[i0 + t]
        for d in range(D):
            xt[d, t] = x[d]
    for k in range(K):
        for d in range(D):
            m = means[k, d]
            src = xt[d]
            dst = diffs[k, d]
            for t in range(nt):
                dst[t] = src[t] - m


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _tile_sum(values, nt, zero):
    """values[:nt].sum(), in the tile's dtype."""
    total = zero
    for t in range(nt):
        total += values[t]
    return total


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _add_upper_gram(weighted, rows, nt, zero, out):
    """out[a, b] += sum_t weighted[a, t] * rows[b, t] for b >= a (the upper triangle),
    four dot products per pass so each load of weighted[a] serves four."""
    D = rows.shape[0]
    for a in range(D):
        wa = weighted[a]
        b = a
        while b + 4 <= D:
            r0, r1, r2, r3 = rows[b], rows[b + 1], rows[b + 2], rows[b + 3]
            acc0 = acc1 = acc2 = acc3 = zero
            for t in range(nt):
                v = wa[t]
                acc0 += v * r0[t]
                acc1 += v * r1[t]
                acc2 += v * r2[t]
                acc3 += v * r3[t]
            out[a, b] += acc0
            out[a, b + 1] += acc1
            out[a, b + 2] += acc2
            out[a, b + 3] += acc3
            b += 4
        for b in range(b, D):
            rb = rows[b]
            acc = zero
            for t in range(nt):
                acc += wa[t] * rb[t]
            out[a, b] += acc


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _tile_responsibilities(logp, nt, w, i0, resp, scratch):
    """Normalise the columns of logp (K, tile) (one per row of the tile) into resp (K, tile),
    row weights applied; returns the tile's weighted log-likelihood.

    Vectorised across the tile's rows, in logp's dtype (float32 data: eight lanes);
    ``scratch`` is (4, tile) of the same dtype.
    """
    K = logp.shape[0]
    top, total, gap, expd = scratch[0], scratch[1], scratch[2], scratch[3]
    typed = np.empty(3, dtype=logp.dtype)  # constants in the tile's precision
    floor_value = log_resp_floor(logp)
    typed[0], typed[1], typed[2] = 0.0, floor_value, floor_value - 1.0
    zero, floor, below_floor = typed[0], typed[1], typed[2]
    for t in range(nt):
        top[t] = logp[0, t]
        total[t] = zero
    for k in range(1, K):
        for t in range(nt):
            top[t] = max(top[t], logp[k, t])
    for t in range(nt):  # a row impossible under every component keeps finite arithmetic
        if top[t] == -np.inf:
            top[t] = zero
    for k in range(K):
        for t in range(nt):
            gap[t] = max(logp[k, t] - top[t], below_floor)
        exp_nonpositive(gap, logp[k], expd, nt)
        for t in range(nt):
            if gap[t] < floor:
                logp[k, t] = zero
            total[t] += logp[k, t]
    ll = 0.0
    for t in range(nt):
        wi = 1.0 if w.shape[0] == 0 else w[i0 + t]
        if total[t] == 0.0:
            lse = -np.inf
            scale = 0.0
        else:
            lse = top[t] + math.log(total[t])
            scale = wi / total[t]
        if wi != 0.0:
            ll += wi * lse
        gap[t] = scale
    for k in range(K):
        for t in range(nt):
            resp[k, t] = logp[k, t] * gap[t]
    return ll


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _matrix_tile_log_prob(X, i0, nt, means, chols, log_const, xt, diffs, y, maha, logp):
    """Fill diffs (K, D, tile) and logp (K, tile) for a tile of rows, 'full' covariances:
    y = diff @ chol_k by axpys over the tile's rows, then |y|^2."""
    K, D = means.shape
    zero = np.zeros(1, dtype=X.dtype)[0]
    _load_tile_diffs(X, i0, nt, means, xt, diffs)
    for k in range(K):
        chol = chols[k]
        dk = diffs[k]
        for j in range(D):
            yj = y[j]
            for t in range(nt):
                yj[t] = zero
        # chol is upper triangular (zero below the diagonal), so four of its rows can be
        # applied together from column l on: each y_j is loaded and stored once per four.
        l = 0
        while l + 4 <= D:
            d0, d1, d2, d3 = dk[l], dk[l + 1], dk[l + 2], dk[l + 3]
            for j in range(l, D):
                c0, c1, c2, c3 = chol[l, j], chol[l + 1, j], chol[l + 2, j], chol[l + 3, j]
                yj = y[j]
                for t in range(nt):
                    yj[t] += d0[t] * c0 + d1[t] * c1 + d2[t] * c2 + d3[t] * c3
            l += 4
        for l in range(l, D):
            dl = dk[l]
            for j in range(l, D):
                c = chol[l, j]
                yj = y[j]
                for t in range(nt):
                    yj[t] += dl[t] * c
        for t in range(nt):
            maha[t] = zero
        for j in range(D):
            yj = y[j]
            for t in range(nt):
                maha[t] += yj[t] * yj[t]
        for t in range(nt):
            logp[k, t] = log_const[k] - 0.5 * maha[t]


#: Responsibilities at most this (one row's in the 'full' E-step, a group of four rows'
#: sum in the expanded 'diag'/'spherical' one) are left out of a component's first and
#: second sums (a component far from a row gets a responsibility like 1e-100 there: at
#: high-d's start 92% of them are below 1e-16, and their products with the row cost a
#: third of the diagonal kernel and half of the full one).
NEGLIGIBLE_RESPONSIBILITY = 1e-20
#: ...provided that all a component left out weighs at most this fraction of its weight
#: (the rounding of its sums is larger); else the E-step runs again leaving nothing out.
NEGLIGIBLE_FRACTION = 2.0 ** -60


def _until_nothing_that_matters_is_left_out(one_pass):
    """``one_pass(negligible)`` -> (weight, ..., skipped, loglik), leaving out
    responsibilities up to NEGLIGIBLE_RESPONSIBILITY; run again leaving nothing out where a
    component's left-out weight exceeds NEGLIGIBLE_FRACTION of its weight. Returns the
    statistics without ``skipped``."""
    for negligible in (NEGLIGIBLE_RESPONSIBILITY, 0.0):
        *stats, skipped, loglik = one_pass(negligible)
        if np.all(skipped <= NEGLIGIBLE_FRACTION * stats[0]):
            break
    return (*stats, loglik)


@njit(cache=True, fastmath=FASTMATH)
def _estep_matrix_rows(X, w, means, chols, log_const, tile, negligible, start, stop, S0, S1,
                       S2, skipped):
    """Rows start:stop of the 'full' E-step, accumulated into S0, S1 and the upper
    triangles of S2; returns their weighted log-likelihood.

    Within a tile the arithmetic is in the data's dtype (float32 runs twice as many lanes);
    tile sums are added to float64 accumulators. A row's responsibility of at most
    ``negligible`` is left out of S1 and S2 (the tile's other rows are packed together)
    and added to ``skipped``; S0 has every one. A negative ``negligible`` leaves nothing
    out and packs nothing.
    """
    D = X.shape[1]
    K = means.shape[0]
    zero = np.zeros(1, dtype=X.dtype)[0]
    xt = np.empty((D, tile), dtype=X.dtype)
    diffs = np.empty((K, D, tile), dtype=X.dtype)
    y = np.empty((D, tile), dtype=X.dtype)
    maha = np.empty(tile, dtype=X.dtype)
    logp = np.empty((K, tile), dtype=X.dtype)
    resp = np.empty((K, tile), dtype=X.dtype)
    weighted = np.empty((D, tile), dtype=X.dtype)
    packed = np.empty((D, tile), dtype=X.dtype)
    packed_resp = np.empty(tile, dtype=X.dtype)
    kept = np.empty(tile, dtype=np.int64)
    scratch = np.empty((4, tile), dtype=X.dtype)
    ll = 0.0
    for i0 in range(start, stop, tile):
        nt = min(tile, stop - i0)
        _matrix_tile_log_prob(X, i0, nt, means, chols, log_const, xt, diffs, y, maha, logp)
        ll += _tile_responsibilities(logp, nt, w, i0, resp, scratch)
        for k in range(K):
            rk = resp[k]
            total = _tile_sum(rk, nt, zero)
            if total == 0.0:
                continue
            S0[k] += total
            m = nt
            if negligible >= 0.0:
                m = 0
                left = 0.0
                for t in range(nt):
                    if rk[t] > negligible:
                        kept[m] = t
                        m += 1
                    else:
                        left += rk[t]
                skipped[k] += left
            if m == 0:
                continue
            dk = diffs[k]
            if m < nt:  # pack the rows kept
                for a in range(D):
                    da, pa = dk[a], packed[a]
                    for j in range(m):
                        pa[j] = da[kept[j]]
                for j in range(m):
                    packed_resp[j] = rk[kept[j]]
                rows, rk = packed, packed_resp
            else:
                rows = dk
            s2 = S2[k]
            for a in range(D):
                acc = zero
                wa = weighted[a]
                ra = rows[a]
                for t in range(m):
                    wa[t] = rk[t] * ra[t]
                    acc += wa[t]
                S1[k, a] += acc
            _add_upper_gram(weighted, rows, m, zero, s2)
    return ll


@njit(cache=True, parallel=True)
def _estep_matrix_chunks(X, w, means, chols, log_const, tile, negligible, n_chunks):
    n, D = X.shape
    K = means.shape[0]
    S0 = np.zeros((n_chunks, K))
    S1 = np.zeros((n_chunks, K, D))
    S2 = np.zeros((n_chunks, K, D, D))
    skipped = np.zeros((n_chunks, K))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(n, n_chunks, c)
        ll[c] = _estep_matrix_rows(X, w, means, chols, log_const, tile, negligible, start,
                                   stop, S0[c], S1[c], S2[c], skipped[c])
    return S0, S1, S2, skipped, ll


#: Features from which the 'full' E-step leaves negligible responsibilities out: below,
#: a Gram matrix is too small to repay the packing (wide-n, 2 features: 20 -> 32 ms).
PACK_MIN_FEATURES = 16


def estep_matrix(X, w, means, chols, log_const):
    """E-step for 'full': weight (K,), first (K, D), second (K, D, D) and the weighted
    log-likelihood (from PACK_MIN_FEATURES features, negligible responsibilities left out
    while what they weigh is below round-off: see NEGLIGIBLE_RESPONSIBILITY)."""
    if X.shape[1] < PACK_MIN_FEATURES:  # a negative threshold leaves nothing out
        weight, first, second, _, loglik = _matrix_sums(X, w, means, chols, log_const, -1.0)
    else:
        weight, first, second, loglik = _until_nothing_that_matters_is_left_out(
            lambda negligible: _matrix_sums(X, w, means, chols, log_const, negligible))
    # only upper triangles were accumulated: mirror them
    return weight, first, second + np.swapaxes(np.triu(second, 1), 1, 2), loglik


def _matrix_sums(X, w, means, chols, log_const, negligible):
    """One pass of the 'full' E-step: weight, first, upper second, skipped, loglik."""
    n_chunks = n_chunks_for(X.shape[0])
    tile = tile_rows(*means.shape, X.itemsize)
    if n_chunks == 1:
        K, D = means.shape
        weight, first, second, skipped = (np.zeros(K), np.zeros((K, D)),
                                          np.zeros((K, D, D)), np.zeros(K))
        loglik = _estep_matrix_rows(X, w, means, chols, log_const, tile, negligible, 0,
                                    X.shape[0], weight, first, second, skipped)
        return weight, first, second, skipped, loglik
    return _chunk_sums(run_fastest_way(
        _estep_matrix_chunks, ("full", X.dtype.char, *means.shape), X.shape[0],
        X, w, means, chols, log_const, tile, negligible, n_chunks))


@njit(cache=True, fastmath=FASTMATH)
def _log_prob_matrix_rows(X, means, chols, log_const, tile, start, stop, out):
    K, D = means.shape
    xt = np.empty((D, tile), dtype=X.dtype)
    diffs = np.empty((K, D, tile), dtype=X.dtype)
    y = np.empty((D, tile), dtype=X.dtype)
    maha = np.empty(tile, dtype=X.dtype)
    logp = np.empty((K, tile), dtype=X.dtype)
    for i0 in range(start, stop, tile):
        nt = min(tile, stop - i0)
        _matrix_tile_log_prob(X, i0, nt, means, chols, log_const, xt, diffs, y, maha, logp)
        for t in range(nt):
            for k in range(K):
                out[i0 + t, k] = logp[k, t]


@njit(cache=True, parallel=True)
def _log_prob_matrix_chunks(X, means, chols, log_const, tile, n_chunks, out):
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(X.shape[0], n_chunks, c)
        _log_prob_matrix_rows(X, means, chols, log_const, tile, start, stop, out)


def log_prob_matrix(X, means, chols, log_const):
    """Weighted log-densities log(w_k) + log N(x_i | k), shape (n, K), 'full'."""
    out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
    n_chunks = n_chunks_for(X.shape[0])
    tile = tile_rows(*means.shape, X.itemsize)
    if n_chunks == 1:
        _log_prob_matrix_rows(X, means, chols, log_const, tile, 0, X.shape[0], out)
    else:
        run_fastest_way(_log_prob_matrix_chunks, ("full log", X.dtype.char, *means.shape),
                        X.shape[0], X, means, chols, log_const, tile, n_chunks, out)
    return out


# -- diag and spherical -------------------------------------------------------------------
#: From this many features on, loops over a row's features vectorise well enough and the
#: diagonal kernels work row by row instead of by tiles (measured: 1.3x at D=16, 1.8x at 32).
WIDE_MIN_FEATURES = 16


#: Rows the wide diagonal kernel handles together: each load of a mean or a precision serves
#: this many rows.
WIDE_ROWS = 4
#: Rows per tile of the wide diagonal kernel: the responsibilities of a tile are normalised
#: together, across its rows, with the vectorised exp (a scalar exp per row and component
#: cost more than the distances themselves).
WIDE_TILE = 64


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _wide_group(X, i, last):
    """Rows i .. i+3 of X, the ones past ``last`` replaced by row ``last``."""
    return X[i], X[min(i + 1, last)], X[min(i + 2, last)], X[min(i + 3, last)]


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _wide_tile_log_prob(X, i0, nt, means, precisions, log_const, logp):
    """logp (K, tile + WIDE_ROWS) of rows i0 .. i0+nt-1, 'diag', four rows per pass over
    the features (columns past nt get the last row's values)."""
    D = X.shape[1]
    K = means.shape[0]
    last = i0 + nt - 1
    for t in range(0, nt, WIDE_ROWS):
        x0, x1, x2, x3 = _wide_group(X, i0 + t, last)
        for k in range(K):
            mean = means[k]
            prec = precisions[k]
            a0 = a1 = a2 = a3 = 0.0
            for d in range(D):
                m = mean[d]
                p = prec[d]
                t0 = x0[d] - m
                t1 = x1[d] - m
                t2 = x2[d] - m
                t3 = x3[d] - m
                a0 += t0 * t0 * p
                a1 += t1 * t1 * p
                a2 += t2 * t2 * p
                a3 += t3 * t3 * p
            c = log_const[k]
            logp[k, t] = c - 0.5 * a0
            logp[k, t + 1] = c - 0.5 * a1
            logp[k, t + 2] = c - 0.5 * a2
            logp[k, t + 3] = c - 0.5 * a3


@njit(cache=True, fastmath=FASTMATH)
def _estep_diag_rows_wide(X, w, means, precisions, log_const, start, stop, S0, S1, S2):
    """Form of :func:`_estep_diag_rows` for many features: by tiles of WIDE_TILE rows, whose
    loops over features take four rows at a time (the last group of a tile repeats its last
    row, with zero responsibility)."""
    D = X.shape[1]
    K = means.shape[0]
    logp = np.empty((K, WIDE_TILE + WIDE_ROWS), dtype=X.dtype)
    resp = np.empty((K, WIDE_TILE), dtype=X.dtype)
    scratch = np.empty((4, WIDE_TILE), dtype=X.dtype)
    ll = 0.0
    for i0 in range(start, stop, WIDE_TILE):
        nt = min(WIDE_TILE, stop - i0)
        _wide_tile_log_prob(X, i0, nt, means, precisions, log_const, logp)
        ll += _tile_responsibilities(logp, nt, w, i0, resp, scratch)
        last = i0 + nt - 1
        for t in range(0, nt, WIDE_ROWS):
            x0, x1, x2, x3 = _wide_group(X, i0 + t, last)
            for k in range(K):
                rk = resp[k]
                r0 = rk[t]
                r1 = rk[t + 1] if t + 1 < nt else 0.0
                r2 = rk[t + 2] if t + 2 < nt else 0.0
                r3 = rk[t + 3] if t + 3 < nt else 0.0
                if r0 == 0.0 and r1 == 0.0 and r2 == 0.0 and r3 == 0.0:
                    continue
                S0[k] += (r0 + r1) + (r2 + r3)
                mean = means[k]
                s1 = S1[k]
                s2 = S2[k]
                for d in range(D):
                    m = mean[d]
                    u0 = x0[d] - m
                    u1 = x1[d] - m
                    u2 = x2[d] - m
                    u3 = x3[d] - m
                    v0 = r0 * u0
                    v1 = r1 * u1
                    v2 = r2 * u2
                    v3 = r3 * u3
                    s1[d] += (v0 + v1) + (v2 + v3)
                    s2[d] += (v0 * u0 + v1 * u1) + (v2 * u2 + v3 * u3)
    return ll


@njit(cache=True, fastmath=FASTMATH)
def _estep_diag_rows(X, w, means, precisions, log_const, tile, start, stop, S0, S1, S2):
    """Rows start:stop of the 'diag'/'spherical' E-step, accumulated into S0, S1, S2;
    returns their weighted log-likelihood."""
    if X.shape[1] >= WIDE_MIN_FEATURES:
        return _estep_diag_rows_wide(X, w, means, precisions, log_const, start, stop,
                                     S0, S1, S2)
    D = X.shape[1]
    K = means.shape[0]
    zero = np.zeros(1, dtype=X.dtype)[0]
    xt = np.empty((D, tile), dtype=X.dtype)
    diffs = np.empty((K, D, tile), dtype=X.dtype)
    maha = np.empty(tile, dtype=X.dtype)
    logp = np.empty((K, tile), dtype=X.dtype)
    resp = np.empty((K, tile), dtype=X.dtype)
    scratch = np.empty((4, tile), dtype=X.dtype)
    ll = 0.0
    for i0 in range(start, stop, tile):
        nt = min(tile, stop - i0)
        _load_tile_diffs(X, i0, nt, means, xt, diffs)
        for k in range(K):
            dk = diffs[k]
            for t in range(nt):
                maha[t] = zero
            for d in range(D):
                p = precisions[k, d]
                dd = dk[d]
                for t in range(nt):
                    maha[t] += dd[t] * dd[t] * p
            for t in range(nt):
                logp[k, t] = log_const[k] - 0.5 * maha[t]
        ll += _tile_responsibilities(logp, nt, w, i0, resp, scratch)
        for k in range(K):
            rk = resp[k]
            total = _tile_sum(rk, nt, zero)
            if total == 0.0:
                continue
            S0[k] += total
            dk = diffs[k]
            for d in range(D):
                acc1 = zero
                acc2 = zero
                dd = dk[d]
                for t in range(nt):
                    rd = rk[t] * dd[t]
                    acc1 += rd
                    acc2 += rd * dd[t]
                S1[k, d] += acc1
                S2[k, d] += acc2
    return ll


@njit(cache=True, parallel=True)
def _estep_diag_chunks(X, w, means, precisions, log_const, tile, n_chunks):
    n, D = X.shape
    K = means.shape[0]
    S0 = np.zeros((n_chunks, K))
    S1 = np.zeros((n_chunks, K, D))
    S2 = np.zeros((n_chunks, K, D))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(n, n_chunks, c)
        ll[c] = _estep_diag_rows(X, w, means, precisions, log_const, tile, start, stop,
                                 S0[c], S1[c], S2[c])
    return S0, S1, S2, ll


def estep_diag(X, w, means, precisions, log_const):
    """E-step for 'diag' (precisions (K, D)) or 'spherical' (the same, columns equal).

    Returns weight (K,), first (K, D), second (K, D) (diagonal second moments; the caller
    sums them for 'spherical') and the weighted log-likelihood.
    """
    n_chunks = n_chunks_for(X.shape[0])
    tile = tile_rows(*means.shape, X.itemsize)
    if n_chunks == 1:
        K, D = means.shape
        weight, first, second = np.zeros(K), np.zeros((K, D)), np.zeros((K, D))
        loglik = _estep_diag_rows(X, w, means, precisions, log_const, tile, 0, X.shape[0],
                                  weight, first, second)
        return weight, first, second, loglik
    return _chunk_sums(run_fastest_way(
        _estep_diag_chunks, ("diag", X.dtype.char, *means.shape), X.shape[0],
        X, w, means, precisions, log_const, tile, n_chunks))


# -- diag and spherical, expanded about a centre -----------------------------------------
#: Rows whose squared deviations are computed once and shared by every component: with
#: y = x - c (c a centre of the means) and q = y^2 per feature ('diag') or |y|^2
#: ('spherical'), each log-density is const_k + y . a_k + q . b_k, with a_k = (mu_k - c) p_k
#: and b_k = -p_k / 2, and the statistics are sums of r_ik y_i and r_ik q_i. Per row and
#: component that is two fused multiply-adds per feature for the densities and two for the
#: statistics, against the direct form's five to seven operations; 'spherical' needs one
#: for the squares. The expansion loses digits when a mean lies many standard deviations
#: from the centre; :func:`expansion_error_bound` says how many, and the caller keeps the
#: direct kernel where that is too many.
EXPANDED_TILE = 64
#: Components whose densities are computed together: each load of a row's values serves
#: this many components, each load of a component's weights four rows.
EXPANDED_COMPONENTS = 4


def expansion_error_bound(offsets, precisions) -> float:
    """Largest sum_d (mu_kd - c_d)^2 p_kd over the components: the magnitude of the
    terms that cancel in the expanded log-density of a row near its component, so its
    absolute round-off is a few times this times the machine epsilon (offsets (K, D),
    precisions (K, D) or (K, 1))."""
    return float(np.max(np.sum(offsets * offsets * precisions, axis=1), initial=0.0))


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _load_expanded_rows(X, i0, nt, centre, Z):
    """Z[t] = [x - c, (x - c)^2] ('diag', Z (tile, 2D)) or [x - c, |x - c|^2]
    ('spherical', Z (tile, D + 1)) for the tile's rows, in float64; rows past nt up to
    the next multiple of four are zero."""
    D = X.shape[1]
    squares = Z.shape[1] - D
    for t in range(nt):
        x = X[i0 + t]
        z = Z[t]
        for d in range(D):
            z[d] = x[d] - centre[d]
        if squares == 1:
            total = 0.0
            for d in range(D):
                total += z[d] * z[d]
            z[D] = total
        else:
            for d in range(D):
                z[D + d] = z[d] * z[d]
    for t in range(nt, min(Z.shape[0], nt + (-nt) % 4)):
        for d in range(Z.shape[1]):
            Z[t, d] = 0.0


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _expanded_tile_log_prob(Z, nt, weights, const, logp):
    """logp[k, t] = const[k] + Z[t] . weights[k] for the tile's rows, four rows by four
    components per pass over the row's values (the last group of rows may be padding)."""
    K, L = weights.shape
    for t in range(0, nt, 4):
        z0, z1, z2, z3 = Z[t], Z[t + 1], Z[t + 2], Z[t + 3]
        k = 0
        while k + EXPANDED_COMPONENTS <= K:
            wa, wb, wc, wd = weights[k], weights[k + 1], weights[k + 2], weights[k + 3]
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
            c0 = c1 = c2 = c3 = e0 = e1 = e2 = e3 = 0.0
            for j in range(L):
                v0, v1, v2, v3 = z0[j], z1[j], z2[j], z3[j]
                p, q, r, s = wa[j], wb[j], wc[j], wd[j]
                a0 += v0 * p
                a1 += v1 * p
                a2 += v2 * p
                a3 += v3 * p
                b0 += v0 * q
                b1 += v1 * q
                b2 += v2 * q
                b3 += v3 * q
                c0 += v0 * r
                c1 += v1 * r
                c2 += v2 * r
                c3 += v3 * r
                e0 += v0 * s
                e1 += v1 * s
                e2 += v2 * s
                e3 += v3 * s
            _store_four(logp[k], t, const[k], a0, a1, a2, a3)
            _store_four(logp[k + 1], t, const[k + 1], b0, b1, b2, b3)
            _store_four(logp[k + 2], t, const[k + 2], c0, c1, c2, c3)
            _store_four(logp[k + 3], t, const[k + 3], e0, e1, e2, e3)
            k += EXPANDED_COMPONENTS
        for k in range(k, K):
            wk = weights[k]
            a0 = a1 = a2 = a3 = 0.0
            for j in range(L):
                p = wk[j]
                a0 += z0[j] * p
                a1 += z1[j] * p
                a2 += z2[j] * p
                a3 += z3[j] * p
            _store_four(logp[k], t, const[k], a0, a1, a2, a3)


@njit(cache=True, inline="always")
def _store_four(row, t, c, a0, a1, a2, a3):
    row[t] = c + a0
    row[t + 1] = c + a1
    row[t + 2] = c + a2
    row[t + 3] = c + a3


@njit(cache=True, fastmath=FASTMATH)
def _estep_expanded_rows(X, w, centre, weights, const, negligible, start, stop, S0, S,
                         skipped):
    """Rows start:stop of the expanded 'diag'/'spherical' E-step: S0 (K,) and S (K, L),
    the responsibility-weighted sums of Z's rows (about the centre), with groups of four
    responsibilities at most ``negligible`` left out of S and their sum added to
    ``skipped`` (K,); returns the rows' weighted log-likelihood."""
    K, L = weights.shape
    Z = np.zeros((EXPANDED_TILE + 4, L))
    logp = np.empty((K, EXPANDED_TILE + 4))
    resp = np.empty((K, EXPANDED_TILE + 4))
    scratch = np.empty((4, EXPANDED_TILE))
    ll = 0.0
    for i0 in range(start, stop, EXPANDED_TILE):
        nt = min(EXPANDED_TILE, stop - i0)
        _load_expanded_rows(X, i0, nt, centre, Z)
        _expanded_tile_log_prob(Z, nt, weights, const, logp)
        ll += _tile_responsibilities(logp, nt, w, i0, resp, scratch)
        for k in range(K):
            for t in range(nt, nt + (-nt) % 4):  # the padding rows weigh nothing
                resp[k, t] = 0.0
        _add_expanded_moments(Z, nt, resp, negligible, S0, S, skipped)
    return ll


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _add_expanded_moments(Z, nt, resp, negligible, S0, S, skipped):
    """S0[k] += sum_t resp[k, t], S[k] += sum_t resp[k, t] Z[t]: four rows by two
    components per pass over the row's values (each load of a row serves two components,
    each load and store of a sum four rows; measured 1.1x faster than one component per
    pass). A component whose four responsibilities are all at most ``negligible`` adds
    them to S0 and to ``skipped`` but not to S (the caller checks that what was left out
    is negligible)."""
    K, L = S.shape
    for t in range(0, nt, 4):
        z0, z1, z2, z3 = Z[t], Z[t + 1], Z[t + 2], Z[t + 3]
        k = 0
        while k + 2 <= K:
            ra, rb = resp[k], resp[k + 1]
            a0, a1, a2, a3 = ra[t], ra[t + 1], ra[t + 2], ra[t + 3]
            b0, b1, b2, b3 = rb[t], rb[t + 1], rb[t + 2], rb[t + 3]
            k += 2
            ta = (a0 + a1) + (a2 + a3)
            tb = (b0 + b1) + (b2 + b3)
            S0[k - 2] += ta
            S0[k - 1] += tb
            # responsibilities are never negative: the largest is at most the sum
            skip_a = ta <= negligible
            skip_b = tb <= negligible
            if skip_a:
                skipped[k - 2] += ta
            if skip_b:
                skipped[k - 1] += tb
            if skip_a and skip_b:
                continue
            if skip_a or skip_b:
                if skip_a:
                    r0, r1, r2, r3, s = b0, b1, b2, b3, S[k - 1]
                else:
                    r0, r1, r2, r3, s = a0, a1, a2, a3, S[k - 2]
                for j in range(L):
                    s[j] += (r0 * z0[j] + r1 * z1[j]) + (r2 * z2[j] + r3 * z3[j])
                continue
            sa, sb = S[k - 2], S[k - 1]
            for j in range(L):
                v0, v1, v2, v3 = z0[j], z1[j], z2[j], z3[j]
                sa[j] += (a0 * v0 + a1 * v1) + (a2 * v2 + a3 * v3)
                sb[j] += (b0 * v0 + b1 * v1) + (b2 * v2 + b3 * v3)
        for k in range(k, K):
            rk = resp[k]
            r0, r1, r2, r3 = rk[t], rk[t + 1], rk[t + 2], rk[t + 3]
            total = (r0 + r1) + (r2 + r3)
            S0[k] += total
            if total <= negligible:
                skipped[k] += total
                continue
            s = S[k]
            for j in range(L):
                s[j] += (r0 * z0[j] + r1 * z1[j]) + (r2 * z2[j] + r3 * z3[j])


@njit(cache=True, parallel=True)
def _estep_expanded_chunks(X, w, centre, weights, const, negligible, n_chunks):
    n = X.shape[0]
    K, L = weights.shape
    S0 = np.zeros((n_chunks, K))
    S = np.zeros((n_chunks, K, L))
    skipped = np.zeros((n_chunks, K))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(n, n_chunks, c)
        ll[c] = _estep_expanded_rows(X, w, centre, weights, const, negligible, start, stop,
                                     S0[c], S[c], skipped[c])
    return S0, S, skipped, ll


def estep_diag_expanded(X, w, centre, offsets, precisions, log_const):
    """E-step for 'diag' (precisions (K, D)) or 'spherical' (precisions (K, 1)) in the
    expanded form, about ``centre`` (offsets = means - centre, all float64).

    Returns weight (K,), first (K, D) about the centre, second (K, D) ('diag') or (K, 1)
    ('spherical': the sums of squared deviations over the features) about the centre, and
    the weighted log-likelihood.
    """
    D = X.shape[1]
    weights = np.concatenate([offsets * precisions, -0.5 * precisions], axis=1)
    const = log_const - 0.5 * np.sum(offsets * offsets * precisions, axis=1)
    weight, sums, loglik = _until_nothing_that_matters_is_left_out(
        lambda negligible: _expanded_sums(X, w, centre, weights, const, negligible))
    return weight, sums[:, :D], sums[:, D:], loglik


def _expanded_sums(X, w, centre, weights, const, negligible):
    """One pass of the expanded E-step: weight (K,), sums (K, L), skipped (K,), loglik."""
    n_chunks = n_chunks_for(X.shape[0])
    if n_chunks == 1:
        K, L = weights.shape
        weight, sums, skipped = np.zeros(K), np.zeros((K, L)), np.zeros(K)
        loglik = _estep_expanded_rows(X, w, centre, weights, const, negligible, 0,
                                      X.shape[0], weight, sums, skipped)
        return weight, sums, skipped, loglik
    return _chunk_sums(run_fastest_way(
        _estep_expanded_chunks, ("diag expanded", X.dtype.char, *weights.shape),
        X.shape[0], X, w, centre, weights, const, negligible, n_chunks))


@njit(cache=True, fastmath=FASTMATH)
def _log_prob_diag_rows(X, means, precisions, log_const, start, stop, out):
    for i in range(start, stop):
        for k in range(means.shape[0]):
            acc = 0.0
            for d in range(X.shape[1]):
                t = X[i, d] - means[k, d]
                acc += t * t * precisions[k, d]
            out[i, k] = log_const[k] - 0.5 * acc


@njit(cache=True, parallel=True)
def _log_prob_diag_chunks(X, means, precisions, log_const, n_chunks, out):
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(X.shape[0], n_chunks, c)
        _log_prob_diag_rows(X, means, precisions, log_const, start, stop, out)


def log_prob_diag(X, means, precisions, log_const):
    """Weighted log-densities, shape (n, K), 'diag' or 'spherical'."""
    out = np.empty((X.shape[0], means.shape[0]), dtype=X.dtype)
    n_chunks = n_chunks_for(X.shape[0])
    if n_chunks == 1:
        _log_prob_diag_rows(X, means, precisions, log_const, 0, X.shape[0], out)
    else:
        run_fastest_way(_log_prob_diag_chunks, ("diag log", X.dtype.char, *means.shape),
                        X.shape[0], X, means, precisions, log_const, n_chunks, out)
    return out


# -- tied: one whitening per row, shared by all components --------------------------------
@njit(cache=True, inline="always", fastmath=FASTMATH)
def _tied_tile_log_prob(X, i0, nt, centre, chol, shifted_means, log_const, xt, z, maha, logp):
    """Fill xt (D, TILE) with the tile's rows minus ``centre``, z = xt whitened by the shared
    Cholesky factor, and logp (K, TILE): |z - shifted_mean_k|^2 is each distance, so the
    D^2 work is done once per row instead of once per row and component."""
    K, D = shifted_means.shape
    for t in range(nt):
        x = X[i0 + t]
        for d in range(D):
            xt[d, t] = x[d] - centre[d]
    for j in range(D):
        zj = z[j]
        for t in range(nt):
            zj[t] = 0.0
    for l in range(D):
        xl = xt[l]
        for j in range(l, D):
            c = chol[l, j]
            zj = z[j]
            for t in range(nt):
                zj[t] += xl[t] * c
    for k in range(K):
        for t in range(nt):
            maha[t] = 0.0
        for j in range(D):
            m = shifted_means[k, j]
            zj = z[j]
            for t in range(nt):
                u = zj[t] - m
                maha[t] += u * u
        for t in range(nt):
            logp[k, t] = log_const[k] - 0.5 * maha[t]


@njit(cache=True, fastmath=FASTMATH)
def _estep_tied_rows(X, w, centre, chol, shifted_means, log_const, tile, start, stop, S0,
                     S1, G):
    """Rows start:stop of the 'tied' E-step about ``centre``: S0, S1 (first moments about
    the centre) and G (upper triangle of the weighted scatter about the centre)."""
    D = X.shape[1]
    K = shifted_means.shape[0]
    zero = np.zeros(1, dtype=X.dtype)[0]
    xt = np.empty((D, tile), dtype=X.dtype)
    z = np.empty((D, tile), dtype=X.dtype)
    maha = np.empty(tile, dtype=X.dtype)
    logp = np.empty((K, tile), dtype=X.dtype)
    resp = np.empty((K, tile), dtype=X.dtype)
    rsum = np.empty(tile, dtype=X.dtype)
    weighted = np.empty((D, tile), dtype=X.dtype)
    scratch = np.empty((4, tile), dtype=X.dtype)
    ll = 0.0
    for i0 in range(start, stop, tile):
        nt = min(tile, stop - i0)
        _tied_tile_log_prob(X, i0, nt, centre, chol, shifted_means, log_const, xt, z, maha,
                            logp)
        ll += _tile_responsibilities(logp, nt, w, i0, resp, scratch)
        for t in range(nt):
            rsum[t] = zero
        for k in range(K):
            rk = resp[k]
            total = zero
            for t in range(nt):
                total += rk[t]
                rsum[t] += rk[t]
            if total == 0.0:
                continue
            S0[k] += total
            for d in range(D):
                xd = xt[d]
                acc = zero
                for t in range(nt):
                    acc += rk[t] * xd[t]
                S1[k, d] += acc
        for a in range(D):
            xa = xt[a]
            wa = weighted[a]
            for t in range(nt):
                wa[t] = rsum[t] * xa[t]
        _add_upper_gram(weighted, xt, nt, zero, G)
    return ll


@njit(cache=True, parallel=True)
def _estep_tied_chunks(X, w, centre, chol, shifted_means, log_const, tile, n_chunks):
    n, D = X.shape
    K = shifted_means.shape[0]
    S0 = np.zeros((n_chunks, K))
    S1 = np.zeros((n_chunks, K, D))
    G = np.zeros((n_chunks, D, D))
    ll = np.zeros(n_chunks)
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(n, n_chunks, c)
        ll[c] = _estep_tied_rows(X, w, centre, chol, shifted_means, log_const, tile, start,
                                 stop, S0[c], S1[c], G[c])
    return S0, S1, G, ll


def estep_tied(X, w, centre, chol, shifted_means, log_const):
    """E-step for 'tied' about ``centre``: weight (K,), first (K, D) and the weighted
    scatter (D, D) of the rows about the centre, and the weighted log-likelihood.
    ``shifted_means`` are (means - centre) @ chol."""
    n_chunks = n_chunks_for(X.shape[0])
    tile = tile_rows(*shifted_means.shape, X.itemsize)
    if n_chunks == 1:
        K, D = shifted_means.shape
        weight, first, scatter = np.zeros(K), np.zeros((K, D)), np.zeros((D, D))
        loglik = _estep_tied_rows(X, w, centre, chol, shifted_means, log_const, tile, 0,
                                  X.shape[0], weight, first, scatter)
    else:
        weight, first, scatter, loglik = _chunk_sums(run_fastest_way(
            _estep_tied_chunks, ("tied", X.dtype.char, *shifted_means.shape), X.shape[0],
            X, w, centre, chol, shifted_means, log_const, tile, n_chunks))
    return weight, first, scatter + np.triu(scatter, 1).T, loglik


@njit(cache=True, fastmath=FASTMATH)
def _log_prob_tied_rows(X, centre, chol, shifted_means, log_const, tile, start, stop, out):
    D = X.shape[1]
    K = shifted_means.shape[0]
    xt = np.empty((D, tile), dtype=X.dtype)
    z = np.empty((D, tile), dtype=X.dtype)
    maha = np.empty(tile, dtype=X.dtype)
    logp = np.empty((K, tile), dtype=X.dtype)
    for i0 in range(start, stop, tile):
        nt = min(tile, stop - i0)
        _tied_tile_log_prob(X, i0, nt, centre, chol, shifted_means, log_const, xt, z, maha,
                            logp)
        for t in range(nt):
            for k in range(K):
                out[i0 + t, k] = logp[k, t]


@njit(cache=True, parallel=True)
def _log_prob_tied_chunks(X, centre, chol, shifted_means, log_const, tile, n_chunks, out):
    for c in prange(n_chunks):
        start, stop = _chunk_bounds(X.shape[0], n_chunks, c)
        _log_prob_tied_rows(X, centre, chol, shifted_means, log_const, tile, start, stop, out)


def log_prob_tied(X, centre, chol, shifted_means, log_const):
    """Weighted log-densities, shape (n, K), 'tied'."""
    out = np.empty((X.shape[0], shifted_means.shape[0]), dtype=X.dtype)
    n_chunks = n_chunks_for(X.shape[0])
    tile = tile_rows(*shifted_means.shape, X.itemsize)
    if n_chunks == 1:
        _log_prob_tied_rows(X, centre, chol, shifted_means, log_const, tile, 0, X.shape[0], out)
    else:
        run_fastest_way(_log_prob_tied_chunks, ("tied log", X.dtype.char, *shifted_means.shape),
                        X.shape[0], X, centre, chol, shifted_means, log_const, tile, n_chunks,
                        out)
    return out
