"""MEME-style motif discovery by EM: FASTA in, motifs in MEME's format out.

``MEME(width=(8, 20), model='zoops').fit('seqs.fa')`` finds motifs as MEME does (OOPS,
ZOOPS and TCM sequence models, both strands, a Markov background, starts from the data's
sub-sequences, width chosen by E-value, several motifs by erasing); ``write_meme`` writes
them for the MEME suite, ``plot_logo`` draws their logos.
"""

from ._alphabet import DNA, PROTEIN, Alphabet
from ._background import MarkovBackground
from ._fasta import FastaRecord, encode_sequences, read_fasta
from ._logo import plot_logo
from ._meme import MEME
from ._meme_format import MotifFile, read_meme, write_meme
from ._motif import Motif, Site, iupac_consensus
from ._output import write_results
from ._planted import (PlantedMotif, PlantedScore, make_planted_motif, planted_ppm,
                       ppm_distance, score_planted)

__all__ = ["DNA", "MEME", "PROTEIN", "Alphabet", "FastaRecord", "MarkovBackground", "Motif",
           "MotifFile", "PlantedMotif", "PlantedScore", "Site", "encode_sequences",
           "iupac_consensus", "make_planted_motif", "planted_ppm", "plot_logo",
           "ppm_distance", "read_fasta", "read_meme", "score_planted", "write_meme",
           "write_results"]
