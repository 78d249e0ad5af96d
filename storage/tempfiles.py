"""Temporary files segscope makes: where they live, how they go away.

- Work files of a workspace (the bulk writer's request and line batches) live
  in one folder per workspace, ``<workspace>.cache/tmp/``, never in the
  system temp folder.
- Files that must be renamed onto a target (a restored workspace, a snapshot,
  an export) are written beside that target, since a rename only stays atomic
  inside one file system; they are hidden (``.<target>.``...).

Every such name carries the id of the process that made it
(``...-p<pid>-...``), so a later run can tell a leftover of a killed process
(its pid is gone) from the work of a process still running, and sweeps it.
SIGTERM is turned into ``SystemExit`` while temporary files exist
(``removed_on_signals``), so ``finally`` blocks remove them on SIGTERM and
SIGINT as on a normal exit; after SIGKILL the next start sweeps them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PID_RE = re.compile(r"-p(\d+)-")
# A leftover whose name carries no pid (made before names had one) is swept
# once it is this old: no segscope operation keeps a temporary file this long.
UNTAGGED_AGE = 24 * 3600.0
REUSED_PID_AGE = 7 * 24 * 3600.0


def tag() -> str:
    """The part of a temporary name that says which process made it."""
    return f"-p{os.getpid()}-"


def workspace_tmp_dir(ws_path: str | Path) -> Path:
    """``<workspace>.cache/tmp/``: the workspace's own folder for work files (created)."""
    ws_path = Path(ws_path)
    directory = ws_path.with_name(ws_path.name + ".cache") / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` is a leftover: its maker's pid is gone (or, untagged, it is old)."""
    try:
        age = (now or time.time()) - path.lstat().st_mtime
    except OSError:
        return False
    match = PID_RE.search(path.name)
    if match:
        # a week-old file is stale even if its pid was reused by another process since
        return not _alive(int(match.group(1))) or age > REUSED_PID_AGE
    return age > UNTAGGED_AGE


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").unlink()


def sweep(directory: Path, pattern: str) -> list[Path]:
    """Remove the stale entries of ``directory`` matching ``pattern``; return what went."""
    gone: list[Path] = []
    try:
        candidates = list(directory.glob(pattern))
    except OSError:
        return gone
    now = time.time()
    for path in candidates:
        if is_stale(path, now):
            _remove(path)
            gone.append(path)
    return gone


def sweep_workspace(ws_path: str | Path) -> list[Path]:
    """Remove leftovers of killed processes in ``<workspace>.cache/tmp/``."""
    ws_path = Path(ws_path)
    directory = ws_path.with_name(ws_path.name + ".cache") / "tmp"
    if not directory.is_dir() or directory.is_symlink():
        return []
    return sweep(directory, "*")


def sweep_beside(target: str | Path, kind: str) -> list[Path]:
    """Remove stale ``.<target>.<kind>-*.tmp`` leftovers beside ``target``."""
    target = Path(target)
    return sweep(target.parent, f".{glob_escape(target.name)}.{kind}-*.tmp")


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


_depth = 0  # nesting of removed_on_signals() in the main thread


@contextlib.contextmanager
def removed_on_signals() -> Iterator[None]:
    """While inside, SIGTERM raises ``SystemExit`` in the main thread, so ``finally`` runs.

    Only when SIGTERM has its default action (an application that handles it
    keeps its own handler) and only from the main thread (Python delivers
    signals there). SIGINT already raises ``KeyboardInterrupt``.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth == 0 and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_exit)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and signal.getsignal(signal.SIGTERM) is _raise_exit:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def work_dir(ws_path: str | Path, prefix: str) -> Iterator[Path]:
    """A private folder for work files of the workspace at ``ws_path``, removed after.

    In ``<workspace>.cache/tmp/`` (the system temp folder only when the
    workspace's folder is read-only), removed on return, exception, SIGINT and
    SIGTERM; after SIGKILL the next open of the workspace sweeps it.
    """
    ws_path = Path(ws_path)
    cache = ws_path.with_name(ws_path.name + ".cache")
    made = [d for d in (cache, cache / "tmp") if not os.path.lexists(d)]
    with removed_on_signals():
        path = None
        for _attempt in range(3):  # another process may remove an empty tmp/ meanwhile
            try:
                path = make_dir(workspace_tmp_dir(ws_path), prefix)
                break
            except FileNotFoundError:
                continue
            except OSError:
                break
        if path is None:  # a read-only place: the system's temp folder, still tagged
            parent = Path(tempfile.gettempdir())
            sweep(parent, f"{glob_escape(prefix)}-p*")
            path = make_dir(parent, prefix)
            made = []
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            # the folders this call made go too, if nobody else uses them now
            for directory in reversed(made):
                with contextlib.suppress(OSError):
                    directory.rmdir()


@contextlib.contextmanager
def system_work_dir(prefix: str) -> Iterator[Path]:
    """A private pid-tagged folder in the system temp folder, for work tied to no workspace.

    Removed on return, exception, SIGINT and SIGTERM; leftovers of killed
    processes with the same prefix are swept first.
    """
    parent = Path(tempfile.gettempdir())
    sweep(parent, f"{glob_escape(prefix)}-p*")
    with removed_on_signals():
        path = make_dir(parent, prefix)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def make_dir(directory: Path, prefix: str, suffix: str = "") -> Path:
    """A new private folder in ``directory`` whose name carries this process's pid."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{tag()}", suffix=suffix, dir=directory))


def make_file(directory: Path, prefix: str, suffix: str = "") -> Path:
    """A new empty private file in ``directory`` whose name carries this process's pid."""
    fd, name = tempfile.mkstemp(prefix=f"{prefix}{tag()}", suffix=suffix, dir=directory)
    os.close(fd)
    return Path(name)
