"""A Gaussian mixture with a noise component: mclust's uniform density over the data's
volume as one more component, with its own mixing weight, fitted by the same engine."""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from .._em import RowBlocks
from .._fit_guard import untouched_on_failure
from .._sources import is_streamed
from .._validation import Interval, named_matrix
from ..io import register_model
from ._data_scale import DataScale
from ._gaussian_mixture import GaussianMixture
from ._gaussian_problem import GaussianMixtureParams, GaussianMixtureProblem
from ._stats import GaussianStats

#: What :meth:`GaussianMixtureWithNoise.predict` returns for a row the noise explains best.
NOISE_LABEL = -1


def noise_log_volume(X) -> float:
    """Log of mclust's ``hypvol``: the smaller of the volumes of the rows' bounding box and
    of their box along the principal axes.

    Raises ValueError when the rows span no volume (a constant column, say)."""
    X = np.asarray(X, dtype=np.float64)
    centred = X - X.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    with np.errstate(divide="ignore"):
        volumes = [float(np.sum(np.log(np.ptp(Y, axis=0)))) for Y in (X, centred @ axes.T)]
    log_volume = min(volumes)
    if not math.isfinite(log_volume):
        raise ValueError("The rows span no volume (a constant column, or fewer rows than "
                         "features), so a uniform noise density over them is undefined; "
                         "give noise_volume.")
    return log_volume


@dataclass(frozen=True)
class NoisyMixtureParams(GaussianMixtureParams):
    """Gaussian mixture parameters plus the noise component's weight; ``weights`` and
    ``noise_weight`` sum to 1."""

    noise_weight: float = 0.0


@dataclass(frozen=True)
class NoisyMixtureStats:
    """The Gaussian components' statistics and the noise component's summed
    (row-weighted) responsibility; additive over blocks like every engine statistic."""

    gaussian: GaussianStats
    noise: float

    def __add__(self, other: "NoisyMixtureStats") -> "NoisyMixtureStats":
        return NoisyMixtureStats(self.gaussian + other.gaussian, self.noise + other.noise)

    def __mul__(self, factor: float) -> "NoisyMixtureStats":
        return NoisyMixtureStats(self.gaussian * factor, self.noise * factor)

    __rmul__ = __mul__


class NoisyMixtureProblem:
    """A Gaussian mixture problem with one more column in the E-step: the constant
    log-density ``-log_volume`` of a uniform noise component, weighted by its weight.

    Parameters
    ----------
    gaussian : GaussianMixtureProblem
        The Gaussian components' problem (their M-step, densities and statistics).
    log_volume : float
        Log of the volume the noise is uniform over.
    """

    def __init__(self, gaussian: GaussianMixtureProblem, log_volume: float):
        self.gaussian = gaussian
        self.log_volume = float(log_volume)

    @property
    def covariance(self):
        """The Gaussian components' covariance parametrisation."""
        return self.gaussian.covariance

    def weighted_log_prob(self, X: np.ndarray, theta: NoisyMixtureParams) -> np.ndarray:
        """log(weight) + log-density of each Gaussian component, then of the noise: shape
        (n_samples, n_components + 1)."""
        gaussian = self.gaussian.weighted_log_prob(X, theta)
        with np.errstate(divide="ignore"):
            noise = math.log(theta.noise_weight) if theta.noise_weight > 0 else -np.inf
        return np.column_stack([gaussian, np.full(len(X), noise - self.log_volume,
                                                  dtype=gaussian.dtype)])

    # the Gaussian problem's normalisation, over this problem's columns
    log_resp = GaussianMixtureProblem.log_resp
    responsibilities = GaussianMixtureProblem.responsibilities

    def e_step(self, X, theta: NoisyMixtureParams, sample_weight):
        log_norm, resp = self.responsibilities(X, theta)
        if sample_weight is not None:
            resp *= sample_weight[:, None]
            loglik = float(sample_weight @ log_norm)
        else:
            loglik = float(log_norm.sum())
        n_components = theta.means.shape[0]
        gaussian = self.gaussian.statistics(X, resp[:, :n_components], theta.means)
        return NoisyMixtureStats(gaussian, float(resp[:, n_components].sum())), loglik

    def m_step(self, stats: NoisyMixtureStats, theta=None) -> NoisyMixtureParams:
        params = self.gaussian.m_step(stats.gaussian)
        dtype = params.means.dtype
        nk = stats.gaussian.weight + 10 * np.finfo(dtype).eps  # as the Gaussian M-step
        total = float(nk.sum()) + stats.noise
        return NoisyMixtureParams(
            (nk / total).astype(dtype, copy=False), params.means, params.covariances,
            params.precisions_cholesky, noise_weight=stats.noise / total)

    def likelihood_slack(self, stats: NoisyMixtureStats, theta: NoisyMixtureParams,
                         previous: NoisyMixtureParams | None = None) -> float:
        """The Gaussian problem's slack (what ``reg_covar`` costs), per unit of all the
        weight, noise included."""
        gaussian_weight = float(stats.gaussian.weight.sum())
        total = max(gaussian_weight + stats.noise, np.finfo(np.float64).tiny)
        return self.gaussian.likelihood_slack(stats.gaussian, theta) * gaussian_weight / total

    @staticmethod
    def with_noise(theta: GaussianMixtureParams, noise_weight: float) -> NoisyMixtureParams:
        """``theta``'s Gaussian components (weights summing to 1) sharing the mass with a
        noise component of weight ``noise_weight``."""
        weights = np.asarray(theta.weights) * (1.0 - noise_weight)
        return NoisyMixtureParams(weights.astype(theta.means.dtype), theta.means,
                                  theta.covariances, theta.precisions_cholesky,
                                  noise_weight=float(noise_weight))


@register_model
class GaussianMixtureWithNoise(GaussianMixture):
    """Gaussian mixture with a uniform noise component (mclust's ``noise``), fitted by EM.

    Every parameter of :class:`GaussianMixture`, plus:

    Parameters
    ----------
    noise_init : array-like of bool, shape (n_samples,)
        The initial noise guess (mclust's ``initialization$noise``): True for the rows the
        first E-step takes as noise. The Gaussian components start from the other rows
        (by ``init_params``), the noise weight from the share of the flagged rows.
        Required by :meth:`fit`.
    noise_volume : float or None, default=None
        Volume the noise density is uniform over (1 / mclust's ``Vinv``). None: mclust's
        ``hypvol`` of the rows, the smaller of the bounding box's volume and of the box's
        along the principal axes.

    Attributes
    ----------
    noise_weight_ : float
        The noise component's mixing weight; ``weights_.sum() + noise_weight_ == 1``.
    noise_log_volume_ : float
        Log of the volume used; the noise log-density is ``-noise_log_volume_``.

    Besides those, GaussianMixture's attributes. :meth:`predict` returns ``NOISE_LABEL``
    (-1) for a row the noise explains best, :meth:`predict_proba` has one more column
    (the last) for the noise, and :meth:`score_samples` is the log-density of the whole
    model. The parameter count (BIC, AIC) is mclust's: the Gaussian mixture's plus 2.
    Missing values, extreme scales, streamed data, mini-batches and ``partial_fit`` are
    not supported with a noise component.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(200, 2)), rng.uniform(-10, 10, size=(100, 2))])
    >>> noisy = np.abs(X).max(axis=1) > 3
    >>> gm = GaussianMixtureWithNoise(1, noise_init=noisy, random_state=0).fit(X)
    >>> bool(0.25 < gm.noise_weight_ < 0.4)
    True
    """

    _parameter_constraints: dict = {
        **GaussianMixture._parameter_constraints,
        "noise_init": ["array-like", None],
        "noise_volume": [Interval(numbers.Real, 0.0, None, closed="neither"), None],
    }

    def __init__(self, n_components=1, *, noise_init=None, noise_volume=None, **params):
        super().__init__(n_components, **params)
        self.noise_init = noise_init
        self.noise_volume = noise_volume

    # -- fitting ---------------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the Gaussian components and the noise weight by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureWithNoise
        """
        self._fit_with_noise(X, sample_weight, False)
        return self

    @untouched_on_failure
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit as :meth:`fit`, then return each row's label (``NOISE_LABEL`` for noise)."""
        return self._noise_labelled(self._fit_with_noise(X, sample_weight, True))

    def partial_fit(self, X, y=None, sample_weight=None):
        raise ValueError("partial_fit is not supported with a noise component: use fit.")

    def _fit_with_noise(self, X, sample_weight, labels: bool):
        if is_streamed(X):
            raise ValueError("A noise component needs X in memory (an array or a "
                             "dataframe), not a stream, memmap source or Dask collection.")
        if self.batch_size is not None:
            raise ValueError("batch_size is not supported with a noise component: leave "
                             "it None.")
        rows = check_array(named_matrix(X), dtype=[np.float64, np.float32],
                           ensure_min_samples=2, ensure_all_finite="allow-nan")
        if np.isnan(rows).any():
            raise ValueError("X has missing values (NaN), which a noise component does not "
                             "take; impute them first (emkit.impute.EMImputer).")
        if DataScale.needed_for(rows) is not None:
            raise ValueError("X's values are so extreme that their squares overflow or "
                             "underflow; rescale X to fit a noise component.")
        self._noise_rows = self._checked_noise_init(rows.shape[0])
        try:
            self.noise_log_volume_ = (noise_log_volume(rows) if self.noise_volume is None
                                      else math.log(self.noise_volume))
            return self._fit(X, sample_weight, labels)
        finally:
            del self._noise_rows

    def _checked_noise_init(self, n_samples: int) -> np.ndarray:
        """``noise_init`` as a boolean mask of the rows, checked."""
        if self.noise_init is None:
            raise ValueError("noise_init is required: a boolean mask of the rows that start "
                             "as noise (mclust's initialization$noise).")
        mask = np.asarray(self.noise_init)
        if mask.shape != (n_samples,) or mask.dtype != bool:
            raise ValueError(f"noise_init must be a boolean array of shape ({n_samples},) "
                             f"(one flag per row), got dtype {mask.dtype} and shape "
                             f"{mask.shape}.")
        signal = int(np.count_nonzero(~mask))
        if not mask.any() or signal < self.n_components:
            raise ValueError(f"noise_init must flag at least one row as noise and leave at "
                             f"least n_components={self.n_components} rows, got "
                             f"{n_samples - signal} noise rows of {n_samples}.")
        return mask

    def _problem(self, missing: bool = False) -> NoisyMixtureProblem:
        if missing:
            raise ValueError("X has missing values (NaN), which a noise component does not "
                             "take.")
        return NoisyMixtureProblem(super()._problem(False), self.noise_log_volume_)

    def _starts(self, problem, short_blocks, X, weights, user_init, rng, warm_theta):
        """GaussianMixture's starts on the rows not flagged by ``noise_init``, the noise
        weight starting at the flagged rows' share of the weight."""
        if warm_theta is not None:
            return super()._starts(problem, short_blocks, X, weights, user_init, rng,
                                   warm_theta)
        signal = ~self._noise_rows
        row_weights = np.ones(len(X)) if weights is None else weights
        noise_share = float(row_weights[~signal].sum() / row_weights.sum())
        X_signal = X[signal]
        w_signal = None if weights is None else weights[signal]
        blocks = RowBlocks(X_signal, w_signal, self._block_rows(X.shape[1], X.dtype))
        start, n_init, extra = super()._starts(problem.gaussian, blocks, X_signal, w_signal,
                                               user_init, rng, None)
        return (lambda: problem.with_noise(start(), noise_share)), n_init, extra

    # -- parameters <-> attributes ---------------------------------------------------------
    def _store(self, theta: NoisyMixtureParams, precisions=None) -> None:
        super()._store(theta, precisions)
        self.noise_weight_ = float(theta.noise_weight)

    def _theta(self) -> NoisyMixtureParams:
        return NoisyMixtureParams(self.weights_, self.means_, self.covariances_,
                                  self.precisions_cholesky_, noise_weight=self.noise_weight_)

    # -- inference -------------------------------------------------------------------------
    def _noise_labelled(self, labels):
        """Labels with the noise column's index replaced by NOISE_LABEL."""
        return np.where(labels == self.n_components, NOISE_LABEL, labels)

    def predict(self, X):
        """Most probable component of each row; ``NOISE_LABEL`` (-1) for noise.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._noise_labelled(super().predict(X))

    def sample(self, n_samples=1):
        raise NotImplementedError("sample is not defined with a noise component: its "
                                  "uniform density has no region, only a volume.")

    def n_parameters(self) -> int:
        """Free parameters: the Gaussian mixture's plus 2 for the noise (as mclust's
        ``nMclustParams(..., noise=TRUE)``)."""
        return super().n_parameters() + 2

    _n_parameters = n_parameters

    def _check_loaded_arrays(self) -> None:
        own = {name: vars(self).pop(name) for name in ("noise_weight_", "noise_log_volume_")
               if name in vars(self)}
        try:
            super()._check_loaded_arrays()
        finally:
            vars(self).update(own)
        weight, log_volume = own.get("noise_weight_"), own.get("noise_log_volume_")
        if not isinstance(weight, float) or not 0.0 <= weight <= 1.0:
            raise ValueError(f"noise_weight_ must be a float in [0, 1], got {weight!r}")
        if not isinstance(log_volume, float) or not math.isfinite(log_volume):
            raise ValueError(f"noise_log_volume_ must be a finite float, got {log_volume!r}")
        check_is_fitted(self)


def _signature_with_gaussian_mixture_parameters():
    """GaussianMixtureWithNoise's own parameters and GaussianMixture's, so that
    scikit-learn's get_params / set_params / clone see every one of them."""
    own = inspect.signature(GaussianMixtureWithNoise.__init__).parameters
    inherited = inspect.signature(GaussianMixture.__init__).parameters
    parameters = [own["self"], own["n_components"], own["noise_init"], own["noise_volume"]]
    parameters += [p for name, p in inherited.items() if name not in ("self", "n_components")]
    return inspect.Signature(parameters)


GaussianMixtureWithNoise.__init__.__signature__ = (  # type: ignore[attr-defined]
    _signature_with_gaussian_mixture_parameters())
