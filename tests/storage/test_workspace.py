"""Workspace create/open, markers, pragmas, write transactions and the data version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import SegscopeError
from storage.errors import (
    NotAWorkspaceError,
    SchemaTooNewError,
    WorkspaceBusyError,
    WorkspaceError,
)
from storage.schema import APPLICATION_ID, LATEST_VERSION
from storage.workspace import Workspace, cache_dir_for


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "w.segscope", cache=False) as workspace:
        yield workspace


def test_create_sets_up_a_current_workspace(tmp_path: Path) -> None:
    path = tmp_path / "new.segscope"
    with Workspace.create(path, busy_timeout=2.5) as ws:
        assert ws.path == path
        assert ws.schema_version == LATEST_VERSION
        assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ws.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert ws.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        assert ws.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert ws.meta("application") == "segscope"
        tables = set(ws.db.table_names())
    for table in (
        "accounts",
        "transactions",
        "contacts",
        "imports",
        "rejected_rows",
        "meta",
        "account_attributes",
        "models",
        "runs",
        "assignments",
        "segments",
        "settings",
    ):
        assert table in tables
    # the marker and version are in the file, not only in the connection
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert raw.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    raw.close()


def test_default_busy_timeout_is_five_seconds(ws: Workspace) -> None:
    assert ws.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_create_refuses_an_existing_file_unless_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "w.segscope"
    Workspace.create(path).close()
    with pytest.raises(WorkspaceError, match="already exists"):
        Workspace.create(path)
    with Workspace.open(path) as ws, ws.write() as db:
        db["accounts"].insert({"account_id": "A1"})
    cache_dir_for(path).mkdir()
    with Workspace.create(path, overwrite=True) as ws:
        assert ws.db["accounts"].count == 0
    assert not cache_dir_for(path).exists()


def test_create_reports_a_missing_directory_and_a_directory_path(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        Workspace.create(tmp_path / "nope" / "w.segscope")
    with pytest.raises(WorkspaceError, match="is a directory"):
        Workspace.create(tmp_path, overwrite=True)
    assert tmp_path.is_dir()


def test_open_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.segscope"
    with pytest.raises(NotAWorkspaceError, match="does not exist") as info:
        Workspace.open(path)
    assert str(path) in str(info.value)
    assert not path.exists()  # opening never creates by accident
    with Workspace.open(path, create=True) as ws:
        assert ws.schema_version == LATEST_VERSION


def test_open_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotAWorkspaceError, match="is a directory"):
        Workspace.open(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"account_id,name\nA1,Acme\n", bytes(range(256)) * 20, b"SQLite format 2\x00" + b"\0" * 100],
    ids=["csv", "binary", "almost-sqlite"],
)
def test_open_a_file_that_is_not_sqlite(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.segscope"
    path.write_bytes(content)
    with pytest.raises(NotAWorkspaceError, match="not a SQLite database"):
        Workspace.open(path)
    assert path.read_bytes() == content


def test_open_a_foreign_sqlite_database_leaves_it_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes(x)")
    conn.execute("INSERT INTO notes VALUES (1)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NotAWorkspaceError, match="not a segscope workspace") as info:
        Workspace.open(path)
    assert isinstance(info.value, SegscopeError)
    assert info.value.exit_code == 1
    assert path.read_bytes() == before


def test_open_a_workspace_from_a_newer_segscope(tmp_path: Path) -> None:
    path = tmp_path / "w.segscope"
    Workspace.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match=f"schema version {LATEST_VERSION + 1}"):
        Workspace.open(path)


def test_close_and_context_manager(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "w.segscope") as ws:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        ws.conn.execute("SELECT 1")


def test_write_commits(ws: Workspace) -> None:
    with ws.write() as db:
        db["accounts"].insert_all([{"account_id": "A1"}, {"account_id": "A2"}])
    other = sqlite3.connect(ws.path)
    assert other.execute("SELECT count(*) FROM accounts").fetchone()[0] == 2
    other.close()


def test_write_rolls_back_on_error(ws: Workspace) -> None:
    with ws.write() as db:
        db["accounts"].insert({"account_id": "A1"})
    version = ws.data_version()
    with pytest.raises(RuntimeError), ws.write() as db:
        db["accounts"].insert({"account_id": "A2"})
        db.execute("UPDATE accounts SET name = 'changed'")
        raise RuntimeError("boom")
    assert ws.conn.execute("SELECT account_id, name FROM accounts").fetchall() == [("A1", None)]
    assert ws.data_version() == version
    assert not ws.conn.in_transaction


def test_nested_write_joins_the_outer_transaction(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), ws.write() as db:
        with ws.write() as inner:
            inner["accounts"].insert({"account_id": "A1"})
        db["accounts"].insert({"account_id": "A2"})
        raise RuntimeError("boom")
    assert ws.db["accounts"].count == 0


def test_foreign_keys_are_enforced(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="FOREIGN KEY"), ws.write() as db:
        db.execute("INSERT INTO transactions(account_id, date, amount) VALUES ('nobody', 1, 2.0)")
    assert ws.db["transactions"].count == 0


def test_write_is_busy_when_another_connection_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "w.segscope"
    Workspace.create(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Workspace.open(path, busy_timeout=0.05) as ws:
            with pytest.raises(WorkspaceBusyError) as info, ws.write() as db:
                db["accounts"].insert({"account_id": "A1"})
            assert info.value.exit_code == 3
            assert str(info.value) == (
                f"workspace is busy: {path} is being written by another process; try again"
            )
            # reads still work while the other connection holds the write lock
            assert ws.db["accounts"].count == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Workspace.open(path) as ws, ws.write() as db:
        db["accounts"].insert({"account_id": "A1"})
        assert db["accounts"].count == 1


def test_data_version_changes_with_data_writes_only(ws: Workspace) -> None:
    v0 = ws.data_version()
    assert ws.data_version() == v0
    with ws.write() as db:
        db["accounts"].insert({"account_id": "A1"})
    v1 = ws.data_version()
    assert v1 != v0
    with ws.write(touches_data=False) as db:
        db.execute("INSERT INTO settings(key, value_json) VALUES ('a', '1')")
    assert ws.data_version() == v1
    # an update through write() changes it even though no row count changes
    with ws.write() as db:
        db.execute("UPDATE accounts SET name = 'x'")
    v2 = ws.data_version()
    assert v2 not in (v0, v1)
    # rows appended behind write()'s back still change it (largest rowid)
    ws.conn.execute("INSERT INTO accounts(account_id) VALUES ('A2')")
    assert ws.data_version() != v2


def test_data_version_describes_committed_data_without_waiting(ws: Workspace) -> None:
    before = ws.data_version()
    with ws.write() as db:
        db.execute("INSERT INTO accounts(account_id) VALUES ('A1')")
        assert ws.data_version() == before  # the write is not committed yet
    assert ws.data_version() != before


def test_data_version_differs_between_workspaces(tmp_path: Path) -> None:
    with (
        Workspace.create(tmp_path / "a.segscope") as a,
        Workspace.create(tmp_path / "b.segscope") as b,
    ):
        assert a.data_version() != b.data_version()
