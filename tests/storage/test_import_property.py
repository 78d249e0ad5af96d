"""Property: whatever CSV, XLSX or Parquet file an analyst (or an attacker) hands
the importer, it either imports it (good rows in, every bad row rejected with a
reason, no stored value out of bounds) or refuses it with a ``SegscopeError``;
never a traceback, never a hang, and a refused file leaves the workspace as it
was, row for row (issue 11)."""

from __future__ import annotations

import csv
import io
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import SegscopeError
from storage import limits
from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace

HEADERS = [
    "account_id", "Account ID", "ID", "name", "name ", " name", "Name", "date", "Invoice Date",
    "amount", "Amount", "quantity", "unit_price", "invoice_id", "contact_id", "email",
    "Email ", "first_name", "名前", "", "x", "employees", "founded_year", "annual_revenue",
    "is_customer", "margin", "a\tb", "col;1", "Umsatz €",
]  # fmt: skip
ODD_CELLS = [
    "", " ", "-", "--", "N/A", "null", "NA", "none", "?", "inf", "-inf", "nan", "NaN",
    "1e309", "-1e309", "9.2e16", "92233720368547758", "1e18", "0", "-0", "12,5", "1.234,56",
    "(12.50)", "12.50-", "€ 1.234,50", "2024-02-30", "2024-01-01 25:61", "2024-01-01 23:59:59",
    "２０２４-０１-０１", "٢٠٢٤-٠١-٠١", "31/12/2023", "12/31/2023", "20240101", "45000",
    "01-Dec-2010", "0001-01-01", "9999-12-31", "true", "yes", "A-1", "A-2", "A-3",
    "\x1b[31mred", "line\nbreak", '"quoted"', "a,b", "a;b", "\t", "名前", "\u202e", "\ufeff",
]  # fmt: skip
TABLES = ("accounts", "transactions", "contacts", "imports", "rejected_rows", "account_attributes")
KINDS = ("accounts", "transactions", "contacts")

cells = st.one_of(
    st.sampled_from(ODD_CELLS),
    st.text(max_size=10),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.dates().map(str),
)


@st.composite
def tables(draw, cell=cells) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6))
    if draw(st.booleans()):  # most files have an id column somewhere
        header.insert(draw(st.integers(0, len(header))), "account_id")
    rows = draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=8))
    return header, rows


@pytest.fixture(scope="module")
def workspace() -> Iterator[Workspace]:
    with tempfile.TemporaryDirectory(prefix="segscope-prop-") as tmp:
        with Workspace.create(Path(tmp) / "prop.segscope") as ws:
            yield ws


def snapshot(ws: Workspace) -> dict:
    out: dict = {
        t: sorted(ws.conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES
    }
    out["schema"] = ws.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    out["data_version"] = ws.data_version()
    return out


@contextmanager
def no_hang(seconds: int = 30) -> Iterator[None]:
    def stop(*_):
        raise TimeoutError(f"the import took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def import_or_refuse(ws: Workspace, path: Path, kind: str) -> None:
    before = snapshot(ws)
    with no_hang():
        try:
            prepared = prepare_import(path, kind)
            report = commit_import(ws, prepared)
        except SegscopeError as exc:
            message = str(exc)
            assert message and "Traceback" not in message
            assert snapshot(ws) == before
            return
    assert prepared.rows_read == prepared.rows_accepted + prepared.rejected.height
    assert prepared.rejected.filter(
        pl.col("reason").is_null() | (pl.col("reason") == "")
    ).is_empty()
    if report.no_op:
        assert snapshot(ws) == before
    worst = ws.conn.execute(
        "SELECT max(abs(amount)), max(abs(quantity)), max(abs(unit_price)) FROM transactions"
    ).fetchone()
    for value, bound in zip(
        worst,
        (limits.MAX_ABS_AMOUNT, limits.MAX_ABS_QUANTITY, limits.MAX_ABS_UNIT_PRICE),
        strict=True,
    ):
        assert value is None or value <= bound


def examples(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@examples(180)
@given(table=tables(), kind=st.sampled_from(KINDS), sep=st.sampled_from([",", ";", "\t", "|"]),
       cp1252=st.booleans())  # fmt: skip
def test_any_csv_imports_or_is_refused(workspace, table, kind, sep, cp1252) -> None:
    header, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n" if cp1252 else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    try:
        data = text.encode("cp1252") if cp1252 else text.encode("utf-8")
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.csv"
        path.write_bytes(data)
        import_or_refuse(workspace, path, kind)


def _xlsx_cell(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


@examples(60)
@given(table=tables(), kind=st.sampled_from(KINDS))
def test_any_xlsx_imports_or_is_refused(workspace, table, kind) -> None:
    import openpyxl

    header, rows = table
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([_xlsx_cell(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.xlsx"
        book.save(path)
        import_or_refuse(workspace, path, kind)


typed_columns = st.one_of(
    st.lists(st.one_of(st.none(), cells), min_size=3, max_size=3).map(
        lambda v: pl.Series(v, dtype=pl.String)
    ),
    st.lists(st.one_of(st.none(), st.floats()), min_size=3, max_size=3).map(
        lambda v: pl.Series(v, dtype=pl.Float64)
    ),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=3, max_size=3).map(
        lambda v: pl.Series(v, dtype=pl.Int64)
    ),
    st.lists(st.one_of(st.none(), st.dates()), min_size=3, max_size=3).map(
        lambda v: pl.Series(v, dtype=pl.Date)
    ),
    st.lists(st.one_of(st.none(), st.binary(max_size=6)), min_size=3, max_size=3).map(
        lambda v: pl.Series(v, dtype=pl.Binary)
    ),
    st.lists(st.lists(st.integers(0, 9), max_size=2), min_size=3, max_size=3).map(
        lambda v: pl.Series(v, dtype=pl.List(pl.Int64))
    ),
)


@examples(80)
@given(
    names=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=5, unique=True),
    data=st.data(),
    kind=st.sampled_from(KINDS),
)
def test_any_parquet_imports_or_is_refused(workspace, names, data, kind) -> None:
    columns = [data.draw(typed_columns).alias(name) for name in names]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.parquet"
        pl.DataFrame(columns).write_parquet(path)
        import_or_refuse(workspace, path, kind)


@examples(60)
@given(
    head=st.sampled_from([b"", b"account_id,name\n", b"account_id;date;amount\n", b"PK\x03\x04",
                          b"PAR1", b"\x1f\x8b", b"\xef\xbb\xbf", b"\xff\xfe"]),
    body=st.binary(max_size=200),
    kind=st.sampled_from(KINDS),
)  # fmt: skip
def test_any_bytes_import_or_are_refused(workspace, head, body, kind) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file.csv"
        path.write_bytes(head + body)
        import_or_refuse(workspace, path, kind)
