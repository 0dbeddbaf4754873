"""The ``emkit`` command, driven through the real entry point in a subprocess."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_iris

import emkit
from emkit.cli import main

TIMEOUT = 120


def run(*args, cwd=None, timeout=TIMEOUT):
    """``python -m emkit.cli ARGS``: the same code as the console script."""
    return subprocess.run([sys.executable, "-m", "emkit.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def assert_ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def assert_one_line_error(result, phrase):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("emkit: error: "), lines[0]
    assert phrase.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture
def iris():
    data = load_iris()
    return data.data.astype(np.float64), [n.replace(" (cm)", "").replace(" ", "_")
                                          for n in data.feature_names]


@pytest.fixture
def iris_csv(tmp_path, iris):
    X, names = iris
    path = tmp_path / "iris.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(X.tolist())
    return path


def read_predictions(text):
    rows = list(csv.reader(text.splitlines()))
    return rows[0], np.array(rows[1:], dtype=np.float64)


# -- fit and predict -------------------------------------------------------------------------
def test_fit_then_predict_iris(tmp_path, iris, iris_csv):
    X, names = iris
    stem = tmp_path / "model"
    fitted = run("fit", iris_csv, "-k", "3", "-o", stem)
    assert_ok(fitted)
    assert fitted.stderr == ""  # piped: no progress, no warnings
    out = fitted.stdout
    assert "150 rows x 4 columns" in out
    assert "K = 3" in out and "covariance = full" in out
    assert "log-likelihood" in out and "converged = True" in out
    assert names[0] in out
    assert (tmp_path / "model.json").is_file() and (tmp_path / "model.npz").is_file()
    model = emkit.load(stem)
    assert isinstance(model, emkit.GaussianMixture) and model.n_components == 3

    out_csv = tmp_path / "out.csv"
    predicted = run("predict", tmp_path / "model.json", iris_csv, "-o", out_csv)
    assert_ok(predicted)
    header, table = read_predictions(out_csv.read_text())
    assert header == ["label", "p0", "p1", "p2"]
    assert table.shape == (150, 4)
    np.testing.assert_array_equal(table[:, 0], model.predict(X))
    np.testing.assert_allclose(table[:, 1:].sum(axis=1), 1.0, atol=1e-8)
    np.testing.assert_allclose(table[:, 1:], model.predict_proba(X), atol=1e-9)

    to_stdout = run("predict", stem, iris_csv)  # the stem works too
    assert_ok(to_stdout)
    assert read_predictions(to_stdout.stdout)[1].tolist() == table.tolist()


def test_fit_npy_matches_the_library(tmp_path, iris):
    X, _ = iris
    np.save(tmp_path / "iris.npy", X)
    result = run("fit", tmp_path / "iris.npy", "-k", "2", "--covariance-type", "diag",
                 "--n-init", "2", "--random-state", "5", "-o", tmp_path / "m")
    assert_ok(result)
    saved = emkit.load(tmp_path / "m")
    direct = emkit.GaussianMixture(2, covariance_type="diag", n_init=2,
                                   random_state=5).fit(X)
    np.testing.assert_allclose(saved.means_, direct.means_, atol=1e-12)
    np.testing.assert_allclose(saved.covariances_, direct.covariances_, atol=1e-12)


def test_csv_with_header_and_tsv_without_give_the_same_model(tmp_path, iris, iris_csv):
    X, _ = iris
    tsv = tmp_path / "iris.tsv"
    tsv.write_text("".join("\t".join(repr(v) for v in row) + "\n" for row in X.tolist()))
    for data, stem in ((iris_csv, "a"), (tsv, "b")):
        result = run("fit", data, "-k", "2", "-o", tmp_path / stem)
        assert_ok(result)
        assert "150 rows x 4 columns" in result.stdout
    a, b = emkit.load(tmp_path / "a"), emkit.load(tmp_path / "b")
    np.testing.assert_array_equal(a.means_, b.means_)


def test_model_selection_over_a_range(tmp_path, iris_csv):
    result = run("fit", iris_csv, "-k", "1..3", "--covariance-type", "full,diag",
                 "--criterion", "bic", "-o", tmp_path / "best")
    assert_ok(result)
    # rows end with: converged, iterations, degenerate
    table = [line for line in result.stdout.splitlines()
             if line[:3] in (" * ", "   ") and line.split()[-3:-2] in (["True"], ["False"])]
    assert len(table) == 6
    assert all(line.split()[-1] in ("True", "False") for line in table)
    assert sum(line.startswith(" * ") for line in table) == 1
    chosen = next(line for line in table if line.startswith(" * ")).split()
    best = emkit.load(tmp_path / "best")
    assert (int(chosen[1]), chosen[2]) == (best.n_components, best.covariance_type)


def test_selection_calls_select_with_the_options(monkeypatch, iris, iris_csv):
    """In process, with a stand-in for emkit.mixture.select: the arguments and the table."""
    X, _ = iris
    calls = {}

    class Result:
        pass

    def fake_select(data, **kwargs):
        calls.update(kwargs, X=data)
        result = Result()
        result.best_ = emkit.GaussianMixture(3, covariance_type="diag",
                                             random_state=0).fit(data)
        result.table = [dict(n_components=k, covariance_type=c, log_likelihood=-1.5 * k,
                             n_parameters=10 * k, bic=100.0 - k, aic=90.0 - k,
                             icl=101.0 - k, converged=True, n_iter=4)
                        for k in kwargs["n_components"] for c in kwargs["covariance_types"]]
        return result

    monkeypatch.setattr(emkit.mixture, "select", fake_select, raising=False)
    result = CliRunner().invoke(main, ["fit", str(iris_csv), "-k", "2..3", "--covariance-type",
                                       "diag,spherical,diag", "--criterion", "AIC",
                                       "--n-init", "2", "--random-state", "7"])
    assert result.exit_code == 0, result.output
    assert calls["n_components"] == range(2, 4)
    assert calls["covariance_types"] == ("diag", "spherical")
    assert calls["criterion"] == "aic"
    assert calls["n_init"] == 2 and calls["random_state"] == 7 and calls["n_jobs"] == 1
    np.testing.assert_array_equal(calls["X"], X)
    assert "criterion table (AIC" in result.stdout
    marked = [line.split() for line in result.stdout.splitlines() if line.startswith(" * ")]
    assert [m[:3] for m in marked] == [["*", "3", "diag"]]
    assert "K = 3  covariance = diag" in result.stdout

    all_types = CliRunner().invoke(main, ["fit", str(iris_csv), "-k", "2", "--covariance-type",
                                          "all"])
    assert all_types.exit_code == 0, all_types.output
    assert calls["n_components"] == range(2, 3)
    assert calls["covariance_types"] == ("full", "tied", "diag", "spherical")


# -- bad input: one line on stderr, no traceback ---------------------------------------------
@pytest.fixture
def saved_model(tmp_path, iris):
    emkit.GaussianMixture(2, random_state=0).fit(iris[0]).save(tmp_path / "good")
    return tmp_path / "good"


def _bad_inputs(tmp_path, iris, saved_model):
    X, _ = iris
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "labels.csv").write_text("a,b,species\n1,2,x\n3,4,y\n5,6.5,z\n")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n5,6\n")
    (tmp_path / "small.csv").write_text("a,b\n1,2\n3,4\n5,7\n")
    np.save(tmp_path / "flat.npy", X[:, 0])
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "other.npz").write_bytes(b"")
    corrupt = tmp_path / "corrupt"
    shutil.copy(saved_model.with_suffix(".json"), corrupt.with_suffix(".json"))
    npz = bytearray(saved_model.with_suffix(".npz").read_bytes())
    npz[len(npz) // 2] ^= 0xFF
    corrupt.with_suffix(".npz").write_bytes(bytes(npz))
    return {
        "missing file": (["fit", "nope.csv", "-k", "2"], "no such file"),
        "empty file": (["fit", "empty.csv", "-k", "2"], "empty"),
        "malformed file": (["fit", "ragged.csv", "-k", "1"], "line 3 has 1 fields"),
        "non-numeric column": (["fit", "labels.csv", "-k", "1"], "species"),
        "npy not 2-D": (["fit", "flat.npy", "-k", "1"], "2-D"),
        "K larger than rows": (["fit", "small.csv", "-k", "4"], "larger than the number of "
                                                                "rows (3)"),
        "range larger than rows": (["fit", "small.csv", "-k", "2..9"], "larger than"),
        "model of another kind": (["predict", "other.json", "small.csv"],
                                  "not an emkit model"),
        "data file as model": (["predict", "small.csv", "small.csv"], "not an emkit model"),
        "corrupted model": (["predict", "corrupt", "small.csv"], "checksum"),
        "features differ": (["predict", "good", "small.csv"], "fitted to 4"),
        "bad covariance": (["fit", "small.csv", "--covariance-type", "full,wide"], "'wide'"),
        "bad K": (["fit", "small.csv", "-k", "three"], "--n-components"),
        "bad n-init": (["fit", "small.csv", "-k", "1", "--n-init", "0"], "--n-init"),
        "unknown option": (["fit", "small.csv", "--colour"], "--colour"),
        "zero jobs": (["fit", "small.csv", "-k", "1..2", "-j", "0"], "--n-jobs"),
        "no output folder": (["fit", "small.csv", "-k", "1", "-o", "no/m"], "does not exist"),
    }


# The bad inputs the issue names run through the real entry point; the others run in process
# (the same click group and error handling, a second faster).
SUBPROCESS_BAD = ["missing file", "empty file", "malformed file", "non-numeric column",
                  "K larger than rows", "model of another kind", "corrupted model",
                  "bad covariance"]
IN_PROCESS_BAD = ["npy not 2-D", "range larger than rows",
                  "data file as model", "features differ", "bad K", "bad n-init",
                  "unknown option", "zero jobs", "no output folder"]


@pytest.mark.parametrize("case", SUBPROCESS_BAD)
def test_bad_input_is_one_line_without_traceback(tmp_path, iris, saved_model, case):
    args, phrase = _bad_inputs(tmp_path, iris, saved_model)[case]
    assert_one_line_error(run(*args, cwd=tmp_path), phrase)


@pytest.mark.parametrize("case", IN_PROCESS_BAD)
def test_bad_input_in_process(tmp_path, iris, saved_model, monkeypatch, case):
    args, phrase = _bad_inputs(tmp_path, iris, saved_model)[case]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, SystemExit), result.exception
    result.returncode = result.exit_code
    assert_one_line_error(result, phrase)


def test_every_bad_input_case_is_run(tmp_path, iris, saved_model):
    assert sorted(SUBPROCESS_BAD + IN_PROCESS_BAD) == sorted(
        _bad_inputs(tmp_path, iris, saved_model))


def test_non_numeric_column_can_be_dropped(tmp_path, monkeypatch):
    (tmp_path / "labels.csv").write_text("a,b,species\n1,2,x\n3,4.5,y\n5,6.5,z\n2,1,x\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["fit", "labels.csv", "-k", "1", "--drop-non-numeric"])
    assert result.exit_code == 0, result.output
    assert "4 rows x 2 columns" in result.stdout


# -- help, console script, progress, demo ----------------------------------------------------
@pytest.mark.parametrize("command", [[], ["fit"], ["predict"], ["report"], ["impute"],
                                     ["demo"]])
def test_help_of_every_command(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: emkit" in result.output
    if command:
        doc = main.commands[command[0]].help
        assert doc and doc.split("\n")[0].strip() in " ".join(result.output.split())
    for param in (main.commands[command[0]] if command else main).params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"option {param.name} has no help text"


def test_console_script_is_installed():
    bin_dir = Path(sys.executable).parent
    script = shutil.which("emkit", path=str(bin_dir))
    assert script is not None, f"no emkit console script in {bin_dir}"
    result = subprocess.run([script, "--help"], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert_ok(result)
    for command in ("fit", "predict", "report", "impute", "demo"):
        assert command in result.stdout


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (POSIX)")
def test_progress_on_a_terminal_only(iris_csv):
    leader, follower = os.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "emkit.cli", "fit", str(iris_csv),
                                 "-k", "2"], stdout=subprocess.PIPE, stderr=follower,
                                timeout=TIMEOUT)
        os.close(follower)
        follower = None
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO once the terminal has no writer left (Linux)
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0
    assert b"emkit: fitting K=2 full" in seen
    assert b"fitting" not in result.stdout


def test_demo_runs(tmp_path):
    # the demo writes its report in the working folder; it fits every model family, which
    # takes minutes on a loaded two-core machine
    result = run("demo", cwd=tmp_path, timeout=900)
    assert_ok(result)
    assert "iris" in result.stdout and "chosen K" in result.stdout
    assert (tmp_path / "emkit-demo-report.html").exists()
    assert "emkit-demo-report.html" in result.stdout


# -- report ----------------------------------------------------------------------------------
def _report_images(path):
    import re

    return re.findall(r'<svg class="figure"', Path(path).read_text())  # figures are inline SVG


def test_fit_with_report_then_report_command(tmp_path, iris_csv):
    report = tmp_path / "fit.html"
    assert_ok(run("fit", iris_csv, "-k", "1..3", "--covariance-type", "full,diag", "-o",
                  tmp_path / "model", "--report", report))
    assert len(_report_images(report)) == 4  # with the selection's criterion plot
    second = tmp_path / "again.html"
    result = run("report", tmp_path / "model.json", iris_csv, "-o", second)
    assert_ok(result)
    assert str(second) in result.stdout
    assert len(_report_images(second)) == 3


def test_report_of_a_missing_model_is_one_line(tmp_path, iris_csv):
    assert_one_line_error(run("report", tmp_path / "none.json", iris_csv, "-o",
                              tmp_path / "r.html"), "none")


# -- hidden Markov models --------------------------------------------------------------------
def make_hmm_sequences(seed=0, lengths=(60, 45, 70, 55, 50, 40)):
    """Sequences from a sticky 2-state Gaussian HMM: (ids per row, X, true states)."""
    rng = np.random.RandomState(seed)
    transmat = np.array([[0.93, 0.07], [0.08, 0.92]])
    means = np.array([[-2.0, 0.5], [2.0, -0.5]])
    ids, rows, states = [], [], []
    for s, n in enumerate(lengths):
        state = rng.randint(2)
        for _ in range(n):
            ids.append(f"run-{s}")
            states.append(state)
            rows.append(means[state] + rng.randn(2))
            state = rng.choice(2, p=transmat[state])
    return ids, np.array(rows), np.array(states)


def write_sequences(path, ids, X, names=("x", "y"), id_name="seq_id"):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([id_name, *names])
        for i, row in zip(ids, X.tolist()):
            writer.writerow([i, *row])
    return path


def run_lengths(ids):
    lengths = [1]
    for previous, current in zip(ids, ids[1:]):
        if current == previous:
            lengths[-1] += 1
        else:
            lengths.append(1)
    return lengths


@pytest.fixture(scope="module")
def hmm_data(tmp_path_factory):
    ids, X, states = make_hmm_sequences()
    path = write_sequences(tmp_path_factory.mktemp("hmm") / "seqs.csv", ids, X)
    return path, ids, X, states


def invoke(args):
    """The command in process; stdout and stderr apart, returncode like a subprocess."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    result.returncode = result.exit_code
    return result


def test_hmm_fit_then_decode_round_trip(tmp_path, hmm_data):
    path, ids, X, truth = hmm_data
    stem = tmp_path / "hmm"
    fitted = run("hmm", "fit", path, "--n-components", "2", "--lengths-column", "seq_id",
                 "--random-state", "0", "-o", stem)
    assert_ok(fitted)
    assert fitted.stderr == ""
    out = fitted.stdout
    assert f"{len(X)} rows x 2 columns  6 sequences" in out
    assert "states = 2" in out and "converged = True" in out
    assert "log-likelihood" in out and "BIC = " in out and "iterations = " in out
    assert (tmp_path / "hmm.json").is_file() and (tmp_path / "hmm.npz").is_file()
    import emkit.hmm

    model = emkit.load(stem)
    assert isinstance(model, emkit.hmm.GaussianHMM) and model.n_components == 2
    assert model.covariance_type == "diag"

    out_csv = tmp_path / "states.csv"
    decoded = run("hmm", "decode", tmp_path / "hmm.json", path, "--lengths-column",
                  "seq_id", "-o", out_csv)
    assert_ok(decoded)
    assert str(out_csv) in decoded.stdout
    rows = list(csv.reader(out_csv.read_text().splitlines()))
    assert rows[0] == ["seq_id", "index", "state"]
    body = rows[1:]
    assert [r[0] for r in body] == ids
    lengths = run_lengths(ids)
    assert [int(r[1]) for r in body] == [i for n in lengths for i in range(n)]
    states = np.array([int(r[2]) for r in body])
    accuracy = max(np.mean(states == truth), np.mean(states == 1 - truth))
    assert accuracy > 0.95, accuracy
    np.testing.assert_array_equal(states, model.decode(X, lengths)[1])


def test_hmm_fit_restarts_through_the_model(tmp_path, hmm_data):
    path, *_ = hmm_data
    stem = tmp_path / "hmm"
    fitted = run("hmm", "fit", path, "--n-components", "2", "--lengths-column", "seq_id",
                 "--n-init", "3", "--random-state", "0", "-o", stem)
    assert_ok(fitted)
    model = emkit.load(stem)
    assert model.n_init == 3 and len(model.restart_lower_bounds_) == 3
    assert model.lower_bound_ == max(h[-1] for h in model.restart_lower_bounds_)


def test_hmm_decode_proba_to_stdout(tmp_path, hmm_data):
    path, ids, X, truth = hmm_data
    numeric = write_sequences(tmp_path / "numeric.tsv", [i.split("-")[1] for i in ids], X,
                              id_name="subject")
    assert invoke(["hmm", "fit", numeric, "-k", "2", "--lengths-column", "subject",
                   "--covariance-type", "full", "-o", tmp_path / "m"]).returncode == 0
    result = invoke(["hmm", "decode", tmp_path / "m", numeric, "--lengths-column",
                     "subject", "--algorithm", "map", "--proba"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == ["subject", "index", "state", "p0", "p1"]
    table = np.array(rows[1:], dtype=np.float64)
    assert table.shape == (len(X), 5)
    np.testing.assert_allclose(table[:, 3:].sum(axis=1), 1.0, atol=1e-8)
    np.testing.assert_array_equal(table[:, 2], table[:, 3:].argmax(axis=1))
    assert [str(int(v)) for v in table[:, 0]] == [i.split("-")[1] for i in ids]
    accuracy = max(np.mean(table[:, 2] == truth), np.mean(table[:, 2] == 1 - truth))
    assert accuracy > 0.95


def test_hmm_without_lengths_column_is_one_sequence(tmp_path, hmm_data):
    _, _, X, truth = hmm_data
    np.save(tmp_path / "x.npy", X)
    fitted = invoke(["hmm", "fit", tmp_path / "x.npy", "-k", "2", "-o", tmp_path / "m"])
    assert fitted.returncode == 0, fitted.stderr
    assert "1 sequence" in fitted.stdout
    decoded = invoke(["hmm", "decode", tmp_path / "m", tmp_path / "x.npy"])
    rows = list(csv.reader(decoded.stdout.splitlines()))
    assert rows[0] == ["index", "state"]
    assert [int(r[0]) for r in rows[1:]] == list(range(len(X)))


def test_hmm_poisson_and_categorical(tmp_path):
    ids, _, truth = make_hmm_sequences(seed=3)
    rng = np.random.RandomState(1)
    counts = rng.poisson(np.where(truth == 0, 1.0, 9.0))[:, None].astype(float)
    symbols = np.where(truth == 0, rng.randint(0, 2, truth.size),
                       rng.randint(2, 4, truth.size))[:, None].astype(float)
    for kind, values in (("poisson", counts), ("categorical", symbols)):
        data = write_sequences(tmp_path / f"{kind}.csv", ids, values, names=("v",))
        fitted = invoke(["hmm", "fit", data, "-k", "2", "--lengths-column", "seq_id",
                         "--model", kind, "--n-init", "3", "-o", tmp_path / kind])
        assert fitted.returncode == 0, fitted.stderr
        assert f"model: {kind.capitalize()}HMM  states = 2" in fitted.stdout
        decoded = invoke(["hmm", "decode", tmp_path / kind, data, "--lengths-column",
                          "seq_id"])
        assert decoded.returncode == 0, decoded.stderr
        states = np.array([int(r[2]) for r in csv.reader(decoded.stdout.splitlines()[1:])])
        assert max(np.mean(states == truth), np.mean(states == 1 - truth)) > 0.95, kind


def test_hmm_wrong_lengths_column_is_one_line(hmm_data):
    path = hmm_data[0]
    result = run("hmm", "fit", path, "--n-components", "2", "--lengths-column", "sequence")
    line = assert_one_line_error(result, "no column named 'sequence'")
    assert result.returncode == 1
    assert "'seq_id'" in line  # names the columns there are


def test_hmm_decode_of_a_mixture_model_is_one_line(hmm_data, saved_model):
    result = run("hmm", "decode", saved_model, hmm_data[0], "--lengths-column", "seq_id")
    assert_one_line_error(result, "a GaussianMixture model is not a hidden Markov model")
    assert result.returncode == 1


def _hmm_bad_inputs(tmp_path):
    (tmp_path / "floats.csv").write_text("seq_id,symbol\na,0\na,1.5\nb,2\nb,1\n")
    (tmp_path / "negative.csv").write_text("count\n0\n3\n-1\n")
    (tmp_path / "two.csv").write_text("seq_id,s,t\na,0,1\na,1,1\n")
    (tmp_path / "no_id.csv").write_text("seq_id,x\na,0.5\n,1.5\nb,2\n")
    (tmp_path / "only_id.csv").write_text("seq_id\na\nb\n")
    (tmp_path / "text.csv").write_text("seq_id,x,label\na,0.5,u\na,1.5,v\n")
    (tmp_path / "small.csv").write_text("x\n0.1\n0.7\n")
    fit = ["hmm", "fit"]
    return {  # case: (arguments, phrase, exit status)
        "float symbols": (fit + ["floats.csv", "-k", "2", "--lengths-column", "seq_id",
                                 "--model", "categorical"], "'symbol' has 1.5 at line 3", 1),
        "negative counts": (fit + ["negative.csv", "-k", "2", "--model", "poisson"],
                            "has -1 at line 4", 1),
        "two symbol columns": (fit + ["two.csv", "-k", "2", "--lengths-column", "seq_id",
                                      "--model", "categorical"], "one column", 1),
        "missing id": (fit + ["no_id.csv", "-k", "1", "--lengths-column", "seq_id"],
                       "missing", 1),
        "only the id": (fit + ["only_id.csv", "-k", "1", "--lengths-column", "seq_id"],
                        "no features", 1),
        "text feature": (fit + ["text.csv", "-k", "1", "--lengths-column", "seq_id"],
                         "label", 1),
        "more states than rows": (fit + ["small.csv", "-k", "3"], "larger than the number "
                                                                  "of rows (2)", 1),
        "no output folder": (fit + ["small.csv", "-k", "1", "-o", "no/m"], "does not exist", 1),
        "missing states": (fit + ["small.csv"], "--n-components", 2),
        "zero states": (fit + ["small.csv", "-k", "0"], "--n-components", 2),
        "covariance of counts": (fit + ["negative.csv", "-k", "1", "--model", "poisson",
                                        "--covariance-type", "full"], "--covariance-type", 2),
        "bad model": (fit + ["small.csv", "-k", "1", "--model", "binomial"], "--model", 2),
        "bad algorithm": (["hmm", "decode", "m", "small.csv", "--algorithm", "forward"],
                          "--algorithm", 2),
        "missing model": (["hmm", "decode", "none.json", "small.csv"], "none.json", 1),
        "missing data": (fit + ["nope.csv", "-k", "1"], "no such file", 1),
    }


HMM_BAD = ["float symbols", "negative counts", "two symbol columns", "missing id",
           "only the id", "text feature", "more states than rows", "no output folder",
           "missing states", "zero states", "covariance of counts", "bad model",
           "bad algorithm", "missing model", "missing data"]


def test_every_hmm_bad_input_case_is_run(tmp_path):
    assert sorted(HMM_BAD) == sorted(_hmm_bad_inputs(tmp_path))


@pytest.mark.parametrize("case", HMM_BAD)
def test_hmm_bad_input_in_process(tmp_path, monkeypatch, case):
    args, phrase, status = _hmm_bad_inputs(tmp_path)[case]
    monkeypatch.chdir(tmp_path)
    result = invoke(args)
    assert_one_line_error(result, phrase)
    assert result.returncode == status


def test_hmm_features_must_match_the_model(tmp_path, hmm_data):
    path, ids, X, _ = hmm_data
    assert invoke(["hmm", "fit", path, "-k", "2", "--lengths-column", "seq_id", "-o",
                   tmp_path / "m"]).returncode == 0
    one = write_sequences(tmp_path / "one.csv", ids, X[:, :1], names=("x",))
    result = invoke(["hmm", "decode", tmp_path / "m", one, "--lengths-column", "seq_id"])
    assert_one_line_error(result, "no column 'y', which the model was fitted to")
    np.save(tmp_path / "one.npy", X[:, :1])  # no names: the number of columns is checked
    result = invoke(["hmm", "decode", tmp_path / "m", tmp_path / "one.npy"])
    assert_one_line_error(result, "fitted to 2")


def test_hmm_repeated_sequence_id_warns(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("seq_id,x\na,0.1\na,0.3\nb,2.0\na,0.2\n")
    result = invoke(["hmm", "fit", data, "-k", "1", "--lengths-column", "seq_id"])
    assert result.returncode == 0, result.stderr
    assert "3 sequences" in result.stdout
    assert "sequence id 'a' occurs in 2 separate runs" in result.stderr


@pytest.mark.parametrize("command", [["hmm"], ["hmm", "fit"], ["hmm", "decode"]])
def test_help_of_the_hmm_commands(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert f"Usage: emkit {' '.join(command)}" in result.output
    target = main
    for name in command:
        target = target.commands[name]
    assert target.help.split("\n")[0].strip() in " ".join(result.output.split())
    for param in target.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"option {param.name} has no help text"


# -- impute ----------------------------------------------------------------------------------
IMPUTE_NAMES = ["height", "weight", "age", "score, total"]  # a comma in a name is quoted


def make_missing(seed=0, n=300, rate=0.2):
    """Correlated Gaussian rows (one common factor, correlations 0.9 and more), and the
    mask of the entries made missing (no row loses everything)."""
    rng = np.random.default_rng(seed)
    loadings, noise = np.array([1.0, 2.0, -1.5, 5.0]), np.array([0.3, 0.5, 0.4, 1.5])
    cov = np.outer(loadings, loadings) + np.diag(noise ** 2)
    X = rng.multivariate_normal([10.0, -3.0, 0.5, 100.0], cov, size=n)
    mask = rng.random(X.shape) < rate
    mask[mask.all(axis=1), 0] = False
    return X, mask


def write_with_missing(path, X, mask, names=IMPUTE_NAMES):
    """A CSV with a header, observed values as repr (exact), missing ones as a mix of the
    tokens the reader knows."""
    tokens = ["", "NA", "nan", "NaN", "null", "?"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for i, row in enumerate(X.tolist()):
            writer.writerow([tokens[(i + j) % len(tokens)] if mask[i, j] else repr(v)
                             for j, v in enumerate(row)])
    return path


def read_csv_table(text):
    rows = list(csv.reader(text.splitlines()))
    return rows[0], np.array([[float(v) for v in row] for row in rows[1:]])


def test_impute_round_trip(tmp_path):
    from emkit.impute import EMImputer

    X, mask = make_missing()
    data = write_with_missing(tmp_path / "d.csv", X, mask)
    out, std_path = tmp_path / "completed.csv", tmp_path / "std.csv"
    result = run("impute", data, "-o", out, "--std", std_path)
    assert_ok(result)
    assert result.stderr == ""
    n_missing = int(mask.sum())
    assert f"300 rows x 4 columns  {n_missing} missing entries " \
           f"({100 * n_missing / X.size:.1f}%)" in result.stdout
    assert "log-likelihood" in result.stdout and "iterations = " in result.stdout
    assert "converged = True" in result.stdout
    assert str(out) in result.stdout and str(std_path) in result.stdout

    header, completed = read_csv_table(out.read_text())
    assert header == IMPUTE_NAMES
    assert completed.shape == X.shape and np.isfinite(completed).all()
    # observed entries: the same float64, bit for bit (and as the same text as the input)
    np.testing.assert_array_equal(completed[~mask], X[~mask])
    body = list(csv.reader(out.read_text().splitlines()))[1:]
    assert all(body[i][j] == repr(float(X[i, j])) for i, j in zip(*np.nonzero(~mask)))
    # imputed entries: better than the column means
    M = np.where(mask, np.nan, X)
    means = np.broadcast_to(np.nanmean(M, axis=0), X.shape)
    rmse_em = np.sqrt(np.mean((completed[mask] - X[mask]) ** 2))
    rmse_mean = np.sqrt(np.mean((means[mask] - X[mask]) ** 2))
    assert rmse_em < 0.5 * rmse_mean, (rmse_em, rmse_mean)
    # the library gives the same answer
    direct, direct_std = EMImputer(random_state=0).fit(M).transform(M, return_std=True)
    np.testing.assert_allclose(completed, direct, rtol=1e-10, atol=1e-12)

    std_header, std = read_csv_table(std_path.read_text())
    assert std_header == IMPUTE_NAMES and std.shape == X.shape
    assert np.all(std[~mask] == 0.0)
    assert np.all(std[mask] > 0.0)
    np.testing.assert_allclose(std, direct_std, rtol=1e-8, atol=1e-12)
    # the completed file is an ordinary data file again
    assert_ok(run("fit", out, "-k", "1"))


@pytest.mark.parametrize("target", [None, "-"])
def test_impute_to_standard_output(tmp_path, target):
    X, mask = make_missing(seed=1, n=120)
    np.save(tmp_path / "d.npy", np.where(mask, np.nan, X))  # no header: column 1, ...
    args = ["impute", tmp_path / "d.npy", "-k", "2", "--random-state", "3"]
    result = invoke(args + (["-o", target] if target else []))
    assert result.returncode == 0, result.stderr
    header, completed = read_csv_table(result.stdout)  # the CSV alone on standard output
    assert header == ["column 1", "column 2", "column 3", "column 4"]
    np.testing.assert_array_equal(completed[~mask], X[~mask])
    assert np.isfinite(completed).all()
    assert "120 rows x 4 columns" in result.stderr and "K = 2" in result.stderr


def test_impute_without_missing_values_copies_the_input(tmp_path):
    X, _ = make_missing(seed=2, n=50)
    data = write_with_missing(tmp_path / "d.csv", X, np.zeros(X.shape, bool))
    std_path = tmp_path / "s.csv"
    result = invoke(["impute", data, "-o", tmp_path / "c.csv", "--std", std_path])
    assert result.returncode == 0, result.stderr
    assert "0 missing entries (0.0%)" in result.stdout
    assert "no missing values" in result.stdout
    assert (tmp_path / "c.csv").read_text() == data.read_text().replace("\r\n", "\n")
    assert np.all(read_csv_table(std_path.read_text())[1] == 0.0)


def test_impute_drops_non_numeric_columns_on_request(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,kind,b\n1,x,2\n2,y,\n3,,4.5\n4,x,6\n,y,5\n5,x,7.5\n")
    result = invoke(["impute", data, "--drop-non-numeric"])
    assert result.returncode == 0, result.stderr
    header, completed = read_csv_table(result.stdout)
    assert header == ["a", "b"]
    assert completed.shape == (6, 2) and np.isfinite(completed).all()
    assert "2 missing entries" in result.stderr


def _impute_bad_inputs(tmp_path):
    (tmp_path / "empty_col.csv").write_text("a,b,c\n1,,3\n2,NA,5\n4,,1\n")
    (tmp_path / "two_empty.csv").write_text("a,b,c\n1,,\n2,NA,?\n4,,\n")
    (tmp_path / "inf.csv").write_text("a,b\n1,2\n3,\n5,inf\n")
    (tmp_path / "labels.csv").write_text("a,b,species\n1,2,x\n3,,y\n5,6.5,z\n")
    (tmp_path / "small.csv").write_text("a,b\n1,2\n3,\n5,7\n")
    return {
        "all-missing column": (["impute", "empty_col.csv"],
                               "column 2 ('b') has no observed value", 1),
        "two all-missing columns": (["impute", "two_empty.csv"],
                                    "columns 2 ('b'), 3 ('c') have no observed value", 1),
        "infinite value": (["impute", "inf.csv"], "column 2 ('b') has 1 infinite value", 1),
        "non-numeric column": (["impute", "labels.csv"], "non-numeric column 3 ('species')",
                               1),
        "missing file": (["impute", "nope.csv"], "no such file", 1),
        "K larger than rows": (["impute", "small.csv", "-k", "4"],
                               "larger than the number of rows (3)", 1),
        "output over DATA": (["impute", "small.csv", "-o", "small.csv"], "is DATA itself",
                             1),
        "same output twice": (["impute", "small.csv", "-o", "c.csv", "--std", "c.csv"],
                              "same file", 1),
        "no output folder": (["impute", "small.csv", "-o", "no/c.csv"], "does not exist", 1),
        "zero components": (["impute", "small.csv", "-k", "0"], "--n-components", 2),
        "negative tol": (["impute", "small.csv", "--tol", "-1"], "--tol", 2),
        "std to standard output": (["impute", "small.csv", "--std", "-"], "--std", 2),
        "unknown option": (["impute", "small.csv", "--colour"], "--colour", 2),
    }


IMPUTE_BAD = ["all-missing column", "two all-missing columns", "infinite value",
              "non-numeric column", "missing file", "K larger than rows", "output over DATA",
              "same output twice", "no output folder", "zero components", "negative tol",
              "std to standard output", "unknown option"]


def test_every_impute_bad_input_case_is_run(tmp_path):
    assert sorted(IMPUTE_BAD) == sorted(_impute_bad_inputs(tmp_path))


@pytest.mark.parametrize("case", IMPUTE_BAD)
def test_impute_bad_input_in_process(tmp_path, monkeypatch, case):
    args, phrase, status = _impute_bad_inputs(tmp_path)[case]
    monkeypatch.chdir(tmp_path)
    result = invoke(args)
    assert_one_line_error(result, phrase)
    assert result.returncode == status
    assert not (tmp_path / "c.csv").exists()
    assert "small.csv" not in args or (tmp_path / "small.csv").read_text().startswith("a,b")


@pytest.mark.parametrize("case", ["all-missing column", "infinite value",
                                  "non-numeric column"])
def test_impute_bad_input_through_the_entry_point(tmp_path, case):
    args, phrase, status = _impute_bad_inputs(tmp_path)[case]
    result = run(*args, cwd=tmp_path)
    assert_one_line_error(result, phrase)
    assert result.returncode == status
    assert result.stdout == ""


def test_impute_singular_covariance_is_one_line(tmp_path, monkeypatch):
    from emkit.impute import EMImputer

    def singular(self, X, y=None):
        raise np.linalg.LinAlgError("Matrix is not positive definite")

    monkeypatch.setattr(EMImputer, "fit", singular)
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n3,\n5,7\n")
    result = invoke(["impute", data])  # CSV to standard output: the summary would be on stderr
    assert_one_line_error(result, "the fitted covariance is singular")
    assert result.returncode == 1
    assert result.stdout == ""
