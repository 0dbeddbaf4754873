"""MEME minimal motif format (round trip, published layout), JSON, consensus, E-values,
logos."""

import io
import json
import math

import numpy as np
import pytest
from scipy.stats import chi2

from emkit.motif import Motif, iupac_consensus, read_meme, write_meme
from emkit.motif._evalue import chi2_logsf, log10_evalue, log_site_combinations, site_llr
from emkit.motif._logo import plot_logo
from emkit.motif._motif import format_evalue

# The example of the published specification (meme-suite.org/meme/doc/meme-format.html),
# abridged: two motifs, a URL line, a background spread over two lines.
PUBLISHED = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.303 C 0.183
G 0.209 T 0.306

MOTIF crp
letter-probability matrix: alength= 4 w= 3 nsites= 17 E= 4.1e-009
 0.000000  0.176471  0.000000  0.823529
 0.000000  0.058824  0.647059  0.294118
 0.000000  0.058824  0.000000  0.941176
URL http://example.org/crp

MOTIF lexA LEXA-ALT
letter-probability matrix: alength= 4 w= 2 nsites= 14 E= 3.2e-035
 0.214286  0.000000  0.000000  0.785714
 0.857143  0.000000  0.071429  0.071429
"""


def _motifs():
    rng = np.random.RandomState(0)
    return [Motif("ACGTNA", rng.dirichlet(np.ones(4), size=6), "dna", "MEME-1", 12, -412.3,
                  80.0),
            Motif("TTW", rng.dirichlet(np.ones(4), size=3), "dna", "MEME-2", 5, 1.5, 3.0)]


def test_reads_the_published_example():
    parsed = read_meme(io.StringIO(PUBLISHED))
    assert parsed.version == "4" and parsed.alphabet == "dna"
    assert parsed.strands == ("+", "-")
    np.testing.assert_allclose(parsed.background, [0.303, 0.183, 0.209, 0.306])
    crp, lexa = parsed.motifs
    assert (crp.name, crp.alt_name, crp.nsites, crp.width) == ("crp", "", 17, 3)
    assert crp.log10_evalue == pytest.approx(math.log10(4.1e-9))
    assert crp.ppm[0].tolist() == [0.0, 0.176471, 0.0, 0.823529]
    assert (lexa.name, lexa.alt_name, lexa.width) == ("lexA", "LEXA-ALT", 2)


def test_round_trip(tmp_path):
    motifs = _motifs()
    path = tmp_path / "m.meme"
    write_meme(motifs, path, background=[0.3, 0.2, 0.2, 0.3])
    parsed = read_meme(path)
    assert parsed.strands == ("+", "-")
    np.testing.assert_allclose(parsed.background, [0.3, 0.2, 0.2, 0.3])
    assert len(parsed.motifs) == 2
    for original, back in zip(motifs, parsed.motifs):
        assert (back.name, back.alt_name, back.nsites) == (original.name, original.alt_name,
                                                            original.nsites)
        np.testing.assert_allclose(back.ppm, original.ppm, atol=5e-7)
        # E-values round to 2 significant digits, even far below the float range
        assert back.log10_evalue == pytest.approx(original.log10_evalue, abs=0.03)


def test_written_layout_follows_the_specification(tmp_path):
    path = tmp_path / "m.meme"
    write_meme(_motifs(), path, revcomp=False)
    lines = path.read_text().splitlines()
    assert lines[0] == "MEME version 5"
    assert "ALPHABET= ACGT" in lines and "strands: +" in lines
    bg = lines.index("Background letter frequencies")
    assert lines[bg + 1].split()[0::2] == ["A", "C", "G", "T"]
    motif = lines.index("MOTIF ACGTNA MEME-1")
    assert lines[motif + 1] == ("letter-probability matrix: alength= 4 w= 6 nsites= 12 "
                                "E= 5.0e-413")
    rows = [[float(v) for v in line.split()] for line in lines[motif + 2:motif + 8]]
    assert all(len(r) == 4 and abs(sum(r) - 1) < 1e-5 for r in rows)
    assert lines[motif + 8] == ""


def test_protein_alphabet_round_trip(tmp_path):
    ppm = np.random.RandomState(1).dirichlet(np.ones(20), size=4)
    path = tmp_path / "p.meme"
    write_meme([Motif("X", ppm, "protein", "MEME-1", 3, -2.0)], path, alphabet="protein")
    text = path.read_text()
    assert "ALPHABET= ACDEFGHIKLMNPQRSTVWY" in text and "strands" not in text
    parsed = read_meme(path)
    assert parsed.alphabet == "protein" and parsed.motifs[0].ppm.shape == (4, 20)


@pytest.mark.parametrize("text, pattern", [
    ("MOTIF a\n", "line 1: MOTIF before the 'MEME version' line"),
    ("hello\n", "no 'MEME version' line"),
    ("MEME version 5\n\nMOTIF a\nletter-probability matrix: alength= 4 w= 2\n 0.1 0.2 0.7\n",
     r"line 5: motif 'a': row 1 has 3 values, alength= is 4"),
    ("MEME version 5\nMOTIF a\nletter-probability matrix: alength= 4 w= 3\n"
     " 0.25 0.25 0.25 0.25\n", "motif 'a' ends after 1 of 3 rows"),
    ("MEME version 5\nALPHABET= ACGU\n", "neither DNA"),
])
def test_malformed_files(text, pattern):
    with pytest.raises(ValueError, match=pattern):
        read_meme(io.StringIO(text))


def test_write_rejects_a_wrong_matrix(tmp_path):
    with pytest.raises(ValueError, match="motif 1 .* shape"):
        write_meme([Motif("a", np.ones((3, 5)) / 5)], tmp_path / "x.meme")


def test_consensus_follows_cavener_rules():
    ppm = np.array([[0.9, 0.05, 0.03, 0.02],   # A: > 0.5 and twice the second
                    [0.45, 0.05, 0.45, 0.05],  # A+G > 0.75: R
                    [0.55, 0.3, 0.1, 0.05],    # > 0.5 but not twice the second; A+C: M
                    [0.25, 0.25, 0.25, 0.25],  # N
                    [0.05, 0.05, 0.1, 0.8]])   # T
    assert iupac_consensus(ppm) == "ARMNT"
    motif = Motif("m", ppm)
    assert motif.reverse_complement().consensus == "ANKYT"


def test_information_content():
    motif = Motif("m", np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0, 0]]))
    np.testing.assert_allclose(motif.information_content, [2.0, 0.0, 1.0])


def test_json_of_a_motif_is_complete():
    motif = _motifs()[0]
    data = json.loads(json.dumps(motif.to_dict()))
    assert data["width"] == 6 and data["letters"] == "ACGT"
    assert data["evalue"] == "5.0e-413"
    assert np.allclose(data["ppm"], motif.ppm)


def test_evalue_formatting():
    assert format_evalue(-8.387) == "4.1e-009"
    assert format_evalue(math.log10(3.2e-35)) == "3.2e-035"
    assert format_evalue(0.0) == "1.0e+000"
    assert format_evalue(2.5) == "3.2e+002"


def test_chi2_tail_is_finite_and_exact_where_scipy_is():
    for x, df in [(10.0, 3), (200.0, 57), (1400.0, 57)]:
        assert chi2_logsf(x, df) == pytest.approx(chi2.logsf(x, df), rel=1e-10)
    # beyond the float range: finite, decreasing, and close to the leading asymptote
    a, b = chi2_logsf(4000.0, 57), chi2_logsf(5000.0, 57)
    assert np.isfinite(a) and b < a
    leading = -2000.0 + 27.5 * math.log(2000.0) - math.lgamma(28.5)
    assert a == pytest.approx(leading, abs=0.1)


def test_site_llr_and_evalue_definition():
    counts = np.array([[10, 0, 0, 0], [0, 5, 5, 0]], dtype=float)
    bg = np.full(4, 0.25)
    llr = site_llr(counts, bg)
    assert llr == pytest.approx(10 * math.log(4) + 10 * math.log(2))
    windows = np.array([20, 30, 40])
    assert log_site_combinations("oops", windows, 3) == pytest.approx(math.log(24000))
    assert log_site_combinations("zoops", windows, 2) == pytest.approx(
        math.log(3) + 2 * math.log(30))
    assert log_site_combinations("tcm", windows, 2) == pytest.approx(math.log(90 * 89 / 2))
    expected = (chi2.logsf(2 * llr, 6) + math.log(24000)) / math.log(10)
    assert log10_evalue(llr, 2, 4, "oops", windows, 3) == pytest.approx(expected)


def test_logo_png(tmp_path):
    path = tmp_path / "logo.png"
    fig = plot_logo(_motifs()[0], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    heights = [sum(p.get_path().get_extents().height for p in ax.patches) for ax in fig.axes]
    assert heights[0] > 0
