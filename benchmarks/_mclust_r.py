"""R's mclust as a reference, run through Rscript when R and mclust are installed.

mclust's data sets are read from the installed R package at run time and written to a
temporary folder (they are GPL, so none is kept in this repository). Everything is asked
of R in one Rscript call per data set.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

#: mclust's data sets and the R expression giving each one's numeric matrix.
DATASETS = {
    "iris": "iris[, 1:4]",
    "faithful": "faithful",
    "diabetes": "diabetes[, -1]",
    "banknote": "banknote[, -1]",
    "thyroid": "thyroid[, -1]",
    "wreath": "wreath",
    "chevron": "chevron[, -1]",
}

#: One column, which mclust starts from quantile classes instead of its tree.
UNIVARIATE = {"eruptions": "faithful[, 1, drop = FALSE]"}

#: The numbers of components mclust's acceptance grid runs (wreath has 14 clusters).
GRIDS = {name: range(1, 21) if name == "wreath" else range(1, 10)
         for name in [*DATASETS, *UNIVARIATE]}

_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]; G <- eval(parse(text = args[2])); models <- strsplit(args[3], ",")[[1]]
prior <- if (length(args) > 3 && args[4] == "prior") priorControl() else NULL
data(list = c("diabetes", "banknote", "thyroid", "wreath", "chevron"), package = "mclust")
X <- data.matrix(%s)
dimnames(X) <- NULL
write.table(X, file.path(out, "X.csv"), sep = ",", row.names = FALSE, col.names = FALSE)
if (ncol(X) > 1) {
  start <- hclass(hc(X, modelName = mclust.options("hcModelName"),
                     use = mclust.options("hcUse")), 1:9)
} else {
  start <- sapply(1:9, function(k) mclust:::qclass(X[, 1], k))
}
write.table(start, file.path(out, "start.csv"), sep = ",", row.names = FALSE,
            col.names = FALSE)
if (length(models) > 0 && models[1] != "none") {
  elapsed <- system.time(M <- Mclust(X, G = G, modelNames = models, prior = prior,
                                      verbose = FALSE))[["elapsed"]]
  write.table(unclass(M$BIC)[, , drop = FALSE], file.path(out, "bic.csv"), sep = ",",
              col.names = TRUE, row.names = FALSE)
  writeLines(c(M$modelName, as.character(M$G), format(M$bic, digits = 17),
               format(elapsed, digits = 17)), file.path(out, "best.txt"))
}
"""


def available() -> bool:
    """Whether Rscript runs and has mclust."""
    if shutil.which("Rscript") is None:
        return False
    try:
        done = subprocess.run(["Rscript", "-e", "suppressMessages(library(mclust))"],
                              capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def reference(name: str, n_components=None, models=(), prior: bool = False) -> dict:
    """mclust's answers for data set ``name``.

    Returns a dict with ``X`` (the data), ``start`` (the labels mclustBIC starts from at
    1..9 clusters, one column per cut: ``hclass`` of ``hc`` with
    ``mclust.options("hcModelName", "hcUse")``, or ``qclass`` for one column), and, when
    ``models`` are given, from ``Mclust(X, G, modelNames)`` (with
    ``prior = priorControl()`` when ``prior``): ``bic`` (a dict
    (G, model) -> mclust's BIC, NaN where mclust has none), ``best`` ((model, G, BIC)
    that mclust chooses) and ``seconds`` (Mclust's time, measured in R).
    """
    ks = list(GRIDS[name] if n_components is None else n_components)
    with tempfile.TemporaryDirectory(prefix="emkit-mclust-") as folder:
        script = Path(folder, "run.R")
        script.write_text(_SCRIPT % {**DATASETS, **UNIVARIATE}[name])
        started = time.perf_counter()
        subprocess.run(["Rscript", str(script), folder, f"c({','.join(map(str, ks))})",
                        ",".join(models) or "none", "prior" if prior else "none"],
                       check=True, capture_output=True,
                       timeout=1200)
        wall = time.perf_counter() - started
        result = dict(X=np.loadtxt(Path(folder, "X.csv"), delimiter=",", ndmin=2),
                      start=np.loadtxt(Path(folder, "start.csv"), delimiter=",",
                                       dtype=np.int64, ndmin=2))
        if models:
            table = np.genfromtxt(Path(folder, "bic.csv"), delimiter=",", names=True)
            result["bic"] = {(k, model): float(table[model][row])
                             for row, k in enumerate(ks) for model in models}
            best = Path(folder, "best.txt").read_text().split()
            result["best"] = (best[0], int(best[1]), float(best[2]))
            result["seconds"] = float(best[3])
            result["wall_seconds"] = wall
    return result
