"""hmmlearn's own tests of its HMM classes, run against emkit.hmm.

The test package that ships inside the installed hmmlearn is copied to a temporary folder
with its imports of hmmlearn's estimators (``hmm``, ``BaseHMM``, ``ConvergenceMonitor``,
``utils``) pointed at emkit, and run by pytest with a fixed seed. The package's helper
module (``__init__.py``) is kept as it is; the variational suites get a seed per test
(see ``RESEEDED``). Left out: the tests of hmmlearn's private KL divergence functions,
hmmlearn's legacy ``test_gmm_hmm.py`` (marked xfail by hmmlearn itself; the new GMMHMM
suite imports one helper from it), and the tests of hmmlearn's compiled kernels ``_hmmc``
(they never touch an estimator). Tests that cannot
pass because of a difference the README lists as deliberate are expected to fail, with
the reason, and must fail (strict).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SUITES = ["test_base.py", "test_utils.py", "test_gaussian_hmm.py",
          "test_categorical_hmm.py", "test_gmm_hmm_new.py",
          "test_gmm_hmm_multisequence.py", "test_poisson_hmm.py",
          "test_multinomial_hmm.py", "test_variational_gaussian.py",
          "test_variational_categorical.py"]

# hmmlearn's import line -> emkit's
IMPORTS = {
    "from hmmlearn import hmm\n": "from emkit import hmm\n",
    "from hmmlearn import hmm, vhmm\n": "from emkit import hmm, vhmm\n",
    "from .. import hmm\n": "from emkit import hmm\n",
    "from ..hmm import GMMHMM\n": "from emkit.hmm.hmm import GMMHMM\n",
    "from hmmlearn.base import BaseHMM, ConvergenceMonitor\n":
        "from emkit.hmm.base import BaseHMM, ConvergenceMonitor\n",
    "from hmmlearn.base import ConvergenceMonitor\n":
        "from emkit.hmm.base import ConvergenceMonitor\n",
    "from hmmlearn.utils import normalize, fill_covars\n":
        "from emkit.hmm.utils import normalize, fill_covars\n",
}

# Tests of hmmlearn's compiled forward/backward/Viterbi kernels, not of an estimator.
DESELECTED = [f"test_base.py::TestBaseAgainstWikipedia::{name}" for name in (
    "test_do_forward_scaling_pass", "test_do_forward_pass", "test_do_backward_scaling_pass",
    "test_do_backward_log_pass", "test_do_viterbi_pass")]

# node id -> the deliberate difference (README, "Hidden Markov models") it meets
_GMMHMM_FLOOR = ("GMMHMM adds min_covar to every covariance in each M-step, so no component "
                 "collapses; on these features of scale 0.01 the floor dominates: the "
                 "likelihood falls by more than tol in some orders and the fits end apart")
_GMMHMM_PATH = ("GMMHMM's M-step is not hmmlearn's (min_covar floor, covariances about the new "
                "means), so after the test's 10 unconverged iterations the one- and "
                "five-sequence fits differ by 1.8e-3 (hmmlearn's by 8.8e-4), over the 1e-3 "
                "the test allows")
EXPECTED_FAILURES = {
    "test_gaussian_hmm.py::TestGaussianHMMWithSphericalCovars::"
    "test_underflow_from_scaling[scaling]":
        "implementation='scaling' falls back to log space where scaling would underflow, "
        "so the fit succeeds instead of raising",
    **{f"test_gmm_hmm_multisequence.py::test_gmmhmm_multi_sequence_fit_invariant_to_"
       f"sequence_ordering[{implementation}-{covariance_type}]": _GMMHMM_FLOOR
       for implementation in ("scaling", "log") for covariance_type in ("diag", "spherical",
                                                                        "full")},
    "test_gmm_hmm_new.py::TestGMMHMM_MultiSequence::test_chunked[full]": _GMMHMM_PATH,
}

# The variational modules draw their data and k-means starts from NumPy's global generator.
# emkit refuses a bad parameter before drawing from it, hmmlearn after, so without a seed of
# their own each test's draws would depend on the tests that ran before it (one of them asks
# the score to rise in ten single iterations, which some k-means starts do not give, for
# hmmlearn as for emkit).
RESEEDED = ("test_variational_gaussian.py", "test_variational_categorical.py")

CONFTEST = '''
import numpy as np
import pytest

EXPECTED_FAILURES = {expected!r}
RESEEDED = {reseeded!r}


def pytest_collection_modifyitems(items):
    for item in items:
        for node, reason in EXPECTED_FAILURES.items():
            if item.nodeid == "hmmlearn_suite/" + node:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_runtest_setup(item):
    if item.nodeid.split("::")[0].endswith(RESEEDED):
        np.random.seed({seed})
'''

SEED = "42"


def _copy_suite(source: Path, target: Path) -> None:
    target.mkdir()
    for name in ("__init__.py", "conftest.py"):  # helpers; the seed from HMMLEARN_SEED
        (target / name).write_text((source / name).read_text())
    for name in SUITES + ["test_gmm_hmm.py"]:
        text = (source / name).read_text()
        for original, replacement in IMPORTS.items():
            text = text.replace(original, replacement)
        assert "from hmmlearn import hmm" not in text and "from .. import" not in text, (
            f"hmmlearn's {name} changed its imports")
        (target / name).write_text(text)


def test_hmmlearns_own_tests_pass(tmp_path):
    pytest.importorskip("hmmlearn")
    # located, not imported: hmmlearn/tests/__init__.py calls np.seterr(all="warn"), which
    # would turn every later underflow of this process into a warning
    spec = importlib.util.find_spec("hmmlearn.tests")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("this hmmlearn install has no tests package")
    source = Path(spec.submodule_search_locations[0])
    if not (source / "test_gaussian_hmm.py").exists():
        pytest.skip("this hmmlearn install does not ship its test modules")
    _copy_suite(source, tmp_path / "hmmlearn_suite")
    (tmp_path / "conftest.py").write_text(
        CONFTEST.format(expected=EXPECTED_FAILURES, reseeded=RESEEDED, seed=SEED))
    deselect = [arg for node in DESELECTED
                for arg in ("--deselect", f"hmmlearn_suite/{node}")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:randomly", *deselect,
         *[f"hmmlearn_suite/{name}" for name in SUITES]],
        capture_output=True, text=True, cwd=tmp_path,
        # one OpenMP thread: scikit-learn's k-means starts, many tiny ones, otherwise spend
        # their time contending for the cores
        env={**os.environ, "HMMLEARN_SEED": SEED, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
