"""The ``emkit`` command never surprises: columns found by name, missing values, one-line
warnings, progress on request, outputs that never overwrite inputs, files that claim more
than they hold, output formats checked before the fit. Every case runs the real command in
a subprocess."""

import csv
import hashlib
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import emkit

TIMEOUT = 180


def run(*args, cwd=None):
    """``python -m emkit.cli ARGS``: the same code as the console script."""
    return subprocess.run([sys.executable, "-m", "emkit.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)


def assert_ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def assert_one_line_error(result, *phrases):
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emkit: error: "), result.stderr
    for phrase in phrases:
        assert phrase.lower() in lines[0].lower(), lines[0]
    return lines[0]


def warning_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("emkit: warning: ")]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if header is not None:
            writer.writerow(header)
        writer.writerows(np.asarray(rows).tolist())
    return path


def read_csv(text):
    rows = list(csv.reader(text.splitlines()))
    return rows[0], np.array(rows[1:], dtype=np.float64)


@pytest.fixture(scope="module")
def blobs():
    """Two well-separated groups in three named columns."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 3)) * [1.0, 0.5, 2.0],
                   rng.normal(size=(60, 3)) * [1.0, 0.5, 2.0] + [6.0, -4.0, 9.0]])
    return X, ["a", "b", "c"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, blobs):
    """DATA, and the model 'emkit fit -o' saved from it."""
    X, names = blobs
    folder = tmp_path_factory.mktemp("fitted")
    data = write_csv(folder / "data.csv", names, X)
    result = run("fit", data, "-k", "2", "-o", folder / "model")
    assert_ok(result)
    return data, folder / "model.json"


# -- 1. feature names --------------------------------------------------------------------------
def test_fit_saves_the_column_names_and_predict_finds_columns_by_name(tmp_path, blobs,
                                                                      fitted):
    X, names = blobs
    data, model = fitted
    assert list(emkit.load(model).feature_names_in_) == names
    same = run("predict", model, data)
    assert_ok(same)
    assert same.stderr == ""
    reordered = write_csv(tmp_path / "reordered.csv", ["c", "a", "b"], X[:, [2, 0, 1]])
    result = run("predict", model, reordered)
    assert_ok(result)
    assert result.stdout == same.stdout  # the same labels and probabilities
    extra = write_csv(tmp_path / "extra.csv", ["b", "id", "a", "c"],
                      np.column_stack([X[:, 1], np.arange(len(X)) * 7.0, X[:, 0], X[:, 2]]))
    result = run("predict", model, extra)
    assert_ok(result)
    assert result.stdout == same.stdout
    assert warning_lines(result.stderr) == [
        "emkit: warning: UserWarning: " + str(extra) + ": column 'id' is not in the model "
        "and left out"]


def test_predict_names_the_missing_and_unexpected_columns(tmp_path, blobs, fitted):
    X, _ = blobs
    _, model = fitted
    renamed = write_csv(tmp_path / "renamed.csv", ["a", "B", "c"], X)
    line = assert_one_line_error(run("predict", model, renamed), "no column 'b'",
                                 "columns 'a', 'b', 'c'", "it has 'B' instead")
    assert "--columns" in line


def test_data_without_header_is_taken_in_order(tmp_path, blobs, fitted):
    X, _ = blobs
    data, model = fitted
    bare = write_csv(tmp_path / "bare.csv", None, X)
    np.save(tmp_path / "bare.npy", X)
    expected = run("predict", model, data).stdout
    for source in (bare, tmp_path / "bare.npy"):
        result = run("predict", model, source)
        assert_ok(result)
        assert result.stdout == expected


def test_columns_and_exclude_choose_what_is_fitted(tmp_path, blobs):
    X, _ = blobs
    data = write_csv(tmp_path / "data.csv", ["a", "label", "b", "c"],
                     np.column_stack([X[:, 0], np.arange(len(X)) % 2, X[:, 1:]]))
    assert_ok(run("fit", data, "-k", "2", "--exclude", "label", "-o", tmp_path / "m1"))
    assert list(emkit.load(tmp_path / "m1").feature_names_in_) == ["a", "b", "c"]
    assert_ok(run("fit", data, "-k", "2", "--columns", "c,a", "-o", tmp_path / "m2"))
    m2 = emkit.load(tmp_path / "m2")
    assert list(m2.feature_names_in_) == ["c", "a"]
    direct = emkit.GaussianMixture(2, random_state=0).fit(X[:, [2, 0]])
    np.testing.assert_allclose(np.sort(m2.means_, axis=0), np.sort(direct.means_, axis=0),
                               atol=1e-8)
    assert_one_line_error(run("fit", data, "--columns", "a,zz"), "no column named 'zz'",
                          "--columns")


def test_a_pandas_index_column_is_dropped_with_one_warning_line(tmp_path, blobs):
    pd = pytest.importorskip("pandas")
    X, names = blobs
    data = tmp_path / "indexed.csv"
    pd.DataFrame(X, columns=names).to_csv(data)  # the index as an unnamed first column
    result = run("fit", data, "-k", "2", "-o", tmp_path / "m")
    assert_ok(result)
    assert "120 rows x 3 columns" in result.stdout
    (line,) = warning_lines(result.stderr)
    assert "pandas index" in line and "left out" in line
    assert list(emkit.load(tmp_path / "m").feature_names_in_) == names


def test_hmm_fit_saves_names_and_decode_finds_columns_by_name(tmp_path, blobs):
    X, _ = blobs
    ids = np.repeat([1, 2], len(X) // 2)
    data = write_csv(tmp_path / "seq.csv", ["seq", "x", "y"],
                     np.column_stack([ids, X[:, :2]]))
    assert_ok(run("hmm", "fit", data, "-k", "2", "--lengths-column", "seq", "-o",
                  tmp_path / "h"))
    assert list(emkit.load(tmp_path / "h").feature_names_in_) == ["x", "y"]
    straight = run("hmm", "decode", tmp_path / "h", data, "--lengths-column", "seq")
    assert_ok(straight)
    swapped = write_csv(tmp_path / "swapped.csv", ["y", "seq", "x"],
                        np.column_stack([X[:, 1], ids, X[:, 0]]))
    result = run("hmm", "decode", tmp_path / "h", swapped, "--lengths-column", "seq")
    assert_ok(result)
    assert result.stdout == straight.stdout
    wrong = write_csv(tmp_path / "wrong.csv", ["seq", "x", "z"],
                      np.column_stack([ids, X[:, :2]]))
    assert_one_line_error(run("hmm", "decode", tmp_path / "h", wrong, "--lengths-column",
                              "seq"), "no column 'y'", "'z' instead")


# -- 2. missing values ---------------------------------------------------------------------------
def test_fit_and_predict_marginalise_missing_values(tmp_path, blobs):
    X, names = blobs
    holed = X.copy()
    holed[::7, 1] = np.nan
    holed[3, 0] = np.nan
    data = tmp_path / "holes.csv"
    with open(data, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        for row in holed:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
    result = run("fit", data, "-k", "2", "-o", tmp_path / "m")
    assert_ok(result)
    assert "not supported" not in result.stderr
    note = [line for line in result.stderr.splitlines() if line.startswith("emkit: note:")]
    assert len(note) == 1 and "19 missing values in 19 rows" in note[0]
    assert "emkit impute" in note[0]
    model = emkit.load(tmp_path / "m")
    direct = emkit.GaussianMixture(2, random_state=0).fit(holed)
    np.testing.assert_allclose(model.means_, direct.means_, atol=1e-8)
    predicted = run("predict", tmp_path / "m", data)
    assert_ok(predicted)
    header, table = read_csv(predicted.stdout)
    assert header == ["label", "p0", "p1"] and table.shape == (120, 3)
    assert np.isfinite(table).all()
    np.testing.assert_allclose(table[:, 1:].sum(axis=1), 1.0, atol=1e-8)
    np.testing.assert_array_equal(table[:, 0], direct.predict(holed))


def test_model_selection_with_missing_values(tmp_path, blobs):
    X, names = blobs
    holed = X.copy()
    holed[::5, 2] = np.nan
    data = tmp_path / "holes.csv"
    with open(data, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        for row in holed:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
    result = run("fit", data, "-k", "1..3")
    assert_ok(result)
    assert "K = 2" in result.stdout


# -- 3. warnings -------------------------------------------------------------------------------
def test_segment_warnings_are_one_line_each(tmp_path):
    np.save(tmp_path / "two.npy", np.repeat([0.0, 5.0], 50).reshape(10, 10))
    result = run("segment", tmp_path / "two.npy", "-k", "2", "-o", tmp_path / "labels.npy")
    assert_ok(result)
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("emkit: warning: ") for line in lines), lines
    assert "Every one of" in result.stderr
    assert ".py:" not in result.stderr  # no source paths


# -- 4. progress -------------------------------------------------------------------------------
def test_progress_shows_on_a_pipe_only_with_verbose(fitted):
    data, _ = fitted
    quiet = run("fit", data, "-k", "1..2")
    assert_ok(quiet)
    assert quiet.stderr == ""
    verbose = run("fit", data, "-k", "1..2", "--verbose")
    assert_ok(verbose)
    lines = verbose.stderr.splitlines()
    assert lines[0].startswith(f"emkit: reading {data} (") and lines[0].endswith("...")
    assert any(line.startswith(f"emkit: reading {data}") and " done in " in line
               for line in lines)
    fits = [line for line in lines if line.startswith("emkit: fitting 2 models")]
    assert any("1/2" in line for line in fits) and any("2/2" in line for line in fits)
    assert fits[-1].split("]")[1].strip().startswith("2/2 done in")
    assert "\r" not in verbose.stderr and "\033" not in verbose.stderr


# -- 5. files: outputs never overwrite inputs --------------------------------------------------
def test_outputs_equal_to_an_input_are_refused_before_any_work(tmp_path, fitted):
    data, model = fitted
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    before = {p: digest(p) for p in (data, model, model.with_suffix(".npz"))}
    cases = [
        (["predict", model, data, "-o", data], "is DATA itself"),
        (["predict", model, data, "-o", link], "is DATA itself"),
        (["predict", model, link, "-o", data], "is DATA itself"),
        (["predict", model, data, "-o", model.with_suffix(".csv").with_suffix(".json")],
         "writes CSV"),
        (["report", model, data, "-o", data], "writes an HTML report"),
        (["impute", data, "-o", link], "is DATA itself"),
        (["impute", data, "--std", data], "is DATA itself"),
        (["fit", data, "-k", "1", "-o", data.with_suffix("")], None),
        (["hmm", "decode", model, data, "-o", data], "is DATA itself"),
        (["hmm", "fit", data, "-k", "1", "-o", data.with_suffix("")], None),
    ]
    for args, phrase in cases:
        result = run(*args)
        if phrase is None:  # MODEL.json / MODEL.npz beside DATA.csv: allowed, DATA intact
            assert_ok(result)
        else:
            assert_one_line_error(result, phrase)
        assert {p: digest(p) for p in before} == before, args


def test_outputs_of_the_other_commands_never_overwrite_inputs(tmp_path):
    np.save(tmp_path / "img.npy", np.repeat([0.0, 1.0, 5.0, 6.0], 25).reshape(10, 10))
    image = tmp_path / "img.npy"
    copy = tmp_path / "img_link.npy"
    copy.symlink_to(image)
    out = tmp_path / "out"
    out.mkdir()
    fasta = out / "meme.txt"
    fasta.write_text(">a\nACGTACGTACGTAAAACCCGGGTTT\n>b\nACGTACGTTTTGGGCCCAAAACGT\n")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("apples and pears\nstars and planets\napples pears plums\n")
    before = {p: digest(p) for p in (image, fasta, corpus)}
    cases = [
        (["segment", image, "-k", "2", "-o", copy], "is IMAGE itself"),
        (["segment", image, "-k", "2", "-o", tmp_path / "l.npy", "--probabilities", image],
         "is IMAGE itself"),
        (["segment", image, "-k", "2", "-o", tmp_path / "l.npy", "--mask", image,
          "--probabilities", copy], "itself"),
        (["motif", fasta, "-w", "4", "-o", out], "is SEQUENCES itself"),
        (["topics", corpus, "-k", "2", "--doc-topics", corpus], "is CORPUS itself"),
        (["topics", corpus, "-k", "2", "-o", corpus.with_suffix("")], None),
    ]
    for args, phrase in cases:
        result = run(*args)
        if phrase is None:
            assert_ok(result)  # corpus.json + corpus.npz beside corpus.txt
        else:
            assert_one_line_error(result, phrase)
        assert {p: digest(p) for p in before} == before, args


def npy_claiming(path, shape):
    """A .npy header for ``shape`` (float64) followed by 16 bytes: it claims far more."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": shape})
        f.write(b"\0" * 16)
    return path


def test_npy_claiming_a_tebibyte_is_one_line(tmp_path):
    claims = npy_claiming(tmp_path / "claims1tb.npy", (2 ** 36, 2))
    assert_one_line_error(run("fit", claims, "-k", "1"), "claims1tb.npy", "1.0 TiB",
                          "truncated")
    assert_one_line_error(run("segment", claims, "-k", "2", "-o", tmp_path / "l.npy"),
                          "claims1tb.npy", "1.0 TiB", "truncated")


def png_claiming(path, width, height):
    """A PNG whose header says width x height 8-bit grey pixels, with one tiny IDAT."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                     chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_png_is_one_line(tmp_path):
    from emkit.segment import read_image
    from emkit.segment._io import ImageFileError

    bomb = png_claiming(tmp_path / "bomb.png", 30000, 30000)
    with pytest.raises(ImageFileError, match=r"bomb.png: too many pixels to open safely"):
        read_image(bomb)
    assert issubclass(ImageFileError, ValueError)
    assert_one_line_error(run("segment", bomb, "-k", "2", "-o", tmp_path / "l.png"),
                          "bomb.png", "too many pixels")


# -- 6. words and checks -----------------------------------------------------------------------
def test_output_formats_are_checked_before_the_fit(tmp_path, fitted):
    data, model = fitted
    np.save(tmp_path / "vol.npy", np.random.default_rng(0).normal(size=(6, 8, 8)))
    result = run("segment", tmp_path / "vol.npy", "-k", "2", "-o", tmp_path / "x.png")
    assert_one_line_error(result, "3-D volume", ".png")
    assert not (tmp_path / "x.png").exists()
    result = run("segment", tmp_path / "vol.npy", "-k", "2", "-o", tmp_path / "x.npy",
                 "--probabilities", tmp_path / "p.tif")
    assert_one_line_error(result, "probabilities of a 3-D volume")
    assert not (tmp_path / "x.npy").exists()
    assert_one_line_error(run("fit", data, "-k", "1", "--report", tmp_path / "r.png"),
                          "--report writes an HTML report")
    assert_one_line_error(run("fit", data, "-k", "1", "--plot", tmp_path / "p.svg"),
                          "--plot writes a PNG image")
    assert_one_line_error(run("predict", model, data, "-o", tmp_path / "p.npy"),
                          "-o writes CSV")
    assert_one_line_error(run("topics", data, "--doc-topics", tmp_path / "t.json"),
                          "--doc-topics writes CSV")


def test_report_and_predict_refuse_a_hidden_markov_model(tmp_path, fitted):
    data, _ = fitted
    assert_ok(run("hmm", "fit", data, "-k", "2", "-o", tmp_path / "h"))
    for command in ("report", "predict"):
        args = [command, tmp_path / "h.json", data]
        if command == "report":
            args += ["-o", tmp_path / "r.html"]
        assert_one_line_error(run(*args), "a GaussianHMM model",
                              f"'emkit {command}' takes a GaussianMixture",
                              "emkit hmm decode")
    assert not (tmp_path / "r.html").exists()


def test_demo_help_lists_what_it_runs():
    result = run("demo", "--help")
    assert_ok(result)
    text = " ".join(result.stdout.split())
    for part in ("iris", "synthetic", "image segmentation", "motif discovery", "PLSA",
                 "--report"):
        assert part in text, part


# -- 7. report and plot ------------------------------------------------------------------------
def test_fit_plot_and_report_with_source_and_settings(tmp_path, fitted):
    data, model = fitted
    result = run("fit", data, "-k", "1..2", "--plot", tmp_path / "fit.png", "--report",
                 tmp_path / "fit.html")
    assert_ok(result)
    assert (tmp_path / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "fit.html").read_text()
    assert data.name in page and "--n-components" in page and "--random-state" in page
    result = run("report", model, data, "-o", tmp_path / "again.html")
    assert_ok(result)
    assert data.name in (tmp_path / "again.html").read_text()


# -- scale: a fit that float64 cannot hold never replaces a good model --------------------------
@pytest.mark.parametrize("scale", [1e200, 1e300])
def test_data_whose_squares_overflow_fail_cleanly_and_keep_the_old_model(tmp_path, fitted,
                                                                          blobs, scale):
    _, model = fitted
    saved = tmp_path / "model"
    for suffix in (".json", ".npz"):
        shutil.copy(model.with_suffix(suffix), saved.with_suffix(suffix))
    before = {suffix: digest(saved.with_suffix(suffix)) for suffix in (".json", ".npz")}
    X, names = blobs
    huge = write_csv(tmp_path / "huge.csv", names, X * scale)
    result = run("fit", huge, "-k", "2", "-o", saved)
    assert_one_line_error(result, "scale")
    assert {suffix: digest(saved.with_suffix(suffix)) for suffix in (".json", ".npz")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.csv", "model.json",
                                                         "model.npz"]


def test_data_at_a_large_but_representable_scale_fit_in_the_users_units(tmp_path, blobs):
    X, names = blobs
    data = write_csv(tmp_path / "big.csv", names, X * 1e120)
    result = run("fit", data, "-k", "2", "-o", tmp_path / "big")
    assert_ok(result)
    model = emkit.load(tmp_path / "big.json")
    assert np.all(np.isfinite(model.means_)) and np.isfinite(model.lower_bound_)
    found = np.sort(model.means_[:, 0])
    np.testing.assert_allclose(found, np.sort([X[:60, 0].mean(), X[60:, 0].mean()]) * 1e120,
                               rtol=1e-6)
