"""Issue 11 on the command line: exports never destroy what is not theirs, flags are
bounded, data cannot write to the terminal, and the exit codes mean data (1) or usage (2)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import time
from pathlib import Path

import polars as pl
import pytest

from tui.cli import main
from tui.commands._safety import printable

PWNED = "\x1b]0;pwned\x07"
RED = "\x1b[31mRed\x1b[0m"


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture(scope="module")
def evil(tmp_path_factory) -> Path:
    """A workspace whose account names, industries and segment labels hold escape sequences."""
    root = tmp_path_factory.mktemp("evil")
    n = 14
    pl.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "name": [PWNED if i == 0 else f"Acme {i}" for i in range(n)],
            "industry": [[RED, "IT", "Retail"][i % 3] for i in range(n)],
            "employees": [10 + i for i in range(n)],
        }
    ).write_parquet(root / "accounts.parquet")
    lines = ["account_id,date,amount,invoice_id,product"]
    for i in range(n):
        for m in range(1, 13):
            lines.append(f"A{i},2024-{m:02d}-15,{100 + i * 10},I{i}-{m},P{m % 3}")
    (root / "tx.csv").write_text("\n".join(lines) + "\n")
    model = {
        "format": 1,
        "name": "Evil",
        "dimensions": [
            {"kind": "category", "name": "Industry", "column": "industry"},
            {
                "kind": "rule",
                "name": "Size",
                "rules": [{"label": "Big\x1b[2J", "condition": "employees > 15"}],
                "default": "Small\u202e",
            },
        ],
    }
    (root / "evil.json").write_text(json.dumps(model))
    ws = root / "ws.segscope"
    assert main(["init", str(ws)]) == 0
    assert main(["import", str(ws), str(root / "accounts.parquet"), "--kind", "accounts",
                 "--quiet"]) == 0  # fmt: skip
    assert main(["import", str(ws), str(root / "tx.csv"), "--kind", "transactions",
                 "--quiet"]) == 0  # fmt: skip
    assert main(["models", str(ws), "--save", str(root / "evil.json")]) == 0
    assert main(["run", "save", str(ws), "--model", "Evil"]) == 0
    assert main(["run", "save", str(ws), "--model", "Evil"]) == 0
    assert main(["persona", "draft", str(ws), "--model", "Evil", "--all"]) == 0
    return ws


# ---------------------------------------------------------------- terminal output


def test_printable_by_hand() -> None:
    assert printable(PWNED) == "\\u001b]0;pwned\\u0007"
    assert printable("a\tb\nc") == "a\tb\nc"
    shown = "\\u009b31m \\u007f \\u202e \\udcff \\u000d"
    assert printable("\x9b31m \x7f \u202e \udcff \r") == shown
    assert printable("Zürich 名前 ß") == "Zürich 名前 ß"
    # the escapes are JSON escapes too: --json output still parses to the same value
    assert json.loads(printable(json.dumps({"n": "x\x9b\u202e"}, ensure_ascii=False))) == {
        "n": "x\x9b\u202e"
    }


@pytest.mark.parametrize(
    "args",
    [
        ("segment", "{ws}", "--model", "Evil"),
        ("segment", "{ws}", "--model", "Evil", "--json"),
        ("run", "compare", "{ws}", "1", "2"),
        ("run", "compare", "{ws}", "1", "2", "--json"),
        ("persona", "show", "{ws}", "1"),
        ("persona", "list", "{ws}"),
        ("models", "{ws}", "--json"),
        ("export", "{ws}", "assignments", "--model", "Evil", "--out", "{tmp}/a.csv"),
    ],
)
def test_data_never_reaches_the_terminal_raw(evil: Path, tmp_path: Path, capsys, args) -> None:
    argv = [a.format(ws=evil, tmp=tmp_path) for a in args]
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert out or err
    if "--json" in argv:
        json.loads(out)
    if argv[0] == "segment" and "--json" not in argv:
        assert "\\u001b[31mRed" in out  # shown, visibly


def test_an_error_message_with_data_in_it_is_sanitised(evil: Path, capsys) -> None:
    code, _, err = cli(capsys, "segment", evil, "--model", "no\x1b[2Jsuch")
    assert code == 1 and one_line(err)
    assert "\x1b" not in err and "[2Jsuch" in err


def test_an_argument_that_is_not_utf8_is_a_usage_error(evil: Path, capsys) -> None:
    # os.fsdecode(b"caf\xe9") as Python hands a non-UTF-8 argv byte to the program
    code, _, err = cli(capsys, "segment", evil, "--model", "caf\udce9")
    assert code == 2 and one_line(err) and "not UTF-8" in err and "\\udce9" in err


# ---------------------------------------------------------------- exports


def _workspace_named(path: Path, capsys) -> Path:
    code, _, err = cli(capsys, "init", path)
    assert code == 0, err
    return path


def test_metrics_never_overwrites_its_own_workspace(tmp_path: Path, capsys) -> None:
    ws = _workspace_named(tmp_path / "ws.parquet", capsys)
    before = ws.read_bytes()
    (tmp_path / "link.parquet").symlink_to(ws)
    os.link(ws, tmp_path / "hard.parquet")
    for target in ("ws.parquet", "link.parquet", "hard.parquet"):
        for force in ([], ["--force"]):
            code, _, err = cli(capsys, "metrics", ws, "--out", tmp_path / target, *force)
            assert code == 1 and one_line(err), err
            assert "workspace" in err or "SQLite" in err
    assert ws.read_bytes() == before
    with sqlite3.connect(ws) as conn:
        conn.execute("PRAGMA integrity_check").fetchone()
    conn.close()


def test_an_existing_export_needs_force(evil: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.csv"
    out.write_text("mine\n")
    code, _, err = cli(capsys, "metrics", evil, "--out", out)
    assert code == 1 and one_line(err) and "--force" in err
    assert out.read_text() == "mine\n"
    code, _, err = cli(capsys, "metrics", evil, "--out", out, "--force")
    assert code == 0, err
    assert out.read_text().startswith("account_id")
    for args in (
        ("export", evil, "profiles", "--model", "Evil", "--out", out),
        ("playbook", evil, "--model", "Evil", "--out", tmp_path / "p.md"),
        ("plan", "export", evil, "--out", tmp_path / "plans.xlsx"),
        ("potential", evil, "--out", out),
        ("targets", evil, "--model", "Evil", "--out", out),
        ("clv", evil, "--out", out),
        ("lookalikes", evil, "--ideal", "employees > 12", "--out", out),
    ):
        for path in (tmp_path / "p.md", tmp_path / "plans.xlsx"):
            path.write_text("mine\n")
        code, _, err = cli(capsys, *args)
        assert code == 1 and one_line(err) and "use --force" in err, (args, err)
    assert (tmp_path / "p.md").read_text() == "mine\n"
    assert (tmp_path / "plans.xlsx").read_text() == "mine\n"


def test_plan_export_checks_every_file_it_would_write(evil: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "plans-kpis.csv").write_text("mine\n")
    code, _, err = cli(capsys, "plan", "export", evil, "--out", tmp_path / "plans.csv")
    assert code == 1 and "plans-kpis.csv" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plans-kpis.csv"]


def _specials(tmp_path: Path) -> list[Path]:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.csv"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    sock.close()
    out = [fifo, sock_path]
    if os.geteuid() == 0:
        dev = tmp_path / "null.csv"
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        out.append(dev)
    return out


def test_exports_refuse_fifos_sockets_and_devices_without_blocking(
    evil: Path, tmp_path: Path, capsys
) -> None:
    for path in _specials(tmp_path):
        kind = stat.S_IFMT(path.lstat().st_mode)
        for force in ([], ["--force"]):
            started = time.monotonic()
            code, _, err = cli(capsys, "metrics", evil, "--out", path, *force)
            assert time.monotonic() - started < 30
            assert code == 1 and one_line(err) and "regular file" in err, err
            code, _, err = cli(capsys, "playbook", evil, "--model", "Evil", "--out",
                               path, *force)  # fmt: skip
            assert code in (1, 2) and one_line(err)
        assert stat.S_IFMT(path.lstat().st_mode) == kind
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- bounded flags

KPI_ADD = ("plan", "kpi-add", "{ws}", "--model", "Evil", "--segment", "IT · Big", "--metric",
           "revenue")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("run", "delete", "{ws}", "99999999999999999999"), "RUN"),
        (("run", "compare", "{ws}", "1", "99999999999999999999"), "RUN_B"),
        (("persona", "show", "{ws}", "99999999999999999999"), "id"),
        (("plan", "kpi-delete", "{ws}", "99999999999999999999"), "id"),
        (("metrics", "{ws}", "--as-of", "0001-01-01", "--out", "{tmp}/m.csv"), "--as-of"),
        (("metrics", "{ws}", "--as-of", "9999-12-31", "--out", "{tmp}/m.csv"), "--as-of"),
        (("segment", "{ws}", "--model", "Evil", "--as-of", "0001-01-01"), "--as-of"),
        (("metrics", "{ws}", "--window-months", "20000", "--out", "{tmp}/m"), "--window-months"),
        (("lookalikes", "{ws}", "--ideal", "employees > 1", "--top", "1" + "0" * 30), "--top"),
        (("clv", "{ws}", "--horizon-months", "999999"), "--horizon-months"),
        (("segment", "{ws}", "--model", "Evil", "--traits", "1" + "0" * 30), "--traits"),
        (("clv", "{ws}", "--discount-rate", "nan"), "--discount-rate"),
        ((*KPI_ADD, "--target", "nan"), "--target"),
        ((*KPI_ADD, "--target", "inf"), "--target"),
        ((*KPI_ADD, "--target", "1", "--deadline", "0001-01-01"), "--deadline"),
        (("targets", "{ws}", "--model", "Evil", "--weights", "size=inf"), "--weights"),
        (("targets", "{ws}", "--model", "Evil", "--weights", "size=nan"), "--weights"),
    ],
)
def test_out_of_range_flags_are_usage_errors(evil, tmp_path, capsys, args, flag) -> None:
    before = evil.read_bytes()
    argv = [a.format(ws=evil, tmp=tmp_path) for a in args]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: exit 2 with the flag and the range
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and flag in err
    assert "range" in err or "not a" in err or "must be from" in err
    assert evil.read_bytes() == before
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- expressions and models


@pytest.mark.parametrize(
    "ideal",
    ["(" * 150 + "employees > 1" + ")" * 150, "employees > " + "9" * 5000,
     "name = 'caf\udce9'", "NOT " * 2000 + "employees > 1", " OR ".join(["employees > 1"] * 500)],
)  # fmt: skip
def test_hostile_expressions_are_one_line_usage_errors(evil: Path, capsys, ideal: str) -> None:
    code, _, err = cli(capsys, "lookalikes", evil, "--ideal", ideal)
    assert code == 2 and one_line(err), err
    err.encode("utf-8")


def test_models_save_validates_rule_conditions(evil: Path, tmp_path: Path, capsys) -> None:
    spec = {
        "format": 1,
        "name": "Broken",
        "dimensions": [{"kind": "rule", "name": "Value", "rules": [
            {"label": "High", "condition": "revenue > 1000"},
            {"label": "Odd", "condition": "revenu > 5"},
        ]}],
    }  # fmt: skip
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(spec))
    code, _, err = cli(capsys, "models", evil, "--save", path)
    assert code == 2 and one_line(err)
    assert "dimension 'Value', rule 2 ('Odd')" in err and "did you mean 'revenue'" in err
    code, out, _ = cli(capsys, "models", evil, "--json")
    assert "Broken" not in [m["name"] for m in json.loads(out)["models"]]
    spec["dimensions"][0]["rules"][1]["condition"] = "clv > 5 AND industry = 'IT'"
    path.write_text(json.dumps(spec))  # forward columns are known before they are fitted
    code, _, err = cli(capsys, "models", evil, "--save", path)
    assert code == 0, err


def test_deeply_nested_model_json_is_a_usage_error(evil: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = cli(capsys, "models", evil, "--save", path)
    assert code == 2 and one_line(err) and "nested too deeply" in err


def test_a_damaged_stored_model_is_a_data_error(tmp_path: Path, capsys) -> None:
    ws = _workspace_named(tmp_path / "ws.segscope", capsys)
    code, _, _ = cli(capsys, "models", ws)
    with sqlite3.connect(ws) as conn:
        conn.execute("UPDATE models SET spec_json = '{\"format\": 1}' WHERE name = 'RFM'")
    conn.close()
    code, _, err = cli(capsys, "segment", ws, "--model", "RFM")
    assert code == 1 and one_line(err) and "damaged" in err


def test_a_damaged_stored_model_is_a_data_error_in_bridge_too(tmp_path: Path, capsys) -> None:
    ws = _workspace_named(tmp_path / "ws.segscope", capsys)
    (tmp_path / "tx.csv").write_text(
        "account_id,date,amount\nA1,2023-03-01,100\nA1,2024-03-01,150\nA2,2024-02-01,80\n"
    )
    assert cli(capsys, "import", ws, tmp_path / "tx.csv", "--kind", "transactions")[0] == 0
    assert cli(capsys, "models", ws)[0] == 0
    with sqlite3.connect(ws) as conn:
        conn.execute("UPDATE models SET spec_json = '[1, 2]' WHERE name = 'RFM'")
    conn.close()
    code, _, err = cli(capsys, "bridge", ws, "--model", "RFM")
    assert code == 1 and one_line(err) and "damaged" in err


def test_a_missing_output_directory_is_refused_before_any_work(evil, tmp_path, capsys) -> None:
    code, _, err = cli(capsys, "metrics", evil, "--out", tmp_path / "nowhere" / "m.csv")
    assert code == 1 and one_line(err) and "does not exist" in err


def test_escape_sequences_in_a_snapshot_manifest_print_harmlessly(
    evil: Path, tmp_path: Path, capsys
) -> None:
    import zipfile

    plain = tmp_path / "s.zip"
    assert cli(capsys, "snapshot", "export", evil, plain)[0] == 0
    crafted = tmp_path / "crafted.zip"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(crafted, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["source"] = f"{PWNED}ws\x1b[2J.segscope"
                data = json.dumps(manifest).encode()
            dst.writestr(info, data)
    for extra in ([], ["--json"]):
        code, out, err = cli(capsys, "snapshot", "info", crafted, *extra)
        assert code in (0, 1), err
        assert "\x1b" not in out + err and "\x07" not in out + err
        if code == 0 and extra:
            assert json.loads(out)["source"].startswith(PWNED)  # same value, shown inert


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_a_full_disk_during_an_export_is_one_line(
    evil: Path, tmp_path: Path, capsys, monkeypatch, suffix: str
) -> None:
    import errno

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    for method in ("write_csv", "write_parquet", "write_excel"):
        monkeypatch.setattr(pl.DataFrame, method, full)
    code, _, err = cli(capsys, "metrics", evil, "--out", tmp_path / f"m{suffix}")
    assert code == 1 and one_line(err) and "disk is full" in err
    assert list(tmp_path.iterdir()) == []


def test_a_file_name_too_long_is_one_line(evil: Path, tmp_path: Path, capsys) -> None:
    for name in ("x" * 300 + ".csv", "y" * 250 + ".xlsx"):
        code, _, err = cli(capsys, "metrics", evil, "--out", tmp_path / name)
        assert code == 1 and one_line(err) and "too long" in err
    assert list(tmp_path.iterdir()) == []
