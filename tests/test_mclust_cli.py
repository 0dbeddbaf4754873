"""``emkit fit`` with mclust's covariance names, its grid and its prior."""

import numpy as np
import pytest
from click.testing import CliRunner

from emkit import load
from emkit.cli import main
from emkit.datasets import load_iris


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    np.savetxt(path, load_iris()[0], delimiter=",", header="a,b,c,d", comments="")
    return path


def _fit(*args):
    return CliRunner().invoke(main, ["fit", *map(str, args)])


def test_an_mclust_name_in_any_case_with_the_default_prior_fits_and_saves(iris_csv, tmp_path):
    from emkit import GaussianMixture

    result = _fit(iris_csv, "-k", 2, "--covariance-type", "vev", "--prior", "default",
                  "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "covariance = VEV" in result.output
    model = load(tmp_path / "m")
    assert (model.covariance_type, model.prior) == ("VEV", "default")
    X = load_iris()[0]
    direct = GaussianMixture(2, covariance_type="VEV", prior="default", random_state=0).fit(X)
    np.testing.assert_allclose(model.means_, direct.means_, rtol=1e-10)


def test_the_mclust_grid_fits_mclusts_models_from_its_start(iris_csv):
    result = _fit(iris_csv, "-k", "1..2", "--covariance-type", "mclust")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()
            if line.strip()[:1].isdigit()]
    assert {row[1] for row in rows} >= {"EII", "EVE", "VVE", "EVV", "VVV"}
    # with the prior, mclust's grid leaves out the models without one
    prior = _fit(iris_csv, "-k", "1..2", "--covariance-type", "mclust", "--prior", "default")
    assert prior.exit_code == 0, prior.output
    names = {line.split()[1] for line in prior.output.splitlines()
             if line.strip()[:1].isdigit() and len(line.split()) > 5}
    assert "VVV" in names and not names & {"EVE", "VEE", "VVE", "EVV"}


@pytest.mark.parametrize("args, phrase", [
    (["--covariance-type", "XYZ"], "not a covariance type"),
    (["--covariance-type", "mclust,full"], "given alone"),
    (["--covariance-type", "EVE", "--prior", "default"], "no conjugate prior"),
    (["--prior", "flat"], "'flat' is not one of"),
])
def test_bad_choices_are_one_line_errors(iris_csv, args, phrase):
    result = _fit(iris_csv, "-k", 2, *args)
    assert result.exit_code != 0
    assert phrase in result.output, result.output
