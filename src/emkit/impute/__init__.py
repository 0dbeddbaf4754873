"""Missing-data imputation by EM."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "EMImputer": "._em_imputer",
})

__all__ = ["EMImputer"]
