"""`emkit motif`: a FASTA file in, MEME motif file, JSON and logos out; clear errors."""

import json

import pytest
from click.testing import CliRunner

from emkit.motif import make_planted_motif, ppm_distance, read_meme
from emkit.motif._cli import command


@pytest.fixture
def fasta(tmp_path):
    data = make_planted_motif(12, 70, 10, 0.95, site_fraction=0.85, reverse_fraction=0.4,
                              random_state=0)
    path = tmp_path / "seqs.fa"
    path.write_text("".join(f">s{i} planted\n{seq[:35]}\n{seq[35:].lower()}\n"
                            for i, seq in enumerate(data.sequences)))
    return path, data


def test_command_writes_meme_json_and_logos(fasta, tmp_path):
    path, data = fasta
    out = tmp_path / "out"
    result = CliRunner().invoke(command, [str(path), "--width", "9..11", "--model", "zoops",
                                          "--n-motifs", "2", "--n-starts", "40", "-o",
                                          str(out)])
    assert result.exit_code == 0, result.output
    assert "MEME-1" in result.output and "MEME-2" in result.output
    parsed = read_meme(out / "meme.txt")
    assert [m.alt_name for m in parsed.motifs] == ["MEME-1", "MEME-2"]
    report = json.loads((out / "motifs.json").read_text())
    assert report["model"] == "zoops" and len(report["motifs"]) == 2
    first = report["motifs"][0]
    assert first["consensus"] == parsed.motifs[0].name
    assert {s["sequence"] for s in first["sites"]} <= {f"s{i}" for i in range(12)}
    assert all(s["strand"] in "+-" and s["position"] >= 1 for s in first["sites"])
    assert (out / "logo1.png").exists() and (out / "logo2.png").exists()
    # the first motif is the planted one, with most of its sites
    assert ppm_distance(parsed.motifs[0].ppm, data.ppm)[0] < 0.2
    assert first["nsites"] >= 9


@pytest.mark.parametrize("content, args, message", [
    ("", [], "is empty: no FASTA records"),
    ("hello world\n", [], "is not a FASTA file"),
    (">a\nACGTACGTAC\n>b\nACGTAXGTAC\n", ["-w", "5"], "record 'b', line 4: character 'X'"),
    (">a\nACGTACGTAC\n>b\nACG\n", ["-w", "5"], "'b' (3 letters)"),
    (">a\nACGTACGTAC\n", ["-w", "x..y"], "width must be an int or a range"),
])
def test_errors_are_clear(tmp_path, content, args, message):
    path = tmp_path / "bad.fa"
    path.write_text(content)
    result = CliRunner().invoke(command, [str(path), "-o", str(tmp_path / "o"), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_file(tmp_path):
    result = CliRunner().invoke(command, [str(tmp_path / "none.fa")])
    assert result.exit_code != 0 and "no such FASTA file" in result.output


def test_demo_finds_the_planted_motif(tmp_path, capsys):
    from emkit.motif._demo import run_demo

    meme = run_demo(seed=0, out_dir=tmp_path)
    printed = capsys.readouterr().out
    assert "MEME-1" in printed and "site recall" in printed
    assert len(read_meme(tmp_path / "meme.txt").motifs) == 1
    assert meme.motifs_[0].width in (11, 12, 13)
