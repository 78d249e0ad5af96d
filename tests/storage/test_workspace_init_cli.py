"""``segscope init``: creates a workspace, prints its path, refuses clearly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.schema import APPLICATION_ID, LATEST_VERSION
from storage.workspace import Workspace, looks_like_workspace
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_init_creates_a_workspace_and_prints_its_path(tmp_path: Path, capsys) -> None:
    path = tmp_path / "crm.segscope"
    assert main(["init", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path.resolve()}\n" and err == ""
    with Workspace.open(path) as ws:
        assert ws.schema_version == LATEST_VERSION


def test_init_refuses_an_existing_workspace_without_force(tmp_path: Path, capsys) -> None:
    path = tmp_path / "crm.segscope"
    main(["init", str(path)])
    with Workspace.open(path) as ws, ws.write() as db:
        db["accounts"].insert({"account_id": "KEEP"})
    capsys.readouterr()
    assert main(["init", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"segscope init: {path} already exists (use --force to replace it)\n"
    with Workspace.open(path) as ws:
        assert ws.db["accounts"].count == 1

    assert main(["init", str(path), "--force"]) == 0
    with Workspace.open(path) as ws:
        assert ws.db["accounts"].count == 0


def test_force_never_replaces_a_file_that_is_not_a_workspace(tmp_path: Path, capsys) -> None:
    data = tmp_path / "accounts.csv"
    data.write_text("account_id\nA1\n")
    assert main(["init", str(data), "--force"]) == 1
    err = capsys.readouterr().err
    assert "is not a segscope workspace; refusing to replace it" in err
    assert data.read_text() == "account_id\nA1\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing" / "w.segscope", "directory {parent} does not exist"),
        (lambda p: p, "cannot create a workspace at {path}: it is a directory"),
    ],
    ids=["missing-directory", "directory"],
)
def test_init_bad_places(tmp_path: Path, capsys, make, message) -> None:
    path = make(tmp_path)
    assert main(["init", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("segscope init: ")
    assert message.format(path=path, parent=path.parent) in err
    assert "Traceback" not in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_init_in_a_read_only_directory(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["init", str(locked / "w.segscope")]) == 1
        assert "Permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_looks_like_workspace(tmp_path: Path) -> None:
    ws_path = tmp_path / "w.segscope"
    Workspace.create(ws_path).close()
    assert looks_like_workspace(ws_path)
    other = tmp_path / "o.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    assert not looks_like_workspace(other)
    conn = sqlite3.connect(other)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.close()
    assert looks_like_workspace(other)  # the marker is what counts
    assert not looks_like_workspace(tmp_path / "missing")


def test_init_through_the_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("segscope")
    if not script.exists():
        pytest.skip("segscope console script not installed in this environment")
    path = tmp_path / "sub.segscope"
    done = subprocess.run(
        [str(script), "init", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(path.resolve())
    assert looks_like_workspace(path)
