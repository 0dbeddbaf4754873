"""What a found motif is: its matrix, sites, statistics, consensus and information content."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._alphabet import DNA, get_alphabet

__all__ = ["Motif", "Site", "iupac_consensus"]

# IUPAC code of each set of DNA letters (as a sorted string of ACGT).
_IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "AG": "R", "CT": "Y", "CG": "S",
          "AT": "W", "GT": "K", "AC": "M"}


@dataclass(frozen=True)
class Site:
    """One motif occurrence.

    Attributes
    ----------
    sequence_name : str
    sequence_index : int
        Index of the sequence in the input.
    strand : {'+', '-'}
        '-': the site reads as the motif on the reverse-complement strand.
    position : int
        1-based position of the site's leftmost letter on the given (+) strand, as in
        MEME's output, whatever the strand.
    probability : float
        Posterior probability that the site is an occurrence of the motif.
    site : str
        The site's letters read on its strand (so that they align with the motif).
    """

    sequence_name: str
    sequence_index: int
    strand: str
    position: int
    probability: float
    site: str

    def to_dict(self) -> dict:
        return {"sequence": self.sequence_name, "sequence_index": self.sequence_index,
                "strand": self.strand, "position": self.position,
                "probability": self.probability, "site": self.site}


def iupac_consensus(ppm, alphabet="dna") -> str:
    """Consensus of a position probability matrix.

    DNA columns follow Cavener's rules (1987): a letter when its probability exceeds 0.5
    and twice the second best; else the two-letter IUPAC code when the best two together
    exceed 0.75; else 'N'. Protein columns: the letter under the same first rule, else 'X'.

    Parameters
    ----------
    ppm : array of shape (width, alphabet size)
    alphabet : {'dna', 'protein'}

    Returns
    -------
    consensus : str
    """
    alphabet = get_alphabet(alphabet)
    out = []
    for column in np.asarray(ppm, dtype=float):
        order = np.argsort(column)[::-1]
        first, second = column[order[0]], column[order[1]]
        if first > 0.5 and first >= 2 * second:
            out.append(alphabet.letters[order[0]])
        elif alphabet is DNA and first + second > 0.75:
            out.append(_IUPAC["".join(sorted(alphabet.letters[i] for i in order[:2]))])
        else:
            out.append("N" if alphabet is DNA else "X")
    return "".join(out)


@dataclass
class Motif:
    """A motif: position probability matrix and what MEME reports with it.

    Attributes
    ----------
    name : str
        Identifier (MEME writes the consensus here).
    ppm : ndarray of shape (width, alphabet size)
        Letter probabilities per position (rows sum to 1).
    alphabet : str
        'dna' or 'protein'.
    alt_name : str
        Alternative name ('MEME-1', ...).
    nsites : int
        Number of sites the matrix describes.
    log10_evalue : float or None
        log10 of the E-value (kept as a log: E-values underflow floats).
    llr : float or None
        Log-likelihood ratio of the sites, in bits.
    sites : list of Site
    """

    name: str
    ppm: np.ndarray
    alphabet: str = "dna"
    alt_name: str = ""
    nsites: int = 0
    log10_evalue: float | None = None
    llr: float | None = None
    sites: list = field(default_factory=list)

    @property
    def width(self) -> int:
        return int(self.ppm.shape[0])

    @property
    def evalue(self) -> float | None:
        """The E-value as a float (0.0 when below the float range)."""
        return None if self.log10_evalue is None else float(10.0 ** self.log10_evalue)

    @property
    def consensus(self) -> str:
        """IUPAC consensus (see :func:`iupac_consensus`)."""
        return iupac_consensus(self.ppm, self.alphabet)

    @property
    def information_content(self) -> np.ndarray:
        """Bits per position: log2(A) minus the column's entropy."""
        p = np.clip(np.asarray(self.ppm, dtype=float), 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.sum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
        return np.log2(p.shape[1]) - entropy

    def reverse_complement(self) -> "Motif":
        """The motif read on the other strand (DNA); sites keep their strands."""
        alphabet = get_alphabet(self.alphabet)
        comp = alphabet.complement_codes()[:alphabet.size]
        return Motif(self.name, self.ppm[::-1][:, comp].copy(), self.alphabet, self.alt_name,
                     self.nsites, self.log10_evalue, self.llr, list(self.sites))

    def to_dict(self) -> dict:
        """A JSON-ready description (letters, matrix, statistics, sites)."""
        return {"name": self.name, "alt_name": self.alt_name, "alphabet": self.alphabet,
                "letters": get_alphabet(self.alphabet).letters, "width": self.width,
                "consensus": self.consensus, "nsites": self.nsites, "llr_bits": self.llr,
                "log10_evalue": self.log10_evalue, "evalue": format_evalue(self.log10_evalue),
                "ppm": np.asarray(self.ppm, dtype=float).tolist(),
                "information_content": self.information_content.tolist(),
                "sites": [s.to_dict() for s in self.sites]}


def format_evalue(log10_evalue) -> str:
    """An E-value given as its log10, written like MEME ('1.2e-300', even below the float
    range); 'inf' for None."""
    if log10_evalue is None or not np.isfinite(log10_evalue):
        return "inf" if log10_evalue is None or log10_evalue > 0 else "0"
    exponent = int(np.floor(log10_evalue))
    mantissa = 10.0 ** (log10_evalue - exponent)
    if mantissa >= 9.95:
        mantissa, exponent = 1.0, exponent + 1
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa:.1f}e{sign}{abs(exponent):03d}"
