"""storage.readers: formats by magic bytes, encodings, delimiters, one-line errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from storage.readers import ROW, ImportFileError, read_source, sniff_source

DATA = Path(__file__).parent.parent / "data" / "import"


def test_cp1252_semicolon_crlf_file_is_decoded_and_split() -> None:
    info = sniff_source(DATA / "accounts_salesforce_cp1252.csv")
    assert (info.format, info.encoding, info.separator) == ("csv", "cp1252", ";")
    frame = read_source(DATA / "accounts_salesforce_cp1252.csv")
    assert frame.columns[0] == ROW
    assert frame.height == 8
    assert frame["Account Name"][0] == "Café Müller GmbH"
    assert frame["Account Name"][1] == "Société Générale Équipement"
    # Values are kept as written: no number parsing, no trailing CR.
    assert frame["Annual Revenue"][0] == "1.234.567,50"
    assert frame["Rating"][0] == "Hot"
    # Spreadsheet row numbers: header is row 1.
    assert frame[ROW].to_list() == list(range(2, 10))
    assert frame["Account ID"][3] is None  # empty cell


def test_utf8_bom_is_not_part_of_the_first_header() -> None:
    info = sniff_source(DATA / "accounts_hubspot_bom.csv")
    assert (info.encoding, info.separator) == ("utf-8", ",")
    frame = read_source(DATA / "accounts_hubspot_bom.csv")
    assert frame.columns[1] == "Record ID"
    assert frame["Company name"].to_list() == [
        "Acme Corp",
        "Beta LLC",
        "Gamma, Inc.",
        "Délice Foods",
    ]
    assert frame["Number of Employees"][0] == "1,500"  # quoted field with a comma


@pytest.mark.parametrize(
    ("name", "separator"),
    [
        ("transactions_tab_mdy.tsv", "\t"),
        ("contacts_pipe.csv", "|"),
        ("transactions_semicolon_dmy.csv", ";"),
        ("online_retail_lines.csv", ","),
    ],
)
def test_delimiter_is_sniffed(name: str, separator: str) -> None:
    assert sniff_source(DATA / name).separator == separator


def test_gzip_is_recognised_by_magic_bytes_not_extension(tmp_path: Path) -> None:
    raw = (DATA / "online_retail_lines.csv").read_bytes()
    path = tmp_path / "lines.csv"  # no .gz extension
    path.write_bytes(gzip.compress(raw))
    info = sniff_source(path)
    assert info.compressed and info.format == "csv"
    assert (
        read_source(path).drop(ROW).equals(read_source(DATA / "online_retail_lines.csv").drop(ROW))
    )


def test_xlsx_first_sheet_and_named_sheet(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    import xlsxwriter

    with xlsxwriter.Workbook(path) as wb:
        pl.DataFrame({"Account ID": ["X1", "X2"], "Employees": [10, 20]}).write_excel(
            wb, worksheet="Accounts"
        )
        pl.DataFrame({"Contact ID": ["C1"], "Account ID": ["X1"]}).write_excel(
            wb, worksheet="Contacts"
        )
    first = read_source(path)
    assert first.columns == [ROW, "Account ID", "Employees"]
    assert first["Employees"].to_list() == ["10", "20"]
    assert first[ROW].to_list() == [2, 3]
    contacts = read_source(path, sheet="Contacts")
    assert contacts["Contact ID"].to_list() == ["C1"]
    with pytest.raises(
        ImportFileError, match="has no sheet 'Nope'; its sheets are 'Accounts', 'Contacts'"
    ):
        read_source(path, sheet="Nope")


def test_parquet_columns_come_back_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pl.DataFrame({"CustomerID": [17850, 13047], "UnitPrice": [2.55, 1.5]}).write_parquet(path)
    frame = read_source(path)
    assert frame.schema == {ROW: pl.Int64, "CustomerID": pl.String, "UnitPrice": pl.String}
    assert frame["CustomerID"].to_list() == ["17850", "13047"]


def test_utf8_file_with_a_cp1252_byte_late_is_read_as_cp1252(tmp_path: Path) -> None:
    # The first megabyte is plain ASCII; one cp1252 byte comes after it.
    rows = "".join(f"A{i},plain\n" for i in range(120_000))
    path = tmp_path / "late.csv"
    path.write_bytes(b"id,name\n" + rows.encode() + "Z1,Caf\xe9\n".encode("latin-1"))
    frame = read_source(path)
    assert frame["name"][-1] == "Café"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"\x00\x01\x02binary\x00\xff" * 50, "is a binary file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "legacy Excel .xls"),
        (b"SQLite format 3\x00" + b"\x00" * 100, "is a SQLite database"),
        (b"\xff\xfea\x00,\x00b\x00", "UTF-16"),
        (b"PK\x03\x04garbage", "not a readable XLSX"),
        (b"PAR1garbage", "not a readable Parquet"),
        (b"\x1f\x8b\x08garbage", "not a valid gzip"),
    ],
)
def test_unreadable_files_get_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message) as info:
        read_source(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        read_source(tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="is a directory"):
        read_source(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n", r"line 4: 4 fields where the header has 3"),
        ('a;b;c\n1;"x;y";3\n4;5\n', r"line 3: 2 fields where the header has 3"),
        # counting separators alone would see 3 fields in line 3
        ('a;b;c\n1;2;3\n"x;y";5\n', r"line 3: 2 fields where the header has 3"),
    ],
    ids=["too many", "too few", "too few, with a quoted delimiter"],
)
def test_a_row_with_the_wrong_number_of_fields_names_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(text)
    with pytest.raises(ImportFileError, match=message):
        read_source(path)


def test_quoted_delimiters_and_trailing_empty_fields_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text('a,b,c\n"1,5","say ""hi""",\n2,,\n')
    frame = read_source(path)
    assert frame["a"].to_list() == ["1,5", "2"]
    assert frame["b"].to_list() == ['say "hi"', None]
    assert frame["c"].to_list() == [None, None]


def test_sheet_option_on_a_csv_is_refused() -> None:
    with pytest.raises(ImportFileError, match="--sheet only applies to XLSX"):
        sniff_source(DATA / "contacts_pipe.csv", sheet="Data")


def test_parquet_timestamps_and_whole_floats_read_as_a_csv_would(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "p.parquet"
    pl.DataFrame(
        {
            "CustomerID": [17850.0, float("nan"), None],
            "UnitPrice": [2.55, 3.0, None],
            "InvoiceDate": [dt.datetime(2010, 12, 1, 8, 26), None, dt.datetime(2011, 1, 2)],
        }
    ).write_parquet(path)
    frame = read_source(path)
    assert frame["CustomerID"].to_list() == ["17850", None, None]
    assert frame["UnitPrice"].to_list() == ["2.55", "3.0", None]
    assert frame["InvoiceDate"].to_list() == ["2010-12-01 08:26:00", None, "2011-01-02 00:00:00"]


def test_file_hash_is_remembered_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    import hashlib
    import os

    from storage.readers import file_sha256

    path = tmp_path / "f.csv"
    path.write_bytes(b"account_id\nA\n")
    assert file_sha256(path) == hashlib.sha256(b"account_id\nA\n").hexdigest()
    path.write_bytes(b"account_id\nB\n")  # same size: the mtime tells them apart
    os.utime(path, ns=(1, 2))
    assert file_sha256(path) == hashlib.sha256(b"account_id\nB\n").hexdigest()
