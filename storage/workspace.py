"""The workspace: one SQLite file holding everything an analyst imports and builds.

A ``Workspace`` wraps one sqlite3 connection (autocommit mode, so transactions
are explicit), opened with WAL, foreign keys on and a busy timeout. Every write
goes through ``ws.write()``: one ``BEGIN IMMEDIATE`` transaction that either
commits whole or rolls back, and that raises ``WorkspaceBusyError`` when another
process holds the write lock longer than the timeout. Readers (other
connections, other processes) keep reading the last committed state meanwhile.

Opening checks that the file is a regular file carrying the segscope marker
and exactly the schema the migrations build (no triggers, views or foreign
objects: ``storage/integrity.py``). SQLite errors of a write (read-only file,
full disk, I/O error, a damaged file) become one ``WorkspaceError`` naming the
workspace in ``write_error``; a damaged page met by any read is one too
(``WorkspaceCursor``).

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
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from storage import tempfiles
from storage.cache_snapshot import DATA_VERSION_SQL
from storage.errors import (
    NotAWorkspaceError,
    SchemaTooNewError,
    WorkspaceBusyError,
    WorkspaceError,
)
from storage.integrity import check_schema
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


def write_error(path: str | Path, exc: sqlite3.Error, what: str = "the change") -> WorkspaceError:
    """One line for a failed write of the workspace at ``path``; nothing was committed.

    The single place where SQLite's write errors (read-only file, full disk,
    I/O error, damaged file, a constraint or an aborting trigger) become a
    ``WorkspaceError`` naming the workspace; "busy" stays ``WorkspaceBusyError``.
    ``what`` names what was being written ("the import").
    """
    if is_busy_error(exc):
        return WorkspaceBusyError(path)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary == sqlite3.SQLITE_READONLY or "readonly" in text:
        why = "the workspace is read-only"
    elif primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        why = "the disk is full"
    elif primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in text:
        return damaged(path, exc)
    elif primary == sqlite3.SQLITE_IOERR or "disk I/O error" in text:
        why = "a disk I/O error"
    elif primary == sqlite3.SQLITE_CANTOPEN:
        why = "the workspace file cannot be opened for writing"
    else:
        why = text[:200]
    return WorkspaceError(f"{what} was not written to {path}: {why}; nothing was changed")


def is_corrupt_error(exc: BaseException) -> bool:
    """True for SQLite's "database disk image is malformed" and "file is not a database"."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return "malformed" in str(exc) or "not a database" in str(exc)


class WorkspaceCursor(sqlite3.Cursor):
    """A cursor whose "database disk image is malformed" is a one-line ``WorkspaceError``.

    A damaged page is only found when a statement reads it, which can be any
    read or write anywhere in storage; translating here, once, covers them all.
    Other errors pass unchanged (``ws.write()`` translates write errors).
    Iterating the cursor row by row is left at C speed, untranslated.
    """

    def _damaged(self, exc: sqlite3.DatabaseError) -> WorkspaceError:
        return damaged(getattr(self.connection, "workspace_path", "?"), exc)

    def execute(self, *args: Any, **kwargs: Any) -> WorkspaceCursor:
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if is_corrupt_error(exc):
                raise self._damaged(exc) from None
            raise

    def executemany(self, *args: Any, **kwargs: Any) -> WorkspaceCursor:
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if is_corrupt_error(exc):
                raise self._damaged(exc) from None
            raise

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            if is_corrupt_error(exc):
                raise self._damaged(exc) from None
            raise

    def fetchmany(self, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            return super().fetchmany(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if is_corrupt_error(exc):
                raise self._damaged(exc) from None
            raise

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            if is_corrupt_error(exc):
                raise self._damaged(exc) from None
            raise


class WorkspaceConnection(sqlite3.Connection):
    """The workspace's connection: its cursors translate a damaged file (``WorkspaceCursor``)."""

    workspace_path: Path | str = "?"

    def cursor(self, factory: Any = WorkspaceCursor) -> Any:
        return super().cursor(factory)

    # sqlite3's own execute() makes a plain cursor, whatever cursor() returns
    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)


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
        check_replaceable(path, overwrite, what="create a workspace at")
        if os.path.lexists(path):
            remove_workspace_files(path)  # a workspace of ours, with its companions
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise WorkspaceError(
                f"cannot create a workspace at {path}: directory {parent} does not exist"
            )
        # A -wal/-shm/-journal without its database is not ours to delete, and
        # SQLite would replay it into the new file: refuse.
        check_no_stale_companions(path, what="create a workspace at")
        check_name_fits(path, len("-journal"))
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
        had_cache = os.path.lexists(cache_dir_for(path))
        try:
            return cls.open(path, busy_timeout=busy_timeout, cache=cache)
        except BaseException:
            # only what this call made: the file and the companions SQLite opened for it
            remove_workspace_files(path, cache=not had_cache)
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
        _check_regular(path)
        _check_header(path)
        try:
            conn = sqlite3.connect(
                str(path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                factory=WorkspaceConnection,
            )
            conn.workspace_path = path
        except sqlite3.Error as exc:
            raise NotAWorkspaceError(f"cannot open {path} as a workspace: {exc}") from None
        try:
            _check_marker(conn, path)
            _check_sound(conn, path)
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
        tempfiles.sweep_workspace(path)  # work files of a process killed earlier
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
            conn = sqlite3.connect(
                str(self.path), timeout=self.busy_timeout, factory=WorkspaceConnection
            )
            conn.workspace_path = self.path
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
    def write(
        self, *, touches_data: bool = True, what: str = "the change"
    ) -> Iterator[sqlite_utils.Database]:
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
            except sqlite3.Error as exc:
                raise write_error(self.path, exc, what) from None
            self._write_depth = 1
            try:
                if touches_data:
                    self.conn.execute(NEW_DATA_VERSION_SQL)
                yield self.db
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                        self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise write_error(self.path, exc, what) from None
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


COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def remove_workspace_files(path: Path | str, *, cache: bool = True) -> None:
    """Delete a workspace file with its WAL/SHM companions and (``cache``) its cache directory.

    Call only for a file known to be a segscope workspace (``check_replaceable``)
    or one this process just created.
    """
    path = Path(path)
    for companion in (path, *(Path(f"{path}{s}") for s in COMPANION_SUFFIXES)):
        with contextlib.suppress(FileNotFoundError):
            companion.unlink()
    if cache:
        directory = cache_dir_for(path)
        if directory.is_symlink():
            directory.unlink()
        else:
            shutil.rmtree(directory, ignore_errors=True)


def check_replaceable(path: Path, overwrite: bool, *, what: str) -> bool:
    """Whether ``path`` exists; ``WorkspaceError`` unless it may be replaced by a workspace.

    Only a regular file that is recognisably a segscope workspace (or empty) is
    ever replaced, and only with ``overwrite``: devices, FIFOs, sockets,
    directories, symbolic links and foreign files are refused. Uses ``lstat``
    and reads at most the 100-byte header of a regular file, so it never
    blocks on a FIFO nor follows a link.
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WorkspaceError(f"cannot {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise WorkspaceError(f"cannot {what} {path}: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise WorkspaceError(
            f"cannot {what} {path}: it is a {file_kind(st.st_mode)}, not a workspace file;"
            " segscope only ever replaces its own workspace files"
        )
    if not overwrite:
        raise WorkspaceError(f"{path} already exists (use --force to replace it)")
    if not looks_like_workspace(path):
        raise WorkspaceError(
            f"{path} exists and is not a segscope workspace; refusing to replace it"
        )
    return True


def check_name_fits(path: Path, extra: int) -> None:
    """Refuse a name so long that SQLite's ``<name>-journal`` (``extra`` more) would not fit."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        limit = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(path.name)) + extra > limit:
        raise WorkspaceError(
            f"cannot create a workspace at {path}: the file name is too long"
            f" (at most {limit - extra} bytes, to leave room for the files SQLite adds)"
        )


def check_no_stale_companions(path: Path, *, what: str) -> None:
    """Refuse when ``path`` has no database but a -wal/-shm/-journal file of one lies beside it."""
    for suffix in COMPANION_SUFFIXES:
        companion = Path(f"{path}{suffix}")
        if os.path.lexists(companion):
            raise WorkspaceError(
                f"cannot {what} {path}: {companion} exists without its database"
                " (left by another program?); move it away first"
            )


def _check_regular(path: Path) -> None:
    """Open only a regular file (or a link to one): a FIFO would block, a device is not ours."""
    try:
        st = path.stat()
    except OSError as exc:
        raise NotAWorkspaceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAWorkspaceError(f"{path} is a directory, not a segscope workspace file")
    if not stat.S_ISREG(st.st_mode):
        raise NotAWorkspaceError(
            f"{path} is a {file_kind(st.st_mode)}, not a segscope workspace file"
        )


def file_kind(mode: int) -> str:
    """A word for what kind of file ``mode`` (from ``os.stat``) describes."""
    for test, word in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return word
    return "special file"


def _check_sound(conn: sqlite3.Connection, path: Path) -> None:
    """Exactly segscope's schema: no triggers, views or foreign objects (storage/integrity.py)."""
    try:
        check_schema(conn, path)
    except sqlite3.OperationalError as exc:
        if is_busy_error(exc):
            raise WorkspaceBusyError(path) from None
        raise NotAWorkspaceError(f"cannot open {path} as a workspace: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise damaged(path, exc) from None


def damaged(path: str | Path, exc: BaseException) -> WorkspaceError:
    """The one-line error for SQLite's "database disk image is malformed" and its kin."""
    return WorkspaceError(
        f"the workspace {path} is damaged ({str(exc).splitlines()[0] if str(exc) else exc});"
        " restore it from a snapshot"
    )


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
