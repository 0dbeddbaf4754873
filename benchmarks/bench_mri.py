"""MRI segmentation benchmark: emkit.segment on nilearn's MNI152 T1 template, the plain
Potts mixture against the same with the bias-field model, clean and with noise and an
intensity ramp.

Data: ``nilearn.datasets.load_mni152_template`` (shipped inside nilearn, no download), its
brain mask, and its grey- and white-matter maps; the reference tissue of a voxel is the
argmax of (CSF = 1 - GM - WM, GM, WM). Conditions: the clean template; 5 % Gaussian noise
(of the brain's maximum); the noise times a linear ramp of +-20 % and +-40 % along the
anterior-posterior axis. Methods, both ``segment(t1, 3, mask=brain, smoothing=1.0)``:

* ``plain``: the Potts-MRF mixture of the intensities;
* ``bias``: the same with ``bias_field=True, bias_smoothing=1.0``.

Per (resolution, condition, method): Dice of CSF, GM and WM, accuracy over the brain,
seconds of the ``segment`` call, and its peak traced memory (tracemalloc: Python and
numpy allocations). Each resolution runs in a child process, which also reports its peak
resident memory (ru_maxrss, imports included). The full run adds the clean 1 mm volume
(7.3 M voxels, 1.9 M in the brain), each method in its own process; target: under 60 s
and 2 GB. ``--quick`` (the smoke test): a slab of the 2 mm volume, two conditions.

Seconds depend on the machine and its load (printed): compare them within one run.

Usage::

    python benchmarks/bench_mri.py            # 2 mm, every condition; 1 mm, clean
    python benchmarks/bench_mri.py --quick    # a slab of the 2 mm volume
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import fmt, load_note  # noqa: E402

CONDITIONS = {"clean": (0.0, 0.0), "noise": (0.05, 0.0), "noise+bias20": (0.05, 0.2),
              "noise+bias40": (0.05, 0.4)}
QUICK_CONDITIONS = ("noise", "noise+bias40")
METHODS = ("plain", "bias")
QUICK_SLAB = slice(40, 48)
SEED = 0
TISSUES = ("CSF", "GM", "WM")


def load_brain(resolution, slab=None):
    """``(t1, mask, reference)`` of the MNI152 template at ``resolution`` mm."""
    from nilearn import datasets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        images = [datasets.load_mni152_template(resolution=resolution),
                  datasets.load_mni152_gm_template(resolution=resolution),
                  datasets.load_mni152_wm_template(resolution=resolution),
                  datasets.load_mni152_brain_mask(resolution=resolution)]
    t1, gm, wm, mask = (np.asarray(image.get_fdata()) for image in images)
    if slab is not None:
        t1, gm, wm, mask = (a[..., slab] for a in (t1, gm, wm, mask))
    mask = mask > 0
    reference = np.argmax(np.stack([np.clip(1.0 - gm - wm, 0.0, None), gm, wm]), axis=0)
    return t1, mask, reference


def degraded(t1, mask, noise, ramp, seed=SEED):
    """The template with Gaussian noise (``noise`` times the brain's maximum) times a
    linear ramp 1 +- ``ramp`` along the second axis; values in the brain kept > 0."""
    rng = np.random.default_rng(seed)
    image = t1 + noise * float(t1[mask].max()) * rng.standard_normal(t1.shape)
    image = image * (1.0 + ramp * np.linspace(-1.0, 1.0, t1.shape[1])[None, :, None])
    return np.where(mask, np.clip(image, 1e-3, None), 0.0)


def run_case(image, mask, reference, method) -> dict:
    """Segment once; Dice per tissue, accuracy, seconds, peak traced memory."""
    from emkit.segment import dice_scores, segment

    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = segment(image, 3, mask=mask, smoothing=1.0, bias_field=method == "bias",
                         bias_smoothing=1.0, random_state=SEED)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    labels = np.where(mask, result.labels, -1)
    truth = np.where(mask, reference, -1)
    return {"dice": [float(d) for d in dice_scores(labels, truth, 3)],
            "accuracy": float(np.mean(result.labels[mask] == reference[mask])),
            "seconds": seconds, "traced_mb": peak, "n_iter": int(result.n_iter)}


def child(resolution, conditions, methods, slab):
    """In this (child) process: every (condition, method); print the rows as JSON."""
    import resource

    t1, mask, reference = load_brain(resolution, slab)
    rows = []
    for name in conditions:
        image = degraded(t1, mask, *CONDITIONS[name])
        for method in methods:
            row = run_case(image, mask, reference, method)
            row.update({"resolution": resolution, "condition": name, "method": method,
                        "n_brain": int(mask.sum())})
            rows.append(row)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    for row in rows:
        row["process_peak_mb"] = rss
    print(json.dumps(rows))


def in_child(resolution, conditions, methods, slab=None) -> list:
    """:func:`child` in a fresh process (so that its peak memory is its own)."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r});"
            f" import bench_mri as b; b.child({resolution!r}, {tuple(conditions)!r}, "
            f"{tuple(methods)!r}, {slab!r})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the child run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_report(rows) -> str:
    head = (f"{'res':>3} {'condition':<13} {'method':<6} "
            + " ".join(f"{'dice ' + t:>8}" for t in TISSUES)
            + f" {'accuracy':>8} {'seconds':>8} {'traced MB':>9} {'proc MB':>8}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['resolution']:>3} {r['condition']:<13} {r['method']:<6} "
                     + " ".join(f"{fmt(d, '.3f'):>8}" for d in r["dice"])
                     + f" {fmt(r['accuracy'], '.4f'):>8} {fmt(r['seconds'], '.1f'):>8}"
                     f" {fmt(r['traced_mb'], '.0f'):>9} {fmt(r['process_peak_mb'], '.0f'):>8}")
    by = {(r["resolution"], r["condition"], r["method"]): r for r in rows}
    for (res, condition, method), r in sorted(by.items()):
        plain = by.get((res, condition, "plain"))
        if method == "bias" and plain is not None:
            lines.append(f"{res} mm {condition}: bias model accuracy "
                         f"{r['accuracy'] - plain['accuracy']:+.4f} against the plain "
                         f"mixture, time x{r['seconds'] / plain['seconds']:.2f}")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a slab of the 2 mm volume")
    parser.add_argument("--no-1mm", action="store_true", help="skip the 1 mm volume")
    return parser.parse_args(argv)


def main(argv=None) -> list:
    """Run the benchmark, print the report, return one dict per case."""
    args = parse_args(argv)
    print(f"{load_note()}; {os.cpu_count()} cores; mode {'quick' if args.quick else 'full'}",
          flush=True)
    if args.quick:
        rows = in_child(2, QUICK_CONDITIONS, METHODS, QUICK_SLAB)
    else:
        rows = in_child(2, tuple(CONDITIONS), METHODS)
        if not args.no_1mm:
            for method in METHODS:
                rows += in_child(1, ("clean",), (method,))
    print(format_report(rows))
    return rows


if __name__ == "__main__":
    main()
