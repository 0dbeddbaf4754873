"""The engine's contract, checked on every EM model (the rows of ``_contract_models.CASES``).

Every model is a problem with an additive E-step and an M-step on one engine, so every
model owes the same promises: the statistics of a whole are the sum over its parts, the
likelihood (or lower bound) never decreases, every input kind gives the same fit, a seed
fixes the fit, restarts keep the best sound run, save/load round-trips, degenerate data
give no NaN, and a failed fit changes nothing. A model joins by adding a row to the table;
a property a model does not have is skipped with the reason, so the table shows the gaps.
"""

import importlib
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from _contract_models import CASES, KINDS, fitted_state, leaves
from emkit import _em, load
from emkit import hmm as emkit_hmm
from emkit.io import save

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

ROWS = list(CASES)


def rows(**known_defects):
    """Every row; a row named here is marked xfail(strict=True) with its defect, so the
    test fails loudly once the defect is fixed and the mark can go."""
    return [pytest.param(row, marks=pytest.mark.xfail(strict=True, reason=known_defects[row]))
            if row in known_defects else row for row in ROWS]


def fit_quietly(case, model, data):
    """Fit, ignoring warnings (convergence, degeneracy): the properties are checked apart."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return case.fit(model, data)


def assert_close(actual, desired, rtol, err_msg=""):
    """Equal to ``rtol`` relative to the array's scale (absolute where values are zero)."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, np.float64)
    assert actual.shape == desired.shape, err_msg
    scale = float(np.max(np.abs(desired))) if desired.size else 0.0
    assert_allclose(actual, desired, rtol=rtol, atol=rtol * max(scale, 1e-300),
                    err_msg=err_msg)


def assert_same_outputs(case, a, b, data, rtol):
    out_a, out_b = case.outputs(a, data), case.outputs(b, data)
    assert out_a.keys() == out_b.keys()
    for name in out_a:
        assert_close(out_a[name], out_b[name], rtol, err_msg=name)


def assert_same_state(before: dict, after: dict):
    """Every attribute the same, arrays bit for bit (nothing may have been recomputed)."""
    assert before.keys() == after.keys(), sorted(set(before) ^ set(after))
    for name, value in before.items():
        other = after[name]
        if isinstance(value, np.ndarray):
            assert isinstance(other, np.ndarray) and value.dtype == other.dtype, name
            np.testing.assert_array_equal(other, value, err_msg=name)
        elif isinstance(value, (list, tuple, dict)):
            assert_same_state(dict(enumerate(value)) if not isinstance(value, dict) else value,
                              dict(enumerate(other)) if not isinstance(other, dict) else other)
        elif isinstance(value, float) and np.isnan(value):
            assert isinstance(other, float) and np.isnan(other), name
        else:
            assert other is value or other == value, name


def test_every_model_has_a_row():
    """A model that lands without a row here escapes the contract: every HMM of emkit.hmm
    and every other EM estimator must appear in the table."""
    estimators = {name for name in emkit_hmm.__all__
                  if name.endswith("HMM") and name != "BaseHMM"}  # the base for custom HMMs
    estimators |= {"GaussianMixture", "GaussianMixtureWithNoise", "BayesianGaussianMixture",
                   "EMImputer", "PLSA", "MEME"}
    covered = {type(case.make()).__name__ for case in CASES.values()}
    assert estimators <= covered, sorted(estimators - covered)
    assert any(name.startswith("segment") for name in CASES)


# -- 1. additive statistics --------------------------------------------------------------------
@pytest.mark.parametrize("row", ROWS)
def test_statistics_of_a_whole_are_the_sum_over_its_parts(row):
    case = CASES[row]
    data = case.data()
    model = fit_quietly(case, case.make(), data)
    (whole, loglik), parts = case.e_step_whole_and_parts(model, data)
    assert len(parts) >= 2
    total = parts[0][0]
    for stats, _ in parts[1:]:
        total = total + stats
    assert leaves(whole).size > 0
    assert_close(leaves(total), leaves(whole), rtol=1e-10)
    if loglik is not None:
        summed = sum(part_loglik for _, part_loglik in parts)
        assert summed == pytest.approx(loglik, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("row", rows())
def test_statistics_scale(row):
    case = CASES[row]
    data = case.data()
    model = fit_quietly(case, case.make(), data)
    (whole, _), _ = case.e_step_whole_and_parts(model, data)
    assert_close(leaves(whole * 2.0), 2.0 * leaves(whole), rtol=1e-14)
    assert_close(leaves(0.5 * whole), 0.5 * leaves(whole), rtol=1e-14)


# -- 2. monotone likelihood --------------------------------------------------------------------
@pytest.mark.parametrize("row", ROWS)
def test_likelihood_never_decreases_during_a_fit(row):
    case = CASES[row]
    model = fit_quietly(case, case.make(), case.data())
    histories = case.lower_bound_histories(model)
    assert histories and all(len(h) >= 2 for h in histories)
    for history in histories:
        assert np.all(np.isfinite(history))
        roundoff = 1e-10 * np.maximum(1.0, np.abs(history[:-1]))
        assert np.all(np.diff(history) >= -roundoff), history


# -- 3. every input kind gives the same fit ----------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("row", ROWS)
def test_every_input_kind_gives_the_batch_fit(row, kind, tmp_path):
    case = CASES[row]
    if kind not in case.kinds:
        pytest.skip(f"{row} does not take {kind} input")
    if kind == "dask":
        dask = pytest.importorskip("dask")
        pytest.importorskip("dask.array")
    data = case.data()
    batch = fit_quietly(case, case.make(), data)
    streamed_data = case.as_kind(data, kind, tmp_path)
    streamed = case.make(**case.stream_params)
    if kind == "dask":
        with dask.config.set(scheduler="synchronous"):
            streamed = fit_quietly(case, streamed, streamed_data)
    else:
        streamed = fit_quietly(case, streamed, streamed_data)
    for a, b in zip(case.lower_bound_histories(streamed), case.lower_bound_histories(batch)):
        assert_close(a, b, rtol=1e-8)
    assert_same_outputs(case, streamed, batch, data, rtol=1e-7)


# -- 4. seeds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("row", ROWS)
def test_same_seed_same_fit_and_another_seed_another_start(row):
    case = CASES[row]
    data = case.data()
    a = fit_quietly(case, case.make(1, **case.random_start), data)
    b = fit_quietly(case, case.make(1, **case.random_start), data)
    for ha, hb in zip(case.lower_bound_histories(a), case.lower_bound_histories(b)):
        np.testing.assert_array_equal(ha, hb)
    assert_same_outputs(case, a, b, data, rtol=0.0)
    if not case.seeded_start:
        pytest.skip(f"{row}: its start does not depend on the seed (checked: same seed, "
                    "same fit)")
    c = fit_quietly(case, case.make(2, **case.random_start), data)
    starts = [h[0] for h in case.lower_bound_histories(a)]
    other = [h[0] for h in case.lower_bound_histories(c)]
    assert starts != other, "seeds 1 and 2 gave the same starting lower bound"


# -- 5. restarts keep the best sound run -------------------------------------------------------
@pytest.mark.parametrize("row", ROWS)
def test_restarts_keep_the_best_sound_run(row, monkeypatch):
    case = CASES[row]
    if not case.restarts:
        pytest.skip(f"{row} has no n_init restarts")
    module = importlib.import_module(case.restarts_module)
    real = module.fit_with_restarts
    runs, kept = [], []

    def recording(problem, blocks, start, *, runner=None, **kwargs):
        inner = runner or _em.run_em

        def run_and_record(*args, **kw):
            run = inner(*args, **kw)
            runs.append(run)
            return run

        best = real(problem, blocks, start, runner=run_and_record, **kwargs)
        kept.append(best)
        return best

    monkeypatch.setattr(module, "fit_with_restarts", recording)
    data = case.data()
    model = fit_quietly(case, case.make(3, n_init=4, **case.random_start), data)
    assert len(kept) == 1 and len(runs) >= 4
    bounds = [r.lower_bound for r in runs if not r.degenerate]
    assert bounds, "every run was degenerate: the data do not test the rule"
    assert len(set(bounds)) > 1, "every run ended alike: the data do not test the rule"
    assert kept[0].lower_bound == max(bounds)
    assert model.lower_bound_ == max(bounds)


# -- 6. save / load ----------------------------------------------------------------------------
@pytest.mark.parametrize("row", rows())
def test_save_and_load_round_trip(row, tmp_path):
    case = CASES[row]
    data = case.data()
    model = fit_quietly(case, case.make(), data)
    saved = getattr(model, "result", None)
    target = model if saved is None else saved.model  # segment: its fitted mixture
    save(target, tmp_path / "model")  # what model.save does; the method is checked last
    loaded = load(tmp_path / "model.json")
    assert type(loaded) is type(target)
    public = {k: v for k, v in fitted_state(target).items() if not k.startswith("_")}
    assert_same_state(public, {k: v for k, v in fitted_state(loaded).items()
                               if not k.startswith("_")})
    if saved is None:
        assert_same_outputs(case, loaded, model, data, rtol=1e-12)
    else:
        X = data.reshape(-1, 1)
        assert_close(loaded.predict_proba(X), target.predict_proba(X), rtol=1e-12)
    target.save(tmp_path / "again")  # the estimator's own method writes the same model
    assert_same_state(public, {k: v for k, v in fitted_state(load(tmp_path / "again.json"))
                               .items() if not k.startswith("_")})


# -- 7. degenerate data ------------------------------------------------------------------------
@pytest.mark.parametrize("row", ROWS)
def test_degenerate_data_give_no_nan(row):
    case = CASES[row]
    for what, data in case.degenerate_data().items():
        model = fit_quietly(case, case.make(), data)
        for name, value in case.finite_attributes(model).items():
            numbers = leaves(value) if not isinstance(value, list) else \
                np.concatenate([leaves(v) for v in value] or [np.empty(0)])
            assert np.all(np.isfinite(numbers)), f"{what}: {name} is not finite"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs = case.outputs(model, data)
        for name, value in outputs.items():
            assert np.all(np.isfinite(np.asarray(value, dtype=np.float64))), \
                f"{what}: {name} is not finite"


# -- 8. a failed fit changes nothing -----------------------------------------------------------
@pytest.mark.parametrize("row", rows())
def test_a_failed_fit_leaves_the_model_untouched(row):
    case = CASES[row]
    if case.factory is None:
        pytest.skip(f"{row} is a function: it holds no fitted state")
    model = fit_quietly(case, case.make(), case.data())
    before = fitted_state(model)
    with pytest.raises((ValueError, TypeError)):
        fit_quietly(case, model, case.bad_data())
    assert_same_state(before, fitted_state(model))
