"""A smooth multiplicative bias field fitted inside the segmentation EM.

Model (Wells et al. 1996, Van Leemput et al. 1999, Zhang et al. 2001 / FSL FAST). MR
intensities are the tissue's intensity times a smooth field b(x) > 0 (the coil's
sensitivity). In the log domain the field adds: with y_i = log I_i (one column per
channel) and f_i = C phi(x_i) (a low-frequency cosine basis phi, one coefficient row per
channel),

    y_i - f_i | z_i = k  ~  N(mu_k, Sigma_k),

so the corrected log-intensities follow the classes' mixture (or Potts-MRF mixture). The
map y -> y - f has Jacobian 1, so the field adds no log-Jacobian term to the likelihood of
the log-intensities; the likelihood of the intensities themselves adds -sum_d y_id per site
(the Jacobian of the log), a constant included in the objective so that it is the log
density of the intensities. The field's coefficients have a Gaussian prior, its bending
energy: (smoothing / 2) n_sites sum_j e_j |C_j|^2, e_j = |k_j|^4 for the basis function of
frequencies k_j (lengths in units of the longest side / pi), so that smoothing = 1 barely
holds back the slowest cosines and damps the faster ones; the objective is the penalised
(MAP) one.

EM (each step maximises the objective or the expected complete log-likelihood over some
of the parameters, so the objective never decreases): the E-step computes the class
probabilities q of the corrected rows; the M-step alternates, to convergence, the
classes' update (the Gaussian mixture's M-step on the corrected rows) and the field's
weighted least squares under the classes (residuals y_i - mu_k weighted by
q_ik Sigma_k^-1). Both need only additive statistics of the E-step, whatever the field:
per class, the moments of the uncorrected rows and Phi^T Q_k Phi, Phi^T Q_k y and
Phi^T Q_k 1 (Q_k = diag(q_k)), so the cycles cost no pass over the sites.

Each basis function has its mean over the mask removed, so the field's mean log value
inside the mask is 0 and the classes keep the image's overall level.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..mixture._gaussian_problem import GaussianMixtureParams
from ..mixture._stats import GaussianStats
from ..mixture._weighted_moments import weighted_moments

#: Cycles of the classes' and the field's updates in one M-step, at most, and the change
#: of the field's coefficients (log units) below which they stop.
INNER_CYCLES = 50
INNER_TOL = 1e-6

#: Highest total frequency k_z + k_y + k_x of the cosine basis (34 functions in 3-D, 14 in
#: 2-D): a field smoother than the anatomy, as the coils' fields are.
BIAS_ORDER = 4


class CosineBasis:
    """Products of cosines cos(pi k (x + 1/2) / n) along each axis of a grid, of total
    frequency 1 .. ``order``, each minus its mean over the mask.

    The basis is never stored site by site: every sum over the sites that EM needs
    (sum_i w_i phi_j(x_i) phi_l(x_i), sum_i w_i phi_j(x_i)) comes from the cosine
    transform of the weights, sum_i w_i cos_u(z_i) cos_v(y_i) cos_s(x_i) for frequencies
    up to 2 ``order``, computed axis by axis over the mask's bounding box (products of two
    cosines are sums of cosines), so a fit costs a few passes over the sites whatever the
    number of basis functions.

    Parameters
    ----------
    mask : ndarray of bool, 2-D or 3-D
        The sites (the basis spans the whole grid; axes of length 1 get frequency 0 only).
    order : int
    """

    def __init__(self, mask, order: int = BIAS_ORDER):
        self.shape = tuple(int(n) for n in mask.shape)
        top = [order if n > 1 else 0 for n in self.shape]
        self.frequencies = np.array(
            [k for k in itertools.product(*(range(t + 1) for t in top)) if 0 < sum(k) <= order],
            dtype=np.int64).reshape(-1, len(self.shape))
        extent = np.array(self.shape, dtype=np.float64) / max(self.shape)
        #: bending energy of each function, lengths in units of the longest side / pi
        self.energy = np.sum((self.frequencies / extent) ** 2, axis=1) ** 2
        box = np.nonzero(mask)
        self._box = tuple(slice(int(c.min()), int(c.max()) + 1) for c in box)
        self._mask = mask[self._box]
        #: cos(pi u (x + 1/2) / n), u = 0 .. 2 order, per axis, over the bounding box
        self._lines = [np.cos(np.pi * np.arange(2 * order + 1)[:, None]
                              * (np.arange(n)[b] + 0.5) / n)
                       for n, b in zip(self.shape, self._box)]
        self.n_sites = int(self._mask.sum())
        self.offsets = self._raw(self.transform(np.ones(self.n_sites))) / self.n_sites

    def __len__(self) -> int:
        return len(self.frequencies)

    def transform(self, weights: np.ndarray) -> np.ndarray:
        """sum_i w_i prod_a cos_{u_a}(x_ia) for every frequency triple u (up to 2 order),
        of per-site ``weights`` (the sites' order: C order of the mask)."""
        grid = np.zeros(self._mask.shape)
        grid[self._mask] = weights
        for line in self._lines:  # contract the leading axis; the result's axes rotate
            grid = np.tensordot(grid, line, axes=([0], [1]))
        return grid

    def _raw(self, moments: np.ndarray) -> np.ndarray:
        """sum_i w_i phi_j(x_i) before centring, per function j, from :meth:`transform`."""
        return moments[tuple(self.frequencies.T)]

    def sums(self, weights: np.ndarray, values: np.ndarray | None = None):
        """``(sum_i w_i phi_j, sum_i w_i phi_j phi_l)`` of the centred basis, or only the
        first (with ``values``: sum_i w_i v_i phi_j) when ``values`` is given."""
        if values is not None:
            moments = self.transform(weights * values)
            return self._raw(moments) - self.offsets * moments[(0,) * moments.ndim]
        moments = self.transform(weights)
        total = moments[(0,) * moments.ndim]
        raw = self._raw(moments)
        gram = np.zeros((len(self), len(self)))
        k = self.frequencies
        for signs in itertools.product((1, -1), repeat=k.shape[1]):
            index = np.abs(k[:, None, :] + np.array(signs) * k[None, :, :])
            gram += moments[tuple(np.moveaxis(index, -1, 0))]
        gram /= 2 ** k.shape[1]
        first = raw - self.offsets * total
        gram += (np.outer(self.offsets, self.offsets) * total - np.outer(self.offsets, raw)
                 - np.outer(raw, self.offsets))
        return first, gram

    def field(self, coef: np.ndarray, sites_only: bool = False) -> np.ndarray:
        """The field sum_j coef[:, j] phi_j: on the whole grid, shape
        (n_channels, *shape), or at the sites, shape (n_sites, n_channels)."""
        n_channels = coef.shape[0]
        if sites_only:
            lines = self._lines
        else:
            lines = [np.cos(np.pi * np.arange(line.shape[0])[:, None] * (np.arange(n) + 0.5) / n)
                     for line, n in zip(self._lines, self.shape)]
        top = int(self.frequencies.max()) + 1
        out = []
        for d in range(n_channels):
            tensor = np.zeros((top,) * len(self.shape))
            tensor[tuple(self.frequencies.T)] = coef[d]
            for line in lines:
                tensor = np.tensordot(tensor, line[:top], axes=([0], [0]))
            out.append(tensor - float(coef[d] @ self.offsets))
        if sites_only:
            return np.stack([grid[self._mask] for grid in out], axis=1)
        return np.stack(out)


@dataclass(frozen=True)
class BiasedParams:
    """The classes' Gaussians and the log field's coefficients (n_channels, n_functions)."""

    gaussian: GaussianMixtureParams
    coef: np.ndarray


@dataclass(frozen=True)
class BiasStats:
    """E-step statistics, about ``anchor`` (the E-step's class means), of the uncorrected
    rows y under the class probabilities q: per class k, ``weight`` sum_i q_ik, ``first``
    sum_i q_ik (y_i - a_k), ``second`` sum_i q_ik (y_i - a_k)(y_i - a_k)^T, and the basis's
    Phi^T Q_k Phi (``gram``), Phi^T Q_k y (``moments``, per channel) and Phi^T Q_k 1
    (``totals``). The classes' statistics of the corrected rows y - f follow from them for
    any field f (:meth:`corrected`). They add up over blocks of sites with one anchor."""

    weight: np.ndarray
    first: np.ndarray
    second: np.ndarray
    anchor: np.ndarray
    gram: np.ndarray
    moments: np.ndarray
    totals: np.ndarray

    def __add__(self, other: "BiasStats") -> "BiasStats":
        if not np.array_equal(self.anchor, other.anchor):
            raise ValueError("bias statistics about different anchors cannot be added")
        return BiasStats(self.weight + other.weight, self.first + other.first,
                         self.second + other.second, self.anchor, self.gram + other.gram,
                         self.moments + other.moments, self.totals + other.totals)

    def __mul__(self, factor: float) -> "BiasStats":
        return BiasStats(self.weight * factor, self.first * factor, self.second * factor,
                         self.anchor, self.gram * factor, self.moments * factor,
                         self.totals * factor)

    def corrected(self, coef: np.ndarray, covariance) -> GaussianStats:
        """The classes' Gaussian statistics of the rows y - f, f = the field of ``coef``
        (n_channels, n_functions), in ``covariance``'s layout."""
        field_mass = np.einsum("dp,kp->kd", coef, self.totals)  # sum_i q_ik f_id
        cross = (np.einsum("ep,kdp->kde", coef, self.moments)  # sum q_ik (y_id - a_kd) f_ie
                 - self.anchor[:, :, None] * field_mass[:, None, :])
        square = np.einsum("dp,kpq,eq->kde", coef, self.gram, coef)  # sum q_ik f_id f_ie
        second = self.second - cross - np.swapaxes(cross, 1, 2) + square
        if not covariance.full_moments:
            second = np.diagonal(second, axis1=1, axis2=2)
        dtype = self.anchor.dtype
        return GaussianStats(self.weight.astype(dtype), (self.first - field_mass).astype(dtype),
                             covariance._reduce_second(second).astype(dtype), self.anchor,
                             covariance.kind)


class BiasModel:
    """The field's part of the fit: its basis at the sites, the log-intensities' Jacobian
    and the smoothing prior. :func:`emkit.segment._potts.fit_potts` takes it as ``bias``.

    Parameters
    ----------
    basis : CosineBasis
    log_rows : ndarray of shape (n_sites, n_channels)
        The log-intensities the classes are fitted to.
    smoothing : float
        Weight of the bending-energy prior (> 0 keeps the normal equations regular).
    """

    def __init__(self, basis: CosineBasis, log_rows: np.ndarray, smoothing: float):
        self.basis = basis
        self.smoothing = float(smoothing)
        self.n_sites = log_rows.shape[0]
        #: sum of the log-intensities: minus the log-Jacobian of I -> log I
        self.log_total = float(np.sum(log_rows, dtype=np.float64))
        self.penalty_weights = self.smoothing * self.n_sites * basis.energy

    def start(self, gaussian: GaussianMixtureParams, coef=None) -> BiasedParams:
        """Starting parameters: the classes and the field's coefficients (None: no field)."""
        if coef is None:
            coef = np.zeros((gaussian.means.shape[1], len(self.basis)))
        return BiasedParams(gaussian, coef)

    def problem(self, classes) -> "BiasFieldProblem":
        """The EM problem of the field beside the class problem ``classes``."""
        return BiasFieldProblem(classes, self)

    def values(self, coef: np.ndarray) -> np.ndarray:
        """The log field at the sites, shape (n_sites, n_channels)."""
        return self.basis.field(coef, sites_only=True)

    def penalty(self, coef: np.ndarray) -> float:
        """The prior's -log density (up to a constant)."""
        return 0.5 * float(np.sum(self.penalty_weights * coef**2))


class BiasFieldProblem:
    """EM problem of the classes (a :class:`~emkit.segment._potts.PottsMixtureProblem`)
    and the bias field together; see the module docstring.

    Parameters
    ----------
    classes : PottsMixtureProblem
    bias : BiasModel
    """

    def __init__(self, classes, bias: BiasModel):
        self.classes = classes
        self.bias = bias

    def field_e_step(self, field, theta: BiasedParams):
        """Class probabilities of the corrected rows; statistics and the objective (the
        penalised log density of the intensities, summed over sites)."""
        bias = self.bias
        corrected = (field.X - bias.values(theta.coef)).astype(field.X.dtype)
        _, value = self.classes.class_e_step(field, corrected, theta.gaussian,
                                             statistics=False)
        anchor = theta.gaussian.means
        first, second = weighted_moments(field.X, field.q, anchor, True)
        n_classes, n_channels = field.q.shape[1], field.X.shape[1]
        gram = np.empty((n_classes, len(bias.basis), len(bias.basis)))
        moments = np.empty((n_classes, n_channels, len(bias.basis)))
        totals = np.empty((n_classes, len(bias.basis)))
        for k in range(n_classes):
            weights = field.q[:, k].astype(np.float64)
            totals[k], gram[k] = bias.basis.sums(weights)
            for d in range(n_channels):
                moments[k, d] = bias.basis.sums(weights, field.X[:, d])
        weight = field.q.sum(axis=0, dtype=np.float64)
        stats = BiasStats(weight, first, second, anchor, gram, moments, totals)
        return stats, value - bias.log_total - bias.penalty(theta.coef)

    def m_step(self, stats: BiasStats, theta: BiasedParams | None = None) -> BiasedParams:
        """Maximise the expected complete log-likelihood over the classes and the field
        together, by alternating the classes' M-step (on the corrected statistics) and the
        field's weighted least squares until the field settles: each half-step is exact,
        so EM stays monotone, and the statistics make every cycle cheap."""
        covariance = self.classes.gaussian.covariance
        coef = np.zeros((stats.moments.shape[1], stats.moments.shape[2])) if theta is None \
            else theta.coef
        previous = None if theta is None else theta.gaussian
        for _ in range(INNER_CYCLES):
            gaussian = self.classes.m_step(stats.corrected(coef, covariance), previous)
            new = self.field_update(stats, gaussian)
            change = float(np.max(np.abs(new - coef), initial=0.0))
            coef = new
            if change < INNER_TOL:
                break
        return BiasedParams(gaussian, coef)

    def field_update(self, stats: BiasStats, gaussian: GaussianMixtureParams) -> np.ndarray:
        """Coefficients maximising the expected penalised log-likelihood given the classes:
        sum_k (Sigma_k^-1 (x) Phi^T Q_k Phi) c + penalty c = sum_k Sigma_k^-1 Phi^T Q_k
        (y - mu_k), solved for all channels at once."""
        n_classes, n_channels, n_functions = stats.moments.shape
        covariance = self.classes.gaussian.covariance
        covariances = covariance.full_matrices(np.asarray(gaussian.covariances, np.float64),
                                               n_classes, n_channels)
        precisions = np.linalg.inv(covariances)
        means = np.asarray(gaussian.means, np.float64)
        system = np.einsum("kde,kpq->dpeq", precisions, stats.gram).reshape(
            n_channels * n_functions, n_channels * n_functions)
        system += np.diag(np.tile(self.bias.penalty_weights, n_channels))
        residual = stats.moments - means[:, :, None] * stats.totals[:, None, :]
        rhs = np.einsum("kde,kep->dp", precisions, residual).ravel()
        return np.linalg.solve(system, rhs).reshape(n_channels, n_functions)

    def likelihood_slack(self, stats: BiasStats, theta: BiasedParams, previous=None) -> float:
        covariance = self.classes.gaussian.covariance
        return self.classes.likelihood_slack(stats.corrected(theta.coef, covariance),
                                             theta.gaussian,
                                             None if previous is None else previous.gaussian)
