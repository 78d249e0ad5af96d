"""Issue 12, item 3: exports rounded to the cent, shares as percentages in XLSX."""

from __future__ import annotations

import polars as pl

from storage.export import rounded_for_export, write_frame, xlsx_column_formats

FRAME = pl.DataFrame({
    "account_id": ["A1", "A2"],
    "revenue": [4020173.580000001, 12.345],
    "share_of_wallet": [0.9566920323521964, 0.1],
    "margin_pct": [0.28123, None],
    "orders": [3, 4],
    "founded_year": [1996, 2001],
})


def test_floats_are_rounded_by_what_they_measure():
    out = rounded_for_export(FRAME)
    assert out["revenue"][0] == 4020173.58 and round(out["revenue"][1], 2) == out["revenue"][1]
    assert out["share_of_wallet"].to_list() == [0.9567, 0.1]
    assert out["orders"].to_list() == [3, 4]


def test_csv_carries_no_raw_floats(tmp_path):
    path = write_frame(FRAME, tmp_path / "out.csv")
    text = path.read_text()
    assert "4020173.58," in text and "0.9567" in text
    assert "580000001" not in text and "0.9566920323521964" not in text


def test_xlsx_number_formats(tmp_path):
    import openpyxl

    assert xlsx_column_formats(FRAME) == {
        "revenue": "#,##0.00", "share_of_wallet": "0.0%", "margin_pct": "0.0%",
        "orders": "#,##0",
    }
    path = write_frame(FRAME, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["revenue"].value == 4020173.58
    assert row["revenue"].number_format == "#,##0.00"
    assert row["share_of_wallet"].value == 0.9567
    assert row["share_of_wallet"].number_format == "0.0%"
    assert row["founded_year"].value == 1996
