"""snapshot diff: per-table counts against a plain-Python reference, models, annotations, runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from core.errors import SegscopeError
from storage.schema import migrate
from storage.snapshot import SnapshotError, export_snapshot
from storage.snapshot_diff import MAX_KEYS, diff_snapshots, format_diff
from storage.workspace import Workspace


def build(path: Path) -> Path:
    with Workspace.create(path, cache=False) as ws, ws.write() as db:
        db.conn.executemany(
            "INSERT INTO accounts(account_id, name, employees) VALUES (?, ?, ?)",
            [(f"A{i}", f"Acct {i}", i * 10) for i in range(1, 6)],
        )
        db.conn.executemany(
            "INSERT INTO transactions(account_id, date, amount) VALUES (?, ?, ?)",
            [(f"A{i % 5 + 1}", 19000 + i, float(i)) for i in range(12)],
        )
        db.conn.execute(
            "INSERT INTO contacts(contact_id, account_id, name) VALUES ('C1', 'A1', 'Ann')"
        )
    with Workspace.open(path, cache=False) as ws:
        ws.save_model("abc", json.dumps({"k": 1}))
        ws.save_model("rfm", json.dumps({"k": 2}))
        ws.save_model("gone", json.dumps({"k": 3}))
        ws.set_segment_annotation("abc", "A", label="Key", status="target")
        ws.set_segment_annotation("abc", "B", notes="small")
        ws.save_run(
            "abc", "{}", "2024-01-01", pl.DataFrame({"account_id": ["A1"], "segment": ["A"]})
        )
        with ws.write(touches_data=False) as db:
            db.execute(
                "INSERT INTO personas(model_name, segment, name, created_at, updated_at)"
                " VALUES ('abc', 'A', 'Petra', 't0', 't0')"
            )
            db.execute(
                "INSERT INTO plans(model_name, segment, objective, owner, updated_at)"
                " VALUES ('abc', 'A', 'grow', 'Kim', 't0'), ('abc', 'B', 'retain', 'Lu', 't0')"
            )
    return path


def change(path: Path) -> None:
    """Edits a reference below counts independently."""
    with Workspace.open(path, cache=False) as ws:
        with ws.write() as db:
            db.conn.executemany(
                "INSERT INTO accounts(account_id, name) VALUES (?, ?)",
                [("A6", "New"), ("A7", "Newer")],
            )
            db.conn.execute("UPDATE accounts SET employees = 999 WHERE account_id = 'A2'")
            db.conn.execute("DELETE FROM transactions WHERE id IN (1, 2, 3)")
            db.conn.execute("UPDATE transactions SET amount = -1 WHERE id = 10")
            db.conn.execute("ALTER TABLE accounts ADD COLUMN tier TEXT")
            db.conn.execute("INSERT INTO account_attributes(name, dtype) VALUES ('tier', 'TEXT')")
        ws.save_model("abc", json.dumps({"k": 1, "changed": True}))
        ws.save_model("rfm", json.dumps({"k": 2}))  # same spec, new updated_at: not a change
        ws.delete_model("gone")
        ws.save_model("fresh", "{}")
        ws.set_segment_annotation("abc", "A", notes="now with notes", status="maintain")
        ws.set_segment_annotation("abc", "C", label="third")
        ws.save_run(
            "abc", "{}", "2024-06-01", pl.DataFrame({"account_id": ["A2"], "segment": ["B"]})
        )
        with ws.write(touches_data=False) as db:
            db.execute(
                "INSERT INTO personas(model_name, segment, name, created_at, updated_at)"
                " VALUES ('abc', 'B', 'Ben', 't1', 't1')"
            )
            db.execute(
                "UPDATE plans SET objective = 'maintain', updated_at = 't1' WHERE segment = 'A'"
            )
            db.execute("UPDATE plans SET updated_at = 't1' WHERE segment = 'B'")  # only re-saved


def reference(a: Path, b: Path, table: str, key: list[str]) -> tuple[int, int, int]:
    """Added, removed, changed by key over the common columns, in plain Python."""

    def read(path: Path) -> tuple[list[str], dict]:
        conn = sqlite3.connect(path)
        cur = conn.execute(f"SELECT * FROM {table}")
        cols = [d[0] for d in cur.description]
        rows = {tuple(r[cols.index(k)] for k in key): dict(zip(cols, r, strict=True)) for r in cur}
        conn.close()
        return cols, rows

    cols_a, rows_a = read(a)
    cols_b, rows_b = read(b)
    common = [c for c in cols_a if c in cols_b and c not in key]
    common = [c for c in common if c not in ("created_at", "updated_at")]
    added = len(rows_b.keys() - rows_a.keys())
    removed = len(rows_a.keys() - rows_b.keys())
    changed = sum(
        any(rows_a[k][c] != rows_b[k][c] for c in common) for k in rows_a.keys() & rows_b.keys()
    )
    return added, removed, changed


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    ws = build(tmp_path / "w.segscope")
    before = tmp_path / "before.segsnap"
    export_snapshot(ws, before)
    copy_a = tmp_path / "a.sqlite"
    sqlite3.connect(ws).backup(dst := sqlite3.connect(copy_a))
    dst.close()
    change(ws)
    after = tmp_path / "after.segsnap"
    export_snapshot(ws, after)
    return ws, before, after, copy_a


def test_diff_counts_match_a_plain_python_reference(pair, tmp_path: Path) -> None:
    ws, before, after, copy_a = pair
    diff = diff_snapshots(before, after)
    keys = {
        "accounts": ["account_id"],
        "transactions": ["id"],
        "contacts": ["contact_id"],
        "models": ["name"],
        "segments": ["model_name", "segment"],
        "runs": ["id"],
        "assignments": ["run_id", "account_id"],
        "settings": ["key"],
        "meta": ["key"],
        "personas": ["id"],
        "plans": ["model_name", "segment"],
    }
    for table, key in keys.items():
        t = diff.table(table)
        assert list(t.key) == key
        assert (t.added, t.removed, t.changed) == reference(copy_a, ws, table, key), table
    # and by hand
    assert (diff.table("accounts").added, diff.table("accounts").changed) == (2, 1)
    assert diff.table("accounts").columns_added == ("tier",)
    assert (diff.table("transactions").removed, diff.table("transactions").changed) == (3, 1)
    assert (diff.table("accounts").rows_a, diff.table("accounts").rows_b) == (5, 7)
    assert diff.table("contacts").is_same
    assert not diff.is_empty


def test_models_segments_and_runs_are_listed(pair) -> None:
    _, before, after, _ = pair
    diff = diff_snapshots(before, after)
    assert diff.models.added == ("fresh",)
    assert diff.models.removed == ("gone",)
    assert diff.models.changed == (("abc", ("spec_json",)),)  # rfm re-saved unchanged: not listed
    assert diff.segments.added == ("abc/C",)
    assert diff.segments.changed == (("abc/A", ("notes", "status")),)
    assert diff.details["runs"].added == ("2",)
    assert diff.details["personas"].added == ("2",)
    assert diff.details["plans"].changed == (("abc/A", ("objective",)),)  # B: only re-saved
    assert "accounts" not in diff.details  # bulk tables: counts only
    text = format_diff(diff)
    assert "Models:\n  added: fresh\n  removed: gone\n  changed: abc (spec_json)" in text
    assert "changed: abc/A (notes, status)" in text
    assert "Game plans:\n  changed: abc/A (objective)" in text
    assert "Personas:\n  added: 2" in text
    assert "accounts: columns added: tier" in text
    data = diff.to_dict()
    json.dumps(data)  # JSON-able
    assert data["details"]["models"]["changed"] == [{"key": "abc", "columns": ["spec_json"]}]
    assert data["identical"] is False


def test_snapshot_against_a_workspace_and_identical_sides(pair) -> None:
    ws, before, after, _ = pair
    same = diff_snapshots(after, ws)
    assert same.is_empty
    assert same.a["kind"] == "snapshot" and same.b["kind"] == "workspace"
    assert "No differences." in format_diff(same)
    reverse = diff_snapshots(after, before)
    assert reverse.models.added == ("gone",) and reverse.models.removed == ("fresh",)
    assert reverse.table("accounts").columns_removed == ("tier",)


def test_a_side_with_foreign_tables_or_triggers_is_refused(tmp_path: Path) -> None:
    """Issue 11: a trigger-poisoned side must not compare as "No differences"."""
    a = build(tmp_path / "a.segscope")
    b = build(tmp_path / "b.segscope")
    conn = sqlite3.connect(b, isolation_level=None)
    conn.execute(
        "CREATE TRIGGER x AFTER INSERT ON transactions BEGIN"
        " UPDATE transactions SET amount = amount * 100 WHERE id = new.id; END"
    )
    conn.close()
    with pytest.raises(SegscopeError, match="trigger"):
        diff_snapshots(a, b)
    conn = sqlite3.connect(b, isolation_level=None)
    conn.execute("DROP TRIGGER x")
    conn.execute("CREATE TABLE log(n INTEGER, s TEXT)")
    conn.close()
    with pytest.raises(SegscopeError, match="unknown table"):
        diff_snapshots(a, b)


def test_older_schema_side_is_upgraded_before_comparing(tmp_path: Path) -> None:
    old = tmp_path / "v1.segscope"
    conn = sqlite3.connect(old, isolation_level=None)
    migrate(conn, target=1)
    conn.execute("INSERT INTO accounts(account_id) VALUES ('A1')")
    conn.close()
    snap = tmp_path / "v1.segsnap"
    export_snapshot(old, snap)
    new = tmp_path / "new.segscope"
    with Workspace.create(new) as ws, ws.write() as db:
        db.execute("INSERT INTO accounts(account_id) VALUES ('A1'), ('A2')")
    diff = diff_snapshots(snap, new)
    assert diff.a["schema_version"] == 1
    assert diff.table("models").rows_a == 0  # present after the upgrade, not "only in B"
    assert diff.table("accounts").added == 1


def test_long_lists_are_capped_but_counts_are_complete(tmp_path: Path) -> None:
    a = build(tmp_path / "a.segscope")
    b = build(tmp_path / "b.segscope")
    with Workspace.open(b) as ws, ws.write(touches_data=False) as db:
        db.conn.executemany(
            "INSERT INTO settings(key, value_json) VALUES (?, '1')",
            [(f"k{i:03d}",) for i in range(MAX_KEYS + 7)],
        )
    diff = diff_snapshots(a, b)
    assert diff.table("settings").added == MAX_KEYS + 7
    assert len(diff.details["settings"].added) == MAX_KEYS
    assert f"(first {MAX_KEYS} of each listed)" in format_diff(diff)


def test_bad_inputs(tmp_path: Path) -> None:
    a = build(tmp_path / "a.segscope")
    with pytest.raises(SnapshotError, match="does not exist"):
        diff_snapshots(a, tmp_path / "missing.segsnap")
    text = tmp_path / "t.txt"
    text.write_text("hello")
    with pytest.raises(SnapshotError, match="not a segscope workspace"):
        diff_snapshots(text, a)
