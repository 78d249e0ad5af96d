"""The demo set and the messy files go through the real import path.

The expected counts and reasons are the ones written down in
sample_data/README.md ("Messy files"); the demo set must import without a
single rejected row. ``ensure_demo_workspace`` must never leave a half-built
workspace where the app looks for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sample_data import demo as demo_module
from sample_data.demo import DEMO_DIR, ensure_demo_workspace
from sample_data.make_messy import MESSY_DIR, write_all
from storage.activities import load_activities
from storage.workspace import Workspace
from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO_ACCOUNTS = 2000
DEMO_TRANSACTIONS = 59_978
DEMO_CONTACTS = 5_138
DEMO_ACTIVITIES = 63_428


def _import(capsys: pytest.CaptureFixture[str], ws: Path, file: Path, kind: str) -> dict:
    capsys.readouterr()
    code = main(["import", str(ws), str(file), "--kind", kind, "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _counts(report: dict) -> tuple[int, int, dict[str, int]]:
    return report["rows_accepted"], report["rows_rejected"], report["rejected_by_reason"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "t.segscope"
    Workspace.create(path).close()
    return path


# ---------------------------------------------------------------- messy files


def test_messy_files_on_disk_are_what_make_messy_writes(tmp_path: Path) -> None:
    for written in write_all(tmp_path):
        assert written.read_bytes() == (MESSY_DIR / written.name).read_bytes(), written.name
    raw = (MESSY_DIR / "accounts_messy.csv").read_bytes()
    assert b"\r\n" in raw and "€".encode("cp1252") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_messy_files_import_with_the_documented_counts(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    accounts = _import(capsys, workspace, MESSY_DIR / "accounts_messy.csv", "accounts")
    assert _counts(accounts) == (
        8,
        3,
        {"employees is not a number": 1, "duplicate account_id": 1, "account_id is missing": 1},
    )
    tx = _import(capsys, workspace, MESSY_DIR / "transactions_messy.csv", "transactions")
    assert _counts(tx) == (
        9,
        3,
        {"date is not a valid date": 1, "amount is missing": 1, "amount is not a number": 1},
    )
    assert tx["stub_accounts"] == 1
    us = _import(capsys, workspace, MESSY_DIR / "transactions_messy_us.csv", "transactions")
    assert _counts(us) == (3, 1, {"date is not a valid date": 1})
    contacts = _import(capsys, workspace, MESSY_DIR / "contacts_messy.csv", "contacts")
    assert contacts["rows_accepted"] == 4 and contacts["rows_rejected"] == 2
    assert sum(contacts["rejected_by_reason"].values()) == 2
    assert contacts["rejected_by_reason"]["account_id is missing"] == 1

    with Workspace.open(workspace) as ws:
        acc = ws.load_accounts().sort("account_id")
        txs = ws.load_transactions()
        people = ws.load_contacts().sort("contact_id")
        rejected = ws.db.execute(
            "SELECT i.file_name, r.row_number, r.reason FROM rejected_rows r "
            "JOIN imports i ON i.id = r.import_id ORDER BY i.id, r.row_number"
        ).fetchall()

    # accounts: the first M-1002 wins, gaps are null, decimal commas, cp1252 text
    assert acc["account_id"].to_list() == [
        "M-1001", "M-1002", "M-1003", "M-1006", "M-1007", "M-1008", "M-1009", "M-1010", "M-9999",
    ]  # fmt: skip
    row = {r["account_id"]: r for r in acc.iter_rows(named=True)}
    assert row["M-1002"]["employees"] == 45
    assert row["M-1003"]["employees"] is None
    assert row["M-1006"]["annual_revenue"] is None
    assert row["M-1007"]["founded_year"] is None
    assert row["M-1001"]["annual_revenue"] == pytest.approx(18_500_000.5)
    assert row["M-1010"]["annual_revenue"] == pytest.approx(412_000_000.25)
    assert row["M-1001"]["name"] == "Müller Präzisionstechnik GmbH"
    assert row["M-1008"]["account_owner"] == "€-Team Ost"
    assert row["M-9999"]["name"] is None  # the stub made by the unknown account

    # transactions: day-first and month-first files, Excel serial, return, derived amounts
    messy = txs.filter(pl.col("invoice_id").str.contains("^[RG]-"))
    assert messy.height == 9
    assert messy["amount"].sum() == pytest.approx(2905.00)
    by_invoice = {(r["invoice_id"], r["amount"]): r["date"] for r in messy.iter_rows(named=True)}
    assert by_invoice["R-24002", 110.0] == date(2024, 2, 13)
    assert by_invoice["R-24007", 90.0] == date(2024, 4, 14)
    assert by_invoice["R-24009", 920.0] == date(2024, 5, 6)
    assert by_invoice["G-24001", -10.0] == date(2024, 4, 10)
    us_rows = txs.filter(pl.col("invoice_id").str.starts_with("U-")).sort("invoice_id")
    assert us_rows["date"].to_list() == [date(2024, 1, 5), date(2024, 12, 31), date(2024, 2, 29)]
    assert us_rows["amount"].to_list() == pytest.approx([25.00, 59.97, 29.75])

    # contacts: first and last names joined
    assert people["contact_id"].to_list() == ["P-1", "P-2", "P-3", "P-6"]
    assert people["name"][0] == "Anna Bergström"

    # every rejected row is stored with the row number a spreadsheet shows
    rejected = [(Path(f).name, n, r) for f, n, r in rejected]
    stored = [(f, n) for f, n, _ in rejected]
    assert stored == [
        ("accounts_messy.csv", 5), ("accounts_messy.csv", 6), ("accounts_messy.csv", 7),
        ("transactions_messy.csv", 5), ("transactions_messy.csv", 6),
        ("transactions_messy.csv", 7), ("transactions_messy_us.csv", 5),
        ("contacts_messy.csv", 5), ("contacts_messy.csv", 6),
    ]  # fmt: skip
    reasons = {(f, n): r for f, n, r in rejected}
    assert "about 50" in reasons["accounts_messy.csv", 5]
    assert "M-1002" in reasons["accounts_messy.csv", 6]
    assert "31/02/2024" in reasons["transactions_messy.csv", 5]
    assert "6O.00" in reasons["transactions_messy.csv", 7]
    assert "2/30/2024" in reasons["transactions_messy_us.csv", 5]
    assert "M-4040" in reasons["contacts_messy.csv", 5]


def test_reimporting_a_messy_file_is_a_no_op(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    _import(capsys, workspace, MESSY_DIR / "accounts_messy.csv", "accounts")
    again = _import(capsys, workspace, MESSY_DIR / "accounts_messy.csv", "accounts")
    assert again["no_op"] is True
    with Workspace.open(workspace) as ws:
        assert ws.load_accounts().height == 8


# ---------------------------------------------------------------- demo set


def _demo_frames() -> dict[str, pl.DataFrame]:
    return {
        "accounts": pl.read_csv(DEMO_DIR / "accounts.csv", infer_schema=False),
        "transactions": pl.read_csv(
            DEMO_DIR / "transactions.csv.gz", schema_overrides={"amount": pl.Float64}
        ),
        "contacts": pl.read_csv(DEMO_DIR / "contacts.csv", infer_schema=False),
    }


def _check_demo_workspace(path: Path) -> None:
    source = _demo_frames()
    with Workspace.open(path) as ws:
        accounts = ws.load_accounts()
        tx = ws.load_transactions()
        contacts = ws.load_contacts()
        activities = load_activities(ws)
    assert activities.height == DEMO_ACTIVITIES
    assert accounts.height == DEMO_ACCOUNTS
    assert tx.height == DEMO_TRANSACTIONS
    assert contacts.height == DEMO_CONTACTS
    assert tx["amount"].sum() == pytest.approx(source["transactions"]["amount"].sum(), abs=0.01)
    assert accounts["is_customer"].sum() == source["transactions"]["account_id"].n_unique()
    assert accounts["buying_center_size"].null_count() == 0
    first = accounts.filter(pl.col("account_id") == "ACC-0000001").row(0, named=True)
    expected = source["accounts"].row(0, named=True)
    assert first["name"] == expected["name"]
    assert first["employees"] == int(expected["employees"])


def test_demo_set_imports_cleanly_through_the_cli(
    capsys: pytest.CaptureFixture[str], workspace: Path
) -> None:
    files = (
        ("accounts.csv", "accounts", DEMO_ACCOUNTS),
        ("transactions.csv.gz", "transactions", DEMO_TRANSACTIONS),
        ("contacts.csv", "contacts", DEMO_CONTACTS),
        ("activities.csv.gz", "activities", DEMO_ACTIVITIES),
    )
    for name, kind, rows in files:
        report = _import(capsys, workspace, DEMO_DIR / name, kind)
        assert _counts(report) == (rows, 0, {}), name
        assert report.get("stub_accounts", 0) == 0
    _check_demo_workspace(workspace)


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo workspace built by ``ensure_demo_workspace`` beside two leftover temp files."""
    folder = tmp_path_factory.mktemp("demo") / "data"
    folder.mkdir()
    stale = folder / ".demo.segscope.1.1.tmp"
    fresh = folder / ".demo.segscope.2.2.tmp"
    for leftover in (stale, fresh):
        leftover.write_bytes(b"half a workspace")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    target = folder / "demo.segscope"
    assert ensure_demo_workspace(target) == target
    return target


def test_ensure_demo_workspace_builds_a_complete_demo(built_demo: Path) -> None:
    _check_demo_workspace(built_demo)


def test_ensure_demo_workspace_cleans_up_after_itself_and_dead_runs(built_demo: Path) -> None:
    # its own temporary file is gone, a dead run's old one too; a recent one may
    # belong to a run still going and is left alone
    # (demo.segscope.cache is the loader's cache of the finished demo, made by reading it)
    names = sorted(p.name for p in built_demo.parent.iterdir() if p.name != "demo.segscope.cache")
    assert names == [".demo.segscope.2.2.tmp", "demo.segscope"]


def test_ensure_demo_workspace_returns_an_existing_file_untouched(built_demo: Path) -> None:
    stamp = built_demo.stat().st_mtime_ns
    assert ensure_demo_workspace(built_demo) == built_demo
    assert built_demo.stat().st_mtime_ns == stamp


def test_default_location_is_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/nonexistent-xdg")
    path = demo_module.default_demo_path()
    if sys.platform.startswith("linux"):
        assert path == Path("/nonexistent-xdg/segscope/demo.segscope")
    assert path.name == "demo.segscope"


def test_a_failed_first_run_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.importer

    real = storage.importer.commit_import
    calls = []

    def failing(ws, prepared, progress=None):  # noqa: ANN001, ANN202 - stand-in
        calls.append(prepared.kind)
        if prepared.kind == "accounts":
            raise RuntimeError("disk full")
        return real(ws, prepared, progress)

    monkeypatch.setattr(storage.importer, "commit_import", failing)
    target = tmp_path / "demo.segscope"
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_demo_workspace(target)
    assert calls == ["accounts"]
    assert list(tmp_path.iterdir()) == []


def test_a_killed_first_run_never_leaves_a_half_demo(tmp_path: Path) -> None:
    target = tmp_path / "demo.segscope"
    marker = tmp_path.parent / f"{tmp_path.name}-accounts-committed"
    # The child commits the accounts, says so, then waits to be killed: the kill
    # lands mid-build whatever the machine's speed.
    code = (
        "import sys, time; from pathlib import Path\n"
        "import storage.importer as imp\n"
        "from sample_data.demo import ensure_demo_workspace\n"
        "real = imp.commit_import\n"
        "def slow(ws, prepared, progress=None):\n"
        "    report = real(ws, prepared, progress)\n"
        "    Path(sys.argv[2]).write_text(prepared.kind)\n"
        "    time.sleep(60)\n"
        "    return report\n"
        "imp.commit_import = slow\n"
        "ensure_demo_workspace(Path(sys.argv[1]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(target), str(marker)], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert marker.exists(), "the child never committed its first import"
    assert not target.exists(), "the kill came too late to test anything"
    # what the dead run leaves is a temporary file (with its WAL), which no reader opens
    assert all(p.name.startswith(".demo.segscope.") for p in tmp_path.iterdir())
