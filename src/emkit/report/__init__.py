"""Self-contained HTML reports of fitted mixtures (plots embedded, one file)."""

from ._html import write_report

__all__ = ["write_report"]
