"""scikit-learn's own GaussianMixture tests, run against emkit.GaussianMixture.

The test module that ships inside the installed scikit-learn is copied to a temporary
folder with its one import of GaussianMixture pointed at emkit, and run by pytest. The only
test left out patches a private scikit-learn function that emkit does not call.
"""

import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = '''
import numpy as np
import pytest

@pytest.fixture(params=[42])
def global_random_seed(request):
    return request.param

@pytest.fixture(params=[np.float64, np.float32])
def global_dtype(request):
    return request.param
'''

# Patches sklearn.mixture._gaussian_mixture._estimate_gaussian_parameters and counts calls.
DESELECTED = "not all_init_does_not_estimate_gaussian_parameters"


def test_scikit_learns_gaussian_mixture_tests_pass(tmp_path):
    import sklearn.mixture

    source = Path(sklearn.mixture.__file__).parent / "tests" / "test_gaussian_mixture.py"
    if not source.exists():
        pytest.skip("this scikit-learn install does not ship its test modules")
    original = "from sklearn.mixture import GaussianMixture\n"
    text = source.read_text()
    assert original in text, "scikit-learn's test module changed its import"
    (tmp_path / "test_sklearn_gaussian_mixture.py").write_text(
        text.replace(original, "from emkit import GaussianMixture\n"))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-k", DESELECTED, "-W", "error::emkit.LikelihoodDecreaseWarning", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
