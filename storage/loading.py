"""Loading workspace tables into canonical polars frames (filled in below)."""

from __future__ import annotations


class LoadingMixin:
    pass
