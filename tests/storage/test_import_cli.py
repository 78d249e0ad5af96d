"""``segscope import`` through tui.cli.main: reports, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.workspace import Workspace
from tui.cli import main

DATA = Path(__file__).parent.parent / "data" / "import"


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "w.segscope"
    Workspace.create(path, cache=False).close()
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_counts_by_reason(ws_path: Path, capsys) -> None:
    code, out, err = run(
        ["import", str(ws_path), str(DATA / "online_retail_lines.csv"), "--kind", "transactions",
         "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (11, 7, 4)
    assert report["rejected_by_reason"] == {
        "account_id is missing": 2,
        "date is not a valid date": 1,
        "quantity is not a number": 1,
    }
    assert report["stub_accounts"] == 5
    assert report["rejected_rows"][0] == "row 6: account_id is missing ('CustomerID' is empty)"
    assert err == ""  # not a terminal: no progress output


def test_human_report_and_reimport_no_op(ws_path: Path, capsys) -> None:
    argv = [
        "import",
        str(ws_path),
        str(DATA / "accounts_salesforce_cp1252.csv"),
        "--kind",
        "accounts",
    ]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "accepted   5" in out and "rejected   3" in out
    assert "1  duplicate account_id" in out
    assert "row 6: employees 'viele' is not a number" in out
    code, out, _ = run(argv + ["--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["no_op"] is True and report["previous_import_id"] == 1
    code, out, _ = run(argv, capsys)
    assert out.startswith("Nothing to do:")


def test_map_override_and_ignore(ws_path: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "de.csv"
    path.write_text("Kunde;Datum;Betrag;Notiz\nK1;03.01.2024;1.000,50;x\nK2;04.01.2024;2,5;y\n")
    code, out, err = run(
        ["import", str(ws_path), str(path), "--kind", "transactions", "--map", "Kunde=account_id",
         "--map", "Datum=date", "--map", "Betrag=amount", "--map", "Notiz=", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["mapping"] == {"Kunde": "account_id", "Datum": "date", "Betrag": "amount"}
    assert report["ignored_columns"] == ["Notiz"]
    with Workspace.open(ws_path) as ws:
        amounts = ws.conn.execute("SELECT amount FROM transactions ORDER BY id").fetchall()
    assert amounts == [(1000.5,), (2.5,)]


def test_dry_run_writes_nothing(ws_path: Path, capsys) -> None:
    code, out, _ = run(
        ["import", str(ws_path), str(DATA / "contacts_pipe.csv"), "--kind", "contacts", "--dry-run",
         "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert report["dry_run"] is True and report["rows_accepted"] == 4
    with Workspace.open(ws_path) as ws:
        assert ws.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_xlsx_sheet_option(ws_path: Path, tmp_path: Path, capsys) -> None:
    import polars as pl

    path = tmp_path / "book.xlsx"
    pl.DataFrame({"Account ID": ["X1", "X2"], "Account Name": ["Xa", "Xb"]}).write_excel(
        path, worksheet="Firms"
    )
    code, out, err = run(
        ["import", str(ws_path), str(path), "--kind", "accounts", "--sheet", "Firms", "--json"],
        capsys,
    )
    assert code == 0, err
    assert json.loads(out)["rows_accepted"] == 2
    code, _, err = run(
        ["import", str(ws_path), str(path), "--kind", "accounts", "--sheet", "Nope"], capsys
    )
    assert code == 1
    assert "has no sheet 'Nope'; its sheets are 'Firms'" in err


def one_line_error(code: int, out: str, err: str, expected_code: int, fragment: str) -> None:
    assert code == expected_code
    assert out == ""
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert fragment in err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"\x00\x01\x02\x03" * 100, "is a binary file"),
        (b"Firma,Umsatz\nA,1\n", "no column for the account (customer) id"),
        (b"account_id,name\n", "has a header but no data rows"),
        (b"account_id,name\nA,x,extra\n", "line 2: 3 fields where the header has 2"),
    ],
)
def test_bad_input_is_one_clear_line(
    ws_path: Path, tmp_path: Path, capsys, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / "input.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(["import", str(ws_path), str(path), "--kind", "accounts"], capsys)
    one_line_error(code, out, err, 1, fragment)
    assert err.startswith("segscope import: ")


def test_no_id_column_lists_columns_and_the_map_hint(ws_path: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Firma,Umsatz\nA,1\n")
    code, out, err = run(["import", str(ws_path), str(path), "--kind", "accounts"], capsys)
    one_line_error(code, out, err, 1, "its columns are 'Firma', 'Umsatz'")
    assert "--map 'COLUMN=account_id'" in err


def test_wrong_kind_is_a_usage_error(ws_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["import", str(ws_path), str(DATA / "contacts_pipe.csv"), "--kind", "leads"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'leads'" in err and "Traceback" not in err


def test_bad_map_syntax_is_a_usage_error(ws_path: Path, capsys) -> None:
    code, out, err = run(
        [
            "import",
            str(ws_path),
            str(DATA / "contacts_pipe.csv"),
            "--kind",
            "contacts",
            "--map",
            "oops",
        ],
        capsys,
    )
    one_line_error(code, out, err, 2, "is not SOURCE=TARGET")


@pytest.mark.parametrize("what", ["missing", "text", "sqlite"])
def test_workspace_that_is_not_a_segscope_file(tmp_path: Path, capsys, what: str) -> None:
    path = tmp_path / "not.segscope"
    if what == "text":
        path.write_text("hello")
    elif what == "sqlite":
        import sqlite3

        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t(x)")
        conn.commit()
        conn.close()
    code, out, err = run(
        ["import", str(path), str(DATA / "contacts_pipe.csv"), "--kind", "contacts"], capsys
    )
    one_line_error(code, out, err, 1, str(path))


def test_help_lists_the_options(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["import", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--kind", "--map", "--sheet", "--json", "--quiet", "--dry-run"):
        assert flag in out


def test_progress_bar_appears_only_after_a_second(monkeypatch) -> None:
    from tui.commands import import_file

    clock = [100.0]
    monkeypatch.setattr(import_file.time, "monotonic", lambda: clock[0])
    bar = import_file._Progress(True, "writing", "committing")
    bar(10, 100)
    assert bar._progress is None  # fast imports never show a bar
    clock[0] += 1.5
    bar(50, 100)
    assert bar._progress is not None
    assert bar._progress.tasks[0].completed == 50
    assert bar._progress.tasks[0].description == "writing"
    bar(100, 100)  # every row written: what is left is said
    assert bar._progress.tasks[0].description == "committing"
    bar.close()
    silent = import_file._Progress(False, "writing")
    clock[0] += 5
    silent(50, 100)
    assert silent._progress is None
