"""The motif EM against brute force: E-step posteriors, likelihoods, counts, background
model, erasing, additivity of the statistics and a likelihood that never decreases."""

import itertools
import math
import warnings
from collections import Counter

import numpy as np
import pytest

from emkit._exceptions import LikelihoodDecreaseWarning
from emkit.motif import DNA, MarkovBackground, encode_sequences, make_planted_motif
from emkit.motif._problem import MotifParams, MotifProblem

pytestmark = pytest.mark.numerics  # also run with kernels built for a generic CPU

SEQS = ["ACGTTGCA", "TTACGNAT", "GGCATG"]
COMP = "TGCA"  # complement of ACGT


def _problem(model, n_strands, width=3, keep=None, order=0, seqs=SEQS):
    codes, offsets = encode_sequences(seqs)
    background = MarkovBackground.fit(codes, offsets, DNA, order, both_strands=n_strands == 2)
    bg_log = background.log_probs(codes, offsets, 4)
    keep = np.ones(len(codes)) if keep is None else keep
    comp = DNA.complement_codes() if n_strands == 2 else np.arange(5, dtype=np.int8)
    return MotifProblem(codes, offsets, bg_log, keep, width, 4, comp, n_strands, model, 0.1,
                        background.frequencies), background


def _bg_prob(seq, p, freqs):
    return 1.0 if seq[p] == "N" else freqs["ACGT".index(seq[p])]


def _motif_prob(site, ppm):
    return math.prod(1.0 if c == "N" else ppm[k, "ACGT".index(c)] for k, c in enumerate(site))


def _revcomp(site):
    return "".join("N" if c == "N" else COMP["ACGT".index(c)] for c in reversed(site))


def _brute_force(seq, ppm, freqs, model, n_strands, prior, keep):
    """Full probabilities of the sequence with a site at each window and strand, straight
    from the generative model (no ratios): returns (log P(seq), posterior[j, s], expected
    motif letter counts)."""
    W = ppm.shape[0]
    m = len(seq) - W + 1
    background = [_bg_prob(seq, p, freqs) for p in range(len(seq))]

    def with_site(j, s):
        site = seq[j:j + W] if s == 0 else _revcomp(seq[j:j + W])
        outside = math.prod(background[p] for p in range(len(seq)) if not j <= p < j + W)
        inside_bg = math.prod(background[j:j + W])
        motif = outside * _motif_prob(site, ppm)
        return keep[j] * motif + (1 - keep[j]) * outside * inside_bg, keep[j] * motif

    counts = np.zeros((W, 4))
    z = np.zeros((m, 2))
    if model == "tcm":  # windows independent: product over windows of a 1 + 2 state mix
        total_log = 0.0
        for j in range(m):
            none = (1 - n_strands * prior)
            terms = [with_site(j, s) for s in range(n_strands)]
            inside_bg = math.prod(background[j:j + W])
            # ratio form per window: P(window) / P_bg(window)
            p = none + sum(prior * t[0] / (math.prod(background) / inside_bg) / inside_bg
                           for t in terms)
            total_log += math.log(p)
            for s, t in enumerate(terms):
                z[j, s] = prior * t[0] / math.prod(background) / p
                motif_part = prior * t[1] / math.prod(background) / p
                _count(seq, j, s, W, motif_part, counts)
        return total_log + sum(math.log(b) for b in background), z, counts
    site_prior = (1.0 if model == "oops" else prior) / (n_strands * m)
    none = 0.0 if model == "oops" else (1 - prior) * math.prod(background)
    joint = {(j, s): with_site(j, s) for j in range(m) for s in range(n_strands)}
    total = none + sum(site_prior * v[0] for v in joint.values())
    for (j, s), (full, motif) in joint.items():
        z[j, s] = site_prior * full / total
        _count(seq, j, s, W, site_prior * motif / total, counts)
    return math.log(total), z, counts


def _count(seq, j, s, W, weight, counts):
    site = seq[j:j + W] if s == 0 else _revcomp(seq[j:j + W])
    for k, c in enumerate(site):
        if c != "N":
            counts[k, "ACGT".index(c)] += weight


@pytest.mark.parametrize("model", ["oops", "zoops", "tcm"])
@pytest.mark.parametrize("n_strands", [1, 2])
@pytest.mark.parametrize("erased", [False, True])
def test_e_step_matches_brute_force(model, n_strands, erased):
    rng = np.random.RandomState(3)
    keep = rng.uniform(0.2, 1.0, size=sum(map(len, SEQS))) if erased else None
    problem, background = _problem(model, n_strands, keep=keep)
    ppm = rng.dirichlet(np.ones(4), size=3)
    prior = {"oops": 1.0, "zoops": 0.6, "tcm": 0.1}[model]
    theta = MotifParams(ppm, prior)
    stats, loglik, z = problem.run_kernel(np.arange(len(SEQS)), theta, want_z=True)
    freqs = dict(zip("ACGT", background.frequencies))
    freqs = [freqs[a] for a in "ACGT"]
    expected_loglik, expected_counts = 0.0, np.zeros((3, 4))
    offset = 0
    for seq in SEQS:
        seq_keep = problem.log_keep[offset:offset + len(seq)]
        log_p, z_true, counts = _brute_force(seq, ppm, freqs, model, n_strands, prior,
                                             np.exp(seq_keep))
        m = len(seq) - 2
        np.testing.assert_allclose(z[offset:offset + m, :n_strands], z_true[:, :n_strands],
                                   rtol=1e-10, atol=1e-14)
        expected_loglik += log_p
        expected_counts += counts
        offset += len(seq)
    assert loglik == pytest.approx(expected_loglik, rel=1e-10)
    np.testing.assert_allclose(stats.counts, expected_counts, rtol=1e-10, atol=1e-14)
    assert stats.n_sites == pytest.approx(z.sum(), rel=1e-12)


def test_oops_posteriors_sum_to_one_and_zoops_below():
    for model in ("oops", "zoops"):
        problem, background = _problem(model, 2)
        ppm = np.tile(background.frequencies, (3, 1))  # the motif is the background
        _, _, z = problem.run_kernel(np.arange(3), MotifParams(ppm, 0.5), want_z=True)
        per_sequence = np.add.reduceat(z.sum(axis=1), problem.offsets[:-1])
        if model == "oops":
            np.testing.assert_allclose(per_sequence, 1.0)
        else:  # no evidence either way: gamma is the site probability
            np.testing.assert_allclose(per_sequence, 0.5)


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("both", [False, True])
def test_background_matches_counted_frequencies(order, both):
    seqs = ["ACGTTGCAAGGT", "TTACGCATNACG", "GGCATGCC"]
    codes, offsets = encode_sequences(seqs)
    model = MarkovBackground.fit(codes, offsets, DNA, order, both_strands=both,
                                 pseudocount=0.0)
    texts = seqs + ([_revcomp(s) for s in seqs] if both else [])
    for o in range(order + 1):
        counts = Counter(s[p:p + o + 1] for s in texts for p in range(len(s) - o)
                         if "N" not in s[p:p + o + 1])
        for context in itertools.product("ACGT", repeat=o):
            context = "".join(context)
            total = sum(counts[context + a] for a in "ACGT")
            row = int("".join(str("ACGT".index(c)) for c in context) or "0", 4)
            for a in "ACGT":
                expected = counts[context + a] / total if total else 0.25
                assert model.tables[o][row, "ACGT".index(a)] == pytest.approx(expected)
    # per-position log-probabilities use the longest context without a wildcard
    log_probs = model.log_probs(codes, offsets, 4)
    seq = seqs[1]
    for p, letter in enumerate(seq):
        if letter == "N":
            assert log_probs[offsets[1] + p] == 0.0
            continue
        start = max(p - order, 0, seq.rfind("N", 0, p) + 1)
        context = seq[start:p]
        row = int("".join(str("ACGT".index(c)) for c in context) or "0", 4)
        expected = model.tables[len(context)][row, "ACGT".index(letter)]
        assert log_probs[offsets[1] + p] == pytest.approx(math.log(expected))


def test_statistics_add_over_sequences():
    problem, _ = _problem("zoops", 2)
    theta = MotifParams(np.random.RandomState(0).dirichlet(np.ones(4), size=3), 0.4)
    whole, ll_whole = problem.e_step(np.arange(3)[:, None], theta)
    a, ll_a = problem.e_step(np.array([[0], [2]]), theta)
    b, ll_b = problem.e_step(np.array([[1]]), theta)
    total = a + b
    np.testing.assert_allclose(total.counts, whole.counts)
    assert (total.n_sites, total.n_units) == pytest.approx((whole.n_sites, whole.n_units))
    assert ll_a + ll_b == pytest.approx(ll_whole)


@pytest.mark.parametrize("model", ["oops", "zoops", "tcm"])
def test_likelihood_never_decreases(model):
    data = make_planted_motif(12, 60, 8, 0.8, site_fraction=0.75, reverse_fraction=0.5,
                              random_state=1)
    codes, offsets = encode_sequences(data.sequences)
    background = MarkovBackground.fit(codes, offsets, DNA, 1, both_strands=True)
    bg_log = background.log_probs(codes, offsets, 4)
    rng = np.random.RandomState(0)
    keep = rng.uniform(0.3, 1.0, size=len(codes))
    problem = MotifProblem(codes, offsets, bg_log, keep, 8, 4, DNA.complement_codes(), 2,
                           model, 0.5, background.frequencies)
    theta = MotifParams(rng.dirichlet(np.ones(4), size=8), problem.initial_prior())
    ids = np.arange(len(data.sequences))[:, None]
    objective = []  # log-likelihood + log prior: what EM with a MAP step increases
    for _ in range(30):
        _, loglik = problem.e_step(ids, theta)
        objective.append(loglik + problem.log_prior(theta))
        theta = problem.m_step(problem.e_step(ids, theta)[0], theta)
        assert np.all(np.isfinite(theta.ppm)) and np.isfinite(theta.prior)
    assert np.all(np.diff(objective) >= -1e-9 * abs(objective[0]))
    assert objective[-1] > objective[0]


def test_engine_runs_without_decrease_warnings():
    from emkit.motif import MEME

    data = make_planted_motif(10, 60, 8, 0.8, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LikelihoodDecreaseWarning)
        meme = MEME(width=8, model="zoops", n_starts=20, random_state=0).fit(data.sequences)
    history = meme.lower_bounds_[0]
    assert len(history) >= 2 and np.all(np.isfinite(history))
