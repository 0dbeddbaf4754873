"""FASTA reading and encoding for motif discovery: formats accepted, errors naming records."""

import io

import numpy as np
import pytest

from emkit.motif import DNA, encode_sequences, read_fasta


def test_multiline_records_case_and_descriptions(tmp_path):
    path = tmp_path / "s.fa"
    path.write_text(">one first record\nACGTac\ngtNN\n\n; a comment\n>two\r\nttgca 12\n"
                    ">three\n  A C G T\n")
    records = read_fasta(path)
    assert [r.name for r in records] == ["one", "two", "three"]
    assert records[0].description == "first record"
    assert records[0].sequence == "ACGTACGTNN"
    assert records[1].sequence == "TTGCA"  # digits and blanks ignored, upper-cased
    assert records[2].sequence == "ACGT"


def test_iupac_codes_are_wildcards():
    records = read_fasta(io.StringIO(">x\nACRYSWKMBDHVNT\n"))
    codes, offsets = encode_sequences(records)
    assert offsets.tolist() == [0, 14]
    assert codes.tolist() == [0, 1] + [DNA.wildcard] * 11 + [3]


def test_protein_records_and_stop():
    records = read_fasta(io.StringIO(">p\nMKV\nLX*\n"), alphabet="protein")
    assert records[0].sequence == "MKVLX"
    with pytest.raises(ValueError, match=r"'p'.*'\*' inside"):
        read_fasta(io.StringIO(">p\nMK*VL\n"), alphabet="protein")


@pytest.mark.parametrize("text, pattern", [
    ("", "empty: no FASTA records"),
    ("\n\n  \n", "empty: no FASTA records"),
    ("just some text\nmore text\n", "not a FASTA file: line 1"),
    ("ACGT\n>x\nACGT\n", "not a FASTA file: line 1"),
    (">a\nACGT\n>b\nACGTZ\n", r"record 'b', line 4: character 'Z' is not a DNA letter"),
    (">a\nACGU\n", r"record 'a', line 2: character 'U'"),
    (">a\nAC-GT\n", r"record 'a', line 2: character '-'"),
    (">a\n>b\nACGT\n", r"record 'a' \(line 1\) has no sequence"),
    (">\nACGT\n", "header line without a sequence name"),
    (">a\nAC\n>a\nGT\n", "record 'a' appears twice"),
])
def test_bad_input_names_the_problem(tmp_path, text, pattern):
    path = tmp_path / "bad.fa"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        read_fasta(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such FASTA file"):
        read_fasta(tmp_path / "absent.fa")
    binary = tmp_path / "x.fa"
    binary.write_bytes(b">a\x00\x01\x02")
    with pytest.raises(ValueError, match="binary"):
        read_fasta(binary)


def test_encode_plain_strings():
    codes, offsets = encode_sequences(["acg", "TTN"])
    assert offsets.tolist() == [0, 3, 6]
    assert codes.tolist() == [0, 1, 2, 3, 3, 4]
    assert codes.dtype == np.int8
