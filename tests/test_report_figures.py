"""The report's figures, read back from their SVG in data units (no browser needed)."""

import numpy as np
import pytest
from PIL import Image

from _report_cases import NAMES, assert_ellipses_centred_in_data_units, tied_selection, \
    two_d_data
from _report_svg import data_box, figure_svg, ids, path_box
from emkit.datasets import make_gaussian_mixture
from emkit.mixture import GaussianMixture, select
from emkit.report import plot_fit, write_report


@pytest.fixture(scope="module")
def two_d_report(tmp_path_factory):
    X = two_d_data()
    selection = select(X, range(1, 5), covariance_types=["full", "diag"], random_state=0)
    path = tmp_path_factory.mktemp("report") / "two_d.html"
    write_report(selection.best_, X, path, selection=selection, feature_names=NAMES)
    return path.read_text(), selection


def test_2d_ellipses_are_centred_on_the_means_in_data_units(two_d_report):
    text, selection = two_d_report
    model = selection.best_
    assert model.n_components == 3
    svg = figure_svg(text, "fit")
    boxes = {(k, s): data_box(svg, f"ellipse-{k}-{s}sigma")
             for k in range(model.n_components) for s in (1, 2)}
    assert_ellipses_centred_in_data_units(boxes, model)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_ellipses_for_every_parametrisation(tmp_path, covariance_type):
    X = two_d_data()
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    svg = figure_svg(write_report(model, X, tmp_path / "r.html").read_text(), "fit")
    boxes = {(k, s): data_box(svg, f"ellipse-{k}-{s}sigma") for k in range(3) for s in (1, 2)}
    assert_ellipses_centred_in_data_units(boxes, model)


def test_2d_axes_are_named_by_the_features(two_d_report):
    text, _ = two_d_report
    svg = figure_svg(text, "fit")
    for name in NAMES:
        assert f">{name}</text>" in svg
    assert ">x0</text>" not in svg


def test_feature_names_default_to_the_models(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(two_d_data(), columns=["width", "depth"])
    model = GaussianMixture(2, random_state=0).fit(frame)
    text = write_report(model, frame, tmp_path / "r.html").read_text()
    svg = figure_svg(text, "fit")
    assert ">width</text>" in svg and ">depth</text>" in svg
    assert "Mean width" in text and "SD depth" in text


def test_more_than_two_features_say_which_projection(tmp_path):
    data = make_gaussian_mixture(300, n_components=2, n_features=4, random_state=0)
    model = GaussianMixture(2, random_state=0).fit(data.X)
    svg = figure_svg(write_report(model, data.X, tmp_path / "r.html").read_text(), "fit")
    assert "PC1 of the centred data (" in svg and "PC2 of the centred data (" in svg
    assert "% of variance)</text>" in svg
    assert len(ids(svg, "ellipse-")) == 4


def _histogram(svg):
    bars = [data_box(svg, gid) for gid in ids(svg, "histogram-bar-")]
    return np.array(bars)


def test_1d_report_has_a_density_histogram_and_the_fitted_densities(tmp_path):
    data = make_gaussian_mixture(500, n_components=2, n_features=1, random_state=1)
    X = data.X * 3 + 50
    model = GaussianMixture(2, random_state=0).fit(X)
    svg = figure_svg(write_report(model, X, tmp_path / "r.html").read_text(), "fit")
    bars = _histogram(svg)
    assert len(bars) >= 5
    widths, heights = bars[:, 1] - bars[:, 0], bars[:, 3] - bars[:, 2]
    np.testing.assert_allclose(bars[:, 2], 0, atol=1e-6 * heights.max())  # bars stand on 0
    np.testing.assert_allclose(np.sum(widths * heights), 1.0, rtol=1e-3)  # density scale
    tol = 1e-5 * np.ptp(X)  # the SVG writes positions to 1e-6 of a point
    assert bars[:, 0].min() <= X.min() + tol and bars[:, 1].max() >= X.max() - tol
    assert ids(svg, "density-component-") == ["density-component-0", "density-component-1"]
    grid = np.linspace(X.min(), X.max(), 20001)[:, None]
    peak = np.exp(model.score_samples(grid)).max()
    _, _, low, high = data_box(svg, "density-mixture")
    assert low == pytest.approx(0, abs=1e-3 * peak)
    assert high == pytest.approx(peak, rel=2e-3)


def test_whole_numbers_get_bins_centred_on_the_values(tmp_path):
    X, selection = tied_selection()
    path = write_report(selection.best_, X, tmp_path / "r.html", selection=selection)
    bars = _histogram(figure_svg(path.read_text(), "fit"))
    edges = np.r_[bars[:, 0], bars[-1, 1]] + 0.5
    np.testing.assert_allclose(edges, np.round(edges), atol=1e-4)
    np.testing.assert_allclose(np.sum((bars[:, 1] - bars[:, 0]) * (bars[:, 3] - bars[:, 2])),
                               1.0, rtol=1e-3)


def test_criterion_plot_circles_the_chosen_fit(tmp_path):
    X, selection = tied_selection()
    best = selection.best_
    rows = {r["n_components"]: r for r in selection.table}
    assert best.n_components == 3
    assert any(r["degenerate"] and r["bic"] < rows[3]["bic"] for r in selection.table)
    path = write_report(best, X, tmp_path / "r.html", selection=selection)
    svg = figure_svg(path.read_text(), "criterion")
    x0, x1, y0, y1 = data_box(svg, "chosen-fit")
    assert (x0 + x1) / 2 == pytest.approx(3, abs=0.01)
    bics = [r["bic"] for r in selection.table]
    assert (y0 + y1) / 2 == pytest.approx(rows[3]["bic"],
                                          abs=1e-3 * (max(bics) - min(bics)))


def test_plot_fit_draws_the_reports_main_figure(tmp_path, two_d_report):
    text, selection = two_d_report
    X = two_d_data()
    png = plot_fit(selection.best_, X, tmp_path / "fit.png", feature_names=NAMES)
    assert png == tmp_path / "fit.png"
    image = Image.open(png)
    assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 300
    assert np.asarray(image.convert("L")).std() > 10
    svg = plot_fit(selection.best_, X, tmp_path / "fit.svg", feature_names=NAMES).read_text()
    report_svg = figure_svg(text, "fit")
    for k in range(3):  # the same drawing: the same outline (SVG keeps 1e-6 of a point)
        np.testing.assert_allclose(path_box(svg, f"ellipse-{k}-1sigma"),
                                   path_box(report_svg, f"ellipse-{k}-1sigma"), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_fit(selection.best_, X, tmp_path / "fit.html")
    assert not (tmp_path / "fit.html").exists()


def test_rows_with_missing_values_are_left_out_of_the_pictures(tmp_path):
    X = two_d_data()
    X[::7, 1] = np.nan
    model = GaussianMixture(3, random_state=0).fit(X)
    svg = figure_svg(write_report(model, X, tmp_path / "r.html").read_text(), "fit")
    assert len(ids(svg, "ellipse-")) == 6
    x = X[:, :1].copy()
    model = GaussianMixture(2, random_state=0).fit(x)
    svg = figure_svg(write_report(model, x, tmp_path / "r1.html").read_text(), "fit")
    bars = _histogram(svg)
    np.testing.assert_allclose(np.sum((bars[:, 1] - bars[:, 0]) * (bars[:, 3] - bars[:, 2])),
                               1.0, rtol=1e-3)
