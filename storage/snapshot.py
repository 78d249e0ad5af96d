"""Workspace snapshots: one portable file holding a whole workspace.

A snapshot is a zip archive with exactly two members:

- ``manifest.json``: format, format version, segscope version, schema version,
  creation time (UTC), source file name, workspace id, rows per table, and the
  size and SHA-256 of the database member;
- ``workspace.sqlite``: a consistent copy of the workspace database (rollback
  journal mode, so the one file is complete). The derived cache
  (``<workspace>.cache/``) is never included.

Export copies the database with SQLite's online backup API inside one read
transaction, so a TUI writing to the workspace meanwhile neither blocks it nor
makes it inconsistent: the copy is the state of one commit.

Restore validates before it writes anything: the manifest, the checksum of the
content (one streaming pass that writes nothing), the schema version; then it
extracts to a temporary file beside the target, checks SQLite's
``integrity_check``, the exact schema (no triggers or views), the JSON columns,
the value ranges (``storage/integrity.py``) and the row counts there, migrates
an older schema, and renames the file into place. Only a regular segscope
workspace file (or a link to one) is ever replaced, and only with ``force``.
Export refuses a workspace that fails SQLite's ``quick_check``. Member names
are only ever compared with the two expected names, never used as paths, so a
crafted archive cannot write elsewhere (no zip-slip).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from core.errors import SegscopeError
from storage import tempfiles
from storage.errors import WorkspaceBusyError, WorkspaceError
from storage.integrity import check_contents, check_schema, json_depth_ok
from storage.schema import APPLICATION_ID, LATEST_VERSION
from storage.workspace import (
    DEFAULT_BUSY_TIMEOUT,
    SQLITE_HEADER,
    Workspace,
    cache_dir_for,
    check_name_fits,
    check_no_stale_companions,
    check_replaceable,
    file_kind,
    is_busy_error,
    looks_like_workspace,
)

FORMAT = "segscope-snapshot"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
CONTENT_NAME = "workspace.sqlite"
MEMBERS = (MANIFEST_NAME, CONTENT_NAME)
# A manifest is a few KB; anything much bigger is not ours (and not read).
MAX_MANIFEST_BYTES = 1 << 20
CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
# Level 1 deflate: measured 3x faster than the default level 6 on a 137 MB
# workspace for a file only 10 % larger (52 MB vs 47 MB).
COMPRESS_LEVEL = 1
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
# What zipfile raises for a damaged or crafted archive: besides BadZipFile,
# NotImplementedError for an unknown compression method or flag (a flipped bit
# in a header), RuntimeError for an "encrypted" member.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)
# segscope's manifest nests three levels (manifest > content / tables); a little room.
MAX_MANIFEST_DEPTH = 8


class SnapshotError(SegscopeError):
    """A snapshot that cannot be written, read, validated or restored; the message says why."""


class SnapshotSchemaTooNewError(SnapshotError):
    """The snapshot was written by a segscope whose schema this one does not know."""


# -- the manifest ------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """What a snapshot says about itself (``manifest.json``)."""

    format_version: int
    segscope_version: str
    schema_version: int
    created: str
    source: str
    tables: dict[str, int]
    sha256: str
    size: int
    workspace_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "segscope_version": self.segscope_version,
            "schema_version": self.schema_version,
            "created": self.created,
            "source": self.source,
            "workspace_id": self.workspace_id,
            "content": {"name": CONTENT_NAME, "size": self.size, "sha256": self.sha256},
            "tables": dict(sorted(self.tables.items())),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Manifest:
        """Parse and check a decoded ``manifest.json``; ``SnapshotError`` naming what is wrong."""

        def bad(what: str) -> SnapshotError:
            return SnapshotError(f"{where} is not a valid segscope snapshot: {what}")

        if not isinstance(data, dict):
            raise bad("the manifest is not a JSON object")
        if data.get("format") != FORMAT:
            raise bad(f"the manifest's format is {data.get('format')!r}, not {FORMAT!r}")
        version = data.get("format_version")
        if not _is_int(version):
            raise bad("the manifest has no integer format_version")
        if version > FORMAT_VERSION:
            raise SnapshotError(
                f"{where} uses snapshot format {version}; this segscope reads up to "
                f"format {FORMAT_VERSION}; upgrade segscope to restore it"
            )
        if version < 1:
            raise bad(f"unknown snapshot format version {version}")
        schema = data.get("schema_version")
        if not _is_int(schema) or schema < 1:
            raise bad("the manifest has no valid schema_version")
        for key in ("segscope_version", "created", "source"):
            if not isinstance(data.get(key), str):
                raise bad(f"the manifest has no {key} text")
            if not _printable(data[key]):
                raise bad(f"the manifest's {key} holds control characters")
        workspace_id = data.get("workspace_id")
        if workspace_id is not None and not isinstance(workspace_id, str):
            raise bad("the manifest's workspace_id is not text")
        if workspace_id is not None and not _printable(workspace_id):
            raise bad("the manifest's workspace_id holds control characters")
        content = data.get("content")
        if not isinstance(content, dict) or content.get("name") != CONTENT_NAME:
            raise bad(f"the manifest does not describe the {CONTENT_NAME} member")
        sha = content.get("sha256")
        if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha):
            raise bad("the manifest's sha256 is not 64 lowercase hex digits")
        size = content.get("size")
        if not _is_int(size) or size < 0:
            raise bad("the manifest's content size is not a non-negative integer")
        tables = data.get("tables")
        if not isinstance(tables, dict) or not all(
            isinstance(k, str) and _is_int(v) and v >= 0 for k, v in tables.items()
        ):
            raise bad("the manifest's tables are not a mapping of table name to row count")
        if not all(_printable(k) for k in tables):
            raise bad("the manifest's table names hold control characters")
        known = {
            "format", "format_version", "segscope_version", "schema_version", "created",
            "source", "workspace_id", "content", "tables",
        }  # fmt: skip
        return cls(
            format_version=version,
            segscope_version=data["segscope_version"],
            schema_version=schema,
            created=data["created"],
            source=data["source"],
            tables=dict(tables),
            sha256=sha,
            size=size,
            workspace_id=workspace_id,
            extra={k: v for k, v in data.items() if k not in known},
        )


def _printable(text: str) -> bool:
    """No control characters (escape sequences would be printed raw to a terminal)."""
    return text.isprintable() and len(text) <= 1000


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def segscope_version() -> str:
    try:
        from importlib.metadata import version

        return version("segscope")
    except Exception:  # running from a source tree without install
        return "0.0.0+unknown"


# -- export ------------------------------------------------------------------


def export_snapshot(
    ws_path: str | Path,
    out_path: str | Path,
    *,
    overwrite: bool = False,
    compress: bool = True,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    progress: Callable[[str], None] | None = None,
) -> Manifest:
    """Write a snapshot of the workspace at ``ws_path`` to ``out_path``; return its manifest.

    The workspace is read, never changed (not even upgraded): the snapshot
    carries the schema version the workspace has. ``out_path`` is written
    through a temporary file in its directory and renamed into place; an
    existing file is replaced only with ``overwrite``. ``progress`` gets a
    short text before each step.
    """
    say = progress or (lambda _text: None)
    ws_path = Path(ws_path).expanduser()
    out_path = Path(out_path).expanduser()
    _check_source(ws_path)
    try:
        _check_output(out_path, ws_path, overwrite)
    except OSError as exc:  # a name too long, a loop of links, ...
        raise SnapshotError(
            f"cannot write the snapshot to {out_path}: {exc.strerror or exc}"
        ) from None
    try:
        return _export(ws_path, out_path, overwrite, compress, busy_timeout, say)
    except OSError as exc:
        raise SnapshotError(
            f"cannot write the snapshot {out_path}: {exc.strerror or exc}"
        ) from None


def _export(
    ws_path: Path,
    out_path: Path,
    overwrite: bool,
    compress: bool,
    busy_timeout: float,
    say: Callable[[str], None],
) -> Manifest:
    tempfiles.sweep_beside(out_path, "snapshot")
    with tempfiles.removed_on_signals():
        work = tempfiles.make_dir(out_path.parent, f".{out_path.name}.snapshot", ".tmp")
        try:
            return _export_in(work, ws_path, out_path, overwrite, compress, busy_timeout, say)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _export_in(
    work: Path,
    ws_path: Path,
    out_path: Path,
    overwrite: bool,
    compress: bool,
    busy_timeout: float,
    say: Callable[[str], None],
) -> Manifest:
    copy = work / CONTENT_NAME
    say(f"copying {ws_path}")
    _copy_database(ws_path, copy, busy_timeout)
    say("counting rows and computing the checksum")
    schema, tables, workspace_id = _describe(copy, ws_path)
    sha, size = _hash_file(copy)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        segscope_version=segscope_version(),
        schema_version=schema,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=ws_path.name,
        tables=tables,
        sha256=sha,
        size=size,
        workspace_id=workspace_id,
    )
    archive = work / "snapshot.zip"
    say(f"writing {out_path}")
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(archive, "w", compression=method, compresslevel=COMPRESS_LEVEL) as zf:
        zf.writestr(
            MANIFEST_NAME,
            json.dumps(manifest.to_dict(), indent=2) + "\n",
            compress_type=zipfile.ZIP_DEFLATED,
        )
        zf.write(copy, CONTENT_NAME)
    _fsync(archive)
    _place(archive, out_path, overwrite)
    return manifest


def _check_source(ws_path: Path) -> None:
    if not ws_path.exists():
        raise SnapshotError(f"no workspace at {ws_path}: the file does not exist")
    st = ws_path.stat()
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read
        raise SnapshotError(f"{ws_path} is a {file_kind(st.st_mode)}, not a workspace file")
    if st.st_size == 0:
        raise SnapshotError(f"the workspace {ws_path} is empty; there is nothing to snapshot")
    if not looks_like_workspace(ws_path):
        raise SnapshotError(f"{ws_path} is not a segscope workspace")


def _check_output(out_path: Path, ws_path: Path, overwrite: bool) -> None:
    with contextlib.suppress(OSError):
        st = out_path.lstat()
        if stat.S_ISLNK(st.st_mode):
            with contextlib.suppress(OSError):
                st = out_path.stat()
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
            kind = (
                "it is a directory"
                if stat.S_ISDIR(st.st_mode)
                else (f"it is a {file_kind(st.st_mode)}, not a regular file")
            )
            raise SnapshotError(f"cannot write the snapshot to {out_path}: {kind}")
    if not out_path.parent.is_dir():
        raise SnapshotError(
            f"cannot write the snapshot to {out_path}: directory {out_path.parent} does not exist"
        )
    if out_path.exists() or out_path.is_symlink():
        if out_path.exists() and out_path.samefile(ws_path):
            raise SnapshotError(f"cannot write the snapshot over the workspace itself ({ws_path})")
        if not overwrite:
            raise SnapshotError(f"{out_path} already exists (use --force to replace it)")
        if looks_like_workspace(out_path) and out_path.stat().st_size > 0:
            raise SnapshotError(
                f"{out_path} is a segscope workspace; refusing to replace it with a snapshot"
            )


def _copy_database(ws_path: Path, copy: Path, busy_timeout: float) -> None:
    """Copy the committed state of ``ws_path`` into ``copy`` with the backup API."""
    try:
        src = sqlite3.connect(str(ws_path), timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot open the workspace {ws_path}: {exc}") from None
    try:
        try:
            src.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # Open the read transaction ourselves (with the busy timeout): the
            # backup then copies exactly this snapshot in one step, while
            # writers in other processes carry on in the WAL.
            src.execute("BEGIN")
            app_id, version = src.execute(
                "SELECT * FROM pragma_application_id, pragma_user_version"
            ).fetchone()
            if app_id != APPLICATION_ID:
                raise SnapshotError(f"{ws_path} is not a segscope workspace")
            if version > LATEST_VERSION:
                raise SnapshotError(
                    f"{ws_path} was written by a newer segscope (schema version {version}; "
                    f"this segscope knows up to {LATEST_VERSION})"
                )
            dst = sqlite3.connect(str(copy), isolation_level=None)
            try:
                src.backup(dst)
                # One self-contained file: no -wal companion to carry.
                dst.execute("PRAGMA journal_mode = DELETE")
                # A damaged workspace would give a snapshot nobody can restore.
                problems = [
                    r[0]
                    for r in dst.execute("PRAGMA quick_check(3)").fetchall()
                    if not str(r[0]).startswith("*** in database")  # a header line
                ] or ["ok"]
            finally:
                dst.close()
            src.execute("COMMIT")
        except sqlite3.Error as exc:
            if is_busy_error(exc):
                raise WorkspaceBusyError(ws_path) from None
            if isinstance(exc, sqlite3.DatabaseError) and _is_corrupt(exc):
                raise SnapshotError(_damaged_workspace(ws_path, exc)) from None
            raise SnapshotError(f"cannot copy the workspace {ws_path}: {exc}") from None
        if problems != ["ok"]:
            raise SnapshotError(_damaged_workspace(ws_path, problems[0]))
    finally:
        src.close()


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return True
    return "malformed" in str(exc) or "not a database" in str(exc)


def _damaged_workspace(ws_path: Path, why: object) -> str:
    text = str(why).splitlines()[0][:120] if str(why) else type(why).__name__
    return (
        f"refusing to snapshot {ws_path}: the workspace is damaged (SQLite's integrity"
        f" check says: {text}); a snapshot of it could not be restored"
    )


def _user_tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Every table of the database (all of them, so tables added by later migrations come too)."""
    rows = conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        t: int(conn.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0])
        for t in _user_tables(conn)
    }


def _describe(copy: Path, ws_path: Path) -> tuple[int, dict[str, int], str | None]:
    conn = sqlite3.connect(str(copy))
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = _counts(conn)
        workspace_id = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = 'workspace_id'").fetchone()
            workspace_id = None if row is None else row[0]
        return version, tables, workspace_id
    except sqlite3.Error as exc:
        raise SnapshotError(f"cannot read the copy of {ws_path}: {exc}") from None
    finally:
        conn.close()


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        _fsync(path)


def _place(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move ``tmp`` to ``dest`` atomically; without ``overwrite`` never clobber a file."""
    if overwrite:
        os.replace(tmp, dest)  # replaces a symlink itself, never its target
    else:
        try:
            # link() fails if dest exists, even if it appeared after our check.
            os.link(tmp, dest)
        except FileExistsError:
            raise SnapshotError(f"{dest} already exists (use --force to replace it)") from None
        except OSError:
            if dest.exists() or dest.is_symlink():
                raise SnapshotError(f"{dest} already exists (use --force to replace it)") from None
            os.replace(tmp, dest)  # a file system without hard links
        else:
            tmp.unlink()
    _fsync_dir(dest.parent)


# -- reading and validating ----------------------------------------------------


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[zipfile.ZipFile]:
    if not path.exists():
        raise SnapshotError(f"no snapshot at {path}: the file does not exist")
    if not path.is_file():
        raise SnapshotError(f"{path} is not a snapshot file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, ValueError):
        with contextlib.suppress(OSError), path.open("rb") as fh:
            head = fh.read(4)
            if head == ZIP_MAGIC:
                raise SnapshotError(
                    f"{path} is damaged or truncated (its zip directory is missing)"
                ) from None
        raise SnapshotError(f"{path} is not a segscope snapshot (not a zip archive)") from None
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        yield zf
    finally:
        zf.close()


def _members(zf: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if MANIFEST_NAME not in names:
        raise SnapshotError(f"{path} is not a segscope snapshot (it has no {MANIFEST_NAME})")
    unexpected = sorted({n for n in names if n not in MEMBERS})
    if unexpected:
        shown = ", ".join(repr(n) for n in unexpected[:3])
        raise SnapshotError(
            f"{path} is not a valid segscope snapshot: unexpected member(s) {shown}"
        )
    if len(names) != len(set(names)):
        raise SnapshotError(f"{path} is not a valid segscope snapshot: duplicate members")
    if CONTENT_NAME not in names:
        raise SnapshotError(f"{path} is not a valid segscope snapshot: it has no {CONTENT_NAME}")
    return {i.filename: i for i in infos}


def read_manifest(path: str | Path) -> Manifest:
    """The manifest of the snapshot at ``path``, checked for form (the content is not read)."""
    path = Path(path).expanduser()
    with _open_archive(path) as zf:
        infos = _members(zf, path)
        info = infos[MANIFEST_NAME]
        if info.file_size > MAX_MANIFEST_BYTES:
            raise SnapshotError(f"{path} is not a valid segscope snapshot: its manifest is too big")
        try:
            raw = zf.read(info)
        except _ZIP_READ_ERRORS as exc:
            raise SnapshotError(f"{path} is damaged: cannot read its manifest ({exc})") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise SnapshotError(
                f"{path} is not a valid segscope snapshot: the manifest is not JSON"
            ) from None
        if not json_depth_ok(data, MAX_MANIFEST_DEPTH):
            raise SnapshotError(
                f"{path} is not a valid segscope snapshot: the manifest nests too deeply"
            )
        manifest = Manifest.from_dict(data, str(path))
        if infos[CONTENT_NAME].file_size != manifest.size:
            raise SnapshotError(
                f"{path} is damaged: {CONTENT_NAME} holds {infos[CONTENT_NAME].file_size} bytes,"
                f" the manifest says {manifest.size}"
            )
    return manifest


def _check_schema(manifest: Manifest, path: Path) -> None:
    if manifest.schema_version > LATEST_VERSION:
        raise SnapshotSchemaTooNewError(
            f"{path} holds a workspace of schema version {manifest.schema_version}; "
            f"this segscope knows up to {LATEST_VERSION}; upgrade segscope to restore it"
        )


def _stream_content(path: Path, manifest: Manifest, sink: IO[bytes] | None) -> None:
    """Read the database member, check size and SHA-256, copying it to ``sink`` if given."""
    digest = hashlib.sha256()
    size = 0
    with _open_archive(path) as zf:
        info = _members(zf, path)[CONTENT_NAME]
        member = None
        try:
            member = zf.open(info)
            while True:
                try:
                    chunk = member.read(CHUNK)
                except _ZIP_READ_ERRORS as exc:
                    raise _damaged(path, exc) from None
                if not chunk:
                    break
                size += len(chunk)
                if size > manifest.size:
                    break  # never inflate more than the manifest promised
                digest.update(chunk)
                if sink is not None:
                    try:
                        sink.write(chunk)
                    except OSError as exc:  # a full disk is not a damaged snapshot
                        raise SnapshotError(
                            f"cannot write {getattr(sink, 'name', 'the copy')}:"
                            f" {exc.strerror or exc}"
                        ) from None
        except _ZIP_READ_ERRORS as exc:
            raise _damaged(path, exc) from None
        finally:
            if member is not None:
                member.close()
    if size != manifest.size or digest.hexdigest() != manifest.sha256:
        raise SnapshotError(
            f"{path} is damaged or was altered: the content does not match the manifest's"
            " SHA-256 checksum"
        )


def _damaged(path: Path, exc: BaseException) -> SnapshotError:
    return SnapshotError(f"{path} is damaged: its content cannot be read ({_short(exc)})")


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _check_database(db: Path, manifest: Manifest, where: Path) -> None:
    """The extracted database is a sound segscope workspace with the manifest's rows."""
    with db.open("rb") as fh:
        if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise SnapshotError(
                f"{where} is not a valid segscope snapshot: its content is not SQLite"
            )
    try:
        conn = sqlite3.connect(str(db), isolation_level=None)
    except sqlite3.Error as exc:
        raise SnapshotError(f"{where}: cannot open its database ({exc})") from None
    try:
        app_id, version = conn.execute(
            "SELECT * FROM pragma_application_id, pragma_user_version"
        ).fetchone()
        if app_id != APPLICATION_ID:
            raise SnapshotError(f"{where}: its database is not a segscope workspace")
        if version != manifest.schema_version:
            raise SnapshotError(
                f"{where}: its database has schema version {version},"
                f" the manifest says {manifest.schema_version}"
            )
        problems = [
            r[0]
            for r in conn.execute("PRAGMA integrity_check(5)").fetchall()
            if not str(r[0]).startswith("*** in database")  # a header line
        ] or ["ok"]
        if problems != ["ok"]:
            raise SnapshotError(
                f"{where}: its database fails SQLite's integrity check ({problems[0]})"
            )
        # exactly segscope's schema (no triggers or views), sound JSON and values
        check_schema(conn, where)
        check_contents(conn, where)
        counts = _counts(conn)
    except WorkspaceError as exc:
        raise SnapshotError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"{where}: its database cannot be read ({exc})") from None
    finally:
        conn.close()
    if counts != manifest.tables:
        diffs = [
            f"{t}: {counts.get(t, 'missing')} rows, manifest {manifest.tables.get(t, 'missing')}"
            for t in sorted(set(counts) | set(manifest.tables))
            if counts.get(t) != manifest.tables.get(t)
        ]
        raise SnapshotError(
            f"{where}: the row counts do not match the manifest ({'; '.join(diffs[:3])})"
        )


def _extract_checked(path: Path, manifest: Manifest, dest: Path) -> None:
    """Extract the content to the new file ``dest`` (already created by us) and check it."""
    with dest.open("wb") as sink:
        _stream_content(path, manifest, sink)
        sink.flush()
        os.fsync(sink.fileno())
    _check_database(dest, manifest, path)


def validate_snapshot(path: str | Path) -> Manifest:
    """Check a snapshot completely; return its manifest or raise ``SnapshotError``.

    Checks: a zip with exactly ``manifest.json`` and ``workspace.sqlite``; a
    well-formed manifest of a known format; a schema version this segscope
    knows; the content's size and SHA-256; SQLite's integrity check; the
    application id; the row count of every table. The content is extracted to
    a private temporary directory for the SQLite checks and removed after.
    """
    path = Path(path).expanduser()
    manifest = read_manifest(path)
    _check_schema(manifest, path)
    with tempfiles.system_work_dir("segscope-snapshot") as tmp:
        # the extraction checks the size and the SHA-256 as it goes
        _extract_checked(path, manifest, Path(tmp) / CONTENT_NAME)
    return manifest


# -- restore -----------------------------------------------------------------


def restore_snapshot(
    snapshot: str | Path,
    target: str | Path,
    force: bool = False,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Restore the snapshot as the workspace file ``target``; return ``target``.

    Validates first (see ``validate_snapshot``); the checksum is verified
    before anything is written. Refuses an existing ``target`` unless
    ``force``, and even then replaces only a segscope workspace nobody has
    open. The database is written to a temporary file in ``target``'s
    directory, checked, migrated to the latest schema, and renamed into place;
    the target's stale ``-wal``/``-shm`` files and ``.cache/`` go with the old
    file. Nothing outside ``target`` (and that temporary file) is written.
    ``progress`` gets a short text before each step.
    """
    say = progress or (lambda _text: None)
    snapshot = Path(snapshot).expanduser()
    target = Path(target).expanduser()
    manifest = read_manifest(snapshot)
    _check_schema(manifest, snapshot)
    exists = _check_target(target, snapshot, force)
    say("checking the checksum")
    _stream_content(snapshot, manifest, None)  # a damaged file fails here, before any write
    try:
        _restore(snapshot, manifest, target, exists, busy_timeout, say)
    except OSError as exc:
        raise SnapshotError(f"cannot restore to {target}: {exc.strerror or exc}") from None
    return target


def _restore(
    snapshot: Path,
    manifest: Manifest,
    target: Path,
    exists: bool,
    busy_timeout: float,
    say: Callable[[str], None],
) -> None:
    tempfiles.sweep_beside(target, "restore")
    with tempfiles.removed_on_signals():
        tmp = tempfiles.make_file(target.parent, f".{target.name}.restore", ".tmp")
        _restore_through(tmp, snapshot, manifest, target, exists, busy_timeout, say)


def _restore_through(
    tmp: Path,
    snapshot: Path,
    manifest: Manifest,
    target: Path,
    exists: bool,
    busy_timeout: float,
    say: Callable[[str], None],
) -> None:
    try:
        say("extracting and checking integrity and row counts")
        _extract_checked(snapshot, manifest, tmp)
        if manifest.schema_version < LATEST_VERSION:
            say(f"upgrading from schema version {manifest.schema_version} to {LATEST_VERSION}")
        _migrate(tmp, snapshot)
        # mkstemp makes the file private; give it what a new workspace gets.
        os.chmod(tmp, _mode_for(target) if exists else 0o644 & ~_umask())
        if exists:
            # the old workspace's companions and cache go with it; a new
            # target's neighbours were never ours and are left alone
            _release_target(target, busy_timeout)
            _remove_companions(target)
        else:
            _check_no_companions(target)
        _place(tmp, target, overwrite=exists)
    finally:
        _remove_companions(tmp)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode_for(target: Path) -> int:
    if target.is_symlink():
        return 0o644 & ~_umask()
    return stat.S_IMODE(target.stat().st_mode)


def _check_target(target: Path, snapshot: Path, force: bool) -> bool:
    """Whether ``target`` exists (and may be replaced); ``SnapshotError`` if it may not.

    Only a regular segscope workspace file is replaced (with ``force``), or a
    symbolic link to one (the link itself is replaced, never what it points
    to). Devices, FIFOs, sockets, directories, links to those and foreign
    files are refused, and so is a new target with a stray -wal/-shm/-journal.
    """
    parent = target.parent
    if not parent.is_dir():
        raise SnapshotError(f"cannot restore to {target}: directory {parent} does not exist")
    try:
        st = target.lstat()
    except FileNotFoundError:
        _check_no_companions(target)
        _check_name_length(target)
        return False
    except OSError as exc:  # a name too long, a loop of links, ...
        raise SnapshotError(f"cannot restore to {target}: {exc.strerror or exc}") from None
    try:
        if stat.S_ISLNK(st.st_mode):
            if not force:
                raise SnapshotError(f"{target} already exists (use --force to replace it)")
            try:
                pointed = target.stat()
            except OSError:
                raise SnapshotError(
                    f"cannot restore to {target}: it is a symbolic link to nothing;"
                    " refusing to replace it"
                ) from None
            if not stat.S_ISREG(pointed.st_mode):
                raise SnapshotError(
                    f"cannot restore to {target}: it is a symbolic link to a"
                    f" {file_kind(pointed.st_mode)}, not a workspace file"
                )
            if target.samefile(snapshot):
                raise SnapshotError(f"cannot restore {snapshot} over itself")
            if not looks_like_workspace(target):
                raise SnapshotError(
                    f"{target} exists and is not a segscope workspace; refusing to replace it"
                )
            return True
        if stat.S_ISREG(st.st_mode) and force and target.samefile(snapshot):
            raise SnapshotError(f"cannot restore {snapshot} over itself")
        return check_replaceable(target, force, what="restore to")
    except WorkspaceError as exc:
        raise SnapshotError(str(exc)) from None


def _check_name_length(target: Path) -> None:
    """The hidden temporary beside ``target`` needs a longer name than ``target`` itself."""
    try:
        check_name_fits(target, len(".") + len(".restore-p4194304-xxxxxxxx.tmp"))
    except WorkspaceError as exc:
        raise SnapshotError(str(exc).replace("create a workspace at", "restore to")) from None


def _check_no_companions(target: Path) -> None:
    try:
        check_no_stale_companions(target, what="restore to")
    except WorkspaceError as exc:
        raise SnapshotError(str(exc)) from None


def _migrate(db: Path, where: Path) -> None:
    """Bring the extracted database to the latest schema and back to one self-contained file."""
    try:
        Workspace.open(db, cache=False).close()
        conn = sqlite3.connect(str(db), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except SegscopeError as exc:
        raise SnapshotError(f"{where}: its workspace cannot be upgraded ({exc})") from None
    except sqlite3.Error as exc:
        raise SnapshotError(f"{where}: its workspace cannot be upgraded ({exc})") from None


def _release_target(target: Path, busy_timeout: float) -> None:
    """Make sure no other process has the old workspace open before replacing it.

    Leaving WAL mode needs every other connection closed, so a TUI that has the
    file open makes this fail with "busy" and nothing is replaced. A symlink is
    left alone: it is replaced, not what it points to.
    """
    if target.is_symlink() or target.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(str(target), timeout=busy_timeout, isolation_level=None)
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if is_busy_error(exc):
            raise WorkspaceBusyError(target) from None
        raise SnapshotError(f"cannot replace {target}: {exc}") from None
    if str(mode).lower() != "delete":
        raise WorkspaceBusyError(target)


def _remove_companions(path: Path) -> None:
    """Delete ``path``'s -wal/-shm/-journal files and cache directory (links, not their targets)."""
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
    cache = cache_dir_for(path)
    if cache.is_symlink():
        cache.unlink()
    elif cache.is_dir():
        shutil.rmtree(cache, ignore_errors=True)


# -- inputs of diff ------------------------------------------------------------


def is_snapshot_file(path: str | Path) -> bool:
    """True if ``path`` starts like a zip archive (a snapshot), judged by its first bytes."""
    try:
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return False  # never open a FIFO or a device (it would block or be consumed)
        with Path(path).open("rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except OSError:
        return False


def materialize(path: Path, dest: Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> dict:
    """Put a checked copy of a snapshot's or a workspace's database at ``dest``.

    Returns what was read: ``kind`` (snapshot / workspace), ``schema_version``
    and, for a snapshot, its manifest as a dict.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise SnapshotError(f"{path} does not exist")
    if is_snapshot_file(path):
        manifest = read_manifest(path)
        _check_schema(manifest, path)
        _extract_checked(path, manifest, dest)
        return {
            "kind": "snapshot",
            "schema_version": manifest.schema_version,
            "manifest": manifest.to_dict(),
        }
    _check_source(path)
    _copy_database(path, dest, busy_timeout)
    conn = sqlite3.connect(str(dest))
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    return {"kind": "workspace", "schema_version": version}
