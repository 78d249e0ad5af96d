"""The child-process writer of large transaction files (``storage.bulk_writer``).

It must write exactly what the in-process writer writes, in one transaction,
and leave the workspace as it was when it is busy, fails, or loses its parent.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import storage.bulk_writer as bulk_writer
from storage import readers
from storage.errors import WorkspaceBusyError, WorkspaceError
from storage.import_writer import AlreadyImported, ImportReport
from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "import"
TABLES = ("accounts", "transactions", "contacts", "imports", "rejected_rows", "account_attributes")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the child writer is POSIX-only")


@pytest.fixture(autouse=True)
def stream_every_csv(monkeypatch) -> None:
    """Small CSVs are streamed in batches too, as the large files the writer is for."""
    monkeypatch.setattr(readers, "STREAM_THRESHOLD_BYTES", 0)


def lines_csv(path: Path, n: int, first_invoice: int = 0, bad_every: int = 0) -> Path:
    """``n`` invoice lines, 4 to an invoice, over 500 accounts; every
    ``bad_every``-th line has an invalid date (a rejected row)."""
    dates = [
        "2024-02-30" if bad_every and i % bad_every == 0 else f"2024-03-{1 + i % 28:02d}"
        for i in range(n)
    ]
    pl.DataFrame(
        {
            "invoice_id": [f"K{first_invoice + i // 4}" for i in range(n)],
            "account_id": [f"ACC-{i % 500}" for i in range(n)],
            "date": dates,
            "amount": [f"{i % 97},25" if i % 13 else f"-{i % 7},5" for i in range(n)],
            "product": [f"P{i % 11}" if i % 5 else None for i in range(n)],
        }
    ).write_csv(path, separator=";")
    return path


def table_rows(ws: Workspace) -> dict[str, list[tuple]]:
    out = {}
    for table in TABLES:
        rows = ws.conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        if table == "imports":  # created_at is a clock reading
            rows = [r[:-1] for r in rows]
        out[table] = rows
    return out


def report_of(report: ImportReport) -> dict:
    return {k: v for k, v in report.to_dict().items() if k != "seconds"}


def run_imports(path: Path, files: list[tuple[Path, str]], child: bool, monkeypatch) -> tuple:
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0 if child else 10**12)
    reports = []
    with Workspace.create(path, cache=False) as ws:
        for file, kind in files:
            prepared = prepare_import(file, kind, batch_size=2_000)
            reports.append(report_of(commit_import(ws, prepared)))
        assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ws.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return reports, table_rows(ws)


def state(path: Path) -> dict:
    with Workspace.open(path, cache=False) as ws:
        out: dict = {t: ws.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        out["amount"] = ws.conn.execute("SELECT total(amount) FROM transactions").fetchone()[0]
        out["data_version"] = ws.data_version()
        out["integrity"] = ws.conn.execute("PRAGMA integrity_check").fetchone()[0]
    return out


def test_the_child_writes_what_the_in_process_writer_writes(tmp_path: Path, monkeypatch) -> None:
    first = lines_csv(tmp_path / "first.csv", 9_000, bad_every=1_000)
    # overlaps invoices K1000..K2249 of the first file: their stored lines are replaced
    again = lines_csv(tmp_path / "again.csv", 5_000, first_invoice=1_000)
    files = [
        (DATA / "accounts_salesforce_cp1252.csv", "accounts"),
        (first, "transactions"),
        (DATA / "online_retail_lines.csv", "transactions"),
        (again, "transactions"),
        (again, "transactions"),  # the same file again: a no-op
    ]
    in_process = run_imports(tmp_path / "in.segscope", files, False, monkeypatch)
    child = run_imports(tmp_path / "child.segscope", files, True, monkeypatch)
    assert child == in_process
    reports, rows = child
    assert reports[1]["inserted"] == 9_000 - 9 and reports[1]["rows_rejected"] == 9
    assert reports[1]["stub_accounts"] == 500
    assert (reports[3]["invoices_replaced"], reports[3]["lines_replaced"]) == (1_250, 5_000 - 5)
    assert reports[4]["no_op"]
    assert len(rows["transactions"]) == (9_000 - 9) + 7 + 5_000 - (5_000 - 5)
    assert len(rows["rejected_rows"]) == sum(r["rows_rejected"] for r in reports[:4])


def test_a_file_read_whole_goes_through_the_child_too(tmp_path: Path, monkeypatch) -> None:
    csv = lines_csv(tmp_path / "l.csv", 3_000)
    parquet = tmp_path / "l.parquet"
    pl.read_csv(csv, separator=";", infer_schema=False).write_parquet(parquet)
    in_process = run_imports(
        tmp_path / "a.segscope", [(parquet, "transactions")], False, monkeypatch
    )
    child = run_imports(tmp_path / "b.segscope", [(parquet, "transactions")], True, monkeypatch)
    assert child == in_process
    assert child[0][0]["inserted"] == 3_000


def test_a_file_read_whole_reaches_the_child_a_batch_at_a_time(tmp_path: Path, monkeypatch) -> None:
    from storage.importer import PreparedImport

    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    monkeypatch.setattr(PreparedImport.iter_accepted, "__defaults__", (1_000,))
    parquet = tmp_path / "l.parquet"
    csv = lines_csv(tmp_path / "l.csv", 2_500)
    pl.read_csv(csv, separator=";", infer_schema=False).write_parquet(parquet)
    seen: list[tuple[int, int]] = []
    with Workspace.create(tmp_path / "w.segscope", cache=False) as ws:
        prepared = prepare_import(parquet, "transactions")
        assert not prepared.streamed
        commit_import(ws, prepared, progress=lambda done, total: seen.append((done, total)))
        assert ws.conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == 2_500
    assert seen == [(1_000, 2_500), (2_000, 2_500), (2_500, 2_500)]


def test_progress_counts_up_to_every_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    seen: list[tuple[int, int]] = []
    with Workspace.create(tmp_path / "w.segscope", cache=False) as ws:
        prepared = prepare_import(
            lines_csv(tmp_path / "l.csv", 5_000), "transactions", batch_size=2_000
        )
        commit_import(ws, prepared, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2_000, 5_000), (4_000, 5_000), (5_000, 5_000)]


def test_a_busy_workspace_is_reported_and_left_alone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    path = tmp_path / "w.segscope"
    Workspace.create(path, cache=False).close()
    before = state(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Workspace.open(path, busy_timeout=0.2, cache=False) as ws:
            prepared = prepare_import(lines_csv(tmp_path / "l.csv", 100), "transactions")
            with pytest.raises(WorkspaceBusyError):
                commit_import(ws, prepared)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert state(path) == before


def test_inside_an_open_write_the_import_stays_in_process(tmp_path: Path, monkeypatch) -> None:
    """The child could never get the lock its parent holds: no child then."""
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    monkeypatch.setattr(bulk_writer, "_start", lambda *a: pytest.fail("a child was started"))
    with Workspace.create(tmp_path / "w.segscope", cache=False) as ws:
        prepared = prepare_import(lines_csv(tmp_path / "l.csv", 100), "transactions")
        with ws.write():
            assert commit_import(ws, prepared).inserted == 100
        assert ws.conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == 100


def test_a_file_committed_meanwhile_is_not_written_twice(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "w.segscope", cache=False) as ws:
        prepared = prepare_import(lines_csv(tmp_path / "l.csv", 100), "transactions")
        first = commit_import(ws, prepared)
        report = ImportReport(
            kind="transactions", file_name="l.csv", file_hash=prepared.file_hash, import_id=None
        )
        with pytest.raises(AlreadyImported) as caught:
            bulk_writer.commit_in_child(ws, prepared, report, None)
        assert caught.value.previous == first.import_id
        assert ws.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 1


def test_a_writer_that_dies_writes_nothing_and_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    path = tmp_path / "w.segscope"
    Workspace.create(path, cache=False).close()
    before = state(path)
    started: list[subprocess.Popen] = []
    real_start = bulk_writer._start

    def start(request, err):
        started.append(real_start(request, err))
        return started[-1]

    monkeypatch.setattr(bulk_writer, "_start", start)
    with Workspace.open(path, cache=False) as ws:
        prepared = prepare_import(
            lines_csv(tmp_path / "l.csv", 5_000), "transactions", batch_size=1_000
        )
        with pytest.raises(WorkspaceError, match="not written.*signal 9"):
            commit_import(ws, prepared, progress=lambda done, total: started[0].kill())
    assert state(path) == before


def test_an_error_in_the_writer_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    path = tmp_path / "w.segscope"
    Workspace.create(path, cache=False).close()
    before = state(path)
    with Workspace.open(path, cache=False) as ws:
        prepared = prepare_import(
            lines_csv(tmp_path / "l.csv", 5_000), "transactions", batch_size=1_000
        )
        prepared._spill[-1].unlink()  # the last batch is gone
        with pytest.raises(WorkspaceError, match="not written to .*: .*Error"):
            commit_import(ws, prepared)
    assert state(path) == before


# The real CLI in a child; the writer's first batch written makes it print the
# writer's pid and wait to be killed.
PARENT = """
import os, sys, time
import storage.bulk_writer as bw
import storage.importer
import storage.readers
import tui.commands.import_file as command
bw.CHILD_MIN_ROWS = 0
storage.readers.STREAM_THRESHOLD_BYTES = 0
storage.importer.prepare_import.__kwdefaults__["batch_size"] = 50_000
def hold(self, done, total):
    if total:  # writing, not reading
        me = os.getpid()
        kids = open(f"/proc/{me}/task/{me}/children").read().split()
        print("WROTE", done, *kids, flush=True)
        time.sleep(120)
command._Progress.__call__ = hold
from tui.cli import main
sys.exit(main(["import", sys.argv[1], sys.argv[2], "--kind", "transactions", "--quiet"]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_importer_kills_its_writer_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.segscope"
    with Workspace.create(path, cache=False) as ws:
        commit_import(ws, prepare_import(DATA / "accounts_salesforce_cp1252.csv", "accounts"))
    before = state(path)
    lines = lines_csv(tmp_path / "l.csv", 150_000)  # three batches
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(path), str(lines)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    line = proc.stdout.readline()
    assert line.startswith("WROTE"), proc.stderr.read()
    _, rows, writer = line.split()
    assert int(rows) == 50_000
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{writer}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{writer}").exists() or "Z" in _proc_state(writer)
    assert state(path) == before
    # the write lock is free again
    with Workspace.open(path, busy_timeout=1.0, cache=False) as ws, ws.write():
        pass


def _proc_state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except OSError:
        return "gone"
