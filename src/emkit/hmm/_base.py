"""What every HMM estimator shares: hmmlearn's interface over the shared EM engine.

A subclass supplies its emission model (see :mod:`emkit.hmm._problem`) and the hooks
marked below: how to check X, initialise and validate its emission parameters, count them,
and draw one observation. A subclass written for hmmlearn may instead supply only
``_compute_log_likelihood(X)`` (see :mod:`emkit.hmm._custom_emission`). hmmlearn's private
hooks (``_init``, ``_check``, ``_check_and_set_n_features``) are kept thin over these.
"""

from __future__ import annotations

import logging
import numbers

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from .._em import EMRun, fit_with_restarts, run_em
from .._fit_guard import untouched_on_failure
from .._sources import is_dask_collection, is_streamed
from .._validation import Interval, Options, validate_params
from . import _kernels
from ._custom_emission import CustomEmission
from ._large_data import SequenceDataFitting, lazy_rows, per_partition
from ._monitor import ConvergenceMonitor, VerboseMonitor
from ._problem import HMMParams, HMMProblem
from ._sequences import SequenceBlocks, check_lengths, sequence_block_rows

_PROBABILITY_ATOL = 1e-8

#: hmmlearn reports through the logging module; so does emkit where it mirrors it.
_log = logging.getLogger("emkit.hmm")


def check_probabilities(values, shape, name: str) -> np.ndarray:
    """A float array of ``shape`` whose entries are non-negative and whose last axis sums
    to 1 (rows of a matrix, or the vector)."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of probabilities, got {values!r}") from None
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite values")
    if np.any(array < 0):
        raise ValueError(f"{name} has negative probabilities (smallest {array.min()!r})")
    sums = array.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=_PROBABILITY_ATOL):
        what = "rows must each" if array.ndim == 2 else "must"
        raise ValueError(f"{name} {what} sum to 1, got sum(s) {np.round(sums, 6).tolist()}")
    return array


def check_observations(X) -> np.ndarray:
    """Real-valued observations as a finite float64 (n_samples, n_features) array."""
    return check_array(X, dtype=np.float64, input_name="X")


def check_feature_count(X, expected: int, estimator) -> None:
    """scikit-learn's error for X with the wrong number of features."""
    if X.shape[1] != expected:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {expected} features as input.")


class BaseHMM(SequenceDataFitting, BaseEstimator):
    """Baum-Welch training and inference shared by every HMM (hmmlearn's ``BaseHMM``)."""

    #: Letters of the emission parameters, in hmmlearn's ``params`` strings.
    _emission_letters = ""

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "algorithm": [Options(("viterbi", "map"))],
        "random_state": ["random_state"],
        "n_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "tol": [Interval(numbers.Real, None, None)],  # -inf: run exactly n_iter iterations
        "verbose": ["verbose"],
        "implementation": [Options(("log", "scaling"))],
        "learning_decay": [Interval(numbers.Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(numbers.Real, 0.0, None, closed="left")],
        "block_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0, *,
                 algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2, verbose=False,
                 params="st", init_params="st", implementation="log", learning_decay=0.7,
                 learning_offset=10.0, block_size=None, batch_size=None, n_init=1):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.block_size = block_size
        self.batch_size = batch_size
        self.n_init = n_init

    # -- hooks for subclasses -------------------------------------------------------------
    # The defaults serve a subclass written for hmmlearn that only supplies
    # ``_compute_log_likelihood(X)`` (and ``_generate_sample_from_state``): it scores,
    # decodes and samples; its emissions are not trained.

    #: (attribute, axis) of the emission parameters whose length is n_features.
    _n_features_from = None
    #: n_features as assigned (None: not given).
    _n_features = None

    def _check_X(self, X) -> np.ndarray:
        """Validated observations (raising on bad input)."""
        return check_observations(X)

    def _emission(self, update: str):
        """The emission model object for the engine."""
        return CustomEmission(self)

    def _init_emission(self, X, needs_init, random_state) -> dict:
        """Starting emission attributes for the letters ``needs_init(letter, name)`` says,
        drawn with ``random_state``."""
        return {}

    def _emission_params(self, attributes: dict):
        """Validated emission parameters from attribute values (raising on bad ones)."""
        return None

    def _emission_attributes(self, params) -> dict:
        """The fitted attributes for emission parameters."""
        return {}

    def _n_emission_parameters(self) -> dict:
        """Free scalar parameters per emission letter."""
        return {}

    def _sample_from_state(self, state, random_state):
        return self._generate_sample_from_state(state, random_state)

    def _compute_log_likelihood(self, X):
        """hmmlearn's hook: log p(x_t | state), shape (n_samples, n_components)."""
        return self._problem().log_frame(self._check_X(X), self._theta())

    def _generate_sample_from_state(self, state, random_state):
        """hmmlearn's hook: one observation drawn from ``state`` (none by default)."""
        return ()

    def _check_X_against(self, X, emission_params) -> None:
        """Raise ValueError when X does not fit parameters given before ``fit``."""

    # -- parameters -----------------------------------------------------------------------
    def _validate_hyperparameters(self):
        validate_params(self, self._parameter_constraints)
        for name in ("params", "init_params"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string of parameter letters, got "
                                 f"{getattr(self, name)!r}")
        K = self.n_components
        for name, shape in (("startprob_prior", (K,)), ("transmat_prior", (K, K))):
            self._check_chain_prior(name, getattr(self, name), shape)

    @staticmethod
    def _check_chain_prior(name: str, value, shape: tuple) -> None:
        """Raise ValueError unless ``value`` is a prior of the start or transition
        probabilities: a finite number, or a finite array of ``shape``."""
        value = np.asarray(value, dtype=float)
        if value.ndim and value.shape != shape or not np.all(np.isfinite(value)):
            raise ValueError(f"{name} must be a finite number or an array of shape {shape}")

    def _chain_and_emission(self, attributes: dict) -> HMMParams:
        K = self.n_components
        startprob = check_probabilities(attributes["startprob_"], (K,), "startprob_")
        transmat = check_probabilities(attributes["transmat_"], (K, K), "transmat_")
        return HMMParams(startprob, transmat, self._emission_params(attributes))

    def _current_attributes(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _theta(self) -> HMMParams:
        check_is_fitted(self, "startprob_")
        return self._chain_and_emission(self._current_attributes())

    def _problem(self, update: str = "") -> HMMProblem:
        return HMMProblem(self._emission(update), self.startprob_prior, self.transmat_prior,
                          update)

    # -- fitting --------------------------------------------------------------------------
    @untouched_on_failure
    def fit(self, X, lengths=None):
        """Estimate the parameters by Baum-Welch (EM).

        Data larger than memory are read a block of whole sequences at a time, once per
        iteration, and give the in-memory fit (the statistics only add up in another
        order): X may be a NumPy memmap, a Dask array or dataframe, or a source of blocks.
        Their starting values (``init_params``) come from at most ``INIT_ROWS`` rows: all
        of them when there are no more, else a random sample of a memmap or the first rows
        of a block source or Dask array.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), memmap, Dask array or dataframe, \
or block source
            The sequences, one after another. A memmap is read a block of whole sequences
            at a time (pages released after each block). A Dask array (or dataframe) is
            re-chunked so that each partition holds whole sequences (each chunk boundary
            moves to the nearest sequence boundary); the E-step runs per partition where
            the data live, its statistics are summed by a tree reduction and the M-step runs
            here (with ``dask.distributed.Client`` or the default scheduler). A block source
            is a list of blocks, an object whose ``__iter__`` starts over, or a function
            returning a fresh iterator (not a one-shot generator: EM reads the data once per
            iteration); each block is an ``(X_block, lengths_block)`` pair holding whole
            sequences, or a bare 2-d ``X_block`` holding one sequence.
        lengths : array-like of int, optional
            Length of each sequence; their sum is n_samples. None: one sequence. Not given
            with a block source (its blocks carry their own).

        Returns
        -------
        self
        """
        self._validate_hyperparameters()
        check = None
        if is_streamed(X):
            blocks, sample, check = self._streamed_source(
                X, lengths, check_random_state(self.random_state))
        else:
            sample = self._check_X(X)
            offsets = check_lengths(lengths, sample.shape[0])
            blocks = SequenceBlocks(sample, offsets, self._fit_block_rows(sample.shape[1]))
        # the first start is drawn as hmmlearn draws it (random_state itself); restarts from
        # seeds drawn from random_state
        seeds = check_random_state(self.random_state)
        starts: list = []

        def start():
            attributes = self._starting_attributes(
                sample, None if not starts else int(seeds.randint(np.iinfo(np.int32).max)))
            theta = self._chain_and_emission(attributes)
            self._check_X_against(sample, theta.emission)
            if check is not None:  # later blocks must fit the starting parameters too
                check.emission = theta.emission
            starts.append(attributes)
            return theta

        update = "".join(c for c in "st" + self._emission_letters if c in self.params)
        problem = self._problem(update)
        run = fit_with_restarts(problem, blocks, start, n_init=self.n_init, tol=self.tol,
                                max_iter=self.n_iter, monitor=VerboseMonitor(self.verbose),
                                runner=self._runner(), warn_unconverged=False)
        # nothing above touched the estimator: a failed fit leaves it as it was
        for name, value in starts[0].items():  # what the starts share; the fit's own below
            setattr(self, name, value)
        self._store(run.theta)
        self.n_features_in_ = self._n_features_of(sample)
        self._store_run(run)  # lower_bound_: the kept run's last; -inf: no iteration
        self._warn_if_too_little_data(sample)
        return self

    @untouched_on_failure
    def partial_fit(self, X, lengths=None):
        """One step of online (stepwise) Baum-Welch on a batch of sequences.

        The first call starts the parameters as :meth:`fit` does (on this batch); each call
        folds the batch's expected counts into running ones with step size
        (t + learning_offset) ** -learning_decay and re-estimates. The running counts live
        in memory only (a model read back from a file starts them again).

        Returns
        -------
        self
        """
        self._validate_hyperparameters()
        X = self._check_X(X)
        offsets = check_lengths(lengths, X.shape[0])
        fitted = hasattr(self, "lower_bounds_")
        attributes = self._current_attributes() if fitted else self._starting_attributes(X)
        theta = self._chain_and_emission(attributes)
        self._check_X_against(X, theta.emission)
        update = "".join(c for c in "st" + self._emission_letters if c in self.params)
        for name, value in attributes.items():
            setattr(self, name, value)
        self._online_update(self._problem(update), X, offsets, theta, first=not fitted)
        self.n_features_in_ = self._n_features_of(X)
        return self

    def _runner(self):
        """The EM loop of one run: Baum-Welch, mini-batch Baum-Welch (``batch_size``), or
        Baum-Welch stopped by a ConvergenceMonitor the user assigned to ``monitor_``."""
        monitor = self.__dict__.get("_monitor")
        if self.batch_size is None and monitor is not None:
            return lambda problem, blocks, theta, **_: self._run_em_reporting_to(
                monitor, problem, blocks, theta)
        return super()._runner()

    def _run_em_reporting_to(self, monitor, problem, blocks, theta):
        """Baum-Welch, one engine iteration at a time, stopped when ``monitor`` (a
        :class:`ConvergenceMonitor` the user assigned) says it converged; it also judges
        decreases, so the engine does not."""
        monitor._reset()
        lower_bounds = []
        for _ in range(self.n_iter):
            step = run_em(problem, blocks, theta, tol=-np.inf, max_iter=1,
                          monitor=VerboseMonitor(False))
            theta = step.theta
            lower_bounds.append(step.lower_bound)
            monitor.report(step.lower_bound)
            if monitor.converged:
                break
        # converged_: the monitor stopped the fit, or the last change was below tol
        # (hmmlearn's monitor also says converged when n_iter ran out)
        settled = (len(lower_bounds) < self.n_iter
                   or (len(lower_bounds) >= 2
                       and abs(lower_bounds[-1] - lower_bounds[-2]) < monitor.tol))
        return EMRun(theta=theta, lower_bounds=lower_bounds, n_iter=len(lower_bounds),
                     lower_bound=lower_bounds[-1] if lower_bounds else -np.inf,
                     converged=bool(lower_bounds) and settled)

    def _warn_if_too_little_data(self, X) -> None:
        """hmmlearn's warning: fewer data values than free parameters being fitted."""
        per_letter = self._n_parameters_by_letter()
        n_fitted = sum(per_letter.get(letter, 0) for letter in set(self.params))
        if np.size(X) < n_fitted:
            _log.warning("Fitting a model with %d free scalar parameters with only %d data "
                         "points will result in a degenerate solution.", n_fitted, np.size(X))

    def _block_rows(self, n_features: int) -> int:
        """Rows per block of whole sequences: ``block_size``, or so that the E-step's
        lattices fit the engine's memory budget (a block always holds whole sequences, so
        one longer than this is a block of its own)."""
        if self.block_size is not None:
            return self.block_size
        return sequence_block_rows(self._lattice_width(), n_features)

    def _fit_block_rows(self, n_features: int) -> int:
        """Rows per block of a fit: :meth:`_block_rows`, or about ``batch_size`` for
        mini-batch EM (batches of whole sequences)."""
        return self._block_rows(n_features) if self.batch_size is None else self.batch_size

    def _lattice_width(self) -> int:
        """Values per row of the E-step's per-state lattices (states x mixture components
        for a GMMHMM)."""
        return self.n_components

    def _n_features_of(self, X) -> int:
        return int(X.shape[1])

    def _starting_attributes(self, X, random_state=None) -> dict:
        """Starting values as hmmlearn draws them: Dirichlet(1/K) start and transition
        probabilities, then the emission model's; attributes already set and not named in
        ``init_params`` are kept. ``random_state`` (None: the estimator's) draws them."""
        attributes = self._current_attributes()

        def needs_init(letter, name):
            if letter in self.init_params:
                if name in attributes:
                    _log.warning("Even though the %r attribute is set, it will be overwritten "
                                 "during initialization because 'init_params' contains %r",
                                 name, letter)
                return True
            return name not in attributes

        K = self.n_components
        if random_state is None:
            random_state = self.random_state
        rng = check_random_state(random_state)
        concentration = np.full(K, 1.0 / K)
        if needs_init("s", "startprob_"):
            attributes["startprob_"] = rng.dirichlet(concentration)
        if needs_init("t", "transmat_"):
            attributes["transmat_"] = rng.dirichlet(concentration, size=K)
        attributes.update(self._init_emission(X, needs_init, random_state))
        return attributes

    def _store(self, theta: HMMParams) -> None:
        self.startprob_ = theta.startprob
        self.transmat_ = theta.transmat
        for name, value in self._emission_attributes(theta.emission).items():
            setattr(self, name, value)

    @property
    def monitor_(self) -> ConvergenceMonitor:
        """hmmlearn's convergence monitor: log-likelihood history, iterations, convergence.

        Assign one (a subclass of :class:`ConvergenceMonitor`, say) before ``fit`` to let
        it decide when the fit has converged.
        """
        monitor = self.__dict__.get("_monitor")
        if monitor is not None:
            return monitor
        monitor = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        monitor.history.extend(getattr(self, "lower_bounds_", ()))
        monitor.iter = len(monitor.history)
        return monitor

    @monitor_.setter
    def monitor_(self, monitor):
        self._monitor = monitor

    # -- hmmlearn's hooks ---------------------------------------------------------------
    @property
    def n_features(self):
        """Number of features (hmmlearn's name): that of the emission parameters when they
        are set, else the value assigned (None: not known yet)."""
        if self._n_features_from is not None:
            name, axis = self._n_features_from
            value = self.__dict__.get(name)
            if value is not None and np.ndim(value) > axis:
                return int(np.shape(value)[axis])
        return self._n_features

    @n_features.setter
    def n_features(self, value):
        self._n_features = value

    def _check_and_set_n_features(self, X):
        """hmmlearn's hook: validate X and record its number of features, raising
        ValueError when it differs from the one already known."""
        X = self._check_X(X)
        n_features = self._n_features_of(X)
        if self.n_features is not None and self.n_features != n_features:
            raise ValueError(f"Unexpected number of dimensions, got {n_features} but "
                             f"expected {self.n_features}")
        self.n_features = n_features
        return X

    def _init(self, X, lengths=None):
        """hmmlearn's hook: set the starting parameters for X, as ``fit`` would.

        ``lengths`` is accepted for hmmlearn's signature; the starts do not depend on it.
        """
        self._validate_hyperparameters()
        X = self._check_and_set_n_features(X)
        for name, value in self._starting_attributes(X).items():
            setattr(self, name, value)
        self._warn_if_too_little_data(X)

    def _check(self):
        """hmmlearn's hook: raise ValueError unless the parameters set are consistent
        (start and transition probabilities, and the emission parameters when there are
        any); the checked arrays replace the values set."""
        self._validate_hyperparameters()
        attributes = self._current_attributes()
        for name in ("startprob_", "transmat_"):
            if name not in attributes:
                raise ValueError(f"{name} is not set")
        self._store(self._chain_and_emission(attributes))

    # -- inference ------------------------------------------------------------------------
    def _prepared(self, X, lengths):
        theta = self._theta()
        X = self._check_X(X)
        self._check_X_against(X, theta.emission)
        offsets = check_lengths(lengths, X.shape[0])
        problem = self._problem()
        return theta, problem, problem.log_frame(X, theta), offsets

    def score(self, X, lengths=None):
        """Log-likelihood of X under the model (summed over sequences).

        X may be a Dask array or dataframe: each partition of whole sequences is scored
        where it lives (as in :meth:`fit`).

        Returns
        -------
        log_prob : float
        """
        if is_dask_collection(X):
            import dask

            return float(sum(dask.compute(*[result for result, _ in
                                            per_partition(self.score, X, lengths)])))
        theta, _, log_frame, offsets = self._prepared(X, lengths)
        return float(_kernels.forward(log_frame, offsets, theta.startprob,
                                      theta.transmat).sum())

    def score_samples(self, X, lengths=None):
        """Log-likelihood of X and the state posteriors of every sample.

        Returns
        -------
        log_prob : float
        posteriors : ndarray of shape (n_samples, n_components)
        """
        theta, _, log_frame, offsets = self._prepared(X, lengths)
        gamma, _, _, loglik = _kernels.forward_backward(log_frame, offsets, theta.startprob,
                                                        theta.transmat, want_xi=False)
        return float(loglik.sum()), gamma

    def predict_proba(self, X, lengths=None):
        """State posteriors of every sample, shape (n_samples, n_components); a lazy Dask
        array, computed partition by partition, for Dask input."""
        if is_dask_collection(X):
            return lazy_rows(self.predict_proba, X, lengths, np.float64, self.n_components)
        return self.score_samples(X, lengths)[1]

    def decode(self, X, lengths=None, algorithm=None):
        """Most likely hidden states.

        Parameters
        ----------
        algorithm : {'viterbi', 'map'}, optional
            'viterbi': the jointly most likely state path; 'map': each sample's most likely
            state. Default: the estimator's ``algorithm``.

        Returns
        -------
        log_prob : float
            Viterbi: log-probability of the path and X jointly. MAP: the sum over samples
            of the log of the largest posterior.
        state_sequence : ndarray of shape (n_samples,)
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in ("viterbi", "map"):
            raise ValueError(f"Unknown decoder {algorithm!r}; use 'viterbi' or 'map'.")
        if algorithm == "map":
            _, posteriors = self.score_samples(X, lengths)
            with np.errstate(divide="ignore"):
                log_prob = float(np.log(posteriors.max(axis=1)).sum())
            return log_prob, posteriors.argmax(axis=1)
        theta, _, log_frame, offsets = self._prepared(X, lengths)
        log_prob, path = _kernels.viterbi(log_frame, offsets, theta.startprob, theta.transmat)
        return float(log_prob.sum()), path

    def predict(self, X, lengths=None):
        """The decoded states (by ``algorithm``), shape (n_samples,); a lazy Dask array,
        computed partition by partition, for Dask input."""
        if is_dask_collection(X):
            return lazy_rows(self.predict, X, lengths, np.int64)
        return self.decode(X, lengths)[1]

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw a sequence from the model (hmmlearn's order of random draws).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of shape (n_samples,)
        """
        self._theta()
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if currstate is None:
            currstate = int((np.cumsum(self.startprob_) > rng.rand()).argmax())
        transmat_cdf = np.cumsum(self.transmat_, axis=1)
        states = [currstate]
        rows = [self._sample_from_state(currstate, rng)]
        for _ in range(n_samples - 1):
            currstate = int((transmat_cdf[currstate] > rng.rand()).argmax())
            states.append(currstate)
            rows.append(self._sample_from_state(currstate, rng))
        return np.atleast_2d(rows), np.array(states, dtype=int)

    # -- model selection ------------------------------------------------------------------
    def _n_parameters_by_letter(self) -> dict:
        K = self.n_components
        return {"s": K - 1, "t": K * (K - 1), **self._n_emission_parameters()}

    def n_parameters(self) -> int:
        """Free scalar parameters of the model."""
        return int(sum(self._n_parameters_by_letter().values()))

    def bic(self, X, lengths=None):
        """Bayesian information criterion of X (lower is better)."""
        return -2 * self.score(X, lengths) + self.n_parameters() * np.log(len(X))

    def aic(self, X, lengths=None):
        """Akaike information criterion of X (lower is better)."""
        return -2 * self.score(X, lengths) + 2 * self.n_parameters()

    def get_stationary_distribution(self):
        """The stationary distribution of the transition matrix."""
        check_is_fitted(self, "transmat_")
        eigvals, eigvecs = linalg.eig(self.transmat_.T)
        eigvec = np.real_if_close(eigvecs[:, np.argmax(eigvals)])
        return eigvec / eigvec.sum()

    # -- persistence ----------------------------------------------------------------------
    def _check_loaded_arrays(self) -> None:
        """Raise ValueError unless the attributes read from a model file are consistent."""
        self._theta()
        if not isinstance(self.lower_bounds_, list) or not isinstance(self.converged_, bool):
            raise ValueError("lower_bounds_ must be a list and converged_ a bool")
