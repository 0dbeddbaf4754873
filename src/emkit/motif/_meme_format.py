"""MEME's minimal motif format: the text the MEME suite's tools (FIMO, Tomtom, SEA, MAST,
CentriMo, ...) read as motif input.

Layout, as published at https://meme-suite.org/meme/doc/meme-format.html::

    MEME version 5

    ALPHABET= ACGT

    strands: + -

    Background letter frequencies
    A 0.303 C 0.183 G 0.209 T 0.306

    MOTIF TGTGANNNNNNTCACA MEME-1
    letter-probability matrix: alength= 4 w= 16 nsites= 17 E= 4.1e-009
     0.000000  0.176471  0.000000  0.823529
     ...

The version line is required; the alphabet, strands and background sections are optional
(strands only for DNA); each motif is a ``MOTIF identifier [alternate name]`` line, then a
``letter-probability matrix:`` line with ``alength= w= nsites= E=``, then ``w`` rows of
``alength`` probabilities, optionally a ``URL`` line.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._alphabet import DNA, PROTEIN, get_alphabet
from ._motif import Motif, format_evalue

__all__ = ["MotifFile", "read_meme", "write_meme"]

_KEY_VALUE = re.compile(r"(\w+)=\s*(\S+)")


@dataclass
class MotifFile:
    """What a MEME motif file holds.

    Attributes
    ----------
    version : str
    alphabet : str
        'dna' or 'protein'.
    strands : tuple of str
        ('+', '-'), ('+',) or () when the file does not say.
    background : ndarray or None
        Background letter frequencies, in the alphabet's order.
    motifs : list of Motif
    """

    version: str
    alphabet: str
    strands: tuple = ()
    background: np.ndarray | None = None
    motifs: list = field(default_factory=list)


def _log10_of(text: str) -> float:
    """log10 of a number written as text, even below the float range ('1.2e-500')."""
    mantissa, _, exponent = text.lower().partition("e")
    value = float(mantissa)
    if value <= 0:
        return float("-inf")
    return float(np.log10(value)) + (int(exponent) if exponent else 0)


def write_meme(motifs, path, *, alphabet="dna", background=None, revcomp=True,
               version="5") -> None:
    """Write motifs in MEME's minimal motif format.

    Parameters
    ----------
    motifs : list of Motif
    path : str, path-like or text stream
    alphabet : {'dna', 'protein'}, default='dna'
    background : array of shape (alphabet size,), optional
        Background letter frequencies; uniform when left out.
    revcomp : bool, default=True
        Whether the motifs may occur on both strands (the ``strands:`` line, DNA only).
    version : str, default='5'
        The MEME version the file declares.
    """
    alphabet = get_alphabet(alphabet)
    A = alphabet.size
    background = np.full(A, 1.0 / A) if background is None else np.asarray(background, float)
    if background.shape != (A,):
        raise ValueError(f"background must have {A} frequencies, got shape "
                         f"{background.shape}")
    lines = [f"MEME version {version}", "", f"ALPHABET= {alphabet.letters}", ""]
    if alphabet.has_strands:
        lines += ["strands: + -" if revcomp else "strands: +", ""]
    lines += ["Background letter frequencies",
              " ".join(f"{a} {f:.6f}" for a, f in zip(alphabet.letters, background)), ""]
    for k, motif in enumerate(motifs):
        ppm = np.asarray(motif.ppm, dtype=float)
        if ppm.ndim != 2 or ppm.shape[1] != A:
            raise ValueError(f"motif {k + 1} ({motif.name!r}) has a matrix of shape "
                             f"{ppm.shape}; the {alphabet.name} alphabet needs {A} columns")
        name = motif.name or motif.consensus
        header = f"MOTIF {name}" + (f" {motif.alt_name}" if motif.alt_name else "")
        evalue = format_evalue(motif.log10_evalue) if motif.log10_evalue is not None else "0"
        lines += [header,
                  f"letter-probability matrix: alength= {A} w= {ppm.shape[0]} "
                  f"nsites= {int(motif.nsites)} E= {evalue}"]
        lines += [" " + " ".join(f"{p:9.6f}" for p in row) for row in ppm]
        lines.append("")
    text = "\n".join(lines)
    if hasattr(path, "write"):
        path.write(text)
    else:
        Path(os.fspath(path)).write_text(text)


def read_meme(source) -> MotifFile:
    """Read a file in MEME's minimal motif format (also MEME's full text output, whose
    letter-probability matrices it reads).

    Parameters
    ----------
    source : str, path-like or text stream

    Returns
    -------
    MotifFile

    Raises
    ------
    ValueError
        When the file lacks the version line, declares an alphabet other than DNA or
        protein, or has a matrix whose size does not match its header; the message names
        the line.
    """
    if hasattr(source, "read"):
        text, label = source.read(), getattr(source, "name", "<stream>")
    else:
        text, label = Path(os.fspath(source)).read_text(), str(source)
    lines = io.StringIO(text).read().splitlines()
    version = None
    letters = None
    strands: tuple = ()
    background = None
    motifs = []
    n = 0

    def fail(number, problem):
        return ValueError(f"{label}: line {number}: {problem}")

    current = None  # (name, alt) of the MOTIF line being read
    while n < len(lines):
        line = lines[n].strip()
        n += 1
        if line.startswith("MEME version"):
            version = line.split()[2] if len(line.split()) > 2 else ""
        elif line.startswith("ALPHABET="):
            letters = line.split("=", 1)[1].strip()
        elif line.startswith("ALPHABET"):
            raise fail(n, "custom alphabet definitions are not supported; use ALPHABET= "
                          "ACGT or the 20 amino acids")
        elif line.startswith("strands:"):
            strands = tuple(line.split()[1:])
        elif line.startswith("Background letter frequencies"):
            values = []
            while n < len(lines) and lines[n].strip():
                values += lines[n].split()
                n += 1
            pairs = dict(zip(values[0::2], values[1::2]))
            background = pairs
        elif line.startswith("MOTIF"):
            if version is None:
                raise fail(n, "MOTIF before the 'MEME version' line: not a MEME motif file")
            words = line.split()
            if len(words) < 2:
                raise fail(n, "a MOTIF line without an identifier")
            current = (words[1], words[2] if len(words) > 2 else "")
        elif line.startswith("letter-probability matrix"):
            if current is None:
                raise fail(n, "a letter-probability matrix without a MOTIF line")
            fields = dict(_KEY_VALUE.findall(line))
            alphabet_letters = letters or DNA.letters
            alength = int(fields.get("alength", len(alphabet_letters)))
            if "w" not in fields:
                raise fail(n, "letter-probability matrix without w=")
            w = int(fields["w"])
            rows = []
            while len(rows) < w:
                if n >= len(lines):
                    raise fail(n, f"motif {current[0]!r} ends after {len(rows)} of {w} rows")
                row = lines[n].split()
                n += 1
                if not row:
                    continue
                try:
                    values = [float(v) for v in row]
                except ValueError:
                    raise fail(n, f"motif {current[0]!r}: row {len(rows) + 1} is not "
                                  f"numbers: {lines[n - 1].strip()!r}") from None
                if len(values) != alength:
                    raise fail(n, f"motif {current[0]!r}: row {len(rows) + 1} has "
                                  f"{len(values)} values, alength= is {alength}")
                rows.append(values)
            if letters is None and alength == PROTEIN.size:
                letters = PROTEIN.letters
            name = "dna" if (letters or DNA.letters) == DNA.letters else "protein"
            motifs.append(Motif(current[0], np.array(rows), name, current[1],
                                int(float(fields.get("nsites", 0))),
                                _log10_of(fields["E"]) if "E" in fields else None))
            current = None
    if version is None:
        raise ValueError(f"{label} is not a MEME motif file: no 'MEME version' line")
    letters = letters or DNA.letters
    if letters not in (DNA.letters, PROTEIN.letters):
        raise ValueError(f"{label}: ALPHABET= {letters} is neither DNA (ACGT) nor protein")
    alphabet = "dna" if letters == DNA.letters else "protein"
    if background is not None:
        try:
            background = np.array([float(background[a]) for a in letters])
        except (KeyError, ValueError):
            raise ValueError(f"{label}: the background frequencies do not give one number "
                             f"per letter of {letters}") from None
    return MotifFile(version, alphabet, strands, background, motifs)
