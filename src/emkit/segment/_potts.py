"""The Potts-MRF Gaussian mixture as an EM problem, its label field kept beside the data.

Model. Each site i (pixel or voxel) has a class z_i and a feature row x_i. The classes
follow a Potts Markov random field with an external field log pi, and the features are
Gaussian given the class (any covariance parametrisation of :class:`emkit.GaussianMixture`):

    p(z) = exp(sum_i log pi_{z_i} + beta * A(z)) / Z(pi, beta),
    p(x | z) = prod_i N(x_i | theta_{z_i}),

where A(z) = sum over neighbour pairs {i, j} of w_ij [z_i = z_j] counts the agreeing
neighbours (w_ij = 1 for the face neighbourhood; for the full one, proportional to
1 / distance and summing to the face neighbourhood's 4 or 6 per site).

Objective. For a factorised (mean-field) q(z) = prod_i q_i(z_i), Jensen's inequality gives

    G(q, theta) = sum_i sum_k q_ik [log pi_k + log N(x_i | theta_k) - log q_ik]
                  + beta * sum_{i~j} w_ij sum_k q_ik q_jk
                <= log p(x | theta, pi, beta) + log Z(pi, beta).

Z is intractable but depends only on the prior (pi, beta), which is fixed during the fit:
pi is set once from the class fractions f of the starting (plain mixture) fit, as
log pi_k = log f_k - c f_k with c = beta * (mean weighted number of neighbours), so that
the homogeneous mean-field solution of the prior has class fractions f (with pi = f the
proportions would count twice, once in pi and once in the neighbours, and the largest
class would swallow the others); beyond the coupling where that solution is unstable, the
correction is scaled down (see :meth:`PottsMixtureProblem.prior_weights`).
``lower_bounds`` reports, per site,

    F = G - log Z_mf,   log Z_mf = n_sites * [sum_k f_k log pi_k + c/2 sum_k f_k^2 + H(f)],

the prior's mean-field free energy at the homogeneous field f, a lower bound on log Z and
a constant, so F is the variational lower bound G shifted by a fixed amount: an
approximation of the mean log-likelihood, not a bound on it (log Z_mf is not exact).
With beta = 0: pi = f, log Z_mf = 0, the maximising q is the mixture's posterior, and F is
exactly the Gaussian mixture's mean log-likelihood.

Algorithm. EM is a coordinate ascent of G, so F never decreases (up to round-off and the
``reg_covar`` allowance the engine knows about):

- E-step: mean-field sweeps from the previous iteration's field, q_i(k) proportional to
  pi_k N(x_i | theta_k) exp(beta sum_{j in N(i)} w_ij q_j(k)), one colour class of sites at
  a time (no two neighbours share a colour, so each update maximises G exactly over its
  sites);
- M-step: the Gaussian mixture's M-step for the class Gaussians, unchanged, from the
  statistics weighted by q (pi stays fixed when beta > 0; at beta = 0 it is the mixture's
  weight update, so the fit is exactly :class:`emkit.GaussianMixture`'s).

The label field q is per-site state: it lives in :class:`LabelField`, the data source, not
in the parameters; only the additive Gaussian statistics reach the M-step.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from .._em import Monitor, fit_with_restarts
from ..mixture._covariance import covariance_model
from ..mixture._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from ..mixture._stats import GaussianStats
from ._kernels import free_energy_terms, mean_field_sweep

NEIGHBOURHOODS = ("faces", "full")


class Neighbourhood:
    """Neighbour offsets on the (Z, Y, X) grid, their weights, and a site colouring in
    which no two neighbours share a colour.

    'faces': the 4 (2-D) or 6 (3-D) face neighbours, weight 1, 2 colours (a checkerboard).
    'full': the 8 (2-D) or 26 (3-D) neighbours, weights proportional to 1 / distance (as
    in ANTs Atropos) and scaled to sum to the face neighbourhood's total (4 or 6), so that
    one ``smoothing`` value couples a site as strongly in either; 8 colours (a 2 x 2 x 2
    pattern).

    Parameters
    ----------
    kind : {'faces', 'full'}
    ndim : {2, 3}
        2: the grid is one slice (Z = 1); only in-plane neighbours exist.
    """

    def __init__(self, kind: str = "faces", ndim: int = 3):
        if kind not in NEIGHBOURHOODS:
            raise ValueError(f"neighbourhood must be one of {NEIGHBOURHOODS}, got {kind!r}")
        steps = [o for o in itertools.product((-1, 0, 1), repeat=3)
                 if any(o) and (ndim == 3 or o[0] == 0)]
        if kind == "faces":
            steps = [o for o in steps if sum(map(abs, o)) == 1]
        self.kind = kind
        self.offsets = np.array(steps, dtype=np.int64)
        weights = 1.0 / np.sqrt(np.sum(self.offsets**2, axis=1))
        self.weights = weights * (2 * ndim / weights.sum())
        self.forward = np.array([o > (0, 0, 0) for o in steps])  # one of each +/- pair
        self.n_colours = 2 if kind == "faces" else 8

    def flat_offsets(self, shape) -> np.ndarray:
        """The offsets as steps in the flattened grid of ``shape`` padded by one site."""
        _, Y, X = shape
        return self.offsets @ np.array([(Y + 2) * (X + 2), X + 2, 1], dtype=np.int64)


class LabelField:
    """The data of a Potts-mixture fit: feature rows, the site grid, and the mean-field
    label probabilities ``q`` (rows x classes), the local state updated by each E-step.

    Parameters
    ----------
    X : ndarray of shape (n_sites, n_features)
    index : ndarray of shape (Z, Y, X), int32
        Row of each grid site, -1 outside the mask.
    log_prior : ndarray of shape (n_sites, n_classes), optional
        Per-site log prior probabilities of the classes (spatial tissue priors), added to
        every site's data term; the class weights are then fixed at 1.
    """

    def __init__(self, X: np.ndarray, index: np.ndarray, log_prior: np.ndarray | None = None):
        self.X = X
        self.shape = index.shape
        self.index = np.pad(index, 1, constant_values=-1).ravel()
        self.q = None
        self.total_weight = float(X.shape[0])
        self.log_prior = log_prior

    def edge_weight(self, neighbourhood: "Neighbourhood") -> float:
        """Total weight W of the neighbour pairs inside the mask."""
        inside = self.index >= 0
        total = 0.0
        for step, weight in zip(neighbourhood.flat_offsets(self.shape)[neighbourhood.forward],
                                neighbourhood.weights[neighbourhood.forward]):
            total += weight * np.count_nonzero(inside[:-step] & inside[step:])
        return total

    def expectation(self, problem: "PottsMixtureProblem", theta):
        """The engine's whole-data E-step hook: ``(stats, summed objective, weight)``."""
        stats, value = problem.field_e_step(self, theta)
        return stats, value, self.total_weight


class PottsMixtureProblem:
    """E-step (mean-field sweeps over a :class:`LabelField`) and M-step (the Gaussian
    mixture's) of the Potts-MRF mixture; see the module docstring for the objective.

    Parameters
    ----------
    gaussian : GaussianMixtureProblem
        Log-densities, statistics layout and M-step of the class-conditional Gaussians.
    beta : float
        Potts interaction strength (>= 0); 0 is the plain mixture.
    neighbourhood : Neighbourhood
    sweeps : int
        Mean-field sweeps per E-step.
    """

    def __init__(self, gaussian: GaussianMixtureProblem, beta: float,
                 neighbourhood: Neighbourhood, sweeps: int = 1, *, n_sites: int,
                 edge_weight: float):
        self.gaussian = gaussian
        self.beta = float(beta)
        self.neighbourhood = neighbourhood
        self.sweeps = int(sweeps)
        self.n_sites = int(n_sites)
        #: beta * mean weighted degree: the homogeneous field's coupling per site
        self.coupling = self.beta * 2.0 * float(edge_weight) / max(1, self.n_sites)
        #: the estimate of log Z(pi, beta) subtracted from the objective (pi is fixed)
        self.log_partition = 0.0
        #: whether the M-step keeps the class weights (a Potts prior's pi, or the uniform
        #: weights beside per-site priors) instead of updating them
        self.fixed_weights = self.beta > 0

    def _sweep(self, data_term, field, beta):
        nb = self.neighbourhood
        mean_field_sweep(data_term, field.q, field.index, field.shape,
                         nb.flat_offsets(field.shape), nb.weights.astype(data_term.dtype),
                         beta, nb.n_colours)

    def field_e_step(self, field: LabelField, theta: GaussianMixtureParams):
        """Update ``field.q`` by mean-field sweeps under ``theta``; return the Gaussian
        statistics weighted by the new q, and the objective F (summed over sites)."""
        return self.class_e_step(field, field.X, theta)

    def class_e_step(self, field: LabelField, X: np.ndarray, theta: GaussianMixtureParams,
                     statistics: bool = True):
        """:meth:`field_e_step` on the feature rows ``X`` (``field.X`` corrected, say);
        the statistics are None unless ``statistics``."""
        data_term = self.gaussian.weighted_log_prob(X, theta)  # log pi + log N
        if field.log_prior is not None:
            data_term += field.log_prior
        if field.q is None:  # start from the plain mixture's posterior
            field.q = np.zeros_like(data_term)
            self._sweep(data_term, field, 0.0)
        if self.beta > 0:
            for _ in range(self.sweeps):
                self._sweep(data_term, field, self.beta)
        else:
            self._sweep(data_term, field, 0.0)
        nb = self.neighbourhood
        unary, pairwise = free_energy_terms(
            data_term, field.q, field.index, field.shape,
            nb.flat_offsets(field.shape)[nb.forward],
            nb.weights[nb.forward].astype(data_term.dtype))
        value = unary + self.beta * pairwise - self.log_partition
        return (self.statistics(field, theta.means, X) if statistics else None), value

    def prior_weights(self, fractions) -> np.ndarray:
        """The prior's class weights pi for class fractions f.

        log pi_k = log f_k - c f_k (up to a constant), c = ``self.coupling``: then the
        homogeneous mean-field solution of the prior, p_k proportional to
        pi_k exp(c p_k), is p = f. Without this correction the proportions would count
        twice (in pi and again through the neighbours) and the largest class would
        swallow the others. It holds while p = f is a stable solution, c <= c* = 1 / max(f).
        Beyond, the prior is in its ordered phase, and a larger correction would reverse
        the classes' order of preference: the prior used is then the one at c* raised to
        the power c / c* (the same prior, colder), whose external field is
        (c* / c) (log f_k - c* f_k): the classes' bias keeps its ratio to the coupling.
        pi = f when beta = 0.
        """
        f = np.asarray(fractions, dtype=np.float64)
        f = f / f.sum()
        stable = 1.0 / float(np.max(f))
        log_pi = np.log(f) - min(self.coupling, stable) * f
        if self.coupling > stable:
            log_pi *= stable / self.coupling
        pi = np.exp(log_pi - log_pi.max())
        return (pi / pi.sum()).astype(np.asarray(fractions).dtype)

    def log_partition_estimate(self, fractions) -> float:
        """Mean-field estimate of the prior's log partition function log Z(pi, beta) at
        pi = prior_weights(f): its value at the homogeneous field p = f,
        n_sites * [sum_k f_k log pi_k + c/2 sum_k f_k^2 + H(f)] (a lower bound on log Z;
        exactly 0 when beta = 0)."""
        if self.coupling == 0.0:
            return 0.0
        f = np.asarray(fractions, dtype=np.float64)
        f = f / f.sum()
        log_pi = np.log(self.prior_weights(f).astype(np.float64))
        entropy = -float(np.sum(f * np.log(f)))
        return self.n_sites * float(f @ log_pi + 0.5 * self.coupling * (f @ f) + entropy)

    def statistics(self, field: LabelField, anchor: np.ndarray,
                   X: np.ndarray | None = None) -> GaussianStats:
        """Gaussian statistics of the rows (``field.X`` unless ``X`` is given) weighted by
        the field, about ``anchor``."""
        covariance = self.gaussian.covariance
        first, second = covariance.fast_second_moments(
            field.X if X is None else X, field.q, anchor)
        dtype = anchor.dtype
        weight = field.q.sum(axis=0, dtype=np.float64)
        return GaussianStats(weight.astype(dtype), first.astype(dtype), second.astype(dtype),
                             anchor, covariance.kind)

    def m_step(self, stats: GaussianStats, theta=None) -> GaussianMixtureParams:
        """The Gaussian mixture's M-step for the class Gaussians; with beta > 0 (or site
        priors) the class weights pi stay as they are (they are part of the prior)."""
        new = self.gaussian.m_step(stats, theta)
        if not self.fixed_weights or theta is None:
            return new
        return replace(new, weights=theta.weights)

    def likelihood_slack(self, stats, theta, previous=None) -> float:
        # F depends on the Gaussians exactly as the mixture's bound does: same allowance.
        return self.gaussian.likelihood_slack(stats, theta, previous)


def fit_potts(X, index, theta, *, beta, covariance_type="full", reg_covar=1e-6,
              neighbourhood="faces", sweeps=1, tol=1e-3, max_iter=100, verbose=0,
              log_prior=None, bias=None, bias_start=None):
    """Fit the Potts-MRF mixture by EM from parameters ``theta``.

    Parameters
    ----------
    X : ndarray of shape (n_sites, n_features)
    index : ndarray of shape (Z, Y, X), int32
        Row of each grid site, -1 outside the mask.
    theta : GaussianMixtureParams
        Starting parameters (the plain mixture's fit, say).
    beta, covariance_type, reg_covar, neighbourhood, sweeps, tol, max_iter, verbose
        As in :func:`emkit.segment.segment`.
    log_prior : ndarray of shape (n_sites, n_classes), optional
        Per-site log prior probabilities (see :class:`LabelField`); the class weights are
        then 1 and fixed (and no log-partition estimate is subtracted).
    bias : emkit.segment._bias.BiasModel, optional
        A smooth field fitted beside the classes (``X`` then holds log-intensities);
        ``run.theta`` is then a :class:`emkit.segment._bias.BiasedParams`.
    bias_start : ndarray of shape (n_channels, n_functions), optional
        The field's starting coefficients (default: no field).

    Returns
    -------
    run : EMRun
        Final parameters, objective history (per site), convergence.
    q : ndarray of shape (n_sites, n_classes)
        The label field after one final E-step under the final parameters.
    """
    gaussian = GaussianMixtureProblem(covariance_model(covariance_type), reg_covar)
    field = LabelField(X, index, log_prior)
    neighbours = Neighbourhood(neighbourhood, ndim=2 if index.shape[0] == 1 else 3)
    problem = PottsMixtureProblem(gaussian, beta, neighbours, sweeps, n_sites=X.shape[0],
                                  edge_weight=field.edge_weight(neighbours))
    monitor = Monitor(verbose, rtol=1e-9 if X.dtype == np.float64 else 1e-4)
    if log_prior is not None:  # the site priors are the weights
        problem.fixed_weights = True
        theta = replace(theta, weights=np.ones_like(theta.weights))  # log 1 = 0
    elif beta > 0:  # the prior's weights, from the starting class fractions, then fixed
        problem.log_partition = problem.log_partition_estimate(theta.weights)
        theta = replace(theta, weights=problem.prior_weights(theta.weights))
    start = theta
    if bias is not None:
        problem, start = bias.problem(problem), bias.start(theta, bias_start)
    run = fit_with_restarts(problem, field, lambda: start, n_init=1, tol=tol,
                            max_iter=max_iter, monitor=monitor)
    problem.field_e_step(field, run.theta)  # the field of the returned parameters
    return run, field.q
