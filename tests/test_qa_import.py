"""QA on real exports: what the importer makes of the shared public data sets.

Slices of the real files live in tests/data/real/ (see PROVENANCE.md); the
expected figures are counted by hand on those slices and recounted with the
csv module below.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from core.errors import UsageError
from storage.importer import ImportFileError, commit_import, prepare_import
from storage.workspace import Workspace

REAL = Path(__file__).parent / "data" / "real"


def _rows(name: str) -> list[dict[str, str]]:
    with open(REAL / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_maven_accounts_map_without_overrides():
    prepared = prepare_import(REAL / "maven_accounts.csv", "accounts")
    assert prepared.mapping == {
        "account": "account_id",
        "sector": "industry",
        "employees": "employees",
        "revenue": "annual_revenue",
        "year_established": "founded_year",
        "office_location": "office_location",  # an attribute; --map office_location=country
        "subsidiary_of": "subsidiary_of",
    }
    acc = prepared.accepted
    assert acc["account_id"].to_list()[:2] == ["Acme Corporation", "Betasoloin"]
    assert acc["founded_year"].to_list()[:2] == [1996, 1999]
    assert acc["annual_revenue"].to_list()[:2] == [1100.04, 251.41]


def test_maven_accounts_office_location_mappable_to_country():
    prepared = prepare_import(
        REAL / "maven_accounts.csv", "accounts", overrides={"office_location": "country"}
    )
    assert prepared.mapping["office_location"] == "country"
    assert prepared.accepted["country"].to_list()[0] == "United States"


def test_maven_pipeline_guessed_and_not_won_rows_reported():
    prepared = prepare_import(REAL / "maven_pipeline.csv", "transactions")
    assert prepared.mapping == {
        "account": "account_id",
        "close_date": "date",
        "close_value": "amount",
        "opportunity_id": "invoice_id",
        "product": "product",
    }
    rows = _rows("maven_pipeline.csv")
    # by hand: 30 opportunities, 23 Won, 5 Lost (closed, value 0), 2 Engaging
    # (no close date; one of them has no account either)
    assert len(rows) == 30
    engaging = [r for r in rows if r["deal_stage"] == "Engaging"]
    lost = [r for r in rows if r["deal_stage"] == "Lost"]
    assert (len(engaging), len(lost)) == (2, 5)
    assert prepared.rows_read == 30
    assert prepared.rows_accepted == 28
    assert prepared.rejected_by_reason() == {"account_id is missing": 1, "date is missing": 1}
    zero = [n for n in prepared.notes if "amount 0" in n]
    assert zero and zero[0].startswith("5 accepted line(s) have amount 0")
    won_total = sum(float(r["close_value"]) for r in rows if r["deal_stage"] == "Won")
    assert prepared.accepted["amount"].sum() == pytest.approx(won_total)


def test_pipeline_reimport_replaces_each_opportunity(tmp_path):
    ws = Workspace.create(tmp_path / "crm.segscope")
    try:
        commit_import(ws, prepare_import(REAL / "maven_pipeline.csv", "transactions"))
        changed = tmp_path / "pipeline_v2.csv"
        text = (REAL / "maven_pipeline.csv").read_text()
        changed.write_text(text.replace("1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,"
                                        "2016-10-20,2017-03-01,1054",
                                        "1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,"
                                        "2016-10-20,2017-03-01,1100"))
        report = commit_import(ws, prepare_import(changed, "transactions")).to_dict()
        assert report["invoices_replaced"] == 28
        tx = ws.load_transactions()
        assert tx.height == 28
        assert tx.filter(pl.col("invoice_id") == "1C1I7A6R")["amount"].to_list() == [1100.0]
    finally:
        ws.close()


def test_file_without_id_column_says_how_to_number_rows():
    with pytest.raises(ImportFileError) as err:
        prepare_import(REAL / "wholesale.csv", "accounts")
    assert "--map '#row=account_id'" in str(err.value)


def test_row_numbers_as_account_ids():
    prepared = prepare_import(REAL / "wholesale.csv", "accounts",
                              overrides={"#row": "account_id"})
    rows = _rows("wholesale.csv")
    acc = prepared.accepted
    # spreadsheet row numbers: the header is row 1
    assert acc["account_id"].to_list() == [str(i + 2) for i in range(len(rows))]
    assert acc["fresh"].to_list() == [float(r["Fresh"]) for r in rows]
    assert "row" not in acc.columns and "#row" not in prepared.ignored


def test_row_source_is_not_a_guess():
    # without the override a file that happens to have no id still fails
    with pytest.raises(ImportFileError):
        prepare_import(REAL / "wholesale.csv", "accounts", overrides={"Fresh": "fresh"})


def test_whitespace_separated_text_is_named():
    with pytest.raises(ImportFileError) as err:
        prepare_import(REAL / "cdnow_master_head.txt", "transactions")
    msg = str(err.value)
    assert "separated by spaces" in msg and "save it as CSV" in msg
    assert "\n" not in msg


def test_single_column_csv_is_not_called_space_separated(tmp_path):
    f = tmp_path / "one.csv"
    f.write_text("Customer Name\nAcme\n")
    with pytest.raises(ImportFileError) as err:
        prepare_import(f, "accounts")
    assert "spaces" not in str(err.value) and "--map" in str(err.value)


def test_xlsx_error_names_the_sheet_read(tmp_path):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    book = tmp_path / "two.xlsx"
    with xlsxwriter.Workbook(book) as wb:
        pl.DataFrame({"deal": ["x"], "value": [1]}).write_excel(wb, worksheet="Pipeline")
        pl.read_csv(REAL / "maven_accounts.csv").write_excel(wb, worksheet="Accounts")
    with pytest.raises(ImportFileError) as err:
        prepare_import(book, "accounts")
    assert "(sheet 'Pipeline')" in str(err.value) and "--sheet" in str(err.value)
    prepared = prepare_import(book, "accounts", sheet="Accounts")
    assert prepared.rows_accepted == 5


def test_row_source_refused_for_streamed_files(tmp_path, monkeypatch):
    import storage.readers as readers

    monkeypatch.setattr(readers, "STREAM_THRESHOLD_BYTES", 10)
    f = tmp_path / "lines.csv"
    f.write_text("date,amount\n2024-01-01,5\n")
    with pytest.raises(UsageError, match="read in batches"):
        prepare_import(f, "transactions", overrides={"#row": "account_id"})
