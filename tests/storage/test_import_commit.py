"""storage.importer end to end: exact counts, stored rows, upserts, no-ops, rollback."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import storage.import_writer as import_writer
from storage.importer import commit_import, prepare_import
from storage.readers import ROW
from storage.workspace import Workspace

DATA = Path(__file__).parent.parent / "data" / "import"
EPOCH = dt.date(1970, 1, 1)


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "w.segscope", cache=False) as workspace:
        yield workspace


def rows(ws: Workspace, sql: str, params: tuple = ()) -> list[tuple]:
    return ws.conn.execute(sql, params).fetchall()


def count(ws: Workspace, table: str) -> int:
    return ws.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def days(y: int, m: int, d: int) -> int:
    return (dt.date(y, m, d) - EPOCH).days


def test_salesforce_accounts_cp1252(ws: Workspace) -> None:
    prepared = prepare_import(DATA / "accounts_salesforce_cp1252.csv", "accounts")
    assert (prepared.rows_read, prepared.rows_accepted, prepared.rejected.height) == (8, 5, 3)
    assert prepared.report()["rejected_by_reason"] == {
        "account_id is missing": 1,
        "duplicate account_id": 1,
        "employees is not a number": 1,
    }
    report = commit_import(ws, prepared)
    assert (report.inserted, report.updated, report.rows_rejected) == (5, 0, 3)
    assert sorted(report.new_attributes) == ["rating", "type"]
    stored = rows(
        ws,
        "SELECT account_id, name, region, employees, annual_revenue, rating"
        " FROM accounts ORDER BY account_id",
    )
    assert stored == [
        ("A-01", "Café Müller GmbH", "Bayern", 120, 1234567.5, "Hot"),
        ("A-02", "Société Générale Équipement", "Île-de-France", 45, 12.5, "Warm"),
        ("A-06", "Ærø Fisk ApS", None, 8, None, None),
        ("A-07", "Überseehandel KG", "Hamburg", 300, 1234.5, "Hot"),
        ("A-08", "Grüne Energie eG", "Berlin", 1200, 2500000.0, "Warm"),
    ]
    assert rows(ws, "SELECT type FROM accounts WHERE account_id = 'A-02'") == [("Prospect",)]
    assert rows(ws, "SELECT name, dtype FROM account_attributes ORDER BY name") == [
        ("rating", "TEXT"),
        ("type", "TEXT"),
    ]
    rejected = rows(
        ws, "SELECT row_number, reason, raw_json FROM rejected_rows ORDER BY row_number"
    )
    assert [(r, reason) for r, reason, _ in rejected] == [
        (4, "duplicate account_id 'A-01' (first seen on row 2; the first is kept)"),
        (5, "account_id is missing ('Account ID' is empty)"),
        (6, "employees 'viele' is not a number"),
    ]
    assert json.loads(rejected[2][2])["Account Name"] == "Zürcher Präzision AG"
    imp = rows(ws, "SELECT kind, rows_read, rows_accepted, rows_rejected FROM imports")
    assert imp == [("accounts", 8, 5, 3)]


def test_hubspot_accounts_with_bom_keep_numeric_attribute(ws: Workspace) -> None:
    report = commit_import(ws, prepare_import(DATA / "accounts_hubspot_bom.csv", "accounts"))
    assert (report.rows_accepted, report.rows_rejected) == (4, 0)
    assert rows(ws, "SELECT name, dtype FROM account_attributes ORDER BY name") == [
        ("lifecycle_stage", "TEXT"),
        ("score", "REAL"),
    ]
    assert rows(ws, "SELECT account_id, employees, annual_revenue, score FROM accounts") == [
        ("H1", 1500, 1234.5, 7.5),
        ("H2", 40, 250000.0, 3.0),
        ("H3", None, None, None),
        ("H4", 12, 99.99, 10.0),
    ]


def test_online_retail_shaped_lines(ws: Workspace) -> None:
    prepared = prepare_import(DATA / "online_retail_lines.csv", "transactions")
    report = commit_import(ws, prepared)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (11, 7, 4)
    assert report.rejected_by_reason == {
        "account_id is missing": 2,
        "date is not a valid date": 1,
        "quantity is not a number": 1,
    }
    assert report.stub_accounts == 5  # 17850, 13047, 14527, 15311, 18074
    assert count(ws, "accounts") == 5
    stored = pl.DataFrame(
        rows(ws, "SELECT account_id, date, amount, invoice_id FROM transactions ORDER BY id"),
        schema=["account_id", "date", "amount", "invoice_id"],
        orient="row",
    )
    # Independent reference: pandas over the raw file.
    ref = pd.read_csv(DATA / "online_retail_lines.csv", dtype=str)
    ref = ref[ref["CustomerID"].notna()]
    ref = ref[pd.to_numeric(ref["Quantity"], errors="coerce").notna()]
    ref = ref[pd.to_datetime(ref["InvoiceDate"], errors="coerce").notna()]
    ref_amount = ref["Quantity"].astype(float) * ref["UnitPrice"].astype(float)
    assert stored["amount"].to_list() == pytest.approx(ref_amount.tolist())
    assert stored["invoice_id"].to_list() == ref["InvoiceNo"].tolist()
    # Cancellations are kept as negative amounts (returns).
    assert stored.filter(pl.col("invoice_id").str.starts_with("C"))["amount"].to_list() == [
        pytest.approx(-27.5),
        pytest.approx(-4.65),
    ]
    assert set(stored["date"]) == {days(2010, 12, 1)}
    reasons = dict(rows(ws, "SELECT row_number, reason FROM rejected_rows"))
    assert reasons[6] == "account_id is missing ('CustomerID' is empty)"
    assert reasons[12] == "date '2010-13-01 09:57:00' is not a valid date"


def test_semicolon_dmy_lines_with_serial_date_and_stub(ws: Workspace) -> None:
    commit_import(ws, prepare_import(DATA / "accounts_salesforce_cp1252.csv", "accounts"))
    report = commit_import(
        ws, prepare_import(DATA / "transactions_semicolon_dmy.csv", "transactions")
    )
    assert (report.rows_accepted, report.rows_rejected, report.stub_accounts) == (5, 3, 1)
    assert rows(ws, "SELECT account_id, name FROM accounts WHERE account_id = 'A-99'") == [
        ("A-99", None)
    ]
    assert rows(ws, "SELECT invoice_id, date, amount FROM transactions ORDER BY id") == [
        ("R-1", days(2024, 1, 31), 1234.56),
        ("R-2", days(2024, 2, 15), -200.0),
        ("R-3", days(2024, 3, 1), 12.5),
        ("R-4", days(2024, 3, 2), 100.0),
        ("R-8", days(2020, 6, 18), 10.0),  # Excel serial 44000
    ]


def test_tab_mdy_lines_amount_from_quantity_and_price(ws: Workspace) -> None:
    prepared = prepare_import(DATA / "transactions_tab_mdy.tsv", "transactions")
    assert prepared.rules.date_order == {"OrderDate": "mdy"}
    report = commit_import(ws, prepared)
    assert (report.rows_accepted, report.rows_rejected) == (3, 1)
    assert rows(ws, "SELECT date, amount FROM transactions ORDER BY id") == [
        (days(2023, 12, 31), 21.0),
        (days(2024, 1, 5), 99.99),
        (days(2024, 3, 1), 10.0),
    ]


def test_contacts_of_unknown_accounts_are_rejected_at_commit(ws: Workspace) -> None:
    commit_import(ws, prepare_import(DATA / "accounts_salesforce_cp1252.csv", "accounts"))
    prepared = prepare_import(DATA / "contacts_pipe.csv", "contacts")
    assert (prepared.rows_accepted, prepared.rejected.height) == (4, 2)
    report = commit_import(ws, prepared)
    assert (report.rows_accepted, report.rows_rejected, report.inserted) == (3, 3, 3)
    assert report.rejected_by_reason == {
        "account_id is missing": 1,
        "duplicate contact_id": 1,
        "account_id is not in the workspace": 1,
    }
    assert report.rejected_at_commit == [
        "row 5: account_id 'ZZ-404' is not in the workspace (import the accounts first)"
    ]
    assert rows(ws, "SELECT contact_id, name, title, decision_role FROM contacts ORDER BY 1") == [
        ("C1", "Anna Schmidt", "Head of Purchasing", "Decision Maker"),
        ("C2", "Ben Weber", "Engineer", "User"),
        ("C3", "Chloé Martin", "CFO", "Buyer"),
    ]
    assert rows(ws, "SELECT rows_accepted, rows_rejected FROM imports WHERE kind='contacts'") == [
        (3, 3)
    ]
    raw = rows(
        ws,
        "SELECT raw_json FROM rejected_rows WHERE row_number = 5 AND import_id = ?",
        (report.import_id,),
    )[0][0]
    assert json.loads(raw)["Email"] == "dan@example.com"


def test_identical_file_is_a_no_op(ws: Workspace, tmp_path: Path) -> None:
    path = DATA / "online_retail_lines.csv"
    first = commit_import(ws, prepare_import(path, "transactions"))
    version = ws.data_version()
    copy = tmp_path / "same-bytes-other-name.csv"
    shutil.copy(path, copy)
    again = commit_import(ws, prepare_import(copy, "transactions"))
    assert again.no_op and again.previous_import_id == first.import_id
    assert ws.data_version() == version
    assert count(ws, "transactions") == 7 and count(ws, "imports") == 1
    assert count(ws, "rejected_rows") == 4
    # The same bytes under another kind are another import (here: rejected contacts).
    other = commit_import(
        ws, prepare_import(path, "contacts", overrides={"CustomerID": "account_id"})
    )
    assert not other.no_op


def test_updated_accounts_file_upserts_by_id(ws: Workspace, tmp_path: Path) -> None:
    v1 = tmp_path / "a1.csv"
    v1.write_text("account_id,name,employees\nA,Alpha,10\nB,Beta,20\nC,Gamma,30\n")
    commit_import(ws, prepare_import(v1, "accounts"))
    ws.conn.execute("UPDATE accounts SET industry = 'kept' WHERE account_id = 'A'")
    v2 = tmp_path / "a2.csv"
    v2.write_text("account_id,name,employees\nA,Alpha,10\nB,Beta Ltd,25\nD,Delta,40\n")
    report = commit_import(ws, prepare_import(v2, "accounts"))
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 1)
    assert rows(ws, "SELECT account_id, name, employees, industry, import_id FROM accounts") == [
        ("A", "Alpha", 10, "kept", 1),  # unchanged: untouched, columns not in the file kept
        ("B", "Beta Ltd", 25, None, 2),
        ("C", "Gamma", 30, None, 1),  # not in the new file: untouched
        ("D", "Delta", 40, None, 2),
    ]


def test_stub_account_is_filled_by_a_later_accounts_import(ws: Workspace, tmp_path: Path) -> None:
    lines = tmp_path / "l.csv"
    lines.write_text("account_id,date,amount\nX,2024-01-01,5\n")
    commit_import(ws, prepare_import(lines, "transactions"))
    accounts = tmp_path / "a.csv"
    accounts.write_text("account_id,name\nX,Xylo\n")
    report = commit_import(ws, prepare_import(accounts, "accounts"))
    assert (report.inserted, report.updated) == (0, 1)
    assert rows(ws, "SELECT account_id, name FROM accounts") == [("X", "Xylo")]


def test_transactions_replace_the_lines_of_invoices_in_the_file(
    ws: Workspace, tmp_path: Path
) -> None:
    jan = tmp_path / "jan.csv"
    jan.write_text(
        "invoice_id,account_id,date,amount\n"
        "I1,A,2024-01-05,10\nI1,A,2024-01-05,5\nI2,B,2024-01-20,7\n,C,2024-01-21,1\n"
    )
    commit_import(ws, prepare_import(jan, "transactions"))
    # A re-export overlapping January: I2 corrected, I3 new.
    overlap = tmp_path / "jan-feb.csv"
    overlap.write_text("invoice_id,account_id,date,amount\nI2,B,2024-01-20,8\nI3,A,2024-02-02,3\n")
    report = commit_import(ws, prepare_import(overlap, "transactions"))
    assert (report.invoices_replaced, report.lines_replaced, report.inserted) == (1, 1, 2)
    totals = dict(
        rows(ws, "SELECT coalesce(invoice_id, '-'), sum(amount) FROM transactions GROUP BY 1")
    )
    assert totals == {"-": 1.0, "I1": 15.0, "I2": 8.0, "I3": 3.0}


def test_gzip_xlsx_and_parquet_give_the_same_rows(ws: Workspace, tmp_path: Path) -> None:
    src = DATA / "online_retail_lines.csv"
    gz = tmp_path / "lines.data"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    frame = pl.read_csv(src, infer_schema=False)
    xlsx = tmp_path / "lines.xlsx"
    frame.write_excel(xlsx, worksheet="Lines")
    parquet = tmp_path / "lines.parquet"
    frame.write_parquet(parquet)
    base = prepare_import(src, "transactions")
    for path, sheet in ((gz, None), (xlsx, "Lines"), (parquet, None)):
        other = prepare_import(path, "transactions", sheet=sheet)
        assert other.accepted.equals(base.accepted), path
        assert other.rejected.select(ROW, "reason").equals(base.rejected.select(ROW, "reason"))


def test_exception_mid_import_rolls_everything_back(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_import(ws, prepare_import(DATA / "accounts_hubspot_bom.csv", "accounts"))
    before = {t: count(ws, t) for t in ("accounts", "transactions", "imports", "rejected_rows")}
    version = ws.data_version()
    lines = tmp_path / "l.csv"
    lines.write_text(
        "account_id,date,amount\n" + "".join(f"N{i},2024-01-01,1\n" for i in range(50))
    )
    prepared = prepare_import(lines, "transactions")
    real = import_writer._insert_frame

    def failing(conn, table, frame, extra=None):
        real(conn, table, frame, extra)
        if table == "transactions":
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(import_writer, "_insert_frame", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        commit_import(ws, prepared)
    after = {t: count(ws, t) for t in ("accounts", "transactions", "imports", "rejected_rows")}
    assert after == before
    assert ws.data_version() == version
    assert ws.conn.execute("PRAGMA table_info(accounts)").fetchall()  # still usable
    monkeypatch.setattr(import_writer, "_insert_frame", real)
    report = commit_import(ws, prepared)
    assert (report.inserted, report.stub_accounts) == (50, 50)


def test_streamed_file_matches_whole_file(ws: Workspace, tmp_path: Path, monkeypatch) -> None:
    """Batches and streaming (forced small) give the same import as one frame."""
    import storage.readers as readers

    path = tmp_path / "s.csv"
    body = "".join(
        f"I{i // 3},K{i % 7},{(i % 28) + 1:02d}/02/2024,{i},\n" if i % 11 else f"I{i},,x,1,\n"
        for i in range(1, 200)
    )
    path.write_text("invoice_id,account_id,date,amount,margin\n" + body)
    whole = prepare_import(path, "transactions")
    monkeypatch.setattr(readers, "STREAM_THRESHOLD_BYTES", 10)
    seen: list[tuple[int, int]] = []
    streamed = prepare_import(
        path, "transactions", batch_size=37, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(37, 0), (74, 0), (111, 0), (148, 0), (185, 0), (199, 0)]
    assert streamed.streamed and not whole.streamed
    assert streamed.accepted.equals(whole.accepted)
    assert streamed.rejected.equals(whole.rejected)
    assert streamed.rejected_by_reason() == whole.rejected_by_reason()
    report = commit_import(ws, streamed)
    assert report.inserted == whole.rows_accepted == count(ws, "transactions")
    # The accepted batches were spilled: changing the file does not change the import.
    spill_dir = streamed._spill[0].parent
    assert spill_dir.exists()
    del streamed
    import gc

    gc.collect()
    assert not spill_dir.exists()


def test_foreign_keys_hold_and_the_setting_is_restored(ws: Workspace) -> None:
    settings = [ws.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("synchronous", "cache_size")]
    commit_import(ws, prepare_import(DATA / "transactions_semicolon_dmy.csv", "transactions"))
    commit_import(ws, prepare_import(DATA / "online_retail_lines.csv", "transactions"))
    assert ws.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    after = [ws.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("synchronous", "cache_size")]
    assert after == settings
    assert ws.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Indexes dropped for a bulk load are back.
    names = {r[0] for r in rows(ws, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "transactions_account" in names
    assert "transactions_invoice" not in names  # migration 4: re-imports scan instead


def test_large_load_rebuilds_indexes(ws: Workspace, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(import_writer, "REINDEX_MIN_ROWS", 3)
    lines = tmp_path / "l.csv"
    lines.write_text(
        "account_id,date,amount\n" + "".join(f"Q{i},2024-01-0{i},{i}\n" for i in range(1, 8))
    )
    report = commit_import(ws, prepare_import(lines, "transactions"))
    assert report.inserted == 7
    plan = rows(ws, "EXPLAIN QUERY PLAN SELECT * FROM transactions WHERE account_id = 'Q1'")
    assert "transactions_account" in str(plan)
    assert ws.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_two_sheets_of_one_workbook_are_two_imports(ws: Workspace, tmp_path: Path) -> None:
    import xlsxwriter

    from storage.importer import already_imported

    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        pl.DataFrame({"Account ID": ["E1"]}).write_excel(wb, worksheet="EU")
        pl.DataFrame({"Account ID": ["U1", "U2"]}).write_excel(wb, worksheet="US")
    first = commit_import(ws, prepare_import(path, "accounts"))  # the first sheet, EU
    assert already_imported(ws, path, "accounts") == first.import_id
    assert already_imported(ws, path, "accounts", sheet="US") is None
    second = commit_import(ws, prepare_import(path, "accounts", sheet="US"))
    assert not second.no_op and second.inserted == 2
    assert commit_import(ws, prepare_import(path, "accounts", sheet="EU")).no_op
    assert already_imported(ws, tmp_path / "missing.csv", "accounts") is None


def test_imported_data_loads_as_canonical_frames(ws: Workspace) -> None:
    commit_import(ws, prepare_import(DATA / "accounts_salesforce_cp1252.csv", "accounts"))
    commit_import(ws, prepare_import(DATA / "accounts_hubspot_bom.csv", "accounts"))
    commit_import(ws, prepare_import(DATA / "transactions_semicolon_dmy.csv", "transactions"))
    commit_import(ws, prepare_import(DATA / "contacts_pipe.csv", "contacts"))
    accounts = ws.load_accounts()
    assert accounts.height == 5 + 4 + 1  # + the stub A-99
    assert accounts.columns[-4:] == ["type", "rating", "lifecycle_stage", "score"]
    assert accounts.schema["score"] == pl.Float64
    lines = ws.load_transactions()
    assert lines.schema["date"] == pl.Date
    assert lines["date"].to_list()[0] == dt.date(2024, 1, 31)
    assert lines["amount"].sum() == pytest.approx(1234.56 - 200 + 12.5 + 100 + 10)
    assert ws.load_contacts().height == 3
