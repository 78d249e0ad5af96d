"""Completion of file-system paths for an ``Input`` (``Input(suggester=PathSuggester())``)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry (directories first, then by name) that extends the typed path.

    Directories are completed with a trailing separator so the next part can be
    typed at once. Hidden entries are suggested only when the typed part starts
    with a dot. Nothing is cached: the directory may change between keystrokes.
    """

    def __init__(self, *, suffixes: tuple[str, ...] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffixes = tuple(s.lower() for s in suffixes)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        directory, _, prefix = expanded.rpartition(os.sep)
        base = Path(directory + os.sep if directory or expanded.startswith(os.sep) else ".")
        try:
            entries = list(base.iterdir())
        except OSError:
            return None
        candidates = []
        for entry in entries:
            name = entry.name
            if not name.startswith(prefix) or name == prefix:
                continue
            if name.startswith(".") and not prefix.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if not is_dir and self.suffixes and not name.lower().endswith(self.suffixes):
                continue
            candidates.append((not is_dir, name, is_dir))
        if not candidates:
            return None
        _, name, is_dir = min(candidates)
        # keep what the user typed (e.g. "~") and append only the completion
        return value + name[len(prefix):] + (os.sep if is_dir else "")
