"""Public names imported on first use (PEP 562), so ``import emkit`` and ``emkit --help``
stay light: numba kernels, pandas and matplotlib load only when a model needs them."""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, where: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict
        Public name -> the relative module that defines it (``"._gaussian_mixture"``); a
        name that is itself a subpackage maps to its own relative name (``".hmm"``).
    """

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        imported = importlib.import_module(module, package)
        value = imported if module.rsplit(".", 1)[-1] == name else getattr(imported, name)
        globals_of(package)[name] = value  # later look-ups are plain attribute reads
        return value

    def __dir__():
        return sorted(set(globals_of(package)) | set(where))

    return __getattr__, __dir__


def globals_of(package: str) -> dict:
    """The namespace of the (already imported) module ``package``."""
    return vars(sys.modules[package])
