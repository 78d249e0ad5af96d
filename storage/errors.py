"""Errors raised by the workspace layer.

Each message says what went wrong and where (the workspace path), so the CLI
can print it as one line and the TUI can show it as it is.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import SegscopeError


class WorkspaceError(SegscopeError):
    """A problem with a workspace file or with what is stored in it."""


class NotAWorkspaceError(WorkspaceError):
    """The path does not hold a segscope workspace (missing, a directory, not SQLite, ...)."""


class WorkspaceBusyError(WorkspaceError):
    """Another process holds the write lock longer than the busy timeout."""

    exit_code = 3

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(
            f"workspace is busy: {self.path} is being written by another process; try again"
        )


class SchemaTooNewError(WorkspaceError):
    """The workspace was written by a newer segscope whose schema this version does not know."""


class ExportError(SegscopeError):
    """An export that cannot be written (unknown extension, bad sheet name, unwritable path)."""
