"""Two processes on one workspace: readers go on, a blocked writer gets "busy", no corruption."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from storage.errors import WorkspaceBusyError
from storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]

# Holds the write lock with 100 uncommitted accounts until it reads a line.
HOLDING_WRITER = """
import sys
from storage.workspace import Workspace
ws = Workspace.open(sys.argv[1])
with ws.write() as db:
    db.conn.executemany(
        "INSERT INTO accounts(account_id) VALUES (?)", [(f"W{i}",) for i in range(100)]
    )
    print("locked", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""

# Tries one write with a short busy timeout and reports what happened.
SECOND_WRITER = """
import sys, time
from storage.errors import WorkspaceBusyError
from storage.workspace import Workspace
ws = Workspace.open(sys.argv[1], busy_timeout=float(sys.argv[2]))
start = time.monotonic()
try:
    with ws.write() as db:
        db.execute("INSERT INTO accounts(account_id) VALUES ('SECOND')")
except WorkspaceBusyError as exc:
    print(f"{time.monotonic() - start:.3f}")
    print(exc)
    sys.exit(exc.exit_code)
print("wrote")
"""

# Commits ``n`` transactions of ``size`` accounts each, holding the lock a little in each.
STREAM_WRITER = """
import sys, time
from storage.workspace import Workspace
ws = Workspace.open(sys.argv[1], busy_timeout=10)
n, size, prefix = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print("started", flush=True)
for t in range(n):
    with ws.write() as db:
        db.conn.executemany(
            "INSERT INTO accounts(account_id) VALUES (?)",
            [(f"{prefix}{t}-{i}",) for i in range(size)],
        )
        time.sleep(0.01)
print("done", flush=True)
"""


def _python(script: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "shared.segscope"
    with Workspace.create(path, cache=False) as ws, ws.write() as db:
        db["accounts"].insert_all([{"account_id": f"A{i}"} for i in range(3)])
    return path


def test_reader_goes_on_and_a_second_writer_is_busy(path: Path) -> None:
    writer = _python(HOLDING_WRITER, str(path))
    try:
        assert writer.stdout.readline().strip() == "locked"

        # a reader in this process sees the last committed state, without waiting
        with Workspace.open(path, busy_timeout=0.2, cache=False) as reader:
            start = time.monotonic()
            assert reader.conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3
            assert reader.load_accounts().height == 3
            assert time.monotonic() - start < 5

            # a writer in this process cannot get the lock within its timeout
            with pytest.raises(WorkspaceBusyError), reader.write() as db:
                db.execute("INSERT INTO accounts(account_id) VALUES ('X')")

        # a writer in a third process gets the busy error and exit code 3
        second = _python(SECOND_WRITER, str(path), "0.3")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 3, err
        waited, message = out.strip().splitlines()
        assert float(waited) >= 0.25  # it waited for the timeout, not less
        assert message == (
            f"workspace is busy: {path} is being written by another process; try again"
        )

        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "committed"
    finally:
        writer.kill()
        writer.wait()

    with Workspace.open(path, cache=False) as ws:
        assert ws.conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 103
        assert ws.load_accounts().height == 103
    assert _integrity(path) == "ok"


def test_reads_never_see_half_a_transaction(path: Path) -> None:
    n, size = 30, 50
    writer = _python(STREAM_WRITER, str(path), str(n), str(size), "S")
    try:
        assert writer.stdout.readline().strip() == "started"
        conn = sqlite3.connect(path)
        seen: list[int] = []
        while writer.poll() is None:
            seen.append(conn.execute("SELECT count(*) FROM accounts").fetchone()[0])
        conn.close()
        assert writer.returncode == 0, writer.stderr.read()
    finally:
        writer.kill()
        writer.wait()
    assert seen, "the reader never read"
    assert all((count - 3) % size == 0 for count in seen)  # whole transactions only
    assert seen == sorted(seen)
    # a writer with the default timeout waits its turn instead of failing
    with Workspace.open(path) as ws, ws.write() as db:
        db.execute("INSERT INTO accounts(account_id) VALUES ('LAST')")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3 + n * size + 1
    conn.close()
    assert _integrity(path) == "ok"


def test_waiting_writers_in_two_processes_both_succeed(path: Path) -> None:
    writers = [_python(STREAM_WRITER, str(path), "10", "20", prefix) for prefix in "PQ"]
    for w in writers:
        out, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 3 + 2 * 10 * 20
    conn.close()
    assert _integrity(path) == "ok"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_writer_killed_mid_transaction_leaves_the_workspace_as_before(path: Path) -> None:
    writer = _python(HOLDING_WRITER, str(path))
    assert writer.stdout.readline().strip() == "locked"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    with Workspace.open(path, busy_timeout=1, cache=False) as ws:
        assert [r[0] for r in ws.conn.execute("SELECT account_id FROM accounts")] == [
            "A0",
            "A1",
            "A2",
        ]
        with ws.write() as db:  # the dead writer's lock is gone
            db.execute("INSERT INTO accounts(account_id) VALUES ('AFTER')")
    assert _integrity(path) == "ok"
