"""Writing a large transactions import in a child process, through ADBC's SQLite ingest.

Why: ``executemany`` spends about 3.3 µs a line binding Python tuples, so 20M
invoice lines take over a minute to insert; ADBC's SQLite driver binds the
Arrow columns in C at half that. But the driver links its own copy of SQLite,
and two SQLite copies in one process break each other's POSIX locks (see
``storage.cache_snapshot``), so it writes from a child process.

The child runs the very statements of an in-process import
(``storage.import_writer.write_import``) in one ``BEGIN IMMEDIATE``
transaction, and commits only when the parent says so:

1. the parent pickles the ``PreparedImport`` (its accepted lines are Arrow IPC
   files already, or are spilled to one) and starts
   ``python -m storage.bulk_writer REQUEST``;
2. the child prints JSON lines on stdout: ``{"rows": n}`` after each batch,
   then ``{"ready": report}`` and waits for ``commit`` on stdin;
3. the parent answers ``commit``; the child commits and prints
   ``{"committed": true}``.

A parent that dies or is interrupted never says ``commit``: on Linux the child
is killed with it (``PR_SET_PDEATHSIG``), elsewhere it reads end-of-file and
exits; either way its transaction is rolled back by SQLite. The write lock is
taken with the workspace's busy timeout; a busy workspace is reported as
``{"busy": true}`` and raised as ``WorkspaceBusyError`` in the parent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from storage import tempfiles
from storage.errors import WorkspaceBusyError, WorkspaceError
from storage.import_writer import (
    AlreadyImported,
    ImportReport,
    bulk_pragmas,
    write_failed,
    write_import,
)

if TYPE_CHECKING:
    from storage.importer import PreparedImport, Progress

# Below this many lines the child's start-up (~0.5 s) costs more than ADBC saves.
CHILD_MIN_ROWS = 1_000_000


def worth_a_child(ws: Any, prepared: PreparedImport) -> bool:
    """True when ``prepared`` is a transactions file large enough for the child writer."""
    return (
        prepared.kind == "transactions"
        and prepared.rows_accepted >= CHILD_MIN_ROWS
        and sys.platform != "win32"
        # inside the caller's own write transaction the child could never get the lock
        and not ws.writing
    )


# -- parent -------------------------------------------------------------------------


def commit_in_child(
    ws: Any,
    prepared: PreparedImport,
    report: ImportReport,
    progress: Progress | None,
    *,
    replace: bool = False,
) -> None:
    """Write ``prepared`` through the child writer; fill ``report`` with what it did.

    Raises ``AlreadyImported`` (the same file was committed meanwhile),
    ``WorkspaceBusyError`` or ``WorkspaceError``; on any of these, and on an
    interrupt, nothing was written.
    """
    with tempfiles.work_dir(ws.path, "segscope-write") as tmp:
        request = Path(tmp) / "request.pickle"
        payload = {
            "path": str(ws.path),
            "busy_timeout": float(ws.busy_timeout),
            "parent": os.getpid(),
            "prepared": _with_lines_on_disk(prepared, Path(tmp)),
            "report": report,
            "replace": replace,
        }
        with request.open("wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        errors = Path(tmp) / "stderr.txt"
        with errors.open("w") as err:
            proc = _start(request, err)
        try:
            _converse(ws, proc, report, progress, errors)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _with_lines_on_disk(prepared: PreparedImport, tmp: Path) -> PreparedImport:
    """``prepared`` whose accepted lines are IPC files the child can read, a batch each
    (so the child holds one batch at a time, as for a streamed file)."""
    if prepared.streamed:
        return prepared
    parts = []
    for number, batch in enumerate(prepared.iter_accepted()):
        parts.append(tmp / f"lines-{number:05d}.arrow")
        batch.write_ipc(parts[-1])
    return dataclasses.replace(prepared, _accepted=None, _raw=None, _spill=parts)


def _start(request: Path, err: Any) -> subprocess.Popen:
    from storage.loading import child_env

    try:
        return subprocess.Popen(
            [sys.executable, "-m", "storage.bulk_writer", str(request)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=child_env(),
        )
    except OSError as exc:
        raise WorkspaceError(f"cannot start the import writer: {exc}") from None


def _converse(
    ws: Any,
    proc: subprocess.Popen,
    report: ImportReport,
    progress: Progress | None,
    errors: Path,
) -> None:
    committed = False
    for line in proc.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # not the writer's word (a library printing): ignored
        if not isinstance(message, dict):
            continue
        if "rows" in message:
            if progress is not None:
                progress(int(message["rows"]), report.rows_accepted)
        elif "ready" in message:
            for name, value in message["ready"].items():
                setattr(report, name, value)
            proc.stdin.write("commit\n")
            proc.stdin.flush()
        elif "committed" in message:
            committed = True
        elif "already" in message:
            raise AlreadyImported(int(message["already"]))
        elif "busy" in message:
            raise WorkspaceBusyError(ws.path)
    proc.wait()
    if not committed:
        # one line, the same as an in-process write ("the disk is full", ...)
        raise write_failed(ws.path, RuntimeError(_last_line(errors, proc.returncode)))


def _last_line(errors: Path, code: int | None) -> str:
    with contextlib.suppress(OSError):
        lines = [s for s in errors.read_text(errors="replace").splitlines() if s.strip()]
        if lines:
            return lines[-1]
    if code is not None and code < 0:
        return f"the writer process was stopped by signal {-code}"
    return f"the writer process ended with code {code}"


# -- child --------------------------------------------------------------------------


class AdbcTarget:
    """``SqlTarget`` over an ADBC SQLite cursor (autocommit mode, explicit BEGIN)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def run(self, sql: str, params: tuple = ()) -> int:
        self.cursor.executemany(sql, [params] if params else None)
        return max(int(self.cursor.rowcount), 0)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        self.cursor.execute(sql, params or None)
        return self.cursor.fetchall()

    def insert(self, table: str, frame: pl.DataFrame, extra: dict[str, int] | None = None) -> None:
        if frame.height == 0:
            return
        if extra:
            frame = frame.with_columns(pl.lit(int(v), pl.Int64).alias(k) for k, v in extra.items())
        temporary = table.startswith("temp.")
        name = table.removeprefix("temp.")
        self.cursor.adbc_ingest(name, frame, mode="append", temporary=temporary)


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "sqlite_busy" in text or "database is busy" in text


def main(argv: list[str]) -> int:
    with open(argv[0], "rb") as fh:
        request = pickle.load(fh)
    _die_with_parent(request["parent"])
    import adbc_driver_sqlite.dbapi as dbapi

    prepared: PreparedImport = request["prepared"]
    report: ImportReport = request["report"]
    conn = dbapi.connect(request["path"], autocommit=True)
    cursor = conn.cursor()
    db = AdbcTarget(cursor)
    try:
        db.run(f"PRAGMA busy_timeout = {int(request['busy_timeout'] * 1000)}")
        for pragma in bulk_pragmas(prepared.kind):
            db.run(pragma)
        try:
            db.run("BEGIN IMMEDIATE")
        except Exception as exc:
            if _is_busy(exc):
                _say({"busy": True})
                return 3
            raise
        from storage.workspace import NEW_DATA_VERSION_SQL

        db.run(NEW_DATA_VERSION_SQL)
        try:
            write_import(
                db,
                prepared,
                report,
                lambda done, _total: _say({"rows": done}),
                replace=bool(request.get("replace", False)),
            )
        except AlreadyImported as exc:
            _say({"already": exc.previous})
            return 0
        _say({"ready": report.to_dict()})
        if sys.stdin.readline().strip() != "commit" or os.getppid() != request["parent"]:
            return 1  # no word from the parent: the transaction is rolled back
        db.run("COMMIT")
        _say({"committed": True})
        return 0
    finally:
        cursor.close()
        conn.close()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as exc:  # reported to the parent, which raises WorkspaceError
        # the parent shows the last line: the first of the message (ADBC adds
        # "query was: ..." lines below it)
        lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
        print(f"{type(exc).__name__}: {lines[0] if lines else ''}", file=sys.stderr)
        sys.exit(1)
