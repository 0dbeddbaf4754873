"""Run an R script with mclust at test time (skipped with the reason where R or mclust is
absent). mclust's data sets are GPL: tests export them into a temporary folder, never
into the repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def run_mclust(script: str, folder: Path, timeout: float = 120) -> None:
    """Run ``script`` (R code; ``library(mclust)`` is loaded first) in ``folder``."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed: the comparison with mclust needs R")
    path = folder / "script.R"
    path.write_text("suppressPackageStartupMessages(library(mclust))\n" + script)
    done = subprocess.run(["Rscript", str(path)], cwd=folder, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0 and "there is no package called" in done.stderr:
        pytest.skip("the R package mclust is not installed")
    assert done.returncode == 0, done.stderr
