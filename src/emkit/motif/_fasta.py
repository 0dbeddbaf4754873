"""Reading FASTA files and encoding their sequences.

FASTA as the MEME suite reads it: a record starts with a ``>`` line whose first word is the
sequence name (the rest is its description); the sequence follows on one or more lines.
Letters may be upper or lower case; blanks, tabs and digits inside sequence lines are
ignored (GenBank-style numbered lines), as are blank lines and ``;`` comment lines. The
ambiguity codes of the alphabet (for DNA: N and IUPAC R Y S W K M B D H V) are accepted and
treated as "any letter" (see :mod:`emkit.motif._alphabet`); any other character is an error
naming the record, the line and the character. A protein record may end with ``*``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._alphabet import get_alphabet

__all__ = ["FastaRecord", "encode_sequences", "read_fasta"]

_IGNORED = " \t\r0123456789"


@dataclass(frozen=True)
class FastaRecord:
    """One FASTA record.

    Attributes
    ----------
    name : str
        First word of the header line.
    description : str
        The rest of the header line.
    sequence : str
        The letters, upper case, ambiguity codes kept.
    """

    name: str
    description: str
    sequence: str

    def __len__(self) -> int:
        return len(self.sequence)


def _text_of(source) -> tuple[str, str]:
    """(text, label for messages) of a path, a file object, or FASTA text itself."""
    if hasattr(source, "read"):
        text = source.read()
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        return text, getattr(source, "name", "<stream>")
    path = Path(os.fspath(source))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such FASTA file") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not a FASTA file") from None
    if b"\0" in data[:4096]:
        raise ValueError(f"{path} is not FASTA text (it is a binary file)")
    return data.decode("utf-8", errors="replace"), str(path)


def read_fasta(source, alphabet="dna") -> list[FastaRecord]:
    """Read the records of a FASTA file.

    Parameters
    ----------
    source : str, path-like or file object
        The file to read (a path, or an open text or binary stream).
    alphabet : {'dna', 'protein'}, default='dna'
        Letters allowed in the sequences.

    Returns
    -------
    records : list of FastaRecord
        In file order.

    Raises
    ------
    ValueError
        If the file is empty, is not FASTA (text before the first ``>`` line), has a record
        without a name or without letters, two records of the same name, or a character
        outside the alphabet; the message names the file, the record and the line.
    """
    alphabet = get_alphabet(alphabet)
    text, label = _text_of(source)
    table = alphabet.encoding_table()
    records: list[FastaRecord] = []
    seen: dict[str, int] = {}
    name = description = None
    header_line = 0
    chunks: list[str] = []

    def finish():
        sequence = "".join(chunks).upper()
        if alphabet.name == "protein" and sequence.endswith("*"):
            sequence = sequence[:-1]
        if "*" in sequence:
            raise ValueError(f"{label}: record {name!r} (line {header_line}): '*' inside "
                             "the sequence; it may only end a protein record")
        if not sequence:
            raise ValueError(f"{label}: record {name!r} (line {header_line}) has no sequence")
        records.append(FastaRecord(name, description, sequence))

    for number, line in enumerate(io.StringIO(text), start=1):
        line = line.rstrip("\n")
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.startswith(">"):
            if name is not None:
                finish()
            words = stripped[1:].split(None, 1)
            if not words:
                raise ValueError(f"{label}: line {number}: a '>' header line without a "
                                 "sequence name")
            name = words[0]
            description = words[1].strip() if len(words) > 1 else ""
            if name in seen:
                raise ValueError(f"{label}: line {number}: record {name!r} appears twice "
                                 f"(first at line {seen[name]}); sequence names must be "
                                 "unique")
            seen[name] = header_line = number
            chunks = []
            continue
        if name is None:
            raise ValueError(f"{label} is not a FASTA file: line {number} comes before any "
                             f"'>' header line: {stripped[:60]!r}")
        letters = "".join(c for c in stripped if c not in _IGNORED)
        chunks.append(letters)
        if alphabet.name == "protein":
            letters = letters.replace("*", "")  # checked where the record ends
        for char in letters:
            if ord(char) > 255 or table[ord(char)] < 0:
                raise ValueError(
                    f"{label}: record {name!r}, line {number}: character {char!r} is not a "
                    f"{alphabet.name.upper()} letter (allowed: {alphabet.letters} and the "
                    f"ambiguity codes {alphabet.ambiguous}, either case)")
    if name is None:
        raise ValueError(f"{label} is empty: no FASTA records")
    finish()
    return records


def encode_sequences(sequences, alphabet="dna") -> tuple[np.ndarray, np.ndarray]:
    """Sequences (strings or FastaRecords) as codes stored back to back.

    Returns
    -------
    codes : ndarray of int8, shape (total_length,)
        Letter codes; ambiguity letters are the alphabet's wildcard code.
    offsets : ndarray of int64, shape (n_sequences + 1,)
        Sequence ``i`` is ``codes[offsets[i]:offsets[i + 1]]``.
    """
    alphabet = get_alphabet(alphabet)
    table = alphabet.encoding_table()
    texts = [s.sequence if isinstance(s, FastaRecord) else str(s) for s in sequences]
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    raw = np.frombuffer("".join(texts).encode("latin-1", errors="replace"), dtype=np.uint8)
    codes = table[raw]
    if np.any(codes < 0):
        where = int(np.argmax(codes < 0))
        index = int(np.searchsorted(offsets, where, side="right") - 1)
        raise ValueError(f"sequence {index}: character {chr(raw[where])!r} at position "
                         f"{where - offsets[index] + 1} is not a {alphabet.name.upper()} "
                         "letter")
    return codes.astype(np.int8), offsets
