"""Helpers for the tests of the E-step kernels that leave negligible responsibilities out:
the thresholds of the passes a kernel made, and statistics equal to the reference's."""

import numpy as np
from numpy.testing import assert_allclose

from emkit.mixture import _kernels


def record_passes(monkeypatch, one_pass: str) -> list:
    """The ``negligible`` threshold (the last argument) of each call of the kernel module's
    ``one_pass`` function, in order, while the test runs."""
    seen = []
    original = getattr(_kernels, one_pass)

    def spy(*args):
        seen.append(args[-1])
        return original(*args)
    monkeypatch.setattr(_kernels, one_pass, spy)
    return seen


def assert_stats_equal(fast, reference):
    """Two E-steps' (statistics, log-likelihood) equal to round-off."""
    (s_f, ll_f), (s_r, ll_r) = fast, reference
    assert_allclose(ll_f, ll_r, rtol=1e-12)
    for name in ("weight", "first", "second"):
        a, b = getattr(s_f, name), getattr(s_r, name)
        assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(), err_msg=name)
