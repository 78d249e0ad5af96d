"""Per-account purchase aggregates in an accounts file (storage/mapping.py, issue 14)."""

from __future__ import annotations

from pathlib import Path

from storage.importer import commit_import, prepare_import
from storage.mapping import guess_mapping, mapping_notes
from storage.workspace import Workspace


def test_aggregates_get_their_own_names_and_revenue_is_not_turnover() -> None:
    columns = ["Customer ID", "Company", "Revenue", "Orders", "Last Order Date"]
    mapping = guess_mapping(columns, "accounts")
    assert mapping["Revenue"] == "revenue_12m"
    assert mapping["Orders"] == "orders_12m"
    assert mapping["Last Order Date"] == "last_purchase_date"
    assert "annual_revenue" not in mapping.values()
    notes = mapping_notes(columns, mapping, "accounts")
    assert len(notes) == 1
    assert "Revenue -> revenue_12m" in notes[0] and "revenue bridge" in notes[0]
    assert "--summarise" in notes[0]


def test_a_crm_revenue_column_is_turnover_and_the_note_says_so() -> None:
    columns = ["account", "sector", "revenue", "employees"]
    mapping = guess_mapping(columns, "accounts")
    assert mapping["revenue"] == "annual_revenue"
    (note,) = mapping_notes(columns, mapping, "accounts")
    assert "'revenue' was read as the account's own turnover" in note
    assert "--map 'revenue=revenue_12m'" in note
    # an explicit 'Annual Revenue' needs no word
    assert mapping_notes(["Annual Revenue"], {"Annual Revenue": "annual_revenue"},
                         "accounts") == []


def test_an_aggregates_file_imports_as_attributes_with_the_note(tmp_path: Path) -> None:
    src = tmp_path / "aggregates.csv"
    src.write_text(
        "account_id,revenue_12m,orders_12m,last_purchase\n"
        "A1,1200.50,4,2024-05-01\nA2,80,1,2023-12-24\n",
        encoding="utf-8",
    )
    prepared = prepare_import(src, "accounts")
    assert prepared.mapping == {"account_id": "account_id", "revenue_12m": "revenue_12m",
                                "orders_12m": "orders_12m",
                                "last_purchase": "last_purchase_date"}
    assert any("per-account aggregates" in n for n in prepared.notes)
    with Workspace.create(tmp_path / "w.segscope") as ws:
        commit_import(ws, prepared)
        accounts = ws.load_accounts()
    assert accounts["revenue_12m"].to_list() == [1200.5, 80.0]
    assert accounts["annual_revenue"].null_count() == 2
