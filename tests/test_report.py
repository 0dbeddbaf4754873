"""The HTML report: one self-contained file whose images a real browser shows."""

import html
import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _report_cases import NAMES, assert_ellipses_centred_in_data_units, tied_selection, \
    two_d_data
from _report_svg import figure_svg, ids, plot_area, to_data
from emkit import NotFittedError
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


FIGURES = re.compile(r'<svg class="figure" data-figure="([^"]+)"')


def _figures(text):
    return FIGURES.findall(text)


def _rows(text):
    """(attributes, cells) of each table row of the report's model-selection table."""
    table = text[text.index("<h2>Model selection"):]
    rows = []
    for attributes, body in re.findall(r"<tr([^>]*)>(.*?)</tr>", table, re.DOTALL):
        cells = [html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body)]
        rows.append((dict(re.findall(r'([\w-]+)="([^"]*)"', attributes)), cells))
    return rows


def test_report_is_one_file_with_every_figure(iris_report):
    path, selection = iris_report
    text = path.read_text()
    assert _figures(text) == ["fit", "criterion", "convergence", "uncertainty"]
    # nothing fetched from outside: no external source, link, style or font
    assert not re.search(r"""(src|href)=["']?(https?:|//)|url\((["']?)(https?:|//)|@import""",
                         text)
    assert "<script" not in text
    _, *rows = _rows(text)
    assert len(rows) == len(selection.table)
    weights = re.search(r"<th>Weight</th>.*?</table>", text, re.DOTALL).group(0)
    for weight in selection.best_.weights_:
        assert re.search(rf"<td>{weight:.4f}</td>", weights)


def test_report_names_version_date_source_and_settings(tmp_path):
    import emkit

    X, _, names = load_iris()
    model = GaussianMixture(2, random_state=0).fit(X)
    before = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    text = write_report(model, X, tmp_path / "r.html", source="iris.csv",
                        settings={"components": "1..4", "criterion": "bic", "n_init": 3,
                                  "tol": 0.001}).read_text()
    after = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    provenance = re.search(r'<p class="provenance" id="provenance">(.*?)</p>', text).group(1)
    assert f"emkit {emkit.__version__}" in provenance
    assert before in provenance or after in provenance
    assert "UTC" in provenance and "iris.csv" in provenance
    assert "150 rows x 4 columns" in provenance
    settings = text[text.index("<h2>Settings</h2>"):]
    for name, value in [("components", "1..4"), ("criterion", "bic"), ("n_init", "3"),
                        ("tol", "0.001")]:
        assert re.search(rf"<td class=text>{re.escape(name)}</td><td class=text>"
                         rf"{re.escape(value)}</td>", settings), name


def test_bad_arguments_are_named_and_nothing_is_written(tmp_path):
    X, _, _ = load_iris()
    model = GaussianMixture(2, random_state=0).fit(X)
    target = tmp_path / "r.html"
    with pytest.raises(ValueError, match="feature_names has 2 names for 4 features"):
        write_report(model, X, target, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="X has 2 features, the model was fitted to 4"):
        write_report(model, X[:, :2], target)
    with pytest.raises(TypeError, match="settings must be a dict"):
        write_report(model, X, target, settings=[("k", 2)])
    with pytest.raises(NotFittedError):
        write_report(GaussianMixture(2), X, target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_report_for_every_parametrisation_and_dimension(tmp_path, covariance_type,
                                                        n_features):
    data = make_gaussian_mixture(300, n_components=3, n_features=n_features, random_state=0)
    model = GaussianMixture(3, covariance_type=covariance_type, n_init=2,
                            random_state=0).fit(data.X)
    text = write_report(model, data.X, tmp_path / "r.html").read_text()
    assert _figures(text) == ["fit", "convergence", "uncertainty"]
    fit = figure_svg(text, "fit")
    if n_features == 1:
        assert len(ids(fit, "histogram-bar-")) >= 5 and len(ids(fit, "density-")) == 4
    else:
        assert len(ids(fit, "ellipse-")) == 6 and not ids(fit, "histogram-bar-")


@pytest.fixture(scope="module")
def tied_report(tmp_path_factory):
    X, selection = tied_selection()
    path = tmp_path_factory.mktemp("report") / "tied.html"
    write_report(selection.best_, X, path, selection=selection)
    return path, selection


def test_the_chosen_row_is_best_and_degenerate_rows_are_marked(tied_report):
    path, selection = tied_report
    table = selection.table
    lowest = min(range(len(table)), key=lambda i: table[i]["bic"])
    assert table[lowest]["degenerate"] and table[lowest]["n_components"] != 3
    (_, header), *rows = _rows(path.read_text())
    assert header[1:] == ["Components", "Covariance type", "Log-likelihood", "Parameters", "BIC",
                          "AIC", "ICL", "Converged", "Iterations", "Degenerate",
                          "Singular (NA)"]
    chosen = [i for i, (attributes, _) in enumerate(rows)
              if "chosen" in attributes.get("class", "").split()]
    assert len(chosen) == 1
    attributes, cells = rows[chosen[0]]
    assert (attributes["data-n-components"], attributes["data-covariance-type"]) == (
        str(selection.best_.n_components), selection.best_.covariance_type)
    assert cells[0] == "chosen" and cells[1] == "3"
    for (attributes, cells), row in zip(rows, table):
        assert ("degenerate" in attributes.get("class", "").split()) == row["degenerate"]
        assert cells[-2] == ("yes" if row["degenerate"] else "no")
        assert cells[-1] == ("yes" if row["singular"] else "no")
    bics = [cells[5] for _, cells in rows]
    assert len(set(bics)) == len({row["bic"] for row in table})
    for cell, row in zip(bics, table):
        assert float(cell) == pytest.approx(row["bic"], rel=5e-4)  # 4 significant digits


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

PROBE_SCRIPT = """<script>
window.addEventListener('load', function () {
  var out = {figures: [], boxes: {}, chosen: [], other: null};
  document.querySelectorAll('svg.figure').forEach(function (svg) {
    var r = svg.getBoundingClientRect(), name = svg.dataset.figure;
    out.figures.push([name, r.width, r.height]);
    svg.querySelectorAll('g[id]').forEach(function (g) {
      if (/^(ellipse-|histogram-bar-|density-|chosen-fit$|.*plot-area$)/.test(g.id)) {
        var b = g.getBBox();
        out.boxes[name + '/' + g.id] = [b.x, b.y, b.width, b.height];
      }
    });
  });
  document.querySelectorAll('tr.chosen').forEach(function (tr) {
    out.chosen.push([tr.dataset.nComponents, tr.dataset.covarianceType,
                     getComputedStyle(tr).backgroundColor]);
  });
  var other = document.querySelector('tr[data-n-components]:not(.chosen)');
  if (other) out.other = getComputedStyle(other).backgroundColor;
  var pre = document.createElement('pre'); pre.id = 'probe';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def browser():
    found = _chromium()
    if found is None:
        pytest.skip("no chromium here and it could not be installed (needs root and apt-get)")
    return found


def _probe(browser, path, tmp_path):
    """What a headless Chromium drew for the report at ``path``: each figure's size, the
    boxes (getBBox, SVG units) of the marked elements, and the highlighted table rows."""
    probe = tmp_path / f"probe-{path.name}"
    probe.write_text(path.read_text().replace("</body>", PROBE_SCRIPT + "</body>"))
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.DOTALL)
    assert found, dom.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


def _rendered_data_box(probe, text, figure, gid):
    """The drawn box of element ``gid`` of ``figure``, in data units."""
    _, xlim, ylim = plot_area(figure_svg(text, figure))
    area = next(v for k, v in probe["boxes"].items()
                if k.startswith(figure + "/") and k.endswith("plot-area"))
    return to_data(probe["boxes"][f"{figure}/{gid}"], area, xlim, ylim)


def test_report_opens_in_a_headless_browser(browser, iris_report, tmp_path):
    path, _ = iris_report
    probe = _probe(browser, path, tmp_path)
    assert [name for name, _, _ in probe["figures"]] == ["fit", "criterion", "convergence",
                                                         "uncertainty"]
    assert all(width > 300 and height > 200 for _, width, height in probe["figures"])
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1100,1600", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists()
    image = Image.open(shot)
    assert image.size == (1100, 1600)
    pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # not a blank page


def test_browser_draws_2d_ellipses_centred_on_the_means(browser, tmp_path):
    X = two_d_data()
    model = GaussianMixture(3, random_state=0).fit(X)
    path = write_report(model, X, tmp_path / "two_d.html", feature_names=NAMES)
    text = path.read_text()
    probe = _probe(browser, path, tmp_path)
    boxes = {(k, s): _rendered_data_box(probe, text, "fit", f"ellipse-{k}-{s}sigma")
             for k in range(3) for s in (1, 2)}
    assert_ellipses_centred_in_data_units(boxes, model)


def test_browser_shows_a_1d_histogram(browser, tied_report, tmp_path):
    path, selection = tied_report
    text = path.read_text()
    probe = _probe(browser, path, tmp_path)
    bars = np.array([_rendered_data_box(probe, text, "fit", key.split("/", 1)[1])
                     for key in probe["boxes"] if key.startswith("fit/histogram-bar-")])
    assert len(bars) >= 5
    area = np.sum((bars[:, 1] - bars[:, 0]) * (bars[:, 3] - bars[:, 2]))
    assert area == pytest.approx(1.0, rel=1e-3)  # a histogram on the density scale
    assert f"fit/density-component-{selection.best_.n_components - 1}" in probe["boxes"]
    assert "fit/density-mixture" in probe["boxes"]


def test_browser_highlights_the_chosen_fit(browser, tied_report, tmp_path):
    path, selection = tied_report
    best = selection.best_
    probe = _probe(browser, path, tmp_path)
    assert len(probe["chosen"]) == 1
    n_components, covariance_type, background = probe["chosen"][0]
    assert (int(n_components), covariance_type) == (best.n_components, best.covariance_type)
    assert background != probe["other"]  # the row is visibly highlighted
    x0, x1, _, _ = _rendered_data_box(probe, path.read_text(), "criterion", "chosen-fit")
    assert (x0 + x1) / 2 == pytest.approx(best.n_components, abs=0.01)


def test_a_degenerate_fit_is_reported_as_such(tied_report, tmp_path):
    path, selection = tied_report
    X, _ = tied_selection()
    model = selection.models_[(6, "full")]
    assert model.degenerate_
    text = write_report(model, X, tmp_path / "r.html").read_text()
    warning = re.search(r'<p class="warning" id="degenerate-fit">(.*?)</p>', text).group(1)
    assert ", ".join(map(str, model.degenerate_components_)) in warning
    weights = re.search(r"<th>Weight</th>.*?</table>", text, re.DOTALL).group(0)
    marked = re.findall(r'<tr class="degenerate"><td>(\d+)</td>', weights)
    assert sorted(map(int, marked)) == sorted(model.degenerate_components_)
    readable = re.sub(r"data:image/png;base64,[^\"]*", "", text)
    assert not re.search(r"\bnan\b", readable, re.IGNORECASE)
    fit = figure_svg(text, "fit")
    assert ">Histogram of x0 with the fitted densities (peaks cut)</text>" in fit
