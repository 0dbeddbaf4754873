"""Starting parameters robust to a dominant background class.

k-means minimises the within-class scatter, so on an image that is mostly background it
often splits the noisy background in two instead of finding the small objects, and a
Gaussian mixture started there stays there. So several starts are tried and judged by the
mixture's likelihood, not by the k-means inertia:

- k-means (k-means++ seeding, ``n_init`` restarts) on the feature rows;
- k-means (same restarts) on the rows after averaging each site with its face neighbours
  inside the mask: the denoised features separate the classes that noise makes overlap,
  and their labels are then used on the raw rows.

Each start's labels give the mixture's starting parameters by the M-step (as every init
of :class:`emkit.GaussianMixture` does); a short mixture fit on a random subsample of at
most ``SUBSAMPLE`` rows follows, and the start with the highest log-likelihood wins.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from ..mixture import GaussianMixture
from ..mixture._covariance import covariance_model
from ..mixture._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem

#: Rows the starts are computed and compared on.
SUBSAMPLE = 50_000


def denoised_rows(X: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Each row averaged with its face neighbours inside the mask (a 3 x 3 (x 3) box
    filter restricted to the mask), shape of ``X``."""
    inside = index >= 0
    size = [1 if n == 1 else 3 for n in index.shape]
    counts = ndimage.uniform_filter(inside.astype(np.float64), size=size, mode="constant")
    out = np.empty(X.shape, dtype=np.float64)
    grid = np.zeros(index.shape)
    for d in range(X.shape[1]):
        grid[inside] = X[:, d]
        out[:, d] = (ndimage.uniform_filter(grid, size=size, mode="constant")[inside]
                     / counts[inside])
    return out


def mixture_starting_from(theta: GaussianMixtureParams, covariance_type: str,
                          **params) -> GaussianMixture:
    """An unfitted GaussianMixture whose fit starts from the parameters ``theta``."""
    cov = covariance_model(covariance_type)
    return GaussianMixture(
        len(theta.weights), covariance_type=covariance_type,
        weights_init=theta.weights / theta.weights.sum(), means_init=theta.means,
        precisions_init=cov.precisions(theta.precisions_cholesky), **params)


def _kmeans_labels(X, n_classes, n_init, rng):
    # One OpenMP thread: on a subsample, threads cost more than they save (and thrash on a
    # busy machine).
    with threadpool_limits(limits=1, user_api="openmp"):
        return KMeans(n_clusters=n_classes, n_init=n_init, random_state=rng).fit(X).labels_


def initial_parameters(X, index, n_classes, *, covariance_type, reg_covar, n_init, rng,
                       max_iter=100) -> GaussianMixtureParams:
    """Starting parameters of the mixture (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_sites, n_features)
    index : ndarray of shape (Z, Y, X), int32
        Row of each grid site, -1 outside the mask.
    n_classes : int
    covariance_type : str
    reg_covar : float
    n_init : int
        k-means restarts of each kind of start.
    rng : numpy.random.RandomState
    max_iter : int
        Iterations of each short mixture fit on the subsample.

    Returns
    -------
    GaussianMixtureParams
        The best start, after its short fit on the subsample.
    """
    n = X.shape[0]
    rows = np.sort(rng.choice(n, SUBSAMPLE, replace=False)) if n > SUBSAMPLE else slice(None)
    sample = X[rows]
    if len(np.unique(sample, axis=0)) < n_classes:  # rare values missed: use every row
        rows, sample = slice(None), X
    smooth = denoised_rows(X, index)[rows]
    problem = GaussianMixtureProblem(covariance_model(covariance_type), reg_covar)
    best, best_score = None, -np.inf
    for labels in (_kmeans_labels(sample, n_classes, n_init, rng),
                   _kmeans_labels(smooth, n_classes, n_init, rng)):
        resp = np.zeros((sample.shape[0], n_classes), dtype=sample.dtype)
        resp[np.arange(sample.shape[0]), labels] = 1
        if np.any(resp.sum(axis=0) == 0):
            continue
        model = mixture_starting_from(problem.params_from_resp(sample, resp, None),
                                      covariance_type, reg_covar=reg_covar,
                                      max_iter=max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a short fit need not converge
            model.fit(sample)
        score = model.score(sample)
        if best is None or score > best_score:
            best, best_score = model, score
    return GaussianMixtureParams(best.weights_, best.means_, best.covariances_,
                                 best.precisions_cholesky_)
