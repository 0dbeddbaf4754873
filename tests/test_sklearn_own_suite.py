"""scikit-learn's own GaussianMixture and BayesianGaussianMixture tests, run against emkit.

Each test module that ships inside the installed scikit-learn is copied to a temporary
folder with its one import of the estimator pointed at emkit, and run by pytest (its other
imports, helpers included, still come from scikit-learn). The only test left out patches a
private scikit-learn function that emkit does not call.
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

# (scikit-learn's test module, the class it imports, the tests left out by a -k expression)
SUITES = [
    # all_init_does_not_estimate_gaussian_parameters patches
    # sklearn.mixture._gaussian_mixture._estimate_gaussian_parameters and counts its calls
    ("test_gaussian_mixture.py", "GaussianMixture",
     "not all_init_does_not_estimate_gaussian_parameters"),
    ("test_bayesian_mixture.py", "BayesianGaussianMixture", None),
]


@pytest.mark.parametrize("module, estimator, keep", SUITES)
def test_scikit_learns_own_mixture_tests_pass(tmp_path, module, estimator, keep):
    import sklearn.mixture

    source = Path(sklearn.mixture.__file__).parent / "tests" / module
    if not source.exists():
        pytest.skip("this scikit-learn install does not ship its test modules")
    original = f"from sklearn.mixture import {estimator}\n"
    text = source.read_text()
    assert original in text, "scikit-learn's test module changed its import"
    (tmp_path / f"test_sklearn_{module[5:]}").write_text(
        text.replace(original, f"from emkit import {estimator}\n"))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    selection = [] if keep is None else ["-k", keep]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         *selection, "-W", "error::emkit.LikelihoodDecreaseWarning", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout
