"""Data and checks shared by the report's tests."""

import numpy as np

from emkit.datasets import make_gaussian_mixture
from emkit.mixture import select
from emkit.report._plots import full_covariances

NAMES = ["height_cm", "mass_kg"]
OFFSET = np.array([170.0, -40.0])  # far from 0: a mean-centred drawing is far off


def tied_selection():
    """1-D measurements rounded to integers: K=3 is right, and K=5, 6 collapse onto single
    values, which gives them a lower BIC; select keeps K=3."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.6, 150), rng.normal(12, 0.6, 100),
                        rng.normal(25, 0.6, 150)])
    X = np.round(x)[:, None]
    return X, select(X, range(1, 7), covariance_types="full", random_state=0)


def two_d_data():
    data = make_gaussian_mixture(400, n_components=3, n_features=2, random_state=0)
    return data.X * np.array([4.0, 0.5]) + OFFSET


def assert_ellipses_centred_in_data_units(boxes, model):
    """``boxes[(k, sigma)]`` = (x_min, x_max, y_min, y_max) of the drawn ellipse."""
    covariances = full_covariances(model)
    for (k, sigma), (x0, x1, y0, y1) in boxes.items():
        span = np.sqrt(np.diag(covariances[k]))
        centre, half = np.array([x0 + x1, y0 + y1]) / 2, np.array([x1 - x0, y1 - y0]) / 2
        np.testing.assert_allclose(centre, model.means_[k], rtol=0, atol=1e-3 * span.max())
        # an ellipse's half-extent along an axis is sigma times that axis's sd
        np.testing.assert_allclose(half, sigma * span, rtol=2e-3, atol=1e-4 * span.max())
