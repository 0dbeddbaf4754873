"""Alphabets: the letters a motif is made of, ambiguity codes, and the complement.

Sequences are encoded as small integers: the core letters as ``0 .. size-1`` and every
ambiguity code (DNA's N and the other IUPAC codes, protein's X, B, Z, ...) as the one
*wildcard* code ``size``. A wildcard is treated as "any letter": it contributes a factor 1
to the likelihood under the motif and under the background alike (the letter is marginalised
out), is never counted in a motif column, and breaks the context of the background Markov
model. This is how MEME treats ambiguous positions in spirit, and it never invents a letter
that the data do not contain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DNA", "PROTEIN", "Alphabet", "get_alphabet"]


@dataclass(frozen=True)
class Alphabet:
    """A sequence alphabet.

    Parameters
    ----------
    name : str
        'dna' or 'protein'.
    letters : str
        The core letters, in the order of the motif matrix columns.
    ambiguous : str
        Letters accepted in sequences and encoded as the wildcard.
    complement : str or None
        The complement of each core letter (DNA), or None where strands do not exist.
    """

    name: str
    letters: str
    ambiguous: str
    complement: str | None = None

    @property
    def size(self) -> int:
        """Number of core letters (the matrix columns)."""
        return len(self.letters)

    @property
    def wildcard(self) -> int:
        """The code of every ambiguity letter."""
        return len(self.letters)

    @property
    def has_strands(self) -> bool:
        return self.complement is not None

    def encoding_table(self) -> np.ndarray:
        """A 256-entry table from byte to code: letters, wildcard, or -1 (not allowed).
        Upper and lower case are the same letter."""
        table = np.full(256, -1, dtype=np.int16)
        for code, letter in enumerate(self.letters):
            table[ord(letter)] = table[ord(letter.lower())] = code
        for letter in self.ambiguous:
            table[ord(letter)] = table[ord(letter.lower())] = self.wildcard
        return table

    def complement_codes(self) -> np.ndarray:
        """Code -> code of the complementary letter (the wildcard maps to itself)."""
        if self.complement is None:
            raise ValueError(f"the {self.name} alphabet has no complement (no strands)")
        codes = [self.letters.index(c) for c in self.complement] + [self.wildcard]
        return np.asarray(codes, dtype=np.int8)

    def decode(self, codes) -> str:
        """Codes back to text; the wildcard is written as N (DNA) or X (protein)."""
        chars = self.letters + self.ambiguous[0]
        return "".join(chars[int(c)] for c in codes)


#: DNA: A C G T; N and the IUPAC codes R Y S W K M B D H V are wildcards. U (RNA) is
#: refused, so that an RNA file is not silently taken for DNA.
DNA = Alphabet("dna", "ACGT", "NRYSWKMBDHV", complement="TGCA")
#: The 20 amino acids; X (unknown), B (D/N), Z (E/Q), J (I/L), U (selenocysteine) and
#: O (pyrrolysine) are wildcards.
PROTEIN = Alphabet("protein", "ACDEFGHIKLMNPQRSTVWY", "XBZJUO")

_ALPHABETS = {"dna": DNA, "protein": PROTEIN}


def get_alphabet(alphabet) -> Alphabet:
    """The :class:`Alphabet` named 'dna' or 'protein' (or the object itself)."""
    if isinstance(alphabet, Alphabet):
        return alphabet
    try:
        return _ALPHABETS[str(alphabet).lower()]
    except KeyError:
        raise ValueError(f"unknown alphabet {alphabet!r}; choose 'dna' or 'protein'") from None
