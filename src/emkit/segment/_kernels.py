"""numba kernels of the Potts field: mean-field sweeps and the free energy's terms.

The field lives on a grid of sites. ``index`` is the grid padded by one site on every side
(Z + 2, Y + 2, X + 2), flattened: the row of each site in the (rows x classes) arrays, -1
outside the mask and on the padding, so a neighbour lookup ``index[p + offset]`` never
leaves the array and needs no bounds test. Neighbours are flat offsets with weights.

Sites are updated colour by colour: with a colouring in which no two neighbours share a
colour (2 colours, a checkerboard, for the face neighbourhood; 8, a 2 x 2 x 2 pattern, for
the full one), the sites of one colour are independent given the others, so updating them
all at once (in parallel) is an exact block coordinate ascent of the mean-field free
energy: each sweep can only increase it.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..mixture._kernels import FASTMATH, PARALLEL_MIN_ROWS


@njit(cache=True, fastmath=FASTMATH)
def _sweep_rows(data_term, q, index, shape, offsets, weights, beta, n_colours, colour,
                row_start, row_stop):
    """Update the sites of one colour in grid rows [row_start, row_stop) (a row is one
    (z, y) line of the unpadded grid)."""
    Z, Y, X = shape
    K = q.shape[1]
    field = np.empty(K)
    for r in range(row_start, row_stop):
        z = r // Y
        y = r - z * Y
        if n_colours == 2:
            x0, step = (z + y + colour) & 1, 2
        else:
            if (z & 1) * 4 + (y & 1) * 2 != colour & 6:
                continue
            x0, step = colour & 1, 2
        base = ((z + 1) * (Y + 2) + (y + 1)) * (X + 2) + 1
        for x in range(x0, X, step):
            p = base + x
            i = index[p]
            if i < 0:
                continue
            for k in range(K):
                field[k] = 0.0
            for o in range(offsets.shape[0]):
                j = index[p + offsets[o]]
                if j >= 0:
                    w = weights[o]
                    for k in range(K):
                        field[k] += w * q[j, k]
            top = -np.inf
            for k in range(K):
                field[k] = data_term[i, k] + beta * field[k]
                if field[k] > top:
                    top = field[k]
            total = 0.0
            for k in range(K):
                field[k] = np.exp(field[k] - top)
                total += field[k]
            for k in range(K):
                q[i, k] = field[k] / total


@njit(cache=True, parallel=True)
def _sweep_parallel(data_term, q, index, shape, offsets, weights, beta, n_colours,
                    n_chunks):
    n_rows = shape[0] * shape[1]
    for colour in range(n_colours):
        for c in prange(n_chunks):
            _sweep_rows(data_term, q, index, shape, offsets, weights, beta, n_colours,
                        colour, (n_rows * c) // n_chunks, (n_rows * (c + 1)) // n_chunks)


@njit(cache=True, fastmath=FASTMATH)
def _energy_rows(data_term, q, index, shape, offsets, weights, row_start, row_stop):
    Z, Y, X = shape
    K = q.shape[1]
    unary = 0.0
    pairwise = 0.0
    for r in range(row_start, row_stop):
        z = r // Y
        y = r - z * Y
        base = ((z + 1) * (Y + 2) + (y + 1)) * (X + 2) + 1
        for x in range(X):
            p = base + x
            i = index[p]
            if i < 0:
                continue
            for k in range(K):
                qk = q[i, k]
                if qk > 0.0:
                    unary += qk * (data_term[i, k] - np.log(qk))
            for o in range(offsets.shape[0]):
                j = index[p + offsets[o]]
                if j >= 0:
                    dot = 0.0
                    for k in range(K):
                        dot += q[i, k] * q[j, k]
                    pairwise += weights[o] * dot
    return unary, pairwise


@njit(cache=True, parallel=True)
def _energy_parallel(data_term, q, index, shape, offsets, weights, n_chunks):
    n_rows = shape[0] * shape[1]
    unary = np.zeros(n_chunks)
    pairwise = np.zeros(n_chunks)
    for c in prange(n_chunks):
        unary[c], pairwise[c] = _energy_rows(
            data_term, q, index, shape, offsets, weights, (n_rows * c) // n_chunks,
            (n_rows * (c + 1)) // n_chunks)
    return unary.sum(), pairwise.sum()


def _n_chunks(n_sites: int) -> int:
    threads = numba.get_num_threads()
    return 1 if n_sites < PARALLEL_MIN_ROWS or threads == 1 else 8 * threads


def mean_field_sweep(data_term, q, index, shape, offsets, weights, beta, n_colours):
    """One sweep, in place: for every site i, colour by colour,
    q[i] = softmax(data_term[i] + beta * sum_j weight_j q[j]).

    Parameters
    ----------
    data_term : ndarray of shape (rows, classes)
        log(pi_k) + log N(x_i | theta_k).
    q : ndarray of shape (rows, classes)
        The field, updated in place.
    index : ndarray of int32, the padded grid flattened
    shape : tuple (Z, Y, X) of the unpadded grid
    offsets : ndarray of int64, flat neighbour offsets in the padded grid
    weights : ndarray, one per offset
    beta : float
    n_colours : {2, 8}
    """
    shape = tuple(int(n) for n in shape)
    n_chunks = _n_chunks(q.shape[0])
    if n_chunks == 1:
        for colour in range(n_colours):
            _sweep_rows(data_term, q, index, shape, offsets, weights, beta, n_colours,
                        colour, 0, shape[0] * shape[1])
    else:
        _sweep_parallel(data_term, q, index, shape, offsets, weights, beta, n_colours,
                        n_chunks)


def free_energy_terms(data_term, q, index, shape, offsets, weights):
    """``(unary, pairwise)`` of the field ``q``: sum_i sum_k q_ik (data_term_ik - log q_ik)
    (expected data term plus entropy), and sum over neighbour pairs {i, j} of
    weight * sum_k q_ik q_jk (``offsets`` must hold one offset of each +/- pair)."""
    shape = tuple(int(n) for n in shape)
    n_chunks = _n_chunks(q.shape[0])
    if n_chunks == 1:
        return _energy_rows(data_term, q, index, shape, offsets, weights, 0,
                            shape[0] * shape[1])
    return _energy_parallel(data_term, q, index, shape, offsets, weights, n_chunks)
