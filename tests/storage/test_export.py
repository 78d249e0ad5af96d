"""Exports: formats by extension, formula neutralisation, round trips read back independently."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import polars as pl
import pytest

from core.errors import SegscopeError
from storage.export import ExportError, neutralise_text, write_frame, write_frames

DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("x")']
SAFE = ["Acme GmbH", "", "a=b", " =not first", "O'Neil"]


@pytest.fixture
def frame() -> pl.DataFrame:
    n = len(DANGEROUS) + len(SAFE)
    return pl.DataFrame(
        {
            "name": DANGEROUS + SAFE,
            "revenue": [-1.5, 2.0, -3.25, 0.0, 1e6, -7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0],
            "orders": list(range(-5, n - 5)),
            "since": [date(2024, 1, 1)] * n,
            "segment": pl.Series(["A", "-B"] * (n // 2), dtype=pl.Categorical),
            "note": [None] * n,
        },
        schema_overrides={"note": pl.Utf8},
    )


def expected_text(values: list[str | None]) -> list[str | None]:
    """The reference rule, written out independently of storage.export."""
    out = []
    for v in values:
        if v is not None and v[:1] in {"=", "+", "-", "@", "\t", "\r"}:
            out.append("'" + v)
        else:
            out.append(v)
    return out


def test_neutralise_text_by_hand() -> None:
    assert neutralise_text("=1+2") == "'=1+2"
    assert neutralise_text("-5") == "'-5"
    assert neutralise_text("a=b") == "a=b"
    assert neutralise_text("") == ""


def test_csv(tmp_path: Path, frame: pl.DataFrame) -> None:
    path = write_frame(frame, tmp_path / "out.csv")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header == ["name", "revenue", "orders", "since", "segment", "note"]
    assert [r[0] for r in body] == expected_text(DANGEROUS + SAFE)
    # numbers stay numbers, negative ones included
    assert [float(r[1]) for r in body] == frame["revenue"].to_list()
    assert [int(r[2]) for r in body] == frame["orders"].to_list()
    assert body[0][3] == "2024-01-01"
    assert [r[4] for r in body] == expected_text(frame["segment"].cast(pl.Utf8).to_list())
    back = pd.read_csv(path, keep_default_na=False)
    assert back["revenue"].dtype.kind == "f" and back["orders"].dtype.kind == "i"


def test_xlsx(tmp_path: Path, frame: pl.DataFrame) -> None:
    path = write_frame(frame, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "data"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("name", "revenue", "orders", "since", "segment", "note")
    body = rows[1:]
    # OOXML stores a carriage return as the escape _x000D_, which openpyxl leaves as is
    names = [(r[0] or "").replace("_x000D_", "\r") for r in body]
    assert names == expected_text(DANGEROUS + SAFE)
    assert [r[1] for r in body] == frame["revenue"].to_list()
    assert [r[2] for r in body] == frame["orders"].to_list()
    # no cell became a formula
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def test_header_cells_are_neutralised_too(tmp_path: Path) -> None:
    df = pl.DataFrame({"=cmd()": ["x"], "ok": [1]})
    path = write_frame(df, tmp_path / "h.csv")
    assert path.read_text().splitlines()[0] == "'=cmd(),ok"


def test_parquet_is_written_unchanged(tmp_path: Path, frame: pl.DataFrame) -> None:
    path = write_frame(frame, tmp_path / "out.parquet")
    back = pl.read_parquet(path)
    assert back.equals(frame)
    assert back["name"].to_list()[0] == "=1+2"


def test_several_sheets(tmp_path: Path, frame: pl.DataFrame) -> None:
    summary = pl.DataFrame({"segment": ["=A", "B"], "accounts": [3, 4]})
    path = write_frames({"accounts": frame, "summary": summary}, tmp_path / "book.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["accounts", "summary"]
    assert list(book["summary"].iter_rows(values_only=True)) == [
        ("segment", "accounts"),
        ("'=A", 3),
        ("B", 4),
    ]
    via_pandas = pd.read_excel(path, sheet_name="accounts")
    assert via_pandas["orders"].tolist() == frame["orders"].to_list()


def test_unknown_extension_is_a_clear_error(tmp_path: Path, frame: pl.DataFrame) -> None:
    with pytest.raises(ExportError, match=r"unknown file type '\.json'.*\.csv, \.xlsx, \.parquet"):
        write_frame(frame, tmp_path / "out.json")
    with pytest.raises(SegscopeError, match="no extension"):
        write_frame(frame, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_bad_places_and_names(tmp_path: Path, frame: pl.DataFrame) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        write_frame(frame, tmp_path / "missing" / "out.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ExportError, match="is a directory"):
        write_frame(frame, tmp_path / "dir.csv")
    with pytest.raises(ExportError, match="sheet name"):
        write_frames({"a/b": frame}, tmp_path / "x.xlsx")
    with pytest.raises(ExportError, match="used twice"):
        write_frames({"A": frame, "a": frame}, tmp_path / "x.xlsx")
    with pytest.raises(ExportError, match=r"\.xlsx"):
        write_frames({"A": frame}, tmp_path / "x.csv")


def test_a_failed_export_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous\n")
    nested = pl.DataFrame({"tags": [["a", "b"]]})
    with pytest.raises(ExportError, match="tags"):
        write_frame(nested, path)
    assert path.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_exports_are_readable_by_others_like_any_new_file(tmp_path) -> None:
    import polars as pl

    from storage.export import write_frame, write_text_atomic

    csv = write_frame(pl.DataFrame({"a": [1]}), tmp_path / "x.csv")
    md = write_text_atomic(tmp_path / "p.md", "# playbook\n")
    # mkstemp creates 0600 files; an export must not stay private to its writer
    assert csv.stat().st_mode & 0o777 == 0o644
    assert md.stat().st_mode & 0o777 == 0o644
    assert md.read_text() == "# playbook\n"
