"""Loading accounts, transactions and contacts as canonical polars frames, and the cache."""

from __future__ import annotations

import os
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

import storage.loading as loading
from storage.loading import ACCOUNT_SCHEMA, CONTACT_SCHEMA, TRANSACTION_SCHEMA
from storage.workspace import Workspace

EPOCH = date(1970, 1, 1)


def _days(d: date) -> int:
    return (d - EPOCH).days


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "w.segscope", cache=False) as workspace:
        with workspace.write() as db:
            db.execute(
                "INSERT INTO accounts(account_id, name, employees, annual_revenue, is_customer)"
                " VALUES ('A1', 'Acme', 10, 1.5, NULL),"  # has transactions -> customer
                " ('A2', 'Beta', NULL, NULL, NULL),"  # none -> prospect
                " ('A3', 'Gamma', 30, 2.0, 0),"  # stored 0 wins over its transaction
                " ('A4', 'Delta', 40, NULL, 1)"  # stored 1 wins although no transaction
            )
            db.execute(
                "INSERT INTO transactions(account_id, date, amount, margin, invoice_id, quantity)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ("A1", _days(date(2024, 2, 29)), 100.0, None, "I1", 2.0),
            )
            db.execute(
                "INSERT INTO transactions(account_id, date, amount, margin, invoice_id, quantity)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                ("A1", _days(date(1969, 12, 31)), -25.5, -3.0, None, None),
            )
            db.execute(
                "INSERT INTO transactions(account_id, date, amount) VALUES (?, ?, ?)",
                ("A3", _days(date(2025, 1, 1)), 7.0),
            )
            db.execute(
                "INSERT INTO contacts(contact_id, account_id, name, decision_role)"
                " VALUES ('C1', 'A1', 'Ann', 'buyer'), ('C2', 'A3', NULL, NULL)"
            )
        yield workspace


def test_accounts_frame(ws: Workspace) -> None:
    accounts = ws.load_accounts()
    assert accounts.schema == pl.Schema(ACCOUNT_SCHEMA)
    assert accounts.select("account_id", "name", "employees", "annual_revenue").rows() == [
        ("A1", "Acme", 10, 1.5),
        ("A2", "Beta", None, None),
        ("A3", "Gamma", 30, 2.0),
        ("A4", "Delta", 40, None),
    ]
    assert accounts["is_customer"].to_list() == [True, False, False, True]


def test_transactions_frame(ws: Workspace) -> None:
    tx = ws.load_transactions()
    assert tx.schema == pl.Schema(TRANSACTION_SCHEMA)
    assert tx.select("account_id", "date", "amount", "margin", "invoice_id", "quantity").rows() == [
        ("A1", date(2024, 2, 29), 100.0, None, "I1", 2.0),
        ("A1", date(1969, 12, 31), -25.5, -3.0, None, None),
        ("A3", date(2025, 1, 1), 7.0, None, None, None),
    ]


def test_contacts_frame(ws: Workspace) -> None:
    contacts = ws.load_contacts()
    assert contacts.schema == pl.Schema(CONTACT_SCHEMA)
    assert contacts.select("contact_id", "account_id", "name", "decision_role").rows() == [
        ("C1", "A1", "Ann", "buyer"),
        ("C2", "A3", None, None),
    ]


def test_empty_workspace_gives_empty_canonical_frames(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "e.segscope") as ws:
        frames = ws.load_tables()
    assert frames["accounts"].schema == pl.Schema(ACCOUNT_SCHEMA)
    assert frames["transactions"].schema == pl.Schema(TRANSACTION_SCHEMA)
    assert frames["contacts"].schema == pl.Schema(CONTACT_SCHEMA)
    assert sum(f.height for f in frames.values()) == 0


def test_extra_account_attributes_are_loaded_with_their_type(ws: Workspace) -> None:
    with ws.write() as db:
        db.execute('ALTER TABLE accounts ADD COLUMN "crm tier" TEXT')
        db.execute("ALTER TABLE accounts ADD COLUMN wallet_share REAL")
        db.execute(
            "UPDATE accounts SET \"crm tier\" = 'gold', wallet_share = 0.25 WHERE account_id = 'A2'"
        )
    accounts = ws.load_accounts()
    assert accounts.columns == [*ACCOUNT_SCHEMA, "crm tier", "wallet_share"]
    assert accounts.schema["crm tier"] == pl.Utf8
    assert accounts.schema["wallet_share"] == pl.Float64
    assert accounts.filter(pl.col("account_id") == "A2").select("crm tier", "wallet_share").row(
        0
    ) == ("gold", 0.25)
    assert "import_id" not in accounts.columns


def test_columns_that_start_null_for_many_rows(tmp_path: Path) -> None:
    """ADBC infers types from the first batch; values appearing late must still load."""
    n = 5000
    with Workspace.create(tmp_path / "w.segscope") as ws:
        with ws.write() as db:
            db.conn.executemany(
                "INSERT INTO accounts(account_id, employees, annual_revenue, industry)"
                " VALUES (?, ?, ?, ?)",
                (
                    (f"A{i:05d}", None if i < 3000 else i, None if i < 4000 else i / 2, None)
                    for i in range(n)
                ),
            )
            db.execute("UPDATE accounts SET industry = 'IT' WHERE account_id = 'A04999'")
        accounts = ws.load_accounts()
    assert accounts.height == n
    assert accounts["employees"].null_count() == 3000
    assert accounts["employees"].sum() == sum(range(3000, n))
    assert accounts["annual_revenue"].sum() == pytest.approx(sum(i / 2 for i in range(4000, n)))
    assert accounts["industry"].drop_nulls().to_list() == ["IT"]


def test_matches_an_independent_sqlite3_reading(ws: Workspace) -> None:
    """The frame equals what plain sqlite3 returns, converted row by row in Python."""
    raw = sqlite3.connect(ws.path)
    rows = raw.execute(
        "SELECT account_id, date, amount, margin, invoice_id, product, product_line, channel,"
        " quantity, unit_price, orders FROM transactions ORDER BY id"
    ).fetchall()
    raw.close()
    expected = [(r[0], EPOCH + timedelta(days=r[1]), *r[2:]) for r in rows]
    assert ws.load_transactions().rows() == expected


def test_loads_do_not_see_an_uncommitted_write(ws: Workspace) -> None:
    with ws.write() as db:
        db.execute("INSERT INTO accounts(account_id) VALUES ('A9')")
        assert ws.load_accounts().height == 4
    assert ws.load_accounts().height == 5


class TestCache:
    @pytest.fixture
    def cached(self, ws: Workspace) -> Workspace:
        ws.cache_enabled = True
        return ws

    def test_second_load_comes_from_the_cache(self, cached: Workspace, monkeypatch) -> None:
        first = cached.load_transactions()
        files = list(cached.cache_dir.glob("transactions-*.arrow"))
        assert len(files) == 1

        def fail(*args, **kwargs):
            raise AssertionError("read SQLite although the cache is current")

        monkeypatch.setattr(loading, "run_snapshot_children", fail)
        assert cached.load_transactions().equals(first)

    def test_a_data_write_makes_the_cache_stale(self, cached: Workspace) -> None:
        before = cached.load_accounts()
        with cached.write() as db:
            db.execute("UPDATE accounts SET name = 'Renamed' WHERE account_id = 'A1'")
        after = cached.load_accounts()
        assert before["name"][0] == "Acme"
        assert after["name"][0] == "Renamed"
        # the stale file was replaced, not kept beside the new one
        assert len(list(cached.cache_dir.glob("accounts-*.arrow"))) == 1

    def test_a_transaction_write_refreshes_derived_is_customer(self, cached: Workspace) -> None:
        assert cached.load_accounts()["is_customer"][1] is False
        with cached.write() as db:
            db.execute("INSERT INTO transactions(account_id, date, amount) VALUES ('A2', 1, 1.0)")
        assert cached.load_accounts()["is_customer"][1] is True

    def test_cached_and_fresh_frames_come_from_one_state(
        self, cached: Workspace, monkeypatch
    ) -> None:
        cached.load_accounts()  # cached at the current version
        old_version = cached.data_version()
        with cached.write() as db:
            db.execute("INSERT INTO transactions(account_id, date, amount) VALUES ('A2', 1, 1.0)")
        # the cache lookup happens just before the write commits
        monkeypatch.setattr(cached, "data_version", lambda: old_version)
        frames = cached.load_tables(("accounts", "transactions"))
        assert frames["transactions"].height == 4
        assert frames["accounts"]["is_customer"][1] is True  # not the stale cached False

    def test_rows_added_behind_the_workspace_back_are_seen(self, cached: Workspace) -> None:
        cached.load_contacts()
        raw = sqlite3.connect(cached.path)
        raw.execute("INSERT INTO contacts(contact_id, account_id) VALUES ('C3', 'A2')")
        raw.commit()
        raw.close()
        assert cached.load_contacts()["contact_id"].to_list() == ["C1", "C2", "C3"]

    def test_a_damaged_cache_file_is_a_miss(self, cached: Workspace) -> None:
        expected = cached.load_transactions()
        (path,) = cached.cache_dir.glob("transactions-*.arrow")
        path.write_bytes(b"garbage")
        assert cached.load_transactions().equals(expected)

    def test_no_cache_files_when_disabled(self, ws: Workspace) -> None:
        ws.load_tables()
        assert not ws.cache_dir.exists()

    def test_a_copy_of_another_workspace_does_not_reuse_its_cache(self, tmp_path: Path) -> None:
        path = tmp_path / "x.segscope"
        with Workspace.create(path) as a:
            with a.write() as db:
                db.execute("INSERT INTO accounts(account_id) VALUES ('FROM-A')")
            a.load_accounts()
            cache = a.cache_dir
        # another workspace with the same row counts replaces the file; its
        # cache directory is left behind
        path.unlink()
        with Workspace.create(path) as b:
            assert cache.exists()
            with b.write() as db:
                db.execute("INSERT INTO accounts(account_id) VALUES ('FROM-B')")
            assert b.load_accounts()["account_id"].to_list() == ["FROM-B"]


class TestSplitRead:
    """Big transaction tables are read by two children (rowid halves) at once."""

    @pytest.fixture
    def big(self, tmp_path: Path, monkeypatch) -> Workspace:
        monkeypatch.setattr(loading, "SPLIT_MIN_ROWS", 10)
        monkeypatch.setattr("os.cpu_count", lambda: 2)
        ws = Workspace.create(tmp_path / "big.segscope")
        with ws.write() as db:
            db.execute("INSERT INTO accounts(account_id) VALUES ('A'), ('B')")
            db.conn.executemany(
                "INSERT INTO transactions(account_id, date, amount) VALUES (?, ?, ?)",
                [("AB"[i % 2], i, float(i)) for i in range(101)],
            )
        yield ws
        ws.close()

    def test_halves_make_the_whole_table_in_order(self, big: Workspace) -> None:
        assert big._plan(["accounts", "transactions"]) == [
            ["accounts", "transactions@:50"],
            ["transactions@50:"],
        ]
        frames = big.load_tables(("accounts", "transactions"))
        tx = frames["transactions"]
        assert tx["amount"].to_list() == [float(i) for i in range(101)]
        assert tx["date"].to_list() == [EPOCH + timedelta(days=i) for i in range(101)]
        assert frames["accounts"]["is_customer"].to_list() == [True, True]
        parts = sorted(p.name.split(".", 1)[1] for p in big.cache_dir.glob("transactions-*"))
        assert parts == ["p0of2.arrow", "p1of2.arrow"]
        # the cached halves come back whole
        assert big.load_transactions().equals(tx)

    def test_a_missing_part_is_a_cache_miss(self, big: Workspace) -> None:
        expected = big.load_transactions()
        next(big.cache_dir.glob("transactions-*.p1of2.arrow")).unlink()
        assert big.load_transactions().equals(expected)

    def test_halves_from_different_versions_are_read_again(
        self, big: Workspace, monkeypatch
    ) -> None:
        real = loading.run_snapshot_children
        calls = []

        def skewed(path, jobs, out_dir, tag):
            results = real(path, jobs, out_dir, tag)
            calls.append(len(jobs))
            if len(calls) == 1:  # pretend a write landed between the two children
                results[1]["version"] = "other"
            return results

        monkeypatch.setattr(loading, "run_snapshot_children", skewed)
        tx = big.load_transactions()
        assert calls == [2, 1]
        assert tx.height == 101
        assert len(list(big.cache_dir.glob("transactions-*"))) == 1


def test_a_failing_reader_is_a_workspace_error_and_leaves_no_files(ws: Workspace) -> None:
    from storage.errors import WorkspaceError

    out = ws.path.parent / "out.tmp"
    with pytest.raises(WorkspaceError, match=r"cannot load bogus from .*unknown table kind"):
        loading.run_snapshot_child(ws.path, ["bogus"], {"bogus": str(out)})
    assert not out.exists()


def test_stale_temporary_files_are_removed(ws: Workspace) -> None:
    ws.cache_enabled = True
    ws.cache_dir.mkdir()
    stale = ws.cache_dir / ".transactions.123.tmp"
    fresh = ws.cache_dir / ".transactions.456.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (0, 0))
    ws.load_contacts()
    assert not stale.exists()
    assert fresh.exists()  # may belong to a load running right now


def test_the_adbc_sqlite_copy_never_loads_beside_sqlite3(tmp_path: Path) -> None:
    """ADBC links its own SQLite; in the same process it would break sqlite3's locks."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from storage.workspace import Workspace\n"
        f"ws = Workspace.create({str(tmp_path / 'p.segscope')!r})\n"
        "ws.load_tables()\n"
        "ws.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('adbc')))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
    )
    assert done.stdout.strip() == "[]"
