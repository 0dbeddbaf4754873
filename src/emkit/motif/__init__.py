"""MEME-style motif discovery by EM: FASTA in, motifs in MEME's format out.

``MEME(width=(8, 20), model='zoops').fit('seqs.fa')`` finds motifs as MEME does (OOPS,
ZOOPS and TCM sequence models, both strands, a Markov background, starts from the data's
sub-sequences, width chosen by E-value, several motifs by erasing); ``write_meme`` writes
them for the MEME suite, ``plot_logo`` draws their logos.
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "DNA": "._alphabet",
    "PROTEIN": "._alphabet",
    "Alphabet": "._alphabet",
    "MarkovBackground": "._background",
    "FastaRecord": "._fasta",
    "encode_sequences": "._fasta",
    "read_fasta": "._fasta",
    "plot_logo": "._logo",
    "MEME": "._meme",
    "MotifFile": "._meme_format",
    "read_meme": "._meme_format",
    "write_meme": "._meme_format",
    "Motif": "._motif",
    "Site": "._motif",
    "iupac_consensus": "._motif",
    "write_results": "._output",
    "PlantedMotif": "._planted",
    "PlantedScore": "._planted",
    "make_planted_motif": "._planted",
    "planted_ppm": "._planted",
    "ppm_distance": "._planted",
    "score_planted": "._planted",
})

__all__ = ["DNA", "MEME", "PROTEIN", "Alphabet", "FastaRecord", "MarkovBackground", "Motif",
           "MotifFile", "PlantedMotif", "PlantedScore", "Site", "encode_sequences",
           "iupac_consensus", "make_planted_motif", "planted_ppm", "plot_logo",
           "ppm_distance", "read_fasta", "read_meme", "score_planted", "write_meme",
           "write_results"]
