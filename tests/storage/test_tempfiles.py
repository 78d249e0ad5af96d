"""Issue 11 (12): temporary files go away on SIGTERM/SIGINT, and after SIGKILL at the next start.

Each test runs a real operation in a child process, stops it at a known point
(the temporary file exists: the child prints "ready" and sleeps), signals it,
and looks for leftovers: in ``<workspace>.cache/tmp/``, beside the restore or
export target, and in the system temp folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from storage import tempfiles
from storage.snapshot import export_snapshot, restore_snapshot
from storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "import"

PRELUDE = """
import sys, time
from pathlib import Path
def stop_here(*args, **kwargs):
    print("ready", flush=True)
    time.sleep(60)
    raise SystemExit(9)
"""

SCENARIOS = {
    # the bulk writer's request folder exists when the child writer would start
    "bulk-writer": """
import storage.bulk_writer as bw
from storage.importer import prepare_import
from storage.import_writer import ImportReport
from storage.workspace import Workspace
bw._start = stop_here
ws = Workspace.open(sys.argv[1])
prepared = prepare_import(Path(sys.argv[2]), "transactions")
report = ImportReport(kind="transactions", file_name="t", file_hash="h", import_id=None)
bw.commit_in_child(ws, prepared, report, None)
""",
    # restore: the hidden .<target>.restore-*.tmp holds the extracted database
    "restore": """
import storage.snapshot as sn
sn._migrate = stop_here
sn.restore_snapshot(sys.argv[3], sys.argv[4])
""",
    # snapshot export: the hidden .<out>.snapshot-*.tmp/ folder holds the copy
    "snapshot-export": """
import storage.snapshot as sn
sn._hash_file = stop_here
sn.export_snapshot(sys.argv[1], sys.argv[5])
""",
    # a large transactions file read in batches: its checked batches spilled to
    # segscope-import-p<pid>-* in the system temp folder, through the real CLI
    "import-spill": """
import storage.importer as im
import storage.readers as rd
from tui.cli import main
rd.STREAM_THRESHOLD_BYTES = 0
im.prepare_import.__kwdefaults__["batch_size"] = 2
im.commit_import = stop_here
sys.exit(main(["import", sys.argv[1], sys.argv[7], "--kind", "transactions", "--quiet"]))
""",
    # data export: the hidden .<out>.export-*.tmp file
    "data-export": """
import polars as pl
import storage.export as ex
real = ex.neutralise_formulas
def slow(df):
    stop_here()
ex.neutralise_formulas = slow
ex.write_frame(pl.DataFrame({"a": [1]}), sys.argv[6])
""",
}


def leftovers(tmp_path: Path, pid: int) -> list[str]:
    found = [
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.name.startswith(".") or f"-p{pid}-" in p.name
    ]
    system = Path(tempfile.gettempdir())
    found += [str(p) for p in system.glob(f"segscope-*-p{pid}-*")]
    return found


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[str], Path]:
    from storage.importer import commit_import, prepare_import

    ws = tmp_path / "w.segscope"
    with Workspace.create(ws, cache=False) as w:
        commit_import(w, prepare_import(DATA / "accounts_hubspot_bom.csv", "accounts"))
    snap = tmp_path / "w.segsnap"
    export_snapshot(ws, snap)
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "account_id,date,amount\n" + "".join(f"A{i},2024-01-0{i % 9 + 1},{i}.5\n" for i in range(9))
    )
    args = [
        str(ws),
        str(DATA / "transactions_tab_mdy.tsv"),
        str(snap),
        str(tmp_path / "r.segscope"),
        str(tmp_path / "out.segsnap"),
        str(tmp_path / "out.csv"),
        str(lines),
    ]
    return args, ws


def start(scenario: str, args: list[str]) -> subprocess.Popen:
    code = PRELUDE + textwrap.dedent(SCENARIOS[scenario])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        pytest.fail(f"the child did not get ready: {line!r} {proc.stderr.read()}")
    return proc


def made_something(scenario: str, tmp_path: Path, pid: int) -> bool:
    return bool(leftovers(tmp_path, pid))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_signal_removes_the_temporary_files(setup, tmp_path: Path, scenario: str, sig) -> None:
    args, _ws = setup
    proc = start(scenario, args)
    assert made_something(scenario, tmp_path, proc.pid)  # the point of the test exists
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert leftovers(tmp_path, proc.pid) == []


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_after_sigkill_the_next_start_sweeps(setup, tmp_path: Path, scenario: str) -> None:
    args, ws = setup
    proc = start(scenario, args)
    proc.kill()
    proc.wait(timeout=30)
    assert leftovers(tmp_path, proc.pid)  # SIGKILL cannot clean up
    # the next start of the same kind of operation sweeps what the dead process left
    if scenario == "bulk-writer":
        Workspace.open(ws).close()
    elif scenario == "restore":
        restore_snapshot(Path(args[2]), Path(args[3]))
    elif scenario == "snapshot-export":
        export_snapshot(ws, Path(args[4]))
    elif scenario == "import-spill":
        threshold = __import__("storage.readers").readers.STREAM_THRESHOLD_BYTES
        import storage.readers
        from storage.importer import prepare_import

        storage.readers.STREAM_THRESHOLD_BYTES = 0
        try:
            prepare_import(Path(args[6]), "transactions", batch_size=2)
        finally:
            storage.readers.STREAM_THRESHOLD_BYTES = threshold
    else:
        import polars as pl

        from storage.export import write_frame

        write_frame(pl.DataFrame({"a": [1]}), Path(args[5]))
    assert leftovers(tmp_path, proc.pid) == []


def test_work_of_a_live_process_is_never_swept(tmp_path: Path) -> None:
    ws = tmp_path / "w.segscope"
    Workspace.create(ws).close()
    with tempfiles.work_dir(ws, "segscope-write") as mine:
        assert mine.parent == tmp_path / "w.segscope.cache" / "tmp"
        Workspace.open(ws).close()  # sweeps only the dead
        assert mine.is_dir()
    assert not mine.exists()


def test_an_untagged_old_leftover_is_swept_and_a_fresh_one_kept(tmp_path: Path) -> None:
    target = tmp_path / "t.segscope"
    old = tmp_path / ".t.segscope.restore-abc123.tmp"
    fresh = tmp_path / ".t.segscope.restore-def456.tmp"
    for p in (old, fresh):
        p.write_bytes(b"x")
    past = time.time() - tempfiles.UNTAGGED_AGE - 60
    os.utime(old, (past, past))
    tempfiles.sweep_beside(target, "restore")
    assert not old.exists() and fresh.exists()
