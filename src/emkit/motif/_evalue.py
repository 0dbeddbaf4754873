"""The log-likelihood ratio of a motif's sites and its E-value.

The E-value follows MEME's definition, the expected number of motifs of the same width and
site count whose sites score at least as well, found in random sequences of the same sizes:

    E = p(LLR) x (number of ways to choose the sites)

with, for ``n`` sites of width ``W`` aligned into letter counts ``c[k, a]`` (``n_k`` letters
in column k) and background frequencies ``f``:

- ``LLR = sum_k sum_a c[k, a] log(c[k, a] / (n_k f[a]))``, the log-likelihood ratio of the
  aligned sites under their own frequencies against the background (reported in bits);
- ``p(LLR)``: where MEME convolves the exact column distributions, we use the asymptotic
  G-test: under the background, ``2 LLR`` (in nats) is chi-squared with ``W (A - 1)``
  degrees of freedom. This is an approximation, good for many sites and optimistic (too
  small) for very few sites with a large alphabet;
- the number of site choices: OOPS ``prod_i S m_i`` (one of the ``S m_i`` windows and strands
  of each sequence ``i``); ZOOPS ``C(N, n) (mean S m_i)^n`` (which n of the N sequences,
  then a window each); TCM ``C(sum_i S m_i, n)``. ``S`` is 2 with both strands, else 1;
  ``m_i = L_i - W + 1``.

Everything is computed as logarithms (``log10_evalue``), since E-values of real motifs are
far below the float range.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln
from scipy.stats import chi2

__all__ = ["log10_evalue", "site_llr"]


def site_llr(counts: np.ndarray, background: np.ndarray) -> float:
    """Log-likelihood ratio (nats) of aligned sites with letter counts ``counts`` (W x A)
    under their own column frequencies against ``background``."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, counts * np.log(counts / (totals * background)), 0.0)
    return float(terms.sum())


def _log_gamma_q(a: float, x: float) -> float:
    """log of the regularised upper incomplete gamma function Q(a, x) for x > a + 1, by
    its continued fraction (modified Lentz), which stays finite where Q underflows."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return -x + a * math.log(x) - float(gammaln(a)) + math.log(h)


def chi2_logsf(x: float, df: int) -> float:
    """log P(chi2_df >= x), finite even far in the tail (where scipy's gives -inf)."""
    value = float(chi2.logsf(x, df))
    if value > -700.0 or x / 2.0 <= df / 2.0 + 1.0:
        return value
    return _log_gamma_q(df / 2.0, x / 2.0)


def _log_choose(n: float, k: float) -> float:
    return float(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))


def log_site_combinations(model: str, windows: np.ndarray, n_sites: int) -> float:
    """Natural log of the number of ways to place ``n_sites`` sites; ``windows`` holds
    ``S m_i`` per sequence."""
    windows = np.asarray(windows, dtype=float)
    if model == "oops":
        return float(np.log(windows).sum())
    if model == "zoops":
        return _log_choose(len(windows), n_sites) + n_sites * float(np.log(windows.mean()))
    return _log_choose(float(windows.sum()), n_sites)


def log10_evalue(llr_nats: float, width: int, n_letters: int, model: str, windows,
                 n_sites: int) -> float:
    """log10 of the E-value of ``n_sites`` sites with log-likelihood ratio ``llr_nats``
    (see the module docstring)."""
    if n_sites == 0:
        return float("inf")
    log_p = chi2_logsf(2.0 * max(llr_nats, 0.0), width * (n_letters - 1))
    return (log_p + log_site_combinations(model, windows, n_sites)) / math.log(10.0)
