"""Upgrading from every earlier schema version keeps the data; a failed step changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import schema
from storage.errors import WorkspaceBusyError, WorkspaceError
from storage.schema import LATEST_VERSION, migrate
from storage.workspace import Workspace


def _fill(conn: sqlite3.Connection, version: int) -> None:
    """Rows in every table that exists at ``version``."""
    if version >= 1:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO imports(id, kind, file_name, rows_read) VALUES (1, 'accounts', 'a.csv', 2)"
        )
        conn.execute(
            "INSERT INTO rejected_rows(import_id, row_number, raw_json, reason)"
            " VALUES (1, 3, '{}', 'no account id')"
        )
        conn.execute(
            "INSERT INTO accounts(account_id, name, employees, annual_revenue, import_id)"
            " VALUES ('A1', 'Acme', 120, 5.5e6, 1), ('A2', 'Beta', NULL, NULL, 1)"
        )
        conn.execute(
            "INSERT INTO transactions(account_id, date, amount, invoice_id)"
            " VALUES ('A1', 19000, 99.5, 'I1'), ('A1', 19001, -10.0, 'I2')"
        )
        conn.execute(
            "INSERT INTO contacts(contact_id, account_id, name) VALUES ('C1', 'A1', 'Ann')"
        )
        conn.execute("COMMIT")
    if version >= 2:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO models(name, spec_json, created_at, updated_at)"
            " VALUES ('m', '{}', 't', 't')"
        )
        conn.execute(
            "INSERT INTO runs(id, model_name, spec_json, created_at) VALUES (1, 'm', '{}', 't')"
        )
        conn.execute("INSERT INTO assignments VALUES (1, 'A1', 'S', 99.5)")
        conn.execute("COMMIT")
    if version >= 3:
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO plans(model_name, segment, objective) VALUES ('m', 'S', 'grow')"
        )
        conn.execute(
            "INSERT INTO kpis(model_name, segment, metric, target, created_at)"
            " VALUES ('m', 'S', 'revenue', 10.0, 't')"
        )
        conn.execute("COMMIT")


def _build(path: Path, version: int) -> None:
    """A workspace file at ``version`` (0: an empty file) holding ``_fill``'s rows."""
    path.write_bytes(b"")
    if version == 0:
        return
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=version) == version
    _fill(conn, version)
    conn.close()


@pytest.mark.parametrize("version", range(LATEST_VERSION))
def test_upgrade_from_every_earlier_version(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.segscope"
    _build(path, version)
    with Workspace.open(path) as ws:
        assert ws.schema_version == LATEST_VERSION
        if version >= 1:
            assert ws.conn.execute(
                "SELECT account_id, name, employees, annual_revenue FROM accounts ORDER BY 1"
            ).fetchall() == [("A1", "Acme", 120, 5.5e6), ("A2", "Beta", None, None)]
            assert ws.conn.execute(
                "SELECT account_id, date, amount, invoice_id FROM transactions ORDER BY id"
            ).fetchall() == [("A1", 19000, 99.5, "I1"), ("A1", 19001, -10.0, "I2")]
            assert ws.conn.execute("SELECT * FROM contacts").fetchall() == [
                ("C1", "A1", "Ann", None, None, None, None, None, None, None)
            ]
            assert ws.conn.execute("SELECT reason FROM rejected_rows").fetchall() == [
                ("no account id",)
            ]
        if version >= 2:
            assert ws.conn.execute("SELECT * FROM assignments").fetchall() == [(1, "A1", "S", 99.5)]
        # the upgraded workspace is fully usable: every table of the latest schema
        _fill_latest_only(ws, version)
        assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ws.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _fill_latest_only(ws: Workspace, version: int) -> None:
    if version < 1:
        conn = ws.conn
        _fill(conn, 1)
    ws.save_model("upgraded", '{"k": 1}')
    ws.set_setting("x", [1])
    assert ws.get_setting("x") == [1]


def test_the_same_result_whatever_the_starting_version(tmp_path: Path) -> None:
    """The schema reached by upgrading equals the schema of a new workspace."""

    def shape(path: Path) -> list[tuple]:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        conn.close()
        return rows

    fresh = tmp_path / "fresh.segscope"
    Workspace.create(fresh).close()
    for version in range(LATEST_VERSION):
        path = tmp_path / f"v{version}.segscope"
        _build(path, version)
        Workspace.open(path).close()
        assert shape(path) == shape(fresh)


def test_a_failing_migration_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "v1.segscope"
    _build(path, 1)
    broken = [*schema.MIGRATION_2[:2], "CREATE TABLE broken (", *schema.MIGRATION_2[2:]]
    monkeypatch.setattr(schema, "MIGRATIONS", [schema.MIGRATION_1, broken])
    with pytest.raises(WorkspaceError, match="cannot upgrade"):
        Workspace.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "models" not in tables and "runs" not in tables
    assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 2
    conn.close()
    monkeypatch.undo()
    with Workspace.open(path) as ws:
        assert ws.schema_version == LATEST_VERSION


def test_migrations_are_forward_only_and_numbered() -> None:
    assert LATEST_VERSION == len(schema.MIGRATIONS) == 7
    for statements in schema.MIGRATIONS:
        assert statements and all(isinstance(s, str) for s in statements)


def test_migration_4_drops_the_invoice_index_and_keeps_the_lines(tmp_path: Path) -> None:
    path = tmp_path / "v3.segscope"
    _build(path, 3)
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert "transactions_invoice" in indexes
    with Workspace.open(path) as ws:
        indexes = {
            r[0] for r in ws.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert "transactions_invoice" not in indexes
        assert "transactions_account" in indexes
        assert ws.conn.execute("SELECT count(*) FROM transactions").fetchone()[0] == 2


def test_an_upgrade_that_cannot_get_the_lock_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "v1.segscope"
    _build(path, 1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WorkspaceBusyError):
            Workspace.open(path, busy_timeout=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    with Workspace.open(path) as ws:
        assert ws.schema_version == LATEST_VERSION
