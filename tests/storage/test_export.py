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
        write_frame(nested, path, force=True)
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


# ---------------------------------------------------------------- issue 11: targets


def _workspace_file(path: Path) -> Path:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    return path


def test_an_existing_file_needs_force(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous\n")
    with pytest.raises(ExportError, match="exists; use --force"):
        write_frame(pl.DataFrame({"a": [1]}), path)
    assert path.read_text() == "previous\n"
    write_frame(pl.DataFrame({"a": [1]}), path, force=True)
    assert path.read_text() == "a\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_dangling_symlink_counts_as_existing(tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(ExportError, match="exists"):
        write_frame(pl.DataFrame({"a": [1]}), link)


@pytest.mark.parametrize("force", [False, True])
def test_the_workspace_is_never_an_export_target(tmp_path: Path, force: bool) -> None:
    ws = _workspace_file(tmp_path / "ws.parquet")
    before = ws.read_bytes()
    (tmp_path / "ws.parquet-wal").write_bytes(b"")
    (tmp_path / "link.parquet").symlink_to(ws)
    import os

    os.link(ws, tmp_path / "hard.parquet")
    frame = pl.DataFrame({"a": [1]})
    for target in ("ws.parquet", "link.parquet", "hard.parquet", "ws.parquet-wal"):
        with pytest.raises(ExportError, match="workspace|SQLite"):
            write_frame(frame, tmp_path / target, force=force, protect=[ws])
    # the sub-directory spelling of the same path
    (tmp_path / "sub").mkdir()
    with pytest.raises(ExportError, match="workspace"):
        write_frame(frame, tmp_path / "sub" / ".." / "ws.parquet", force=force, protect=[ws])
    # without being told which file is the workspace, a SQLite file is still never replaced
    with pytest.raises(ExportError, match="SQLite"):
        write_frame(frame, tmp_path / "hard.parquet", force=True)
    assert ws.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _special_files(tmp_path: Path) -> dict[str, Path]:
    import os
    import socket

    out = {}
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    out["FIFO"] = fifo
    sock_path = tmp_path / "sock.csv"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    sock.close()
    out["socket"] = sock_path
    if os.geteuid() == 0:
        dev = tmp_path / "null.csv"
        os.mknod(dev, 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        out["device"] = dev
    (tmp_path / "folder.csv").mkdir()
    out["directory"] = tmp_path / "folder.csv"
    return out


@pytest.mark.parametrize("force", [False, True])
def test_non_regular_targets_are_refused_up_front(tmp_path: Path, force: bool) -> None:
    import stat as st

    from storage.export import check_target, write_text_atomic

    specials = _special_files(tmp_path)
    kinds = {p: p.lstat().st_mode for p in specials.values()}
    for kind, path in specials.items():
        with pytest.raises(ExportError, match=kind):
            check_target(path, force=force)
        with pytest.raises(ExportError, match=kind):
            write_frame(pl.DataFrame({"a": [1]}), path, force=force)
        with pytest.raises(ExportError, match=kind):
            write_text_atomic(path, "x", force=force)
    for path, mode in kinds.items():  # each is still what it was
        assert st.S_IFMT(path.lstat().st_mode) == st.S_IFMT(mode)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- issue 11: write errors


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_a_full_disk_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    import errno

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", full)
    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    monkeypatch.setattr(pl.DataFrame, "write_excel", full)
    with pytest.raises(ExportError, match="disk is full") as info:
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / f"out{suffix}")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_polars_and_xlsxwriter_wrapped_disk_errors_are_recognised() -> None:
    from storage.export import _why

    wrapped = pl.exceptions.ComputeError(
        "parquet: File out of specification: underlying IO error: No space left on device"
        " (os error 28)"
    )
    assert _why(wrapped).startswith("the disk is full")
    from xlsxwriter.exceptions import FileCreateError

    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as exc:
            raise FileCreateError(exc) from None
    except FileCreateError as exc:
        assert _why(exc).startswith("the disk is full")


def test_a_name_too_long_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="too long"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / ("x" * 300 + ".csv"))
    with pytest.raises(ExportError, match="too long"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / ("y" * 250 + ".xlsx"))
    assert list(tmp_path.iterdir()) == []


def test_xlsx_over_the_sheet_limit_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.export as export

    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 5)
    with pytest.raises(ExportError, match=r"at most 5 rows.*\.csv or \.parquet"):
        write_frame(pl.DataFrame({"a": range(6)}), tmp_path / "big.xlsx")
    assert list(tmp_path.iterdir()) == []
    write_frame(pl.DataFrame({"a": range(5)}), tmp_path / "ok.xlsx")


def test_the_real_xlsx_limit_is_the_sheet_size() -> None:
    from storage.export import XLSX_MAX_COLUMNS, XLSX_MAX_ROWS

    assert XLSX_MAX_ROWS == 1_048_576 - 1 and XLSX_MAX_COLUMNS == 16_384
