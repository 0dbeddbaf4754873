"""The main job on bundled data: what ``make demo`` and ``emkit demo`` run: Gaussian
mixtures on iris and on a synthetic set, then one short run of each other model family."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from .datasets import load_iris, make_gaussian_mixture
from .mixture import GaussianMixture, select
from .report import write_report


def bic_by_k(result, covariance_type="full"):
    """{K: BIC} of one covariance type's rows of a selection."""
    return {row["n_components"]: row["bic"] for row in result.table
            if row["covariance_type"] == covariance_type}


def describe(model, X, title):
    """Print a fitted mixture: K, weights, means, log-likelihood, iterations, convergence."""
    print(f"\n== {title}")
    print(f"chosen K = {model.n_components}   log-likelihood = {model.score(X) * len(X):.3f} "
          f"(mean {model.score(X):.4f})   iterations = {model.n_iter_}   "
          f"converged = {model.converged_}")
    order = np.argsort(-model.weights_)
    with np.printoptions(precision=3, suppress=True):
        for k in order:
            print(f"  component {k}: weight {model.weights_[k]:.3f}  mean {model.means_[k]}")


def _best_label_agreement(found, truth):
    k = max(found.max(), truth.max()) + 1
    if k > 8:
        return float("nan")
    return max(np.mean(np.asarray(perm)[found] == truth)
               for perm in itertools.permutations(range(k)))


def run_demo(seed: int = 0, report: str | Path | None = "emkit-demo-report.html") -> None:
    """Iris (real data) and a synthetic mixture with a known answer; the HTML report of
    the iris selection is written to ``report`` (None: no report)."""
    X, species, names = load_iris()
    selection = select(X, range(1, 7), n_init=5, random_state=seed)
    model = selection.best_
    print("emkit demo: Gaussian mixtures by EM, K and covariance chosen by BIC "
          "(lower is better)")
    print("\n== iris (150 flowers x 4 measurements: " + ", ".join(names) + ")")
    for covariance_type in ("full", "tied", "diag", "spherical"):
        print(f"BIC by K, {covariance_type:>9}: " + "  ".join(
            f"K={k}: {v:.1f}" for k, v in bic_by_k(selection, covariance_type).items()))
    describe(model, X, f"iris, best mixture ({model.covariance_type} covariance)")
    three = GaussianMixture(3, n_init=5, random_state=seed).fit(X)
    print(f"  with K=3, agreement with the three species: "
          f"{_best_label_agreement(three.predict(X), species):.1%}")

    if report is not None:
        path = write_report(model, X, report, selection=selection, feature_names=names)
        print(f"  report: {Path(path).resolve()}")

    truth = make_gaussian_mixture(3000, n_components=4, n_features=2,
                                  weights=[0.4, 0.3, 0.2, 0.1], random_state=seed)
    result = select(truth.X, range(1, 8), covariance_types="full", n_init=5,
                    random_state=seed)
    model, bic = result.best_, bic_by_k(result)
    print("\n== synthetic: 3000 rows from 4 known Gaussian components")
    print("BIC by K: " + "  ".join(f"K={k}: {v:.1f}" for k, v in bic.items()))
    describe(model, truth.X, "synthetic, best full-covariance mixture")
    with np.printoptions(precision=3, suppress=True):
        for k in range(len(truth.weights)):
            print(f"  truth {k}:     weight {truth.weights[k]:.3f}  mean {truth.means[k]}")
    print(f"  label agreement with the truth: "
          f"{_best_label_agreement(model.predict(truth.X), truth.labels):.1%}")

    run_model_family_demos(seed)


def run_model_family_demos(seed: int = 0) -> None:
    """The other model families, each on its own data: image segmentation of a photograph
    shipped with scikit-learn, motif discovery in planted DNA sequences, and topics of
    Python's own help texts."""
    from .motif._demo import run_demo as motif_demo
    from .segment._demo import run_demo as segment_demo
    from .topics._demo import run_demo as topics_demo

    for title, demo in (("image segmentation", segment_demo),
                        ("DNA motif discovery (MEME-style EM)", motif_demo),
                        ("topic model (PLSA)", topics_demo)):
        print(f"\n== {title}")
        demo(seed=seed)
