"""The MEME estimator: motif discovery by EM over site starts."""

from __future__ import annotations

import numbers
import os

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._em import Monitor
from .._estimator_base import EMEstimator
from .._validation import Interval, Options, validate_params
from ..io import register_model
from . import _kernels
from ._alphabet import get_alphabet
from ._background import MarkovBackground
from ._fasta import FastaRecord, encode_sequences, read_fasta
from ._motif import Motif, Site
from ._problem import MotifProblem
from ._search import fit_width

__all__ = ["MEME", "parse_width"]


def parse_width(width) -> tuple[int, int]:
    """(min, max) of ``width``: an int, a (min, max) pair, or text 'W' / 'A..B'."""
    if isinstance(width, str):
        parts = width.split("..")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"width must be an int or a range 'A..B', got {width!r}") from None
        width = values[0] if len(values) == 1 else tuple(values)
    if isinstance(width, numbers.Integral) and not isinstance(width, bool):
        low = high = int(width)
    elif (isinstance(width, (tuple, list)) and len(width) == 2
          and all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in width)):
        low, high = int(width[0]), int(width[1])
    else:
        raise ValueError(f"width must be an int or a (min, max) pair of ints, got {width!r}")
    if low < 2 or high < low:
        raise ValueError(f"width must be at least 2 and min <= max, got {width!r}")
    return low, high


@register_model(may_be_infinite=("log10_evalue_", "width_log10_evalues_"))  # no sites: E = inf
class MEME(EMEstimator, BaseEstimator):
    """Motif discovery by EM over where a motif's sites start (MEME, Bailey & Elkan 1994).

    Parameters
    ----------
    width : int or (int, int) or str, default=(8, 20)
        Motif width, or a range (MEME's ``-minw``/``-maxw``; text 'A..B' accepted). Over a
        range, every width is fitted and the one with the smallest E-value is kept (the
        E-value is a p-value of the sites' log-likelihood ratio, see
        :mod:`emkit.motif._evalue`).
    model : {'oops', 'zoops', 'tcm'}, default='zoops'
        MEME's ``-mod``: one occurrence per sequence, zero or one, or any number.
    n_motifs : int, default=1
        Motifs to find (``-nmotifs``); after each, its sites are erased probabilistically:
        every position's weight is multiplied by the probability that it is not inside a
        site, and a later motif's site at a window emits from the motif only with the
        smallest weight of that window (from the background otherwise).
    revcomp : bool, default=True
        Sites on both strands (``-revcomp``); DNA only.
    alphabet : {'dna', 'protein'}, default='dna'
    background_order : int, default=0
        Order (0, 1 or 2) of the background Markov model estimated from the sequences.
    pseudocount : float, default=0.1
        Pseudo-sites added to every motif column, spread by the background frequencies
        (MEME's ``-b``).
    n_starts : int, default=200
        Starting sub-sequences tried per width (all of them when the data have fewer).
    n_refine : int, default=3
        Best starting points refined to convergence per width.
    max_shift : int, default=3
        The converged motif is restarted shifted by up to this many columns either way
        (MEME's phase shifts), and the most likely fit kept; 0 turns this off.
    max_iter : int, default=100
    tol : float, default=1e-5
        Convergence on the change of the mean log-likelihood per sequence.
    background_pseudocount : float, default=1.0
        Added to every k-mer count of the background model.
    random_state : int, RandomState or None
        Picks the starting sub-sequences when there are more than ``n_starts``.
    verbose : int, default=0

    Attributes
    ----------
    motifs_ : list of Motif
        The motifs found, in order (MEME-1, MEME-2, ...).
    ppms_ : list of ndarray
        Each motif's position probability matrix.
    sites_ : list of ndarray of shape (n_sites, 4)
        Per motif: sequence index, 0-based start, strand (+1 / -1), site probability.
    llr_ : ndarray
        Log-likelihood ratio of each motif's sites, bits.
    log10_evalue_ : ndarray
        log10 of each motif's E-value.
    lower_bound_ : ndarray
        Final mean log-likelihood per sequence of each motif's EM.
    lower_bounds_ : list of ndarray
        Each motif's log-likelihood history (one value per iteration).
    converged_, n_iter_ : ndarray
    prior_ : ndarray
        gamma (ZOOPS) or lambda (TCM) of each motif (1 for OOPS).
    width_log10_evalues_ : list of ndarray of shape (n_widths, 2)
        Per motif, every width tried and its log10 E-value.
    background_tables_ : list of ndarray
        The background model (see :class:`MarkovBackground`).
    background_frequencies_ : ndarray
        Order-0 background letter frequencies.
    sequence_names_, sequence_lengths_ : ndarray
    site_strings_ : list of ndarray of str
        The letters of each site, read on its strand.
    n_sequences_ : int
    """

    _parameter_constraints = {
        "model": [Options(("oops", "zoops", "tcm"))],
        "n_motifs": [Interval(numbers.Integral, 1, None, closed="left")],
        "revcomp": ["boolean"],
        "alphabet": [Options(("dna", "protein"))],
        "background_order": [Interval(numbers.Integral, 0, 2, closed="both")],
        "pseudocount": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_starts": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_refine": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_shift": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "background_pseudocount": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, width=(8, 20), *, model="zoops", n_motifs=1, revcomp=True,
                 alphabet="dna", background_order=0, pseudocount=0.1, n_starts=200,
                 n_refine=3, max_shift=3, max_iter=100, tol=1e-5,
                 background_pseudocount=1.0, random_state=None, verbose=0):
        self.width = width
        self.model = model
        self.n_motifs = n_motifs
        self.revcomp = revcomp
        self.alphabet = alphabet
        self.background_order = background_order
        self.pseudocount = pseudocount
        self.n_starts = n_starts
        self.n_refine = n_refine
        self.max_shift = max_shift
        self.max_iter = max_iter
        self.tol = tol
        self.background_pseudocount = background_pseudocount
        self.random_state = random_state
        self.verbose = verbose

    # -- input ---------------------------------------------------------------------------
    def _records(self, sequences) -> list[FastaRecord]:
        if isinstance(sequences, (str, os.PathLike)):
            return read_fasta(sequences, self.alphabet)
        records = []
        for i, s in enumerate(sequences):
            if isinstance(s, FastaRecord):
                records.append(s)
            elif isinstance(s, str):
                records.append(FastaRecord(f"seq{i + 1}", "", s.upper()))
            else:
                raise TypeError(f"sequences must be a FASTA path, or a list of str or "
                                f"FastaRecord; item {i} is a {type(s).__name__}")
        if not records:
            raise ValueError("no sequences given")
        return records

    def _check_params(self):
        validate_params(self, self._parameter_constraints)
        low, high = parse_width(self.width)
        if self.revcomp and not get_alphabet(self.alphabet).has_strands:
            raise ValueError(f"revcomp=True needs a DNA alphabet, not {self.alphabet!r}")
        return low, high

    # -- fit -----------------------------------------------------------------------------
    def fit(self, sequences, y=None):
        """Find ``n_motifs`` motifs in the sequences.

        Parameters
        ----------
        sequences : str, path-like, or list of str or FastaRecord
            A FASTA file, or the sequences themselves.
        y : ignored

        Returns
        -------
        self : MEME
        """
        low, high = self._check_params()
        alphabet = get_alphabet(self.alphabet)
        records = self._records(sequences)
        codes, offsets = encode_sequences(records, alphabet)
        short = [(r.name, len(r)) for r in records if len(r) < high]
        if short:
            listed = ", ".join(f"{n!r} ({n_} letters)" for n, n_ in short[:5])
            raise ValueError(f"{len(short)} sequence(s) shorter than the motif width {high}: "
                             f"{listed}{' ...' if len(short) > 5 else ''}")
        A = alphabet.size
        for r, a, b in zip(records, offsets[:-1], offsets[1:]):
            if np.all(codes[a:b] >= A):
                raise ValueError(f"sequence {r.name!r} has only ambiguity letters")
        n_strands = 2 if self.revcomp else 1
        comp = alphabet.complement_codes() if self.revcomp else np.arange(A + 1,
                                                                          dtype=np.int8)
        background = MarkovBackground.fit(codes, offsets, alphabet, self.background_order,
                                          both_strands=self.revcomp,
                                          pseudocount=self.background_pseudocount)
        bg_log = background.log_probs(codes, offsets, A)
        rng = check_random_state(self.random_state)
        monitor = Monitor(verbose=int(self.verbose))
        weights = np.ones(len(codes))
        found, width_tables = [], []
        for index in range(self.n_motifs):
            results = []
            for width in range(low, high + 1):
                keep = _kernels.window_min(weights, offsets, width)
                problem = MotifProblem(codes, offsets, bg_log, keep, width, A, comp,
                                       n_strands, self.model, self.pseudocount,
                                       background.frequencies)
                result = fit_width(problem, rng, n_starts=self.n_starts,
                                   n_refine=self.n_refine, tol=self.tol,
                                   max_iter=self.max_iter, monitor=monitor,
                                   max_shift=min(self.max_shift, width // 2))
                results.append(result)
                if self.verbose:
                    print(f"motif {index + 1} width {width}: {len(result.sites)} sites, "
                          f"log10 E = {result.log10_evalue:.1f}")
            best = min(results, key=lambda r: (r.log10_evalue, -r.width))
            width_tables.append(np.array([[r.width, r.log10_evalue] for r in results]))
            found.append(best)
            weights = weights * (1.0 - _kernels.coverage(best.z, offsets, best.width))

        self._store(found, width_tables, records, codes, offsets, background, alphabet, comp)
        return self

    def _store(self, found, width_tables, records, codes, offsets, background, alphabet,
               comp):
        """Set the learned attributes (plain arrays, so that emkit.io can save them)."""
        self.ppms_ = [r.theta.ppm for r in found]
        self.sites_ = [r.sites for r in found]
        self.llr_ = np.array([r.llr / np.log(2.0) for r in found])
        self.log10_evalue_ = np.array([r.log10_evalue for r in found])
        self._store_runs(found)
        self.prior_ = np.array([r.theta.prior for r in found])
        self.width_log10_evalues_ = width_tables
        self.background_tables_ = [np.asarray(t) for t in background.tables]
        self.background_frequencies_ = np.asarray(background.frequencies)
        self.sequence_names_ = np.array([r.name for r in records], dtype=str)
        self.sequence_lengths_ = np.diff(offsets)
        self.n_sequences_ = len(records)
        strings = []
        for r in found:
            row = []
            for seq, start, strand, _ in r.sites:
                p = offsets[int(seq)] + int(start)
                letters = codes[p:p + r.width]
                if strand < 0:
                    letters = comp[letters[::-1]]
                row.append(alphabet.decode(letters))
            strings.append(np.array(row, dtype=str).reshape(-1))
        self.site_strings_ = strings

    def _check_loaded_arrays(self):
        """Raise ValueError when loaded attributes are inconsistent (used by emkit.io)."""
        A = get_alphabet(self.alphabet).size
        n = len(self.ppms_)
        per_motif = (self.sites_, self.site_strings_, self.llr_, self.log10_evalue_,
                     self.lower_bound_, self.prior_, self.width_log10_evalues_)
        if any(len(values) != n for values in per_motif):
            raise ValueError(f"the model file has {n} motif matrices but other per-motif "
                             "attributes of other lengths")
        for k, (ppm, sites, strings) in enumerate(zip(self.ppms_, self.sites_,
                                                      self.site_strings_)):
            ppm = np.asarray(ppm)
            if ppm.ndim != 2 or ppm.shape[1] != A or not np.allclose(ppm.sum(axis=1), 1.0):
                raise ValueError(f"motif {k + 1}: the matrix is not a ({A}-letter) "
                                 "probability matrix")
            sites = np.asarray(sites)
            if sites.ndim != 2 or sites.shape[1] != 4 or len(strings) != len(sites):
                raise ValueError(f"motif {k + 1}: malformed sites")
            if len(sites) and not (0 <= sites[:, 0].min() and
                                   sites[:, 0].max() < len(self.sequence_names_)):
                raise ValueError(f"motif {k + 1}: a site names a sequence out of range")

    # -- results -------------------------------------------------------------------------
    @property
    def motifs_(self) -> list:
        """The motifs found, as :class:`Motif` objects with their sites."""
        check_is_fitted(self)
        motifs = []
        for k, ppm in enumerate(self.ppms_):
            sites = [Site(str(self.sequence_names_[int(seq)]), int(seq),
                          "+" if strand > 0 else "-", int(start) + 1, float(prob),
                          str(self.site_strings_[k][n]))
                     for n, (seq, start, strand, prob) in enumerate(self.sites_[k])]
            motif = Motif("", np.asarray(ppm), self.alphabet, f"MEME-{k + 1}", len(sites),
                          float(self.log10_evalue_[k]), float(self.llr_[k]), sites)
            motif.name = motif.consensus
            motifs.append(motif)
        return motifs

    def write_meme(self, path) -> None:
        """Write the motifs in MEME's minimal motif format (see :func:`write_meme`)."""
        from ._meme_format import write_meme

        check_is_fitted(self)
        write_meme(self.motifs_, path, alphabet=self.alphabet,
                   background=self.background_frequencies_, revcomp=self.revcomp)
