"""`emkit topics` on plain-text corpora, the corpus reader, and the demo."""

import csv
import re

import numpy as np
import pytest
from click.testing import CliRunner

import emkit
from emkit.cli import main
from emkit.topics._corpus import read_corpus
from emkit.topics._demo import python_help_corpus, run_demo

FRUIT = "apple pear plum cherry banana mango grape peach".split()
VEHICLE = "car truck bus train tram bicycle scooter lorry".split()


def subject_lines(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(FRUIT if i % 2 == 0 else VEHICLE, size=10)) + " and the"
            for i in range(n)]


def topic_lines(output):
    return [line for line in output.splitlines() if re.match(r"topic \d+ \(", line)]


def invoke(args):
    return CliRunner().invoke(main, ["topics", *map(str, args)])


def check_two_subjects(lines, n_top):
    assert len(lines) == 2
    tops = [line.split(": ", 1)[1].split() for line in lines]
    assert all(len(words) == n_top for words in tops)
    assert {frozenset(words) <= set(FRUIT) for words in tops} == {True, False}
    assert all(set(words) <= set(FRUIT) or set(words) <= set(VEHICLE) for words in tops)
    shares = [float(re.search(r"\(\s*([\d.]+)%\)", line).group(1)) for line in lines]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(100, abs=0.2)


def test_one_document_per_line(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(subject_lines()) + "\n\n   \n", encoding="utf-8")
    result = invoke([corpus, "-k", 2, "--top", 4, "--doc-topics", tmp_path / "mix.csv"])
    assert result.exit_code == 0, result.output
    assert "30 documents" in result.output and "16 words in the vocabulary" in result.output
    check_two_subjects(topic_lines(result.output), 4)
    rows = list(csv.reader(open(tmp_path / "mix.csv", encoding="utf-8")))
    assert rows[0] == ["document", "topic 1", "topic 2"] and len(rows) == 31
    assert rows[1][0] == "corpus.txt:1" and rows[-1][0] == "corpus.txt:30"
    mixtures = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(mixtures.sum(axis=1), 1.0)
    # fruit lines (odd line numbers) and vehicle lines fall in different topics
    fruit = mixtures[0::2].argmax(axis=1)
    assert len(set(fruit)) == 1 and set(mixtures[1::2].argmax(axis=1)) == {1 - fruit[0]}


def test_one_document_per_file_and_saved_model(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    for i, line in enumerate(subject_lines(20)):
        (folder / ("sub" if i % 3 else ".") / f"doc{i}.txt").write_text(line, encoding="utf-8")
    (folder / ".hidden").write_text("zebra " * 50, encoding="utf-8")
    result = invoke([folder, "-k", 2, "--top", 3, "--tempering", 0.9, "-o",
                     tmp_path / "model"])
    assert result.exit_code == 0, result.output
    assert "20 documents" in result.output and "zebra" not in result.output
    assert "tempered log-likelihood per word" in result.output
    check_two_subjects(topic_lines(result.output), 3)
    model = emkit.load(tmp_path / "model")
    assert model.components_.shape == (2, 16) and model.tempering == 0.9


@pytest.mark.parametrize("setup, args, message", [
    (lambda p: None, ["missing.txt"], "does not exist"),
    (lambda p: (p / "blank.txt").write_text("\n  \n"), ["blank.txt"], "no non-blank line"),
    (lambda p: (p / "empty").mkdir(), ["empty"], "holds no text file"),
    (lambda p: (p / "z.gz").write_bytes(b"\x1f\x8b\0\0"), ["z.gz"], "binary file"),
    (lambda p: (p / "stop.txt").write_text("the and of\nit is\n"), ["stop.txt"],
     "empty vocabulary"),
    (lambda p: (p / "c.txt").write_text("a b\n"), ["c.txt", "-k", "0"], "-k"),
    (lambda p: (p / "c.txt").write_text("apple pear\n"), ["c.txt", "--tempering", "0"],
     "tempering"),
])
def test_errors_are_one_clear_line(tmp_path, monkeypatch, setup, args, message):
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    result = invoke(args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_read_corpus_names(tmp_path):
    (tmp_path / "a.txt").write_text("first\n\nsecond line\n", encoding="utf-8")
    documents, names = read_corpus(tmp_path / "a.txt")
    assert documents == ["first", "second line"] and names == ["a.txt:1", "a.txt:3"]
    (tmp_path / "b.txt").write_bytes(b"caf\xe9 ok")  # not UTF-8: replaced, not refused
    (tmp_path / "c.gz").write_bytes(b"\x1f\x8b\x08\0data")  # binary: skipped
    documents, names = read_corpus(tmp_path)
    assert names == ["a.txt", "b.txt"] and documents[1].endswith(" ok")


def test_demo_prints_readable_topics(tmp_path, capsys):
    documents = python_help_corpus()
    assert len(documents) > 500
    lines = run_demo(seed=0, out_dir=tmp_path)
    out = capsys.readouterr().out
    assert "pydoc_data.topics" in out and len(lines) == 10
    assert (tmp_path / "topics.txt").read_text(encoding="utf-8").splitlines() == lines
    words = {w for line in lines for w in line.split(": ", 1)[1].split()}
    # Python's help texts are about these things; a readable fit names them
    assert {"exception", "class", "module", "string"} <= words
