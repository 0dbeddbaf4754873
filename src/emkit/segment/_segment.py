"""``segment``: a Gaussian mixture over pixel features, optionally with a Potts MRF prior."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace

import numpy as np
from sklearn.utils import check_random_state

from ..mixture import GaussianMixture
from ..mixture._covariance import COVARIANCE_MODELS
from ..mixture._gaussian_problem import GaussianMixtureParams
from ..mixture._covariance import covariance_model
from ..mixture._gaussian_problem import GaussianMixtureProblem
from ._bias import BiasModel, CosineBasis
from ._features import PixelFeatures, is_channel_list, pixel_features
from ._init import initial_parameters, mixture_starting_from
from ._potts import NEIGHBOURHOODS, fit_potts
from ._priors import prior_log_rows


@dataclass
class Segmentation:
    """The result of :func:`segment`.

    Attributes
    ----------
    labels : ndarray of int, the image's spatial shape
        Class of each pixel (voxel), 0 .. n_classes - 1 in increasing mean intensity;
        -1 outside the mask.
    probabilities : ndarray of shape (n_classes, *spatial_shape)
        One map per class: the posterior (smoothing = 0) or mean-field (smoothing > 0)
        probability of the class at each site; they sum to 1 inside the mask and are 0
        outside it.
    model : GaussianMixture
        The fitted class-conditional mixture, its components in the order of the labels
        (weights_ are the class proportions). For smoothing > 0, its lower_bounds_ are the
        Potts objective's; ``model.predict`` on feature rows gives the plain-mixture labels.
    lower_bounds : list of float
        Objective per site at each EM iteration: the mixture's mean log-likelihood
        (smoothing = 0), or the mean-field objective of :mod:`emkit.segment._potts`
        (smoothing > 0): a variational lower bound shifted by a constant, an approximation
        of the mean log-likelihood that EM never decreases, equal to it at smoothing = 0.
    converged : bool
        Whether EM met ``tol`` within ``max_iter`` iterations.
    n_iter : int
        EM iterations of the final fit.
    feature_names : list of str
        The feature columns the mixture was fitted to.
    smoothing : float
        The Potts interaction strength used.
    bias_field : ndarray or None
        With ``bias_field=True``: the fitted multiplicative field, positive, smooth, over
        the whole grid (the image's spatial shape; (n_channels, *shape) for a list of
        channels), its geometric mean over the mask 1. None otherwise.
    corrected : ndarray or None
        With ``bias_field=True``: the image divided by the field (same layout as
        ``bias_field``). None otherwise.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    model: GaussianMixture
    lower_bounds: list
    converged: bool
    n_iter: int
    feature_names: list
    smoothing: float
    bias_field: np.ndarray | None = None
    corrected: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return self.probabilities.shape[0]

    def class_fractions(self) -> np.ndarray:
        """Fraction of the sites inside the mask labelled with each class."""
        counts = np.bincount(self.labels[self.labels >= 0].ravel(), minlength=self.n_classes)
        return counts / max(1, counts.sum())

    def summary(self) -> str:
        """A few lines: one per class with its fraction of sites and mean features."""
        names = ", ".join(self.feature_names)
        last = self.lower_bounds[-1] if self.lower_bounds else float("nan")
        lines = [f"{self.n_classes} classes, smoothing {self.smoothing:g}, {self.n_iter} EM "
                 f"iterations ({'converged' if self.converged else 'not converged'}), "
                 f"objective per site {last:.4f}",
                 f"class  fraction  mean ({names})"]
        for k, fraction in enumerate(self.class_fractions()):
            mean = " ".join(f"{v:.4g}" for v in self.model.means_[k])
            lines.append(f"{k:>5}  {fraction:>8.3f}  {mean}")
        return "\n".join(lines)


def _check_params(n_classes, smoothing, covariance_type, neighbourhood, mean_field_sweeps,
                  n_init, reg_covar, tol, max_iter, bias_smoothing):
    def integer(value, name, low):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

    def real(value, name):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    integer(n_classes, "n_classes", 1)
    integer(mean_field_sweeps, "mean_field_sweeps", 1)
    integer(n_init, "n_init", 1)
    integer(max_iter, "max_iter", 1)
    for value, name in ((smoothing, "smoothing"), (reg_covar, "reg_covar"), (tol, "tol"),
                        (bias_smoothing, "bias_smoothing")):
        real(value, name)
    if covariance_type not in COVARIANCE_MODELS:
        raise ValueError(f"covariance_type must be one of {tuple(COVARIANCE_MODELS)}, got "
                         f"{covariance_type!r}")
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"neighbourhood must be one of {NEIGHBOURHOODS}, got "
                         f"{neighbourhood!r}")


def _check_distinct(X, n_classes, rng):
    """Raise ValueError when the rows hold fewer distinct values than n_classes."""
    if X.shape[0] < n_classes:
        raise ValueError(f"n_classes={n_classes} is larger than the number of pixels in "
                         f"the mask ({X.shape[0]})")
    probe = X[rng.choice(X.shape[0], min(X.shape[0], 10_000), replace=False)]
    if len(np.unique(probe, axis=0)) >= n_classes:
        return
    distinct = len(np.unique(X, axis=0))
    if distinct < n_classes:
        raise ValueError(f"n_classes={n_classes} is larger than the number of distinct "
                         f"pixel values in the mask ({distinct})")


def _ordered_model(theta, order, *, covariance_type, reg_covar, run_info, n_features):
    """A fitted GaussianMixture holding ``theta`` with its components in ``order``."""
    tied = covariance_type == "tied"
    params = (theta.weights[order], theta.means[order],
              theta.covariances if tied else theta.covariances[order],
              theta.precisions_cholesky if tied else theta.precisions_cholesky[order])
    model = GaussianMixture(len(order), covariance_type=covariance_type, reg_covar=reg_covar)
    model._set_parameters(params)
    lower_bounds, converged, n_iter = run_info
    model.converged_, model.n_iter_ = bool(converged), int(n_iter)
    model.lower_bounds_ = [float(v) for v in lower_bounds]
    model.lower_bound_ = model.lower_bounds_[-1] if lower_bounds else -np.inf
    model.restart_lower_bounds_ = [list(model.lower_bounds_)]
    model.n_features_in_ = n_features
    return model


def segment(image, n_classes, *, features="intensity", spatial=0.0, smoothing=0.0,
            covariance_type="full", mask=None, random_state=None, neighbourhood="faces",
            mean_field_sweeps=1, n_init=5, reg_covar=1e-6, tol=1e-3, max_iter=100,
            multichannel=None, priors=None, bias_field=False, bias_smoothing=1.0,
            verbose=0) -> Segmentation:
    """Segment a 2-D grey or colour image or a 3-D volume (or co-registered channels) by EM.

    Each pixel (voxel) is a data point whose class is latent: a Gaussian mixture over the
    pixel features (:class:`emkit.GaussianMixture`), and with ``smoothing > 0`` a Potts
    Markov random field prior on the labels so that neighbours agree (as in FSL FAST and
    ANTs Atropos), fitted by EM with a mean-field E-step.

    Parameters
    ----------
    image : array-like, or list of arrays
        (H, W) grey, (H, W, 3|4) colour (alpha dropped), (Z, Y, X) grey volume, or
        (Z, Y, X, 3|4) colour volume; or a list of numpy arrays of one shape, co-registered
        channels (T1, T2, PD ...), one feature each (classes ordered by the first).
    n_classes : int
        Number of classes.
    features : {'intensity', 'rgb', 'lab'}, default='intensity'
        'intensity': grey value (BT.601 luma of a colour image); 'rgb': the three colour
        values; 'lab': CIE L*a*b* of sRGB pixels (integers are scaled by their type's
        maximum, floats must lie in [0, 1]).
    spatial : float, default=0.0
        When > 0, the pixel coordinates join the features, scaled so that crossing the
        image's longest side counts as ``spatial`` pooled feature standard deviations.
    smoothing : float, default=0.0
        Potts interaction strength beta (>= 0): the prior favours each agreeing neighbour
        pair by a factor exp(beta) (times its weight). 0: the plain mixture.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Covariance of each class's features, as in :class:`emkit.GaussianMixture`.
    mask : array-like of the image's spatial shape, default=None
        Non-zero where pixels take part (a brain mask, say). Pixels outside it get label
        -1 and probability 0 in every class, and are nobody's neighbour.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means starts.
    neighbourhood : {'faces', 'full'}, default='faces'
        'faces': 4 (2-D) or 6 (3-D) neighbours, weight 1; 'full': 8 or 26 neighbours,
        weights proportional to 1 / distance summing to 4 or 6 (the same coupling,
        spread more evenly over directions).
    mean_field_sweeps : int, default=1
        Mean-field sweeps over the field per EM iteration.
    n_init : int, default=5
        k-means restarts of each kind of start (see Notes).
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, relative to the mean variance of the
        feature columns (so that it is scale-free; the absolute value is
        ``result.model.reg_covar``). It keeps the covariance of a class whose pixels are
        all equal (a constant region) positive-definite.
    tol : float, default=1e-3
        EM stops when the objective per site changes by less than this.
    max_iter : int, default=100
        Maximum EM iterations of each stage.
    multichannel : bool or None, default=None
        Whether the last axis holds colour channels; None decides from the shape (a last
        axis of length 3 or 4 on a 3-D or 4-D array is colour).
    priors : sequence of n_classes arrays of the spatial shape, default=None
        Spatial tissue priors (an atlas's maps aligned with the image): at each site, the
        class prior probabilities, used as voxel-wise mixing weights (normalised per site,
        mixed with the uniform prior by 1e-3). Class k is then the class of ``priors[k]``
        (no reordering), and the start is the M-step on the priors instead of k-means
        (so the maps must tell the classes apart: equal maps give equal classes).
    bias_field : bool, default=False
        Fit a smooth multiplicative bias field (MR intensity non-uniformity) inside EM:
        classes are fitted to log-intensities minus a low-frequency cosine field, both
        estimated together (see :mod:`emkit.segment._bias`). Needs intensities > 0 inside
        the mask; not with ``spatial > 0``.
    bias_smoothing : float, default=1.0
        Weight of the field's bending-energy prior (larger: a smoother, weaker field).
    verbose : int, default=0
        Progress of the EM iterations, as in :class:`emkit.GaussianMixture`.

    Returns
    -------
    Segmentation
        ``labels``, ``probabilities``, ``model``, ``lower_bounds``, ``converged``,
        ``n_iter``, and with ``bias_field=True`` ``bias_field`` and ``corrected``. With the
        bias field, ``model`` is the mixture of the corrected log-intensities and
        ``lower_bounds`` the penalised log density of the intensities per site.

    Raises
    ------
    ValueError
        Wrong dimensionality, non-finite pixels, a mask of another shape or selecting
        nothing, n_classes larger than the number of distinct pixel values, bad parameters.

    Notes
    -----
    Starting values: k-means with restarts, once on the feature rows and once on
    neighbour-averaged rows, each followed by a short mixture fit on a subsample; the start
    with the higher likelihood wins (robust to a dominant background, which k-means alone
    tends to split). The plain mixture is then fitted on every pixel; with smoothing > 0,
    the Potts-MRF EM starts from it. Classes are finally ordered by mean intensity (luma
    for 'rgb', L* for 'lab'; coordinates ignored), so results are reproducible.

    The Potts prior's class weights are fixed from the plain mixture's class fractions,
    corrected so that the proportions are not counted twice (once in the weights, once
    through the neighbours). ``lower_bounds`` with smoothing > 0 is the mean-field
    variational bound on the log-likelihood plus the prior's (intractable, constant) log
    partition function, minus a mean-field estimate of that constant; EM never decreases
    it, and at smoothing = 0 it is exactly the mixture's mean log-likelihood. Smoothing
    around 1 suits noisy images, in 2-D and 3-D, with either neighbourhood; much
    stronger smoothing can make small classes vanish.

    Images with more than 2**22 sites are fitted in float32 (memory); smaller ones in
    float64.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit.segment import make_phantom, segment
    >>> image, truth = make_phantom((64, 64), snr=2.0, random_state=0)
    >>> result = segment(image, 3, smoothing=1.0, random_state=0)
    >>> result.labels.shape
    (64, 64)
    >>> float(np.mean(result.labels == truth)) > 0.9
    True
    """
    _check_params(n_classes, smoothing, covariance_type, neighbourhood, mean_field_sweeps,
                  n_init, reg_covar, tol, max_iter, bias_smoothing)
    if not isinstance(bias_field, (bool, np.bool_)):
        raise ValueError(f"bias_field must be True or False, got {bias_field!r}")
    rng = check_random_state(random_state)
    feats = pixel_features(image, features, spatial, mask, multichannel)
    X = _log_rows(feats, spatial) if bias_field else feats.X
    log_prior = None if priors is None else prior_log_rows(priors, n_classes, feats.mask,
                                                          X.dtype)
    _check_distinct(X, n_classes, rng)
    scale = float(np.mean(np.var(X, axis=0, dtype=np.float64)))
    absolute_reg = reg_covar * (scale if scale > 0 else 1.0)
    if log_prior is not None:  # the start: the classes' M-step on the priors
        problem = GaussianMixtureProblem(covariance_model(covariance_type), absolute_reg)
        theta = problem.params_from_resp(X, np.exp(log_prior), None)
        plain = None
    else:
        theta = initial_parameters(X, feats.index, n_classes, covariance_type=covariance_type,
                                   reg_covar=absolute_reg, n_init=n_init, rng=rng)
        # the plain pixel mixture: emkit.GaussianMixture from the chosen start
        plain = mixture_starting_from(theta, covariance_type, reg_covar=absolute_reg,
                                      tol=tol, max_iter=max_iter, verbose=verbose).fit(X)
        theta = GaussianMixtureParams(plain.weights_, plain.means_, plain.covariances_,
                                      plain.precisions_cholesky_)
    bias = BiasModel(CosineBasis(feats.mask), X, bias_smoothing) \
        if bias_field else None
    coef = None
    stage = dict(covariance_type=covariance_type, reg_covar=absolute_reg,
                 neighbourhood=neighbourhood, sweeps=mean_field_sweeps, tol=tol,
                 max_iter=max_iter, verbose=verbose, log_prior=log_prior, bias=bias)
    if bias is not None and smoothing > 0 and log_prior is None:
        # the field first, without the Potts prior: its class weights come from the class
        # fractions of the start, which must not be those of the biased image
        run, q = fit_potts(X, feats.index, theta, beta=0.0, **stage)
        theta, coef = run.theta.gaussian, run.theta.coef
    if plain is None or smoothing > 0 or bias is not None:
        run, q = fit_potts(X, feats.index, theta, beta=smoothing, bias_start=coef, **stage)
        theta = run.theta
        if bias is not None:
            theta, coef = theta.gaussian, theta.coef
        # the model's weights are the class fractions (pi, the prior's field, is not)
        fractions = q.mean(axis=0, dtype=np.float64)
        theta = replace(theta, weights=(fractions / fractions.sum()).astype(X.dtype))
        run_info = (run.lower_bounds, run.converged, run.n_iter)
    else:
        q = plain.predict_proba(X)
        run_info = (plain.lower_bounds_, plain.converged_, plain.n_iter_)
    order = np.arange(n_classes) if log_prior is not None else \
        np.argsort(theta.means @ feats.intensity_weights, kind="stable")
    model = _ordered_model(theta, order, covariance_type=covariance_type,
                           reg_covar=absolute_reg, run_info=run_info, n_features=X.shape[1])
    labels, probabilities = _maps(q[:, order], feats)
    field, corrected = (None, None) if bias is None else _corrected(image, bias, coef)
    names = list(feats.names) if bias is None else [f"log {n}" for n in feats.names]
    return Segmentation(labels, probabilities, model, list(model.lower_bounds_),
                        model.converged_, model.n_iter_, names, float(smoothing), field,
                        corrected)


def _log_rows(feats: PixelFeatures, spatial) -> np.ndarray:
    """The feature rows' logarithms, for the bias field (which is multiplicative)."""
    if spatial > 0:
        raise ValueError("bias_field=True cannot be combined with spatial > 0 (coordinates "
                         "are not intensities)")
    bad = int(np.count_nonzero(np.any(feats.X <= 0, axis=1)))
    if bad:
        raise ValueError(f"bias_field=True fits log-intensities, so the image must be > 0 "
                         f"inside the mask; {bad} sites are <= 0 (mask them out)")
    return np.log(feats.X)


def _corrected(image, bias: BiasModel, coef):
    """The field exp(f) over the grid and the image divided by it, one map per channel
    for a list of channels, else the image's spatial shape."""
    field = np.exp(bias.basis.field(coef))
    if is_channel_list(image):
        return field, np.stack([np.asarray(c, np.float64) for c in image]) / field
    grey = np.asarray(image, np.float64)
    if grey.ndim == field.ndim:  # colour: (.., 3), one field per feature column
        return field, grey / np.moveaxis(field, 0, -1)
    return field[0], grey / field[0]


def _maps(q, feats: PixelFeatures):
    """Label image and per-class probability maps from the field rows ``q``."""
    labels = np.full(feats.shape, -1, dtype=np.int64)
    labels[feats.mask] = np.argmax(q, axis=1)
    probabilities = np.zeros((q.shape[1],) + feats.shape, dtype=q.dtype)
    probabilities[:, feats.mask] = q.T
    return labels, probabilities
