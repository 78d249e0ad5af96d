"""``segscope snapshot ...`` via tui.cli.main: output, exit codes, one-line errors, no writes."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
import zlib
from pathlib import Path

import pytest

from storage.snapshot import CONTENT_NAME, MANIFEST_NAME
from storage.workspace import Workspace
from tui.cli import main


def build(path: Path) -> Path:
    with Workspace.create(path, cache=False) as ws:
        with ws.write() as db:
            db.conn.executemany(
                "INSERT INTO accounts(account_id, name) VALUES (?, ?)",
                [(f"A{i}", f"Acct {i}") for i in range(20)],
            )
            db.conn.executemany(
                "INSERT INTO transactions(account_id, date, amount) VALUES (?, ?, ?)",
                [(f"A{i % 20}", 19000 + i, i * 1.5) for i in range(200)],
            )
        ws.save_model("abc", '{"k": 1}')
    return path


def dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out = {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    conn.close()
    return out


def assert_one_line_error(capsys, rc: int, *fragments: str) -> str:
    out, err = capsys.readouterr()
    assert rc != 0
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("segscope snapshot: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return build(tmp_path / "w.segscope")


@pytest.fixture
def snap(ws: Path, tmp_path: Path, capsys) -> Path:
    out = tmp_path / "w.segsnap"
    assert main(["snapshot", "export", str(ws), str(out)]) == 0
    capsys.readouterr()
    return out


def test_export_info_restore_round_trip(ws: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "w.segsnap"
    assert main(["snapshot", "export", str(ws), str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out}: schema version ")
    rows = sum(len(r) for r in dump(ws).values())
    assert rows >= 225  # 20 accounts + 200 lines + 1 model + 4 meta (+ the undo log)
    assert f"{len(dump(ws))} tables, {rows:,} rows" in printed

    assert main(["snapshot", "info", str(out), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["tables"]["accounts"] == 20 and manifest["tables"]["transactions"] == 200
    assert manifest["source"] == "w.segscope"
    assert main(["snapshot", "info", str(out), "--verify"]) == 0
    text = capsys.readouterr().out
    assert "transactions" in text and "verified" in text

    target = tmp_path / "copy.segscope"
    assert main(["snapshot", "restore", str(out), str(target)]) == 0
    assert capsys.readouterr().out.startswith(f"restored {target} from {out}")
    assert dump(target) == dump(ws)


def test_restore_needs_force_for_an_existing_workspace(snap: Path, tmp_path: Path, capsys) -> None:
    target = build(tmp_path / "t.segscope")
    with Workspace.open(target) as w:
        w.save_model("mine", "{}")
    before = dump(target)
    rc = main(["snapshot", "restore", str(snap), str(target)])
    assert_one_line_error(capsys, rc, "already exists", "--force")
    assert dump(target) == before
    assert main(["snapshot", "restore", str(snap), str(target), "--force"]) == 0
    capsys.readouterr()
    assert "mine" not in {r[0] for r in dump(target)["models"]}


def _damaged(snap: Path, tmp_path: Path) -> dict[str, Path]:
    data = snap.read_bytes()
    with zipfile.ZipFile(snap) as zf:
        original = zf.read(CONTENT_NAME)
    # the first byte from the middle on whose flip really changes the content (a flip
    # in deflate's few redundant bits leaves it intact, and the file rightly valid)
    for pos in range(len(data) // 2, len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        try:
            with zipfile.ZipFile(io.BytesIO(bytes(flipped))) as zf:
                if zf.read(CONTENT_NAME) != original:
                    break
        except (zipfile.BadZipFile, zlib.error, EOFError):
            break
    cases = {
        "flipped": bytes(flipped),
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "text": b"id,name\n1,Acme\n",
    }
    paths = {}
    for name, content in cases.items():
        paths[name] = tmp_path / f"{name}.segsnap"
        paths[name].write_bytes(content)
    paths["random zip"] = tmp_path / "random.zip"
    with zipfile.ZipFile(paths["random zip"], "w") as zf:
        zf.writestr("photo.jpg", b"\xff\xd8\xff" + bytes(range(256)) * 4)
    paths["missing"] = tmp_path / "missing.segsnap"
    return paths


EXPECTED = {
    "flipped": "damaged",
    "truncated": "damaged or truncated",
    "empty": "not a zip archive",
    "text": "not a zip archive",
    "random zip": f"has no {MANIFEST_NAME}",
    "missing": "does not exist",
}


def test_bad_snapshots_are_rejected_and_nothing_is_written(
    snap: Path, tmp_path: Path, capsys
) -> None:
    bad = _damaged(snap, tmp_path)
    target_dir = tmp_path / "restore-here"
    target_dir.mkdir()
    existing = build(target_dir / "existing.segscope")
    before = dump(existing)
    for name, path in bad.items():
        for args in (
            [str(path), str(target_dir / "new.segscope")],
            [str(path), str(existing), "--force"],
        ):
            rc = main(["snapshot", "restore", *args])
            line = assert_one_line_error(capsys, rc, EXPECTED[name])
            assert str(path) in line
        assert sorted(p.name for p in target_dir.iterdir()) == ["existing.segscope"], name
        assert dump(existing) == before
        rc = main(["snapshot", "info", str(path), "--verify"])
        assert_one_line_error(capsys, rc, EXPECTED[name])


def test_diff_text_and_json(ws: Path, snap: Path, tmp_path: Path, capsys) -> None:
    with Workspace.open(ws) as w:
        w.save_model("abc", '{"k": 2}')
        with w.write() as db:
            db.execute("INSERT INTO accounts(account_id) VALUES ('NEW1'), ('NEW2')")
    assert main(["snapshot", "diff", str(snap), str(ws)]) == 0
    text = capsys.readouterr().out
    assert "changed: abc (spec_json)" in text
    accounts = next(line for line in text.splitlines() if line.startswith("accounts "))
    assert accounts.split() == ["accounts", "20", "22", "+2", "-0", "~0"]
    assert main(["snapshot", "diff", str(snap), str(ws), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_table = {t["table"]: t for t in data["tables"]}
    assert (by_table["accounts"]["added"], by_table["models"]["changed"]) == (2, 1)
    rc = main(["snapshot", "diff", str(snap), str(tmp_path / "nope.segsnap")])
    assert_one_line_error(capsys, rc, "does not exist")


def test_export_errors(ws: Path, tmp_path: Path, capsys) -> None:
    rc = main(["snapshot", "export", str(tmp_path / "none.segscope"), str(tmp_path / "o.zip")])
    assert_one_line_error(capsys, rc, "does not exist")
    out = tmp_path / "o.segsnap"
    assert main(["snapshot", "export", str(ws), str(out)]) == 0
    capsys.readouterr()
    rc = main(["snapshot", "export", str(ws), str(out)])
    assert_one_line_error(capsys, rc, "already exists")
    assert main(["snapshot", "export", str(ws), str(out), "--force", "--store"]) == 0
    capsys.readouterr()
    with zipfile.ZipFile(out) as zf:
        assert zf.getinfo(CONTENT_NAME).compress_type == zipfile.ZIP_STORED
    rc = main(["snapshot", "export", str(ws), str(tmp_path / "no-dir" / "o.segsnap")])
    assert_one_line_error(capsys, rc, "does not exist")


def test_no_action_is_a_usage_error(capsys) -> None:
    assert main(["snapshot"]) == 2
    assert "choose an action" in capsys.readouterr().err
