"""The per-account frame kept on disk, so a big workspace opens without rebuilding it.

Building ``core.frame.account_frame`` reads every transaction (about 3 s to load
and 7 s to aggregate at 20M lines); the Overview needs only the resulting frame.
The workbench writes the frame it built into the workspace's cache directory
(``<workspace>.cache/``, the derived-data directory that ``storage.loading``
also uses and that may be deleted at any time) as one LZ4 Arrow file, and reads
it back at the next start instead of loading the transactions first.

A file is used only for exactly the inputs it was built from. Its name holds a
hash of:

- the workspace's ``data_version()`` (changes with every data write),
- the fixed analysis date, if one was given (else the default from the data),
- the source of every module in ``core/`` and of ``storage/loading.py`` and
  ``storage/schema.py`` (any change to how the frame or its inputs are made),
- the polars version and ``FORMAT`` below,

and, after the hash, the analysis date the frame was built for (the default
one is known only once the transactions are loaded). Anything unexpected while
reading or writing is a cache miss, never an error: the frame is then built
from the tables as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

FORMAT = "1"
PREFIX = "frame-"
_ROOT = Path(__file__).resolve().parents[1]
_INPUT_SOURCES = ("storage/loading.py", "storage/schema.py")


@cache
def code_fingerprint() -> str:
    """A hash of the code that shapes the frame: core/*.py and the storage loaders."""
    digest = hashlib.sha256(f"{FORMAT}:{pl.__version__}".encode())
    paths = sorted((_ROOT / "core").glob("*.py")) + [_ROOT / p for p in _INPUT_SOURCES]
    for path in paths:
        digest.update(path.name.encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def _key(data_version: str, fixed_as_of: date | None) -> str:
    fixed = fixed_as_of.isoformat() if fixed_as_of is not None else "default"
    text = f"{code_fingerprint()}:{data_version}:{fixed}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _cache_dir(workspace: Any) -> Path | None:
    if not getattr(workspace, "cache_enabled", False):
        return None
    try:
        return Path(workspace.cache_dir)
    except Exception:
        return None


def read_frame(
    workspace: Any, data_version: str, fixed_as_of: date | None
) -> tuple[pl.DataFrame, date | None] | None:
    """The cached frame and its analysis date for these inputs, or None (a miss)."""
    directory = _cache_dir(workspace)
    if directory is None or not directory.is_dir():
        return None
    key = _key(data_version, fixed_as_of)
    for path in directory.glob(f"{PREFIX}{key}-*.arrow"):
        stamp = path.name[len(PREFIX) + len(key) + 1 : -len(".arrow")]
        try:
            as_of = None if stamp == "none" else date.fromisoformat(stamp)
            return pl.read_ipc(path), as_of
        except Exception:
            with contextlib.suppress(OSError):
                path.unlink()
    return None


def write_frame(
    workspace: Any,
    data_version: str,
    fixed_as_of: date | None,
    as_of: date | None,
    frame: pl.DataFrame,
) -> Path | None:
    """Keep ``frame`` for the next start (atomically); older frame files are removed.

    Returns the file written, or None when the cache directory is not writable.
    """
    directory = _cache_dir(workspace)
    if directory is None:
        return None
    key = _key(data_version, fixed_as_of)
    stamp = as_of.isoformat() if as_of is not None else "none"
    target = directory / f"{PREFIX}{key}-{stamp}.arrow"
    if target.is_file():
        return target
    tmp = None
    try:
        directory.mkdir(exist_ok=True)
        # a dot-name ending in .tmp: storage.loading removes it if a kill leaves it behind
        fd, tmp = tempfile.mkstemp(prefix=f".{PREFIX}", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            frame.write_ipc(handle, compression="lz4")
        os.chmod(tmp, 0o644)  # like the loader's cache files (mkstemp makes 0600)
        os.replace(tmp, target)
    except Exception:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return None
    for old in directory.glob(f"{PREFIX}*.arrow"):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()
    return target
