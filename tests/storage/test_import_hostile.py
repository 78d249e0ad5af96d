"""Hostile and odd import files (issue 11): each is refused with one line, or its bad
rows are rejected with a reason; nothing hangs, nothing ends in a traceback."""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import stat
import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from core.errors import SegscopeError
from storage import limits
from storage.importer import commit_import, prepare_import
from storage.readers import ImportFileError, read_source, sniff_source
from storage.workspace import Workspace


@pytest.fixture()
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "ws.segscope") as workspace:
        yield workspace


def _csv(tmp_path: Path, text: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- 10: files that are not regular files ------------------------------------------


def test_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=r"is a FIFO \(named pipe\), not a regular file"):
        prepare_import(fifo, "accounts")
    assert time.monotonic() - started < 2


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        with pytest.raises(ImportFileError, match="is a socket, not a regular file"):
            sniff_source(path)
    finally:
        sock.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a device needs root")
def test_device_node_is_refused(tmp_path: Path) -> None:
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    with pytest.raises(ImportFileError, match="is a character device, not a regular file"):
        prepare_import(node, "accounts")


def test_directory_is_still_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="is a directory, not a data file"):
        prepare_import(tmp_path, "accounts")


# -- 5: XLSX bombs -------------------------------------------------------------------

_OOXML = "http://schemas.openxmlformats.org"
_PKG_RELS = f"{_OOXML}/package/2006/relationships"
_DOC_RELS = f"{_OOXML}/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<Types xmlns="{_OOXML}/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    f'ContentType="{_SHEET_TYPE}.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<workbook xmlns="{_OOXML}/spreadsheetml/2006/main" xmlns:r="{_DOC_RELS}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def write_xlsx(path: Path, cells: dict[str, str], dimension: str | None = None) -> Path:
    """A minimal workbook of inline-string cells ({"A1": "account_id", ...}), written by hand
    so that a cell can sit anywhere (and the dimension can lie)."""
    import re

    rows: dict[int, list[str]] = {}
    for ref, value in cells.items():
        number = int(re.sub(r"[A-Z]", "", ref))
        rows.setdefault(number, []).append(
            f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
        )
    body = "".join(f'<row r="{n}">{"".join(cs)}</row>' for n, cs in sorted(rows.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{body}</sheetData></worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


GOOD_CELLS = {
    "A1": "account_id",
    "B1": "name",
    "A2": "A-1",
    "B2": "Acme",
    "A3": "A-2",
    "B3": "Beta",
}


def test_hand_written_workbook_reads(tmp_path: Path) -> None:
    frame = read_source(write_xlsx(tmp_path / "ok.xlsx", GOOD_CELLS, "A1:B3"))
    assert frame["account_id"].to_list() == ["A-1", "A-2"]


@pytest.mark.parametrize(
    ("cells", "dimension", "span"),
    [
        ({**GOOD_CELLS, "XFD1048576": "boom"}, None, "A1:XFD1048576"),
        ({**GOOD_CELLS, "ZZ900000": "x", "AB1000000": "y"}, None, "A1:ZZ1000000"),
        (GOOD_CELLS, "A1:XFD1048576", "A1:XFD1048576"),  # a lying dimension
    ],
    ids=["one-far-cell", "two-stray-cells", "dimension"],
)
def test_xlsx_bomb_is_refused_quickly(tmp_path: Path, cells, dimension, span) -> None:
    path = write_xlsx(tmp_path / "bomb.xlsx", cells, dimension)
    assert path.stat().st_size < 5_000
    started = time.monotonic()
    with pytest.raises(ImportFileError) as caught:
        prepare_import(path, "accounts")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "\n" not in message
    assert span in message and "sheet 'Sheet1'" in message
    assert f"{limits.MAX_XLSX_CELLS:,} cells" in message


def test_openpyxl_workbook_with_a_far_cell_is_refused(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["account_id", "name"])
    sheet.append(["A-1", "Acme"])
    sheet["XFD1048576"] = 1
    book.save(tmp_path / "far.xlsx")
    with pytest.raises(ImportFileError, match="XFD1048576"):
        sniff_source(tmp_path / "far.xlsx")


# -- 9: realistic files that ended in tracebacks -----------------------------------


@pytest.mark.parametrize(
    "header",
    ["account_id,name,name \n", "account_id,name,name\n", 'account_id," name",name\n'],
    ids=["trailing-space", "exact", "leading-space"],
)
def test_headers_equal_but_for_spaces_are_named(tmp_path: Path, header: str) -> None:
    path = _csv(tmp_path, header + "A-1,Acme,Acme Ltd\n")
    with pytest.raises(ImportFileError, match=r"columns 2 and 3 are both named 'name'"):
        prepare_import(path, "accounts")


def test_xlsx_headers_equal_but_for_spaces_are_named(tmp_path: Path) -> None:
    cells = {"A1": "account_id", "B1": "name", "C1": "name ", "A2": "A-1", "B2": "x", "C2": "y"}
    with pytest.raises(ImportFileError, match=r"both named 'name'"):
        prepare_import(write_xlsx(tmp_path / "dup.xlsx", cells), "accounts")


def test_parquet_headers_equal_but_for_spaces_are_named(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    pl.DataFrame({"account_id": ["A-1"], "name": ["x"], "name ": ["y"]}).write_parquet(path)
    with pytest.raises(ImportFileError, match=r"both named 'name'"):
        prepare_import(path, "accounts")


def test_five_thousand_columns_are_refused_before_reading(tmp_path: Path) -> None:
    names = ["account_id", *(f"c{i}" for i in range(4_999))]
    row = ",".join(["A-1", *("1" for _ in range(4_999))])
    path = _csv(tmp_path, ",".join(names) + "\n" + (row + "\n") * 200)
    started = time.monotonic()
    with pytest.raises(ImportFileError, match=r"has 5,000 columns; segscope imports at most 1,000"):
        prepare_import(path, "accounts")
    assert time.monotonic() - started < 2


def test_wide_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pl.DataFrame({f"c{i}": [1] for i in range(limits.MAX_IMPORT_COLUMNS + 1)}).write_parquet(path)
    with pytest.raises(ImportFileError, match="1,001 columns"):
        sniff_source(path)


def _parquet(tmp_path: Path, column: pl.Series) -> Path:
    path = tmp_path / f"{column.name}.parquet"
    pl.DataFrame({"account_id": ["A-1", "A-2"]}).with_columns(column).write_parquet(path)
    return path


@pytest.mark.parametrize(
    ("column", "what"),
    [
        (pl.Series("tags", [[1, 2], [3]]), "lists, maps or records"),
        (pl.Series("attrs", [{"a": 1}, {"a": 2}]), "lists, maps or records"),
        (pl.Series("wait", [dt.timedelta(hours=1), None]), "durations"),
        (pl.Series("blob", [b"\xff\xfe\x00", b"ok"]), "binary data that is not UTF-8 text"),
    ],
    ids=["list", "struct", "duration", "binary"],
)
def test_parquet_columns_without_a_text_form_are_refused_by_name(
    tmp_path: Path, column: pl.Series, what: str
) -> None:
    with pytest.raises(ImportFileError) as caught:
        prepare_import(_parquet(tmp_path, column), "accounts")
    assert f"column '{column.name}' holds {what}" in str(caught.value)


def test_parquet_map_column_is_refused_by_name(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "account_id": ["A-1"],
            "props": pa.array([[("k", "v")]], type=pa.map_(pa.string(), pa.string())),
        }
    )
    pq.write_table(table, tmp_path / "map.parquet")
    with pytest.raises(ImportFileError, match="column 'props' holds lists, maps or records"):
        prepare_import(tmp_path / "map.parquet", "accounts")


def test_parquet_time_and_utf8_binary_become_text(tmp_path: Path) -> None:
    path = tmp_path / "ok.parquet"
    pl.DataFrame(
        {
            "account_id": ["A-1", "A-2"],
            "opens": [dt.time(9, 30), None],
            "note": [b"caf\xc3\xa9", None],
        }
    ).write_parquet(path)
    prepared = prepare_import(path, "accounts")
    assert prepared.accepted["opens"].to_list() == ["09:30:00", None]
    assert prepared.accepted["note"].to_list() == ["café", None]


def test_full_width_digits_in_dates_are_read(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "account_id,date,amount\nA-1,２０２４-０３-３１,10\nA-1,３１/１２/２０２３,5\nA-1,٢٠٢٤-٠١-٠١,1\n",
    )
    prepared = prepare_import(path, "transactions")
    days = prepared.accepted["date"].cast(pl.Date).to_list()
    assert days == [dt.date(2024, 3, 31), dt.date(2023, 12, 31)]
    assert prepared.rejected["reason"].to_list() == ["date '٢٠٢٤-٠١-٠١' is not a valid date"]


# -- 4: numbers past their bound ----------------------------------------------------

HUGE_LINES = """account_id,date,amount,quantity,unit_price
A1,2023-03-01,100,1,100
A1,2024-03-01,250.50,2,125.25
A2,2024-05-01,92233720368547758,1,1
A2,2024-05-02,1e309,1,1
A2,2024-05-03,-1e10,1,1
A2,2024-05-04,,1000000000,1000000000
A2,2024-05-05,10,2e9,5
A3,2024-06-01,75,1,75
"""


def test_amounts_past_the_bound_are_rejected_rows(tmp_path: Path) -> None:
    prepared = prepare_import(_csv(tmp_path, HUGE_LINES), "transactions")
    assert prepared.accepted["amount"].to_list() == [100.0, 250.5, 75.0]
    reasons = dict(prepared.rejected.select("__row", "reason").iter_rows())
    assert reasons[4] == "amount 9.223372036854776e+16 is beyond the limit of ±1,000,000,000"
    assert reasons[5] == "amount inf is not a finite number"
    assert reasons[6] == "amount -10000000000.0 is beyond the limit of ±1,000,000,000"
    assert reasons[7] == "amount 1e+18 is beyond the limit of ±1,000,000,000"  # q x price
    assert reasons[8] == "quantity 2000000000.0 is beyond the limit of ±1,000,000,000"
    assert prepared.rejected_by_reason() == {
        "amount is out of range": 4,
        "quantity is out of range": 1,
    }


def test_parquet_inf_and_nan_amounts_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lines.parquet"
    pl.DataFrame(
        {
            "account_id": ["A1", "A1", "A1"],
            "date": [dt.date(2024, 1, 1)] * 3,
            "amount": [10.0, float("inf"), 5e17],
        }
    ).write_parquet(path)
    prepared = prepare_import(path, "transactions")
    assert prepared.accepted["amount"].to_list() == [10.0]
    assert prepared.rejected.height == 2


def test_workspace_after_huge_amounts_still_computes(tmp_path: Path, capsys) -> None:
    from core.model import AbcDimension, SegmentationModel, model_to_json
    from tui.cli import main

    ws_path = tmp_path / "ws.segscope"
    assert main(["init", str(ws_path)]) == 0
    lines = _csv(tmp_path, HUGE_LINES)
    assert main(["import", str(ws_path), str(lines), "--kind", "transactions"]) == 0
    with Workspace.open(ws_path) as ws:
        ws.save_model(
            "Value",
            model_to_json(SegmentationModel("Value", (AbcDimension("ABC", measure="revenue"),))),
        )
        biggest = ws.conn.execute("SELECT max(abs(amount)) FROM transactions").fetchone()[0]
    assert biggest <= limits.MAX_ABS_AMOUNT
    capsys.readouterr()
    assert main(["metrics", str(ws_path), "--out", str(tmp_path / "m.csv")]) == 0
    assert main(["bridge", str(ws_path)]) == 0
    assert main(["segment", str(ws_path), "--model", "Value"]) == 0
    assert "Traceback" not in capsys.readouterr().err


# -- 13: placeholder ids, impossible times --------------------------------------


def test_placeholder_account_ids_are_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path, "account_id,name\nA-1,Acme\nnull,x\nN/A,y\nNA,z\n-,w\n,v\n  ?  ,u\n")
    prepared = prepare_import(path, "accounts")
    assert prepared.accepted["account_id"].to_list() == ["A-1"]
    reasons = dict(prepared.rejected.select("__row", "reason").iter_rows())
    assert reasons[3] == "account_id 'null' is a placeholder for a missing value, not an id"
    assert reasons[4] == "account_id 'N/A' is a placeholder for a missing value, not an id"
    assert reasons[6] == "account_id '-' is a placeholder for a missing value, not an id"
    assert reasons[7] == "account_id is missing ('account_id' is empty)"
    assert reasons[8] == "account_id '?' is a placeholder for a missing value, not an id"


def test_transactions_with_placeholder_account_are_rejected(tmp_path: Path) -> None:
    path = _csv(tmp_path, "account_id,date,amount\nA1,2024-01-01,5\nN/A,2024-01-01,5\n")
    prepared = prepare_import(path, "transactions")
    assert prepared.accepted["account_id"].to_list() == ["A1"]
    assert prepared.rejected_by_reason() == {"account_id is a placeholder": 1}


@pytest.mark.parametrize(
    "cell", ["2024-01-01 25:61", "2024-01-01 24:00:00", "2024-01-01T10:60", "01/02/2024 23:59:61"]
)
def test_impossible_times_are_rejected(tmp_path: Path, cell: str) -> None:
    path = _csv(tmp_path, f"account_id,date,amount\nA1,2024-01-01 23:59:59,5\nA1,{cell},5\n")
    prepared = prepare_import(path, "transactions")
    assert prepared.rows_accepted == 1
    assert prepared.rejected["reason"][0].startswith(f"date '{cell}' is not a valid date")


def test_possible_times_are_read(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "account_id,date,amount\nA1,2024-01-01 23:59:59,5\nA1,2024-01-01T00:00Z,5\n"
        "A1,31/01/2024 9:05 PM,5\n",
    )
    assert prepare_import(path, "transactions").rows_accepted == 3


# -- 13: encodings -----------------------------------------------------------------

JAPANESE = (
    "account_id,name,city\nA-1,株式会社テスト,東京\nA-2,山田商事,大阪\nA-3,さくら工業,名古屋\n"
)


def test_shift_jis_is_detected_and_read(tmp_path: Path) -> None:
    path = _csv(tmp_path, JAPANESE, encoding="shift_jis")
    assert sniff_source(path).encoding == "cp932"
    prepared = prepare_import(path, "accounts")
    assert prepared.accepted["name"].to_list() == ["株式会社テスト", "山田商事", "さくら工業"]


def test_undetectable_encoding_is_refused_with_the_options(tmp_path: Path) -> None:
    path = _csv(tmp_path, "account_id,name\nA-1,北京科技有限公司\nA-2,上海贸易\n", encoding="gbk")
    with pytest.raises(ImportFileError) as caught:
        prepare_import(path, "accounts")
    message = str(caught.value)
    assert "is not UTF-8" in message and "--encoding" in message and "gbk" in message


def test_encoding_flag_reads_what_detection_refuses(tmp_path: Path) -> None:
    path = _csv(tmp_path, "account_id,name\nA-1,北京科技有限公司\nA-2,上海贸易\n", encoding="gbk")
    prepared = prepare_import(path, "accounts", encoding="gbk")
    assert prepared.accepted["name"].to_list() == ["北京科技有限公司", "上海贸易"]


def test_wrong_encoding_flag_is_one_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, JAPANESE, encoding="shift_jis")
    with pytest.raises(ImportFileError, match="is not valid utf-8: byte"):
        prepare_import(path, "accounts", encoding="utf-8")


def test_western_cp1252_with_apostrophes_stays_cp1252(tmp_path: Path) -> None:
    text = "account_id,name\nA-1,John’s Bakery\nA-2,Café Müller\nA-3,“Best” Ltd – Köln\n"
    path = _csv(tmp_path, text, encoding="cp1252")
    assert sniff_source(path).encoding == "cp1252"
    assert prepare_import(path, "accounts").accepted["name"][0] == "John’s Bakery"


# -- the command: --replace, --encoding, exit codes, write failures ------------------


def _state(path: Path) -> dict[str, list[tuple]]:
    with Workspace.open(path) as ws:
        tables = [
            r[0]
            for r in ws.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        out = {
            t: sorted(ws.conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables
        }
        out["columns"] = ws.conn.execute("PRAGMA table_info(accounts)").fetchall()
        return out


def test_replace_reimports_with_another_mapping(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    ws_path = tmp_path / "ws.segscope"
    assert main(["init", str(ws_path)]) == 0
    accounts = _csv(tmp_path, "Org,Number,City\nAcme,A-1,Köln\nBeta,A-2,Wien\n", "acc.csv")
    # The wrong id column: the names become account ids.
    assert main(["import", str(ws_path), str(accounts), "--kind", "accounts",
                 "--map", "Org=account_id", "--map", "Number=name"]) == 0  # fmt: skip
    assert main(["import", str(ws_path), str(accounts), "--kind", "accounts",
                 "--map", "Number=account_id", "--map", "Org=name"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Nothing to do" in out and "add --replace" in out
    assert main(["import", str(ws_path), str(accounts), "--kind", "accounts",
                 "--map", "Number=account_id", "--map", "Org=name", "--replace"]) == 0  # fmt: skip
    assert "replaces   import #1" in capsys.readouterr().out
    with Workspace.open(ws_path) as ws:
        rows = ws.conn.execute("SELECT account_id, name FROM accounts ORDER BY 1").fetchall()
        imports = ws.conn.execute("SELECT id FROM imports").fetchall()
    assert rows == [("A-1", "Acme"), ("A-2", "Beta")]
    assert imports == [(2,)]


def test_replace_of_transactions_replaces_their_lines(tmp_path: Path) -> None:
    lines = _csv(tmp_path, "a,b,date,amount\nA1,B1,2024-01-01,5\nA2,B1,2024-01-02,7\n", "l.csv")
    with Workspace.create(tmp_path / "ws.segscope") as ws:
        commit_import(ws, prepare_import(lines, "transactions", overrides={"a": "account_id"}))
        again = prepare_import(lines, "transactions", overrides={"b": "account_id"})
        assert commit_import(ws, again).no_op
        report = commit_import(ws, again, replace=True)
        assert report.replaced_imports == [1]
        got = ws.conn.execute("SELECT account_id, amount FROM transactions ORDER BY id").fetchall()
        ids = ws.conn.execute("SELECT account_id FROM accounts ORDER BY 1").fetchall()
    assert got == [("B1", 5.0), ("B1", 7.0)]
    assert ids == [("B1",)]  # the stubs of the wrong mapping are gone


def test_encoding_flag_and_exit_codes_of_the_command(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    ws_path = tmp_path / "ws.segscope"
    assert main(["init", str(ws_path)]) == 0
    gbk = _csv(tmp_path, "account_id,name\nA-1,北京科技\n", "gbk.csv", encoding="gbk")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    capsys.readouterr()
    assert main(["import", str(ws_path), str(gbk), "--kind", "accounts"]) == 1
    assert main(["import", str(ws_path), str(fifo), "--kind", "accounts"]) == 1
    assert main(["import", str(ws_path), str(gbk), "--kind", "accounts", "--encoding", "nope"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 3
    assert main(["import", str(ws_path), str(gbk), "--kind", "accounts", "--encoding", "gbk"]) == 0


def test_full_disk_in_process_is_one_line_and_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    import sqlite3

    import storage.import_writer as writer

    ws_path = tmp_path / "ws.segscope"
    Workspace.create(ws_path).close()
    before = _state(ws_path)
    real = writer._commit_transactions

    def full(db, *args, **kwargs):
        real(db, *args, **kwargs)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(writer, "_commit_transactions", full)
    lines = _csv(tmp_path, "account_id,date,amount\nA1,2024-01-01,5\n")
    with Workspace.open(ws_path) as ws:
        with pytest.raises(SegscopeError) as caught:
            commit_import(ws, prepare_import(lines, "transactions"))
    assert str(caught.value) == (
        f"the import was not written to {ws_path}: the disk is full; nothing was changed"
    )
    assert _state(ws_path) == before


SITECUSTOMIZE = """
import adbc_driver_sqlite.dbapi as _dbapi

_connect = _dbapi.connect


def _small_disk(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    cur = conn.cursor()
    cur.execute("PRAGMA page_count")
    pages = cur.fetchone()[0]
    cur.execute(f"PRAGMA max_page_count = {pages + 2}")
    cur.fetchall()
    cur.close()
    return conn


_dbapi.connect = _small_disk
"""


def test_full_disk_in_the_child_writer_is_one_line(tmp_path: Path, monkeypatch) -> None:
    import storage.bulk_writer as bulk_writer

    # The child's SQLite may grow the workspace by two pages only: SQLITE_FULL.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    ws_path = tmp_path / "ws.segscope"
    Workspace.create(ws_path).close()
    before = _state(ws_path)
    rows = "".join(f"A{i % 50},2024-01-{1 + i % 28:02d},{i}.5\n" for i in range(3_000))
    lines = _csv(tmp_path, "account_id,date,amount\n" + rows)
    with Workspace.open(ws_path) as ws:
        with pytest.raises(SegscopeError) as caught:
            commit_import(ws, prepare_import(lines, "transactions"))
    assert str(caught.value) == (
        f"the import was not written to {ws_path}: the disk is full; nothing was changed"
    )
    assert _state(ws_path) == before


def test_too_many_columns_over_all_imports_is_one_line(tmp_path: Path, capsys) -> None:
    from tui.cli import main

    ws_path = tmp_path / "ws.segscope"
    assert main(["init", str(ws_path)]) == 0
    for part in range(3):
        names = ["account_id", *(f"p{part}_c{i}" for i in range(900))]
        body = ",".join(names) + "\n" + ",".join(["A-1", *("x" * 900)]) + "\n"  # text: fast
        path = _csv(tmp_path, body, f"wide{part}.csv")
        code = main(["import", str(ws_path), str(path), "--kind", "accounts", "--quiet"])
        assert code == (0 if part < 2 else 1)
    err = capsys.readouterr().err
    assert "SQLite allows 2,000" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_huge_amounts_are_rejected_on_the_streamed_child_writer_path(
    tmp_path: Path, monkeypatch
) -> None:
    import storage.bulk_writer as bulk_writer
    import storage.readers as readers

    monkeypatch.setattr(readers, "STREAM_THRESHOLD_BYTES", 0)
    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    started: list[bool] = []
    real_start = bulk_writer._start
    monkeypatch.setattr(bulk_writer, "_start", lambda *a: started.append(True) or real_start(*a))
    with Workspace.create(tmp_path / "ws.segscope") as ws:
        prepared = prepare_import(_csv(tmp_path, HUGE_LINES), "transactions", batch_size=3)
        assert prepared.streamed
        report = commit_import(ws, prepared)
        amounts = ws.conn.execute("SELECT amount FROM transactions ORDER BY id").fetchall()
    assert started and report.rows_rejected == 5
    assert amounts == [(100.0,), (250.5,), (75.0,)]


def test_gzip_that_unpacks_past_the_bound_is_refused(tmp_path: Path, monkeypatch) -> None:
    import gzip

    monkeypatch.setattr(limits, "MAX_GZIP_BYTES", 10_000)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"account_id,name\n" + b"A-1,x\n" * 5_000))
    with pytest.raises(ImportFileError, match="unpacks to more than 10,000 bytes"):
        prepare_import(path, "accounts")


def test_replace_through_the_child_writer(tmp_path: Path, monkeypatch) -> None:
    import storage.bulk_writer as bulk_writer

    monkeypatch.setattr(bulk_writer, "CHILD_MIN_ROWS", 0)
    lines = _csv(tmp_path, "a,b,date,amount\nA1,B1,2024-01-01,5\nA2,B1,2024-01-02,7\n", "l.csv")
    with Workspace.create(tmp_path / "ws.segscope") as ws:
        commit_import(ws, prepare_import(lines, "transactions", overrides={"a": "account_id"}))
        again = prepare_import(lines, "transactions", overrides={"b": "account_id"})
        report = commit_import(ws, again, replace=True)
        got = ws.conn.execute("SELECT account_id, amount FROM transactions ORDER BY id").fetchall()
        ids = ws.conn.execute("SELECT account_id FROM accounts ORDER BY 1").fetchall()
        imports = ws.conn.execute("SELECT id FROM imports").fetchall()
    assert report.replaced_imports == [1] and imports == [(2,)]
    assert got == [("B1", 5.0), ("B1", 7.0)] and ids == [("B1",)]


def test_xlsx_cells_are_counted_even_without_positions(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(limits, "MAX_XLSX_CELLS", 4)
    path = write_xlsx(tmp_path / "many.xlsx", GOOD_CELLS)
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = re.sub(r' r="[A-Z]+[0-9]+"', "", sheet).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(ImportFileError, match=r"sheet 'Sheet1' holds more than 4 cells"):
        sniff_source(path)
