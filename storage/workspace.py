"""The workspace: one SQLite file holding everything an analyst imports and builds.

A ``Workspace`` wraps one sqlite3 connection (autocommit mode, so transactions
are explicit), opened with WAL, foreign keys on and a busy timeout. Every write
goes through ``ws.write()``: one ``BEGIN IMMEDIATE`` transaction that either
commits whole or rolls back, and that raises ``WorkspaceBusyError`` when another
process holds the write lock longer than the timeout. Readers (other
connections, other processes) keep reading the last committed state meanwhile.

Data writes (``ws.write()`` with the default ``touches_data=True``) replace the
``data_version`` token in ``meta`` in the same transaction, so ``ws.data_version()``
changes with every committed change of accounts, transactions or contacts and
can key derived caches.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from storage.cache_snapshot import DATA_VERSION_SQL
from storage.errors import (
    NotAWorkspaceError,
    SchemaTooNewError,
    WorkspaceBusyError,
    WorkspaceError,
)
from storage.loading import LoadingMixin
from storage.repository import RepositoryMixin
from storage.schema import APPLICATION_ID, LATEST_VERSION, migrate

DEFAULT_BUSY_TIMEOUT = 5.0
SQLITE_HEADER = b"SQLite format 3\x00"
NEW_DATA_VERSION_SQL = (
    "UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'data_version'"
)


def is_busy_error(exc: BaseException) -> bool:
    """True when ``exc`` is SQLite's "database is locked" (SQLITE_BUSY or SQLITE_LOCKED)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def cache_dir_for(path: str | Path) -> Path:
    """Where derived caches of the workspace at ``path`` live (``<path>.cache/``)."""
    path = Path(path)
    return path.with_name(path.name + ".cache")


class Workspace(LoadingMixin, RepositoryMixin):
    """An open segscope workspace. Use ``Workspace.create`` or ``Workspace.open``."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        *,
        busy_timeout: float,
        cache: bool,
    ) -> None:
        self.path = path
        self.conn = conn
        self.busy_timeout = busy_timeout
        self.cache_enabled = cache
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._write_depth = 0

    # -- opening -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        overwrite: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        cache: bool = True,
    ) -> Workspace:
        """Create a new, empty workspace at ``path`` and open it.

        Refuses to touch an existing path unless ``overwrite`` is true, and even
        then only replaces a regular file (with its ``-wal``/``-shm`` files and
        cache directory), never a directory.
        """
        path = Path(path).expanduser()
        if path.is_dir():
            raise WorkspaceError(f"cannot create a workspace at {path}: it is a directory")
        if path.exists():
            if not overwrite:
                raise WorkspaceError(
                    f"cannot create a workspace at {path}: the file already exists"
                )
            remove_workspace_files(path)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise WorkspaceError(
                f"cannot create a workspace at {path}: directory {parent} does not exist"
            )
        try:
            # O_EXCL: two processes creating the same path cannot both win.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise WorkspaceError(
                f"cannot create a workspace at {path}: the file already exists"
            ) from None
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create a workspace at {path}: {exc.strerror or exc}"
            ) from None
        os.close(fd)
        # Leftover WAL/SHM files of an earlier file at this path would be
        # replayed into the new database; nobody can be using them now.
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
        try:
            return cls.open(path, busy_timeout=busy_timeout, cache=cache)
        except BaseException:
            remove_workspace_files(path)
            raise

    @classmethod
    def open(
        cls,
        path: str | Path,
        create: bool = False,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        cache: bool = True,
    ) -> Workspace:
        """Open the workspace at ``path``, upgrading its schema to the latest version.

        With ``create=True`` a missing file is created. Raises
        ``NotAWorkspaceError`` for a missing path, a directory, a file that is not
        SQLite or a SQLite database that is not a segscope workspace;
        ``SchemaTooNewError`` for a workspace written by a newer segscope;
        ``WorkspaceBusyError`` when an upgrade cannot get the write lock.
        """
        path = Path(path).expanduser()
        if not path.exists():
            if create:
                try:
                    return cls.create(path, busy_timeout=busy_timeout, cache=cache)
                except WorkspaceError:
                    if not path.is_file():
                        raise
                    # another process created it meanwhile: open that one
                    return cls.open(path, busy_timeout=busy_timeout, cache=cache)
            raise NotAWorkspaceError(
                f"no workspace at {path}: the file does not exist "
                f"(create one with 'segscope init {path}')"
            )
        if path.is_dir():
            raise NotAWorkspaceError(f"{path} is a directory, not a segscope workspace file")
        _check_header(path)
        try:
            conn = sqlite3.connect(
                str(path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise NotAWorkspaceError(f"cannot open {path} as a workspace: {exc}") from None
        try:
            _check_marker(conn, path)
            _configure(conn, path, busy_timeout)
            try:
                migrate(conn)
            except sqlite3.OperationalError as exc:
                if is_busy_error(exc):
                    raise WorkspaceBusyError(path) from None
                raise WorkspaceError(f"cannot upgrade the workspace {path}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, busy_timeout=busy_timeout, cache=cache)

    # -- state ---------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @property
    def cache_dir(self) -> Path:
        return cache_dir_for(self.path)

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def data_version(self) -> str:
        """A token that changes whenever accounts, transactions or contacts change.

        The ``meta.data_version`` token is replaced by every data write; the
        workspace id tells copies of different workspaces apart; the largest
        rowids catch rows appended by code that bypassed ``ws.write()``.

        It describes committed data only (it is read on a separate connection),
        so it never waits for, nor reports, a ``write()`` still in progress.
        """
        with self.committed() as conn:
            return _data_version(conn)

    @contextlib.contextmanager
    def committed(self) -> Iterator[sqlite3.Connection]:
        """A short-lived read connection that sees only committed data.

        Safe beside ``ws.conn`` in this process: both use the same SQLite
        library, which shares file locks between its connections.
        """
        try:
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout)
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot read the workspace {self.path}: {exc}") from None
        try:
            yield conn
        finally:
            conn.close()

    # -- writing -------------------------------------------------------------

    @property
    def writing(self) -> bool:
        """True inside a ``write()`` of this workspace object (its lock is held)."""
        return self._write_depth > 0

    @contextlib.contextmanager
    def write(self, *, touches_data: bool = True) -> Iterator[sqlite_utils.Database]:
        """One write transaction: BEGIN IMMEDIATE, commit on success, roll back on error.

        Yields ``ws.db``. Raises ``WorkspaceBusyError`` if the write lock cannot
        be had within the busy timeout. ``touches_data=True`` (the default)
        marks accounts/transactions/contacts as changed (new ``data_version``);
        writes of models, runs and settings pass ``False``. A nested ``write()``
        joins the outer transaction.
        """
        with self._lock:
            if self._write_depth:
                self._write_depth += 1
                try:
                    if touches_data:
                        self.conn.execute(NEW_DATA_VERSION_SQL)
                    yield self.db
                finally:
                    self._write_depth -= 1
                return
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if is_busy_error(exc):
                    raise WorkspaceBusyError(self.path) from None
                raise
            self._write_depth = 1
            try:
                if touches_data:
                    self.conn.execute(NEW_DATA_VERSION_SQL)
                yield self.db
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if is_busy_error(exc):
                    raise WorkspaceBusyError(self.path) from None
                raise
            finally:
                self._write_depth = 0

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"


def looks_like_workspace(path: str | Path) -> bool:
    """True if ``path`` is an empty file or a SQLite file carrying the segscope marker.

    Reads the 100-byte SQLite header only (``application_id`` is at offset 68),
    so it never opens, locks or changes the file.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError:
        return False
    if not header:
        return True
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        return False
    return int.from_bytes(header[68:72], "big") == APPLICATION_ID


def remove_workspace_files(path: Path | str) -> None:
    """Delete a workspace file with its WAL/SHM companions and its cache directory."""
    path = Path(path)
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            companion.unlink()
    shutil.rmtree(cache_dir_for(path), ignore_errors=True)


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise NotAWorkspaceError(f"cannot read {path}: {exc.strerror or exc}") from None
    # An empty file is a workspace at version 0: the migrations build it.
    if header and header != SQLITE_HEADER:
        raise NotAWorkspaceError(f"{path} is not a segscope workspace (not a SQLite database)")


def _check_marker(conn: sqlite3.Connection, path: Path) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if is_busy_error(exc):
            raise WorkspaceBusyError(path) from None
        raise NotAWorkspaceError(f"cannot open {path} as a workspace: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise NotAWorkspaceError(f"{path} is not a segscope workspace ({exc})") from None
    if app_id != APPLICATION_ID:
        if app_id == 0 and version == 0 and objects == 0:
            return  # an empty database: version 0
        raise NotAWorkspaceError(
            f"{path} is a SQLite database but not a segscope workspace (it has no segscope marker)"
        )
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            f"{path} was written by a newer segscope (schema version {version}; "
            f"this segscope knows up to {LATEST_VERSION}); upgrade segscope to open it"
        )


def _configure(conn: sqlite3.Connection, path: Path, busy_timeout: float) -> None:
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise WorkspaceError(f"cannot switch {path} to WAL mode (got {mode})")
    except sqlite3.OperationalError as exc:
        if is_busy_error(exc):
            raise WorkspaceBusyError(path) from None
        raise WorkspaceError(f"cannot open the workspace {path}: {exc}") from None


def _data_version(conn: sqlite3.Connection) -> str:
    # The same SQL the snapshot child runs, so cache keys match.
    row = conn.execute(DATA_VERSION_SQL).fetchone()
    return "-".join(str(v) for v in row)
