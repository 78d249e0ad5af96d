"""Messages the App sends to every open workbench screen.

They name the steps of the data flow: an import (or any data write) gives
``DataChanged``; choosing or saving a model gives ``ModelChanged``; and when
the segment assignments and profiles of the active model are recomputed,
``SegmentsComputed``. The App posts a fresh instance to each registered
``WorkbenchScreen`` (see ``SegscopeApp.broadcast``) once the worker that did
the work has finished, so handlers only read ``app.state``, never compute.
"""

from __future__ import annotations

from textual.message import Message


class DataChanged(Message):
    """Accounts, transactions or contacts changed; ``app.state`` holds the new frames."""


class ModelChanged(Message):
    """The active model changed (chosen, saved, renamed or deleted)."""

    def __init__(self, model_name: str | None) -> None:
        super().__init__()
        self.model_name = model_name


class SegmentsComputed(Message):
    """``app.state.assignments`` and ``app.state.profiles`` are fresh for the active model."""

    def __init__(self, model_name: str | None, elapsed_ms: float = 0.0) -> None:
        super().__init__()
        self.model_name = model_name
        self.elapsed_ms = elapsed_ms
