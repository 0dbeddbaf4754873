"""Missing-data imputation by EM."""

from ._em_imputer import EMImputer

__all__ = ["EMImputer"]
