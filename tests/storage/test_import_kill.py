"""Killing an import at any moment leaves the workspace exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "import"
TABLES = ("accounts", "transactions", "contacts", "imports", "rejected_rows", "account_attributes")

# Runs the real CLI in a child; with HOLD set, it stops (for the kill) right
# after the first batch of transaction lines was written inside the transaction.
CHILD = """
import sys, time
import storage.import_writer as imp
if sys.argv[1] == "hold":
    real = imp._insert_frame
    def held(conn, table, frame, extra=None):
        real(conn, table, frame, extra)
        if table == "transactions":
            print("WROTE", frame.height, flush=True)
            time.sleep(120)
    imp._insert_frame = held
from tui.cli import main
sys.exit(main(["import", sys.argv[2], sys.argv[3], "--kind", "transactions", "--quiet"]))
"""


def state(path: Path) -> dict[str, object]:
    with Workspace.open(path, cache=False) as ws:
        counts = {t: ws.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        counts["integrity"] = ws.conn.execute("PRAGMA integrity_check").fetchone()[0]
        counts["columns"] = len(ws.conn.execute("PRAGMA table_info(accounts)").fetchall())
        counts["indexes"] = sorted(
            r[0] for r in ws.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        )
        counts["data_version"] = ws.data_version()
        counts["amount"] = ws.conn.execute("SELECT total(amount) FROM transactions").fetchone()[0]
    return counts


@pytest.fixture(scope="module")
def big_lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    n = 200_000
    path = tmp_path_factory.mktemp("kill") / "lines.csv"
    pl.DataFrame(
        {
            "invoice_id": [f"K{i // 4}" for i in range(n)],
            "account_id": [f"ACC-{i % 20_000}" for i in range(n)],
            "date": ["2024-03-01"] * n,
            "amount": [f"{i % 97},50" for i in range(n)],
            "Region": ["North"] * n,
        }
    ).write_csv(path, separator=";")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "w.segscope"
    with Workspace.create(path, cache=False) as ws:
        commit_import(ws, prepare_import(DATA / "accounts_salesforce_cp1252.csv", "accounts"))
        commit_import(ws, prepare_import(DATA / "online_retail_lines.csv", "transactions"))
    return path


def child(mode: str, ws: Path, file: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(ws), str(file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.slow
def test_sigkill_after_rows_were_written_leaves_the_workspace_as_before(
    workspace: Path, big_lines: Path
) -> None:
    before = state(workspace)
    proc = child("hold", workspace, big_lines)
    line = proc.stdout.readline()
    assert line.startswith("WROTE"), proc.stderr.read()
    assert int(line.split()[1]) > 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert state(workspace) == before


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_sigkill_at_a_random_moment_leaves_before_or_after(
    workspace: Path, big_lines: Path, delay: float, tmp_path: Path
) -> None:
    before = state(workspace)
    proc = child("run", workspace, big_lines)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    now = state(workspace)
    if now != before:
        # The import had committed before the kill: then it must be whole.
        assert now["imports"] == before["imports"] + 1
        assert now["transactions"] == before["transactions"] + 200_000
        assert now["integrity"] == "ok"
    # Either way the file imports cleanly afterwards (or is a no-op if it committed).
    with Workspace.open(workspace, cache=False) as ws:
        report = commit_import(ws, prepare_import(big_lines, "transactions"))
    assert report.no_op == (now != before)
    assert state(workspace)["transactions"] == before["transactions"] + 200_000
