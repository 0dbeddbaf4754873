"""scikit-learn's own BayesianGaussianMixture tests, run against
emkit.BayesianGaussianMixture.

The test module that ships inside the installed scikit-learn is copied to a temporary
folder with its one import of BayesianGaussianMixture pointed at emkit, and run by pytest
(its other imports, helpers included, still come from scikit-learn).
"""

import subprocess
import sys
from pathlib import Path

import pytest


def test_scikit_learns_bayesian_mixture_tests_pass(tmp_path):
    import sklearn.mixture

    source = Path(sklearn.mixture.__file__).parent / "tests" / "test_bayesian_mixture.py"
    if not source.exists():
        pytest.skip("this scikit-learn install does not ship its test modules")
    original = "from sklearn.mixture import BayesianGaussianMixture\n"
    text = source.read_text()
    assert original in text, "scikit-learn's test module changed its import"
    (tmp_path / "test_sklearn_bayesian_mixture.py").write_text(
        text.replace(original, "from emkit import BayesianGaussianMixture\n"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-W", "error::emkit.LikelihoodDecreaseWarning", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout
