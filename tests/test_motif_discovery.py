"""MEME end to end: planted motifs found again (every seed), both strands, several motifs,
TCM, width search, the real CRP data, save/load, degenerate and bad input."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from emkit import io as emkit_io
from emkit.motif import (MEME, FastaRecord, make_planted_motif, planted_ppm, read_fasta,
                         score_planted)

CRP = Path(__file__).resolve().parents[2] / "shared" / "data" / "crp0.fna"


def _fit(data, **params):
    params = {"n_starts": 60, "max_iter": 60, "tol": 1e-4, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a refined start may stop at max_iter
        return MEME(**params).fit(data.sequences)


@pytest.mark.parametrize("model, site_fraction", [("oops", 1.0), ("zoops", 0.7)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_strong_planted_motif_found_in_every_seed(model, site_fraction, seed):
    data = make_planted_motif(15, 80, 12, 0.95, site_fraction=site_fraction,
                              reverse_fraction=0.3, random_state=seed)
    meme = _fit(data, width=12, model=model, random_state=seed)
    score = score_planted(meme.motifs_[0], data)
    assert score.recall >= 0.9 and score.precision >= 0.8, score
    assert score.distance < 0.15, score
    if model == "oops":
        assert meme.motifs_[0].nsites == 15
    else:  # ZOOPS learns how many sequences hold a site
        assert abs(meme.motifs_[0].nsites - len(data.sites)) <= 2
        assert 0.5 <= meme.prior_[0] <= 1.0


def test_reverse_strand_sites_are_reported_on_minus():
    # A non-palindromic motif planted on '-' in every sequence; starts taken from + only
    # would find it as its reverse complement, so check against the orientation found.
    ppm = planted_ppm(10, 0.92, random_state=5)
    data = make_planted_motif(12, 80, ppm=ppm, reverse_fraction=1.0, random_state=5)
    motif = _fit(data, width=10, model="oops").motifs_[0]
    score = score_planted(motif, data)
    assert score.recall == 1.0 and score.distance < 0.15
    expected = "+" if score.reverse else "-"
    assert [s.strand for s in motif.sites] == [expected] * 12
    # sites are read on their strand: they match the found matrix's consensus best
    consensus = "".join("ACGT"[k] for k in motif.ppm.argmax(axis=1))
    mismatches = [sum(a != b for a, b in zip(s.site, consensus)) for s in motif.sites]
    assert np.mean(mismatches) < 2


def test_forward_only_search_misses_nothing_on_plus():
    data = make_planted_motif(12, 80, 12, 0.95, random_state=6)
    meme = _fit(data, width=12, model="oops", revcomp=False)
    motif = meme.motifs_[0]
    assert {s.strand for s in motif.sites} == {"+"}
    assert score_planted(motif, data).recall == 1.0


def test_two_motifs_found_by_erasing():
    rng = np.random.RandomState(7)
    first = make_planted_motif(12, 120, 9, 0.95, random_state=rng)
    second = make_planted_motif(12, 20, ppm=planted_ppm(9, 0.95, rng), random_state=rng)
    # plant the second motif's matrix into the first data set, away from the first sites
    sequences = []
    truth = []
    for (i, start, _), seq in zip(first.sites, first.sequences):
        where = 100 if start < 50 else 10
        site = "".join("ACGT"[rng.choice(4, p=c)] for c in second.ppm)
        sequences.append(seq[:where] + site + seq[where + 9:])
        truth.append((i, where, "+"))
    first.sequences = sequences
    second.sites, second.sequences = truth, sequences
    meme = _fit(first, width=9, model="oops", n_motifs=2, revcomp=False)
    scores = sorted([score_planted(m, d).recall for m in meme.motifs_]
                    for d in (first, second))
    # each planted motif is recovered by one of the two motifs found
    assert max(scores[0]) >= 0.9 and max(scores[1]) >= 0.9
    assert [m.alt_name for m in meme.motifs_] == ["MEME-1", "MEME-2"]


def test_tcm_finds_several_sites_per_sequence():
    rng = np.random.RandomState(3)
    ppm = planted_ppm(8, 0.95, rng)
    data = make_planted_motif(8, 100, ppm=ppm, random_state=rng)
    sequences, sites = [], list(data.sites)
    for (i, start, _), seq in zip(data.sites, data.sequences):  # a second site, far away
        where = (start + 50) % 92
        site = "".join("ACGT"[rng.choice(4, p=c)] for c in ppm)
        sequences.append(seq[:where] + site + seq[where + 8:])
        sites.append((i, where, "+"))
    data.sequences, data.sites = sequences, sites
    meme = _fit(data, width=8, model="tcm", revcomp=False)
    score = score_planted(meme.motifs_[0], data)
    assert score.recall >= 0.85 and score.precision >= 0.8, score
    assert meme.motifs_[0].nsites >= 14


def test_width_searched_by_evalue():
    data = make_planted_motif(15, 80, 10, 0.95, random_state=4)
    meme = _fit(data, width=(7, 13), model="oops")
    table = meme.width_log10_evalues_[0]
    assert table[:, 0].tolist() == list(range(7, 14))
    assert meme.motifs_[0].width == table[np.argmin(table[:, 1]), 0]
    assert 9 <= meme.motifs_[0].width <= 11
    assert score_planted(meme.motifs_[0], data).recall >= 0.9


@pytest.mark.parametrize("order", [0, 1, 2])
def test_background_orders_fit_and_give_finite_results(order):
    data = make_planted_motif(20, 100, 10, 0.95, random_state=order)
    meme = _fit(data, width=10, model="zoops", background_order=order)
    assert [t.shape for t in meme.background_tables_] == [(4 ** o, 4) for o in
                                                          range(order + 1)]
    assert np.isfinite(meme.lower_bound_).all() and np.isfinite(meme.log10_evalue_).all()
    assert score_planted(meme.motifs_[0], data).recall >= 0.8


def test_crp_real_data():
    if not CRP.exists():
        pytest.skip(f"the CRP data set is not at {CRP} (it lives in ../shared/data)")
    records = read_fasta(CRP)
    known = {r.name: [int(p) for p in r.description.split()] for r in records}
    meme = MEME(width=(18, 22), model="zoops", random_state=0).fit(CRP)
    motif = meme.motifs_[0]
    consensus = motif.consensus
    both = consensus + " " + motif.reverse_complement().consensus
    assert re.search(r"TGTGA.{6}TCACA", both), consensus
    found = sum(any(abs(s.position - k) <= 2 for k in known[s.sequence_name])
                for s in motif.sites)
    assert found >= 15, (found, len(motif.sites))  # of 18 sequences (24 known sites)
    assert motif.log10_evalue < -5


def test_save_and_load_round_trip(tmp_path):
    data = make_planted_motif(8, 50, 8, 0.9, random_state=0)
    meme = _fit(data, width=8, model="zoops")
    emkit_io.save(meme, tmp_path / "meme")
    back = emkit_io.load(tmp_path / "meme")
    assert back.get_params() == meme.get_params()
    for a, b in zip(meme.motifs_, back.motifs_):
        np.testing.assert_array_equal(a.ppm, b.ppm)
        assert a.sites == b.sites and a.name == b.name
        assert a.log10_evalue == b.log10_evalue


def test_same_seed_same_result():
    data = make_planted_motif(10, 300, 8, 0.8, random_state=0)  # more windows than starts
    a = _fit(data, width=8, n_starts=30, random_state=3)
    b = _fit(data, width=8, n_starts=30, random_state=3)
    np.testing.assert_array_equal(a.ppms_[0], b.ppms_[0])


@pytest.mark.parametrize("sequences", [
    ["AAAAAAAAAAAAAAAAAAAA"] * 5,  # one letter only
    ["ACGTACGTACGTACGT"] * 4,      # identical sequences
    ["NNNNNACGTNNNNNNNTTGA", "ACNNNNNNNNNNNNNNNNNG", "GGGGGGGGGG"],  # mostly wildcards
])
@pytest.mark.parametrize("model", ["oops", "zoops", "tcm"])
def test_degenerate_data_gives_no_nan(sequences, model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meme = MEME(width=(4, 6), model=model, n_starts=20, max_iter=20,
                    random_state=0).fit(sequences)
    for motif in meme.motifs_:
        assert np.all(np.isfinite(motif.ppm))
        np.testing.assert_allclose(motif.ppm.sum(axis=1), 1.0)
        assert not np.isnan(motif.log10_evalue) and not np.isnan(motif.llr)


def test_protein_motif():
    rng = np.random.RandomState(0)
    letters = "ACDEFGHIKLMNPQRSTVWY"
    motif = "WHCKPY"
    sequences = []
    for _ in range(10):
        seq = list(rng.choice(list(letters), size=40))
        start = rng.randint(0, 34)
        seq[start:start + 6] = motif
        sequences.append("".join(seq))
    meme = MEME(width=6, model="oops", alphabet="protein", revcomp=False, n_starts=50,
                random_state=0).fit(sequences)
    assert meme.motifs_[0].consensus == motif


@pytest.mark.parametrize("params, sequences, pattern", [
    ({"width": 10}, ["ACGTACGTACGT", "ACGT"], r"shorter than the motif width 10: 'seq2' "
                                                r"\(4 letters\)"),
    ({"width": (5, 30)}, ["A" * 40, "C" * 20], r"'seq2' \(20 letters\)"),
    ({"width": 4}, [FastaRecord("r1", "", "ACGTT"), FastaRecord("r2", "", "NNNNN")],
     "sequence 'r2' has only ambiguity letters"),
    ({"width": 4}, ["ACGTZ"], "character 'Z'"),
    ({"width": 4}, [], "no sequences"),
    ({"width": 1}, ["ACGT"], "width must be at least 2"),
    ({"width": (6, 4)}, ["ACGTACGT"], "min <= max"),
    ({"width": "a..b"}, ["ACGTACGT"], "width must be an int or a range"),
    ({"width": 4, "model": "two"}, ["ACGTACGT"], "'model' parameter"),
    ({"width": 4, "alphabet": "protein"}, ["ACDEF"], "revcomp=True needs a DNA alphabet"),
    ({"width": 4, "pseudocount": 0.0}, ["ACGTACGT"], "'pseudocount' parameter"),
])
def test_bad_input(params, sequences, pattern):
    with pytest.raises(ValueError, match=pattern):
        MEME(**params).fit(sequences)


def test_bad_fasta_file_named(tmp_path):
    path = tmp_path / "s.fa"
    path.write_text(">good\nACGTACGTAC\n>short\nACG\n")
    with pytest.raises(ValueError, match="'short' \\(3 letters\\)"):
        MEME(width=5).fit(path)
    with pytest.raises(TypeError, match="item 0 is a int"):
        MEME(width=5).fit([1, 2])


def test_load_rejects_inconsistent_arrays():
    data = make_planted_motif(6, 40, 6, 0.95, random_state=0)
    meme = _fit(data, width=6, model="oops")
    meme._check_loaded_arrays()  # a fitted model is consistent
    meme.ppms_ = [meme.ppms_[0][:, :3]]
    with pytest.raises(ValueError, match="motif 1: the matrix"):
        meme._check_loaded_arrays()


def test_reverse_complemented_input_mirrors_the_fit():
    # Both strands make the model symmetric: the fit on the reverse-complemented sequences
    # is the mirror image of the fit on the sequences: the matrix reverse-complemented, and
    # every site at the mirrored position on the same strand (both the motif and the
    # sequence flipped).
    data = make_planted_motif(10, 50, 8, 0.9, reverse_fraction=0.5, random_state=9)
    table = str.maketrans("ACGT", "TGCA")
    mirrored = [s.translate(table)[::-1] for s in data.sequences]
    params = {"width": 8, "model": "zoops", "n_starts": 10_000, "n_refine": 3,
              "random_state": 0}
    a = MEME(**params).fit(data.sequences).motifs_[0]
    b = MEME(**params).fit(mirrored).motifs_[0]
    np.testing.assert_allclose(b.ppm, a.reverse_complement().ppm, atol=1e-6)
    mirror = {(s.sequence_index, s.strand, 50 - 8 + 2 - s.position) for s in a.sites}
    assert {(s.sequence_index, s.strand, s.position) for s in b.sites} == mirror
    assert {s.strand for s in a.sites} == {"+", "-"}
