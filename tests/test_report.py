"""The HTML report: one self-contained file whose images a real browser shows."""

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emkit.datasets import load_iris, make_gaussian_mixture
from emkit.mixture import GaussianMixture, select
from emkit.report import write_report

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def iris_report(tmp_path_factory):
    X, _, names = load_iris()
    selection = select(X, range(1, 5), random_state=0, n_init=2)
    path = tmp_path_factory.mktemp("report") / "iris.html"
    write_report(selection.best_, X, path, selection=selection, feature_names=names,
                 title="iris")
    return path, selection


def _images(text):
    return [Image.open(io.BytesIO(base64.b64decode(b)))
            for b in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_report_is_one_file_with_every_figure(iris_report):
    path, selection = iris_report
    text = path.read_text()
    images = _images(text)
    assert len(images) == 4  # criterion, convergence, clusters, uncertainty
    assert all(image.size[0] > 300 and image.size[1] > 200 for image in images)
    assert "http://" not in text and "https://" not in text  # nothing fetched from outside
    assert text.count("<tr") >= len(selection.table) + 1
    best = selection.best_
    for weight in best.weights_:
        assert f"{weight:.4g}" in text


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_report_for_every_parametrisation_and_dimension(tmp_path, covariance_type,
                                                        n_features):
    data = make_gaussian_mixture(300, n_components=3, n_features=n_features, random_state=0)
    model = GaussianMixture(3, covariance_type=covariance_type, n_init=2,
                            random_state=0).fit(data.X)
    path = write_report(model, data.X, tmp_path / "r.html")
    assert len(_images(path.read_text())) == 3


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env,
                           capture_output=True, timeout=600, check=True)
        except (subprocess.SubprocessError, OSError):
            try:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
                subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env,
                               capture_output=True, timeout=600, check=True)
            except (subprocess.SubprocessError, OSError):
                return None
        return shutil.which("chromium")
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  var p = document.createElement('p'); p.id = 'image-check';
  p.textContent = 'IMAGES-SHOWN ' + ok + ' OF ' + imgs.length; document.body.appendChild(p);
});
</script>"""


def test_report_opens_in_a_headless_browser(iris_report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium here and it could not be installed (needs root and apt-get)")
    path, _ = iris_report
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                          "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert "IMAGES-SHOWN 4 OF 4" in dom.stdout, dom.stderr[-2000:]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                    f"--screenshot={shot}", "--window-size=1100,1600", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists()
    image = Image.open(shot)
    assert image.size == (1100, 1600)
    pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # not a blank page
