"""The table of every EM model for ``test_contract.py``: one row (a ``Case``) per model.

Each row says how to make the model, its (small) data, which input kinds it takes, how to
reach its EM problem, and what its fit produces. A new model joins the contract test by
adding a row to ``CASES``.
"""

from __future__ import annotations

import dataclasses
import math
import types

import numpy as np
import scipy.sparse as sp

from conftest import COVARIANCE_TYPES, make_blobs
from emkit import BayesianGaussianMixture, GaussianMixture
from emkit import hmm as emkit_hmm
from emkit.impute import EMImputer
from emkit.mixture import GaussianMixtureWithNoise
from emkit.motif import DNA, MEME, MarkovBackground, encode_sequences, make_planted_motif
from emkit.motif._problem import MotifParams, MotifProblem
from emkit.topics import PLSA
from emkit.topics._problem import PLSAParams, PLSAProblem

#: mclust's covariance models beyond scikit-learn's four (VII, VVI, EEE, VVV are
#: 'spherical', 'diag', 'tied', 'full'): closed-form and iterative M-steps.
MCLUST_ROWS = ("EII", "EEI", "VEI", "EVI", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV")

#: Input kinds beyond the in-memory array: a memory-mapped file, a source of blocks, Dask.
KINDS = ("memmap", "blocks", "dask")


def leaves(stats) -> np.ndarray:
    """Every number inside a statistics value (nested dataclasses of arrays and floats),
    flattened in a fixed order; an ``anchor`` (where moments are taken about, not a sum)
    is left out."""
    if dataclasses.is_dataclass(stats):
        parts = [leaves(getattr(stats, f.name)) for f in dataclasses.fields(stats)
                 if f.name != "anchor"]
        return np.concatenate([p for p in parts if p.size] or [np.empty(0)])
    if isinstance(stats, (list, tuple)):
        return np.concatenate([leaves(s) for s in stats] or [np.empty(0)])
    value = np.asarray(stats)
    if value.dtype.kind not in "biuf":
        return np.empty(0)
    return value.astype(np.float64).ravel()


def fitted_state(model) -> dict:
    """A deep copy of everything the model holds (its ``__dict__``), for comparisons."""
    def copy(value):
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, (list, tuple)):
            return type(value)(copy(v) for v in value)
        if isinstance(value, dict):
            return {k: copy(v) for k, v in value.items()}
        return value
    return {k: copy(v) for k, v in vars(model).items()}


def write_memmap(path, X) -> np.memmap:
    mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


def row_chunks(n_rows: int, n_parts: int = 3) -> list:
    """(start, stop) of ``n_parts`` consecutive row ranges of nearly equal size."""
    edges = np.linspace(0, n_rows, n_parts + 1).astype(int)
    return list(zip(edges[:-1], edges[1:]))


# -- the rows --------------------------------------------------------------------------------
class Case:
    """A model fitted on rows X (scikit-learn style): the Gaussian mixtures by default.

    Attributes
    ----------
    name : str
    kinds : set of str
        The input kinds of ``KINDS`` its ``fit`` takes.
    restarts : bool
        Whether it has ``n_init`` (restarts, the best sound run kept).
    restarts_module : str
        The module whose ``fit_with_restarts`` the estimator calls.
    random_start : dict
        Parameters under which the seed draws the starting point.
    """

    kinds = frozenset(KINDS)
    restarts = True
    restarts_module = "emkit.mixture._gaussian_mixture"
    random_start: dict = {}
    seeded_start = True
    #: Parameters of a streamed fit: small blocks, so that a memmap is read in several
    stream_params: dict = {"block_size": 32}

    def __init__(self, name, factory, **params):
        self.name, self.factory, self.params = name, factory, params

    def __repr__(self):
        return self.name

    def make(self, random_state=0, **overrides):
        return self.factory(**{**self.params, "random_state": random_state, **overrides})

    def data(self):
        return make_blobs(n_per=(50, 40, 30), n_features=2, seed=0)[0]

    def fit(self, model, data):
        return model.fit(data)

    def as_kind(self, data, kind, tmp_path):
        """The data as ``kind`` (see KINDS)."""
        if kind == "memmap":
            return write_memmap(tmp_path / "X.bin", np.ascontiguousarray(data))
        if kind == "blocks":
            return [data[a:b] for a, b in row_chunks(data.shape[0])]
        import dask.array as da
        return da.from_array(data, chunks=(math.ceil(data.shape[0] / 3), data.shape[1]))

    def problem_and_theta(self, model, data):
        return model._problem(), model._theta(), data

    def e_step_whole_and_parts(self, model, data):
        """(stats, loglik) of the whole data and the list of those of its parts, under the
        fitted parameters; loglik is None where the objective does not split."""
        problem, theta, X = self.problem_and_theta(model, data)
        whole = problem.e_step(X, theta, None)
        parts = [problem.e_step(X[a:b], theta, None) for a, b in row_chunks(X.shape[0], 2)]
        return whole[:2], [p[:2] for p in parts]

    def lower_bound_histories(self, model) -> list:
        return [np.asarray(model.lower_bounds_, dtype=np.float64)]

    def outputs(self, model, data) -> dict:
        """What the fitted model says about the data (predictions, scores)."""
        return {"score_samples": model.score_samples(data),
                "predict_proba": model.predict_proba(data)}

    def degenerate_data(self) -> dict:
        X = self.data()
        constant = X.copy()
        constant[:, 1] = 3.0
        return {"duplicated rows": np.repeat(X[::10], 10, axis=0),
                "constant feature": constant}

    def bad_data(self):
        """Data ``fit`` must refuse after it has looked at them: here too few rows for the
        components, in another number of features (a fit may change n_features_in_)."""
        return np.ones((2, 3)) + np.arange(3)

    def finite_attributes(self, model) -> dict:
        """The fitted numeric attributes that must be finite."""
        return {k: v for k, v in vars(model).items()
                if k.endswith("_") and not k.startswith("_")}


class NoiseCase(Case):
    """A Gaussian mixture with a noise component: in-memory rows only; its noise guess is
    every seventh row of the data (which all have the same number of rows)."""

    kinds = frozenset()
    random_start = {"init_params": "random"}

    def __init__(self, name, factory, **params):
        super().__init__(name, factory, noise_init=np.arange(120) % 7 == 0, **params)

    def data(self):
        X = super().data()
        return np.vstack([X[:105], np.random.default_rng(0).uniform(-8, 8, size=(15, 2))])

    def degenerate_data(self):
        # a constant feature spans no volume: no uniform noise density, a ValueError
        # (tests/test_noise_component.py)
        return {"duplicated rows": super().degenerate_data()["duplicated rows"]}


class ImputerCase(Case):
    kinds = frozenset({"memmap"})
    stream_params = {}
    restarts_module = "emkit.impute._em_imputer"
    random_start = {"init_params": "random"}

    def data(self):
        X = super().data()
        X[np.random.default_rng(0).random(X.shape) < 0.15] = np.nan
        return X

    def problem_and_theta(self, model, data):
        return model._problem(), model._theta(), np.asarray(data, dtype=np.float64)

    def outputs(self, model, data):
        completed, std = model.transform(data, return_std=True)
        return {"transform": completed, "std": std, "score_samples": model.score_samples(data)}

    def bad_data(self):  # a column with no observed value, in another number of features
        X = self.data()
        return np.column_stack([X, np.full(X.shape[0], np.nan)])


class HMMCase(Case):
    kinds = frozenset(KINDS)
    restarts_module = "emkit.hmm._base"

    def __init__(self, name, factory, symbols="gaussian", **params):
        super().__init__(name, factory, **params)
        self.symbols = symbols

    def _rows(self, states, rng):
        if self.symbols == "categorical":
            noise = rng.integers(0, 3, states.size)
            return np.where(rng.random(states.size) < 0.8, states, noise)[:, None]
        if self.symbols == "poisson":
            return rng.poisson(2 + 6 * states[:, None], size=(states.size, 2))
        return rng.normal(size=(states.size, 2)) + 3 * states[:, None]

    def data(self):
        rng = np.random.default_rng(0)
        lengths = [30, 25, 40, 35]
        states = np.concatenate([(np.arange(n) // 7 + i) % 2 for i, n in enumerate(lengths)])
        return self._rows(states, rng), lengths

    def fit(self, model, data):
        return model.fit(*data)

    def as_kind(self, data, kind, tmp_path):
        X, lengths = data
        if kind == "blocks":
            ends = np.cumsum(lengths)
            return [(X[0:ends[1]], lengths[:2]), (X[ends[1]:], lengths[2:])], None
        return super().as_kind(X, kind, tmp_path), lengths

    def e_step_whole_and_parts(self, model, data):
        from emkit.hmm._sequences import SequenceBlocks, check_lengths

        X, lengths = data
        problem = model._problem(update="st" + model._emission_letters)
        X = model._check_X(X)
        offsets = check_lengths(lengths, X.shape[0])
        whole = problem.e_step(X, model._theta(), offsets)
        parts = [problem.e_step(Xb, model._theta(), ob)
                 for Xb, ob in SequenceBlocks(X, offsets, X.shape[0] // 2)]
        return whole, parts

    def outputs(self, model, data):
        X, lengths = data
        return {"score": np.array([model.score(X, lengths)]),
                "predict_proba": model.predict_proba(X, lengths)}

    def degenerate_data(self):
        X, lengths = self.data()
        if self.symbols == "categorical":
            return {"single repeated symbol": (np.zeros_like(X), lengths)}
        constant = X.copy()
        constant[:, 1] = 3
        return {"duplicated rows": (np.repeat(X[:10], 12, axis=0), [40, 40, 40]),
                "constant feature": (constant, lengths)}

    def bad_data(self):  # what the emissions cannot give, in another number of features
        X, lengths = self.data()
        if self.symbols == "gaussian":
            bad = np.column_stack([X, X[:, :1]]).astype(float)
            bad[3, 2] = np.inf
        else:
            bad = np.column_stack([X, X[:, :1]])
            bad[3, 0] = -1
        return bad, lengths


class PLSACase(Case):
    kinds = frozenset({"memmap", "blocks"})
    stream_params = {}
    restarts_module = "emkit.topics._plsa"

    def data(self):
        rng = np.random.default_rng(0)
        topics = rng.dirichlet(np.full(12, 0.3), size=2)
        mix = rng.dirichlet(np.full(2, 0.5), size=24)
        return sp.csr_matrix(rng.poisson(15 * mix @ topics).astype(np.float64))

    def as_kind(self, data, kind, tmp_path):
        if kind == "memmap":
            return super().as_kind(data.toarray(), kind, tmp_path)
        return [data[a:b] for a, b in row_chunks(data.shape[0])]

    def e_step_whole_and_parts(self, model, data):
        problem = PLSAProblem(model.tempering)
        theta = PLSAParams(model._word_topic(), model.topic_weights_)

        def uniform(n_docs):  # every document starts uniform, in the whole as in the parts
            return np.full((n_docs, model.n_components), 1.0 / model.n_components)

        whole = problem.e_step(data, theta, uniform(data.shape[0]))
        parts = [problem.e_step(data[a:b], theta, uniform(b - a))
                 for a, b in row_chunks(data.shape[0], 2)]
        return whole, parts

    def outputs(self, model, data):
        return {"transform": model.transform(data), "score": np.array([model.score(data)])}

    def degenerate_data(self):
        X = self.data().toarray()
        one_word = np.zeros_like(X)
        one_word[:, 0] = 5.0
        return {"duplicated rows": sp.csr_matrix(np.repeat(X[:3], 8, axis=0)),
                "single repeated symbol": sp.csr_matrix(one_word)}

    def bad_data(self):  # a negative count, in another number of words
        X = np.ones((4, 7))
        X[1, 2] = -1.0
        return X


class MotifCase(Case):
    kinds = frozenset()
    stream_params = {}
    restarts = False
    random_start = {"n_starts": 3}

    def data(self):
        return list(make_planted_motif(n_sequences=8, length=40, width=6,
                                       random_state=0).sequences)

    def problem_and_theta(self, model, data):
        codes, offsets = encode_sequences(data)
        background = MarkovBackground.fit(codes, offsets, DNA, model.background_order,
                                          both_strands=model.revcomp)
        ppm = np.asarray(model.ppms_[0])
        comp = DNA.complement_codes() if model.revcomp else np.arange(5, dtype=np.int8)
        problem = MotifProblem(codes, offsets, background.log_probs(codes, offsets, 4),
                               np.ones(len(codes)), ppm.shape[0], 4, comp,
                               2 if model.revcomp else 1, model.model, model.pseudocount,
                               background.frequencies)
        return problem, MotifParams(ppm, float(model.prior_[0])), np.arange(len(data))[:, None]

    def lower_bound_histories(self, model):
        return [np.asarray(h, dtype=np.float64) for h in model.lower_bounds_]

    def outputs(self, model, data):
        return {"ppm": np.asarray(model.ppms_[0]), "sites": np.asarray(model.sites_[0]),
                "log10_evalue": model.log10_evalue_}

    def degenerate_data(self):
        data = self.data()
        return {"duplicated rows": data[:2] * 4,
                "single repeated symbol": ["A" * 40] * 6}

    def bad_data(self):  # a sequence shorter than the motif
        return self.data()[:3] + ["ACGT"]

    def finite_attributes(self, model):
        found = super().finite_attributes(model)
        found.pop("log10_evalue_", None)  # an E-value may be infinite (README: save)
        return found


class SegmentCase(Case):
    """segment() is a function: its result's ``model`` is the fitted mixture."""

    kinds = frozenset()
    stream_params = {}
    restarts = False
    seeded_start = False  # k-means starts with restarts: seeds usually agree on the start

    def __init__(self, name, **params):
        super().__init__(name, None, **params)

    def make(self, random_state=0, **overrides):
        return types.SimpleNamespace(params={**self.params, "random_state": random_state,
                                             **overrides})

    def data(self):
        from emkit.segment import make_phantom
        return make_phantom((20, 20), snr=2.0, random_state=0)[0]

    def fit(self, model, data):
        from emkit.segment import segment
        model.result = segment(data, 3, **model.params)
        return model

    def e_step_whole_and_parts(self, model, data):
        from emkit.mixture._covariance import covariance_model
        from emkit.mixture._gaussian_problem import GaussianMixtureProblem
        from emkit.segment._features import pixel_features
        from emkit.segment._potts import LabelField, Neighbourhood, PottsMixtureProblem

        gm = model.result.model
        feats = pixel_features(data)
        field = LabelField(feats.X, feats.index)
        neighbours = Neighbourhood("faces", ndim=2)
        problem = PottsMixtureProblem(
            GaussianMixtureProblem(covariance_model(gm.covariance_type), gm.reg_covar),
            model.params["smoothing"], neighbours, n_sites=feats.X.shape[0],
            edge_weight=field.edge_weight(neighbours))
        theta = gm._theta()
        whole, _ = problem.field_e_step(field, theta)
        # the mean-field sweep couples neighbours; the statistics given the field add up
        # over sites, and the objective does not split (None)
        parts = [problem.statistics(types.SimpleNamespace(X=field.X[a:b], q=field.q[a:b]),
                                    theta.means)
                 for a, b in row_chunks(field.X.shape[0], 2)]
        return (whole, None), [(p, None) for p in parts]

    def lower_bound_histories(self, model):
        return [np.asarray(model.result.lower_bounds, dtype=np.float64)]

    def outputs(self, model, data):
        return {"labels": model.result.labels, "probabilities": model.result.probabilities}

    def degenerate_data(self):
        flat = np.zeros((20, 20))
        flat[:, 7:14] = 1.0
        flat[:, 14:] = 2.0
        return {"duplicated rows": flat}

    def finite_attributes(self, model):
        gm = model.result.model
        found = {k: v for k, v in vars(gm).items() if k.endswith("_")}
        found["lower_bounds"] = model.result.lower_bounds
        return found


def _cases() -> list:
    hmm = emkit_hmm
    cases = [Case(f"GaussianMixture-{c}", GaussianMixture, n_components=3, covariance_type=c,
                  max_iter=30, tol=1e-8) for c in COVARIANCE_TYPES + MCLUST_ROWS]
    cases.append(NoiseCase("GaussianMixtureWithNoise", GaussianMixtureWithNoise,
                           n_components=2, max_iter=30, tol=1e-8))
    cases.append(Case("BayesianGaussianMixture", BayesianGaussianMixture, n_components=3,
                      max_iter=30, tol=1e-8))
    cases[-1].stream_params = {}
    cases[-1].restarts_module = "emkit.mixture._bayesian_mixture"
    cases[-1].random_start = {"init_params": "random"}
    for c in cases[:len(COVARIANCE_TYPES) + len(MCLUST_ROWS)]:
        c.random_start = {"init_params": "random"}
    cases += [
        HMMCase("GaussianHMM", hmm.GaussianHMM, n_components=2, covariance_type="full",
                n_iter=8, tol=0.0),
        HMMCase("CategoricalHMM", hmm.CategoricalHMM, "categorical", n_components=2,
                n_iter=8, tol=0.0),
        HMMCase("PoissonHMM", hmm.PoissonHMM, "poisson", n_components=2, n_iter=8, tol=0.0),
        HMMCase("GMMHMM", hmm.GMMHMM, n_components=2, n_mix=2, n_iter=8, tol=0.0),
    ]
    if hasattr(hmm, "MultinomialHMM"):
        cases.append(HMMCase("MultinomialHMM", hmm.MultinomialHMM, "poisson", n_components=2,
                             n_iter=8, tol=0.0))
    for name, symbols in (("VariationalGaussianHMM", "gaussian"),
                          ("VariationalCategoricalHMM", "categorical")):
        cases.append(HMMCase(name, getattr(hmm, name), symbols, n_components=2, n_iter=8,
                             tol=0.0))
        cases[-1].kinds = frozenset({"memmap"})  # no block sources or Dask input
    cases += [
        ImputerCase("EMImputer", EMImputer, n_components=2, max_iter=30, tol=1e-8),
        PLSACase("PLSA", PLSA, n_components=2, max_iter=30, tol=1e-8),
        SegmentCase("segment-potts", smoothing=1.0, n_init=2, max_iter=20),
        MotifCase("MEME", MEME, width=6, model="zoops", n_starts=20, n_refine=2,
                  max_iter=30),
    ]
    return cases


CASES = {case.name: case for case in _cases()}
