"""Numba kernels of the k-means start (``_kmeans.py``): scikit-learn's k-means++ seeding and
Lloyd iterations, every run of one k-means in one compiled call.

Each step repeats scikit-learn's floating-point operations in scikit-learn's order, so the
labels and centres are scikit-learn's own whenever scikit-learn's arithmetic is sequential
(one OpenMP thread; with more, its per-thread partial sums round differently):

* distances to the centres through the same BLAS routines (numba's ``np.dot`` calls SciPy's
  BLAS, as scikit-learn's Cython does) on scikit-learn's chunks of 256 rows, with the
  centres' squared norms summed in the order of numpy's ``einsum`` (x86-64 wheels: 16-byte
  lanes, products added without fusing);
* k-means++ distances in float64 also for float32 data (scikit-learn's upcast), potentials
  through BLAS dot and gemv, as numpy's ``@`` computes them;
* centre sums, cluster weights, averages, centre shifts and inertia in the data's
  precision, in the order of scikit-learn's Cython loops; the rare emptied clusters are
  relocated onto rows chosen by numpy itself (``np.argpartition``, in object mode), as
  scikit-learn chooses them.

The random numbers are drawn before the call (``_kmeans.py``); the kernels only read them.
Serial (no prange): the data here are small (below 20,000 rows).
"""

from __future__ import annotations

import numpy as np
from numba import njit, objmode, types
from numba.extending import overload

#: scikit-learn's CHUNK_SIZE: rows per BLAS call of a Lloyd iteration.
CHUNK_ROWS = 256


def in_precision_of(array, value):
    """``value`` rounded to ``array``'s floating-point type (numba-compiled code only)."""
    raise NotImplementedError("in_precision_of is called from numba-compiled code")


@overload(in_precision_of, inline="always")
def _in_precision_of_overload(array, value):
    if array.dtype == types.float32:
        return lambda array, value: np.float32(value)
    return lambda array, value: np.float64(value)


@njit(cache=True)
def _copy(source, target):
    """``target[:] = source`` for 1-d arrays of one length (a loop: numba's slice
    assignment compiles shape checks with formatted messages, seconds of compilation)."""
    for i in range(source.shape[0]):
        target[i] = source[i]


@njit(cache=True)
def _einsum_squared_norm(x, lanes_acc):
    """``x @ x`` summed as numpy's ``einsum('ij,ij->i')`` sums one row: 16-byte lanes
    (two float64, four float32), blocks of four lane widths taken last lane-block first,
    then the rest zero-padded, then the lanes added pairwise."""
    lanes = 16 // x.itemsize
    n = x.shape[0]
    lanes_acc[:] = 0
    j = 0
    while n - j >= 4 * lanes:
        for block in range(3, -1, -1):
            for lane in range(lanes):
                v = x[j + block * lanes + lane]
                lanes_acc[lane] = v * v + lanes_acc[lane]
        j += 4 * lanes
    while j < n:
        for lane in range(min(lanes, n - j)):
            v = x[j + lane]
            lanes_acc[lane] = v * v + lanes_acc[lane]
        j += lanes
    if lanes == 2:
        return lanes_acc[0] + lanes_acc[1]
    return (lanes_acc[0] + lanes_acc[1]) + (lanes_acc[2] + lanes_acc[3])


@njit(cache=True)
def _pairwise_block_sum(a, start, stop):
    """``a[start:stop].sum()`` for at most 128 values, as numpy sums a block: sequentially
    below 8 values, else in eight accumulators added pairwise, then the rest."""
    n = stop - start
    if n < 8:
        total = in_precision_of(a, 0.0)
        for i in range(start, stop):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[start + i]
        r1 += a[start + i + 1]
        r2 += a[start + i + 2]
        r3 += a[start + i + 3]
        r4 += a[start + i + 4]
        r5 += a[start + i + 5]
        r6 += a[start + i + 6]
        r7 += a[start + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total


@njit(cache=True)
def _numpy_sum(a):
    """``a.sum()`` in numpy's pairwise order: blocks of at most 128 values, longer runs
    halved (at a multiple of 8) and the halves' sums added (post-order, without
    recursion)."""
    frames = np.empty((64, 3), dtype=np.intp)  # start, stop, halves already pushed
    values = np.empty(64, dtype=a.dtype)
    n_frames, n_values = 1, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = 0, a.shape[0], 0
    while n_frames:
        n_frames -= 1
        start, stop, split = frames[n_frames, 0], frames[n_frames, 1], frames[n_frames, 2]
        if stop - start <= 128:
            values[n_values] = _pairwise_block_sum(a, start, stop)
            n_values += 1
        elif split:
            n_values -= 1
            values[n_values - 1] = values[n_values - 1] + values[n_values]
        else:
            half = (stop - start) // 2
            half -= half % 8
            frames[n_frames, 2] = 1
            frames[n_frames + 1, 0], frames[n_frames + 1, 1] = start + half, stop
            frames[n_frames + 1, 2] = 0
            frames[n_frames + 2, 0], frames[n_frames + 2, 1] = start, start + half
            frames[n_frames + 2, 2] = 0
            n_frames += 3
    return values[0]


@njit(cache=True)
def _squared_distance(a, b):
    """||a - b||^2 as scikit-learn's ``_euclidean_dense_dense`` sums it (groups of four
    features added left to right, then the rest)."""
    n = a.shape[0]
    total = in_precision_of(a, 0.0)
    groups = n // 4
    for g in range(groups):
        o = 4 * g
        t0 = a[o] - b[o]
        t1 = a[o + 1] - b[o + 1]
        t2 = a[o + 2] - b[o + 2]
        t3 = a[o + 3] - b[o + 3]
        total += ((t0 * t0 + t1 * t1) + t2 * t2) + t3 * t3
    for k in range(4 * groups, n):
        t = a[k] - b[k]
        total += t * t
    return total


def farthest_rows(X, centres, labels, n_empty):
    """scikit-learn's choice of rows for emptied clusters: the ``n_empty`` rows farthest
    from their centres (numpy's argpartition order), none when every row is on its
    centre. Plain numpy, called from the kernels in object mode."""
    distances = ((X - centres[labels]) ** 2).sum(axis=1)
    if np.max(distances) == 0:
        return np.empty(0, dtype=np.intp)
    return np.argpartition(distances, -n_empty)[:-n_empty - 1:-1].astype(np.intp)


@njit(cache=True)
def _relocate_empty_clusters(X, w, centres_old, sums, totals, labels, empty):
    """Clusters without weight take one far row each (its weighted row moved out of its
    own cluster's sums), as scikit-learn's ``_relocate_empty_clusters_dense``."""
    n_empty = 0
    for j in range(totals.shape[0]):
        if totals[j] == 0:
            empty[n_empty] = j
            n_empty += 1
    if n_empty == 0:
        return
    with objmode(far="intp[:]"):
        far = farthest_rows(X, centres_old, labels, n_empty)
    for idx in range(far.shape[0]):
        new, row = empty[idx], far[idx]
        weight = w[row]
        old = labels[row]
        for k in range(X.shape[1]):
            sums[old, k] -= X[row, k] * weight
            sums[new, k] = X[row, k] * weight
        totals[new] = weight
        totals[old] -= weight


@njit(cache=True)
def _average_centres(sums, totals):
    """Centres from weighted sums, in place; a cluster still without weight copies the
    heaviest cluster's row as it stands at that moment (scikit-learn's loop)."""
    heaviest = np.argmax(totals)
    for j in range(sums.shape[0]):
        if totals[j] > 0:
            alpha = in_precision_of(sums, 1.0 / totals[j])
            for k in range(sums.shape[1]):
                sums[j, k] *= alpha
        else:
            for k in range(sums.shape[1]):
                sums[j, k] = sums[heaviest, k]


@njit(cache=True)
def _nearest_centres(X, centres, labels, work, start, stop):
    """Rows ``start:stop``'s nearest centres by ||c||^2 - 2 x.c (the first of equals) into
    ``labels``, from one BLAS product; the centres' squared norms are in ``work``."""
    norms, products = work[0], work[1]
    np.dot(X[start:stop], centres.T, products[:stop - start])
    for i in range(stop - start):
        best = 0
        nearest = norms[0] - (products[i, 0] + products[i, 0])
        for j in range(1, centres.shape[0]):
            distance = norms[j] - (products[i, j] + products[i, j])
            if distance < nearest:
                nearest = distance
                best = j
        labels[start + i] = best


@njit(cache=True)
def _centre_norms(centres, work):
    """The centres' squared norms into ``work[0]``, in einsum's order."""
    for j in range(centres.shape[0]):
        work[0][j] = _einsum_squared_norm(centres[j], work[2])


@njit(cache=True)
def _assign(X, centres, labels, work):
    """Each row's nearest centre into ``labels`` (scikit-learn's E-step only)."""
    _centre_norms(centres, work)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        _nearest_centres(X, centres, labels, work, start, min(start + CHUNK_ROWS, X.shape[0]))


@njit(cache=True)
def _lloyd_step(X, w, centres, new_centres, totals, labels, shifts, work):
    """One Lloyd iteration: each row's nearest centre, chunk by chunk, with the weighted
    sums of the rows per centre; the relocation of emptied clusters, the new centres and
    each centre's shift."""
    _centre_norms(centres, work)
    new_centres[:] = 0
    totals[:] = 0
    for start in range(0, X.shape[0], CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, X.shape[0])
        _nearest_centres(X, centres, labels, work, start, stop)
        for row in range(start, stop):
            best = labels[row]
            totals[best] += w[row]
            for k in range(X.shape[1]):
                new_centres[best, k] += X[row, k] * w[row]
    _relocate_empty_clusters(X, w, centres, new_centres, totals, labels, work[3])
    _average_centres(new_centres, totals)
    for j in range(centres.shape[0]):
        shifts[j] = np.sqrt(_squared_distance(new_centres[j], centres[j]))


@njit(cache=True)
def _lloyd(X, w, centres, spare, labels, labels_old, tol, max_iter, work):
    """Lloyd iterations from ``centres`` until the labels repeat, the squared centre
    shifts sum to at most ``tol``, or ``max_iter``; the labels of the final centres. Returns
    the buffer (``centres`` or ``spare``) that holds the final centres."""
    n_clusters = centres.shape[0]
    totals = np.empty(n_clusters, dtype=X.dtype)
    shifts = np.empty(n_clusters, dtype=X.dtype)
    squared_shifts = np.empty(n_clusters, dtype=X.dtype)
    labels[:] = -1
    labels_old[:] = -1
    strict = False
    for _ in range(max_iter):
        _lloyd_step(X, w, centres, spare, totals, labels, shifts, work)
        centres, spare = spare, centres
        same = True
        for i in range(labels.shape[0]):
            if labels[i] != labels_old[i]:
                same = False
                break
        if same:
            strict = True
            break
        for j in range(n_clusters):
            squared_shifts[j] = shifts[j] * shifts[j]
        if _numpy_sum(squared_shifts) <= tol:
            break
        _copy(labels, labels_old)
    if not strict:
        _assign(X, centres, labels, work)
    return centres


@njit(cache=True)
def _inertia(X, w, centres, labels):
    """Sum of weighted squared distances of the rows to their centres (sequential)."""
    total = in_precision_of(X, 0.0)
    for i in range(X.shape[0]):
        total += _squared_distance(X[i], centres[labels[i]]) * w[i]
    return total


@njit(cache=True)
def _same_clustering(labels, other, n_clusters):
    """Whether ``labels`` maps onto ``other`` cluster by cluster (scikit-learn's
    ``_is_same_clustering``)."""
    mapping = np.full(n_clusters, -1, dtype=np.intp)
    for i in range(labels.shape[0]):
        if mapping[labels[i]] == -1:
            mapping[labels[i]] = other[i]
        elif mapping[labels[i]] != other[i]:
            return False
    return True


@njit(cache=True)
def _upcast_distances(products, row_norm, norms64, out):
    """max(-2 x.y + ||x||^2 + ||y||^2, 0) added in scikit-learn's order, in float64, stored
    in ``out``'s precision."""
    for i in range(products.shape[0]):
        distance = (-2.0 * products[i] + row_norm) + norms64[i]
        out[i] = distance if distance >= 0 else 0.0  # np.maximum(d, 0)


@njit(cache=True)
def _searchsorted(sorted_values, value, right):
    """numpy's ``searchsorted`` (side 'right' when ``right``, else 'left'), comparing in the
    wider of the two precisions."""
    lo, hi = 0, sorted_values.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_values[mid] < value or (right and sorted_values[mid] == value):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _plusplus(X, X64, norms64, w, first_cdf, draws, n_trials, centres, indices):
    """Greedy k-means++ seeding (scikit-learn's ``_kmeans_plusplus``) of ``centres`` and
    their row ``indices``, reading ``1 + (n_clusters - 1) * n_trials`` draws."""
    n = X.shape[0]
    n_clusters = centres.shape[0]
    closest = np.empty(n, dtype=X.dtype)
    trials = np.empty((n_trials, n), dtype=X.dtype)
    products = np.empty((n_trials, n), dtype=np.float64)
    candidate_rows = np.empty((n_trials, X.shape[1]), dtype=np.float64)
    candidates = np.empty(n_trials, dtype=np.intp)
    cumulative = np.empty(n, dtype=X.dtype)
    first = _searchsorted(first_cdf, draws[0], True)
    indices[0] = first
    _copy(X[first], centres[0])
    np.dot(X64[first], X64.T, products[0])
    _upcast_distances(products[0], norms64[first], norms64, closest)
    potential = np.dot(closest, w)
    used = 1
    for c in range(1, n_clusters):
        running = in_precision_of(X, 0.0)
        for i in range(n):
            running += w[i] * closest[i]
            cumulative[i] = running
        for t in range(n_trials):
            target = draws[used + t] * potential
            candidates[t] = min(_searchsorted(cumulative, target, False), n - 1)
            _copy(X64[candidates[t]], candidate_rows[t])
        used += n_trials
        np.dot(candidate_rows, X64.T, products)
        for t in range(n_trials):
            _upcast_distances(products[t], norms64[candidates[t]], norms64, trials[t])
            for i in range(n):
                if closest[i] <= trials[t, i]:
                    trials[t, i] = closest[i]
        potentials = np.dot(trials, w)
        best = np.argmin(potentials)
        potential = potentials[best]
        _copy(trials[best], closest)
        indices[c] = candidates[best]
        _copy(X[candidates[best]], centres[c])


@njit(cache=True)
def _lloyd_buffers(X, n_clusters):
    """Scratch arrays of the Lloyd iterations: centre norms, one chunk's products, einsum
    lanes, emptied clusters."""
    return (np.empty(n_clusters, dtype=X.dtype),
            np.empty((min(CHUNK_ROWS, X.shape[0]), n_clusters), dtype=X.dtype),
            np.empty(4, dtype=X.dtype),
            np.empty(n_clusters, dtype=np.intp))


@njit(cache=True)
def _column_sums(X):
    """``X.sum(axis=0)`` in numpy's order: row after row, or pairwise for one column."""
    sums = np.zeros(X.shape[1], dtype=X.dtype)
    if X.shape[1] == 1:
        sums[0] = _numpy_sum(X.reshape(X.shape[0]))
        return sums
    for i in range(X.shape[0]):
        for k in range(X.shape[1]):
            sums[k] += X[i, k]
    return sums


@njit(cache=True)
def _centred(X, relative_tol):
    """``X - X.mean(axis=0)``, the column means, and scikit-learn's tolerance
    ``np.mean(np.var(X, axis=0)) * relative_tol``, each as numpy computes it, in X's
    precision."""
    n, n_features = X.shape
    count = in_precision_of(X, n)
    mean = _column_sums(X)
    for k in range(n_features):
        mean[k] = mean[k] / count
    centred = np.empty_like(X)
    squares = np.empty_like(X)
    for i in range(n):
        for k in range(n_features):
            centred[i, k] = X[i, k] - mean[k]
            squares[i, k] = centred[i, k] * centred[i, k]
    variances = _column_sums(squares)
    for k in range(n_features):
        variances[k] = variances[k] / count
    mean_variance = _numpy_sum(variances) / in_precision_of(X, n_features)
    return centred, mean, mean_variance * in_precision_of(X, relative_tol)


@njit(cache=True)
def _seeding_inputs(X, w):
    """What k-means++ reads besides the draws: the rows in float64 and their squared norms
    (scikit-learn's seeding distances are float64 also for float32 rows), and the
    cumulative probabilities of the first seed as ``RandomState.choice`` forms them from
    ``p = w / w.sum()``."""
    X64 = X.astype(np.float64)
    lanes_acc = np.empty(4, dtype=np.float64)
    norms64 = np.empty(X.shape[0], dtype=np.float64)
    for i in range(X.shape[0]):
        norms64[i] = _einsum_squared_norm(X64[i], lanes_acc)
    total = _numpy_sum(w)
    first_cdf = np.empty(X.shape[0], dtype=np.float64)
    running = 0.0
    for i in range(X.shape[0]):
        running += np.float64(w[i] / total)
        first_cdf[i] = running
    last = first_cdf[-1]
    for i in range(X.shape[0]):
        first_cdf[i] /= last
    return X64, norms64, first_cdf


@njit(cache=True)
def kmeans_plusplus_seeds(X, w, draws, n_clusters, n_trials):
    """``(centres, indices)`` of k-means++ seeding of ``X`` (see ``_plusplus``)."""
    X64, norms64, first_cdf = _seeding_inputs(X, w)
    centres = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    indices = np.empty(n_clusters, dtype=np.intp)
    _plusplus(X, X64, norms64, w, first_cdf, draws, n_trials, centres, indices)
    return centres, indices


@njit(cache=True)
def kmeans_runs(X, w, draws, n_clusters, n_trials, relative_tol, max_iter):
    """``(centres, labels)`` of scikit-learn's KMeans on ``X``: the rows centred, then per
    run k-means++ seeding from the run's share of ``draws`` and Lloyd iterations; the run
    kept as scikit-learn keeps it (a later run only with a smaller inertia and another
    partition), its centres moved back by the column means."""
    n, n_features = X.shape
    centred, mean, tol = _centred(X, relative_tol)
    X64, norms64, first_cdf = _seeding_inputs(centred, w)
    per_run = 1 + (n_clusters - 1) * n_trials
    best_centres = np.empty((n_clusters, n_features), dtype=X.dtype)
    best_labels = np.empty(n, dtype=np.intp)
    centres = np.empty_like(best_centres)
    spare = np.empty_like(best_centres)
    indices = np.empty(n_clusters, dtype=np.intp)
    labels = np.empty(n, dtype=np.intp)
    labels_old = np.empty(n, dtype=np.intp)
    work = _lloyd_buffers(X, n_clusters)
    best_inertia = in_precision_of(X, np.inf)
    for run in range(draws.shape[0] // per_run):
        _plusplus(centred, X64, norms64, w, first_cdf,
                  draws[run * per_run:(run + 1) * per_run], n_trials, centres, indices)
        final = _lloyd(centred, w, centres, spare, labels, labels_old, tol, max_iter, work)
        inertia = _inertia(centred, w, final, labels)
        if run == 0 or (inertia < best_inertia
                        and not _same_clustering(labels, best_labels, n_clusters)):
            best_inertia = inertia
            for j in range(n_clusters):
                _copy(final[j], best_centres[j])
            _copy(labels, best_labels)
    for j in range(n_clusters):
        for k in range(n_features):
            best_centres[j, k] += mean[k]
    return best_centres, best_labels


@njit(cache=True)
def lloyd_from(X, w, start, relative_tol, max_iter):
    """``(centres, labels)`` of Lloyd iterations from the given centres ``start``
    (scikit-learn's KMeans with an array ``init``)."""
    n, n_features = X.shape
    centred, mean, tol = _centred(X, relative_tol)
    centres = np.empty_like(start)
    for j in range(start.shape[0]):
        for k in range(n_features):
            centres[j, k] = start[j, k] - mean[k]
    labels = np.empty(n, dtype=np.intp)
    final = _lloyd(centred, w, centres, np.empty_like(start), labels, np.empty(n, np.intp),
                   tol, max_iter, _lloyd_buffers(X, start.shape[0]))
    final = final.copy()
    for j in range(start.shape[0]):
        for k in range(n_features):
            final[j, k] += mean[k]
    return final, labels
