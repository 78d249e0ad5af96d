"""The demo workspace: the committed demo set imported into a workspace file.

``ensure_demo_workspace()`` is what ``make demo`` (and ``segscope`` without a
path) calls on first run. The workspace is built in a temporary file beside
the target and moved into place only when every import has committed, so a
first run killed half-way leaves no half demo behind, only a temporary file
that the next run removes.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_FILE_NAME = "demo.segscope"
# (file in DEMO_DIR, import kind), in the order they must be imported.
DEMO_FILES = (
    ("accounts.csv", "accounts"),
    ("transactions.csv.gz", "transactions"),
    ("contacts.csv", "contacts"),
    ("activities.csv.gz", "activities"),
)
# A temporary file older than this belongs to a run that died.
STALE_TEMP_SECONDS = 3600


def default_demo_path() -> Path:
    """``<user data dir>/segscope/demo.segscope`` (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("segscope", appauthor=False)) / DEMO_FILE_NAME


def _temp_paths(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))


def _remove_with_companions(path: Path) -> None:
    from storage.workspace import remove_workspace_files

    remove_workspace_files(path)


def _remove_stale_temps(target: Path) -> None:
    now = time.time()
    for temp in _temp_paths(target):
        with contextlib.suppress(OSError):
            if now - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                _remove_with_companions(temp)


def build_demo_workspace(path: Path) -> None:
    """Create a workspace at ``path`` (which must not exist) and import the demo files."""
    from storage.importer import commit_import, prepare_import
    from storage.workspace import Workspace

    ws = Workspace.create(path)
    try:
        for file_name, kind in DEMO_FILES:
            prepared = prepare_import(DEMO_DIR / file_name, kind)
            commit_import(ws, prepared)
        # fold the write-ahead log into the file so the file alone is the workspace
        ws.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        ws.close()


def ensure_demo_workspace(path: Path | None = None) -> Path:
    """Return the demo workspace path, creating and filling it on first use.

    An existing file is returned untouched (it may hold the analyst's models).
    """
    target = Path(path).expanduser() if path is not None else default_demo_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        build_demo_workspace(temp)
        for suffix in ("-wal", "-shm"):
            # empty after the checkpoint; never carry them across the rename
            with contextlib.suppress(FileNotFoundError):
                Path(f"{temp}{suffix}").unlink()
        try:
            # link() refuses to replace: if another process finished first, keep theirs
            os.link(temp, target)
        except FileExistsError:
            pass
        except OSError:  # file systems without hard links
            if not target.exists():
                os.replace(temp, target)
    finally:
        _remove_with_companions(temp)
    return target
