"""Models, runs, segment annotations and settings (filled in below)."""

from __future__ import annotations


class RepositoryMixin:
    pass
