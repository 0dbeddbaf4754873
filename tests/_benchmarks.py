"""Loading a benchmark script (benchmarks/ is not a package) for its smoke test."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    """The module ``benchmarks/<name>.py``, freshly executed."""
    spec = importlib.util.spec_from_file_location(f"emkit_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
