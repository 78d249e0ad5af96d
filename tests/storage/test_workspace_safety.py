"""Issue 11, the workspace side: nothing destroyed, nothing poisoned, one line per error.

Special files (FIFO, socket, device node) are made inside ``tmp_path``; the
device node only when running as root. Nothing here touches ``/dev``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from storage import schema
from storage.errors import NotAWorkspaceError, WorkspaceError
from storage.integrity import MAX_JSON_DEPTH, check_schema, expected_schema
from storage.snapshot import SnapshotError, export_snapshot, restore_snapshot
from storage.workspace import Workspace
from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "import"
IS_ROOT = os.name == "posix" and os.geteuid() == 0


# -- helpers -------------------------------------------------------------------------


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the socket file stays
    return path


def make_device(path: Path) -> Path:
    if not IS_ROOT:
        pytest.skip("creating a device node needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null, in tmp_path
    return path


def make_dir(path: Path) -> Path:
    path.mkdir()
    return path


def make_foreign(path: Path) -> Path:
    path.write_text("account_id\nA1\n")
    return path


def make_link_to_fifo(path: Path) -> Path:
    fifo = make_fifo(path.with_name(path.name + ".fifo"))
    path.symlink_to(fifo)
    return path


SPECIAL: dict[str, Callable[[Path], Path]] = {
    "fifo": make_fifo,
    "socket": make_socket,
    "device": make_device,
    "directory": make_dir,
    "foreign-file": make_foreign,
    "link-to-fifo": make_link_to_fifo,
}


def kind_of(path: Path) -> tuple[int, bytes | None]:
    st = path.lstat()
    content = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
    return stat.S_IFMT(st.st_mode), content


def quickly(fn: Callable[[], object], seconds: float = 10.0) -> object:
    """Run ``fn`` in a daemon thread; fail (rather than hang) if it blocks."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked (a FIFO opened for reading?)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def build(path: Path) -> Path:
    from storage.importer import commit_import, prepare_import

    with Workspace.create(path, cache=False) as ws:
        commit_import(ws, prepare_import(DATA / "accounts_hubspot_bom.csv", "accounts"))
        commit_import(ws, prepare_import(DATA / "transactions_semicolon_dmy.csv", "transactions"))
    with Workspace.open(path, cache=False) as ws:
        from tui.commands.segment import seed_starter_models

        seed_starter_models(ws)
    return path


def dump(path: Path) -> list:
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        ]
        return [(n, sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"')))) for n in names]
    finally:
        conn.close()


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    return build(tmp_path / "w.segscope")


@pytest.fixture
def snap(ws_path: Path, tmp_path: Path) -> Path:
    return export_snapshot(ws_path, tmp_path / "w.segsnap") and tmp_path / "w.segsnap"


# -- 1: --force replaces only a regular segscope workspace -----------------------------------


@pytest.mark.parametrize("kind", list(SPECIAL))
def test_init_force_refuses_what_is_not_a_workspace(kind: str, tmp_path: Path, capsys) -> None:
    path = SPECIAL[kind](tmp_path / "target")
    before = kind_of(path)
    for extra in ([], ["--force"]):
        assert quickly(lambda extra=extra: main(["init", str(path), *extra])) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith("segscope init: ")
        assert kind_of(path) == before  # still there, same kind, same bytes


@pytest.mark.parametrize("kind", list(SPECIAL))
def test_restore_force_refuses_what_is_not_a_workspace(
    kind: str, snap: Path, tmp_path: Path, capsys
) -> None:
    path = SPECIAL[kind](tmp_path / "target")
    before = kind_of(path)
    for extra in ([], ["--force"]):
        code = quickly(
            lambda extra=extra: main(["snapshot", "restore", str(snap), str(path), *extra])
        )
        assert code == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert kind_of(path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_messages_name_the_kind_of_file(snap: Path, tmp_path: Path) -> None:
    fifo = make_fifo(tmp_path / "p")
    with pytest.raises(WorkspaceError, match="FIFO"):
        Workspace.create(fifo, overwrite=True)
    with pytest.raises(SnapshotError, match="FIFO"):
        restore_snapshot(snap, fifo, force=True)
    sock = make_socket(tmp_path / "s")
    with pytest.raises(WorkspaceError, match="socket"):
        Workspace.create(sock, overwrite=True)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and stat.S_ISSOCK(sock.lstat().st_mode)


def test_force_still_replaces_a_workspace(ws_path: Path, snap: Path, capsys) -> None:
    assert main(["snapshot", "restore", str(snap), str(ws_path), "--force"]) == 0
    assert main(["init", str(ws_path), "--force"]) == 0
    with Workspace.open(ws_path) as ws:
        assert ws.db["accounts"].count == 0


# -- 10: FIFOs never block -------------------------------------------------------------------


def test_a_fifo_as_workspace_is_refused_quickly(tmp_path: Path, capsys) -> None:
    fifo = make_fifo(tmp_path / "w.segscope")
    with pytest.raises(NotAWorkspaceError, match="FIFO"):
        quickly(lambda: Workspace.open(fifo))
    assert quickly(lambda: main(["models", str(fifo)])) == 1
    assert "FIFO" in capsys.readouterr().err
    assert quickly(lambda: main(["snapshot", "export", str(fifo), str(tmp_path / "o")])) == 1
    assert "FIFO" in capsys.readouterr().err


@pytest.mark.parametrize("force", [False, True])
def test_a_fifo_as_snapshot_target_is_refused_quickly(
    ws_path: Path, tmp_path: Path, capsys, force: bool
) -> None:
    fifo = make_fifo(tmp_path / "out.segsnap")
    args = ["snapshot", "export", str(ws_path), str(fifo)] + (["--force"] if force else [])
    assert quickly(lambda: main(args)) == 1
    err = capsys.readouterr().err
    assert "FIFO" in err and err.count("\n") == 1
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# -- 3: never delete companions this operation did not make ----------------------------------


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_init_refuses_and_keeps_a_stray_companion(tmp_path: Path, capsys, suffix: str) -> None:
    path = tmp_path / "w.segscope"
    companion = Path(f"{path}{suffix}")
    companion.write_bytes(b"someone else's")
    assert main(["init", str(path)]) == 1
    err = capsys.readouterr().err
    assert "exists without its database" in err and err.count("\n") == 1
    assert companion.read_bytes() == b"someone else's"
    assert not path.exists()


def test_init_keeps_a_cache_folder_it_did_not_make(tmp_path: Path) -> None:
    path = tmp_path / "w.segscope"
    cache = tmp_path / "w.segscope.cache"
    cache.mkdir()
    (cache / "notes.txt").write_text("mine")
    assert main(["init", str(path)]) == 0
    assert (cache / "notes.txt").read_text() == "mine"


# -- 2: the exact schema, no triggers, views or foreign objects ------------------------------

POISON = {
    "trigger": "CREATE TRIGGER t AFTER INSERT ON transactions BEGIN"
    " UPDATE transactions SET amount = amount * 100 WHERE id = new.id; END",
    "delete-trigger": "CREATE TRIGGER t AFTER UPDATE ON accounts BEGIN"
    " DELETE FROM contacts WHERE account_id = new.account_id; END",
    "view": "CREATE VIEW v AS SELECT * FROM accounts",
    "table": "CREATE TABLE extra(x)",
    "index": "CREATE INDEX extra_idx ON transactions(amount)",
    "missing-table": "DROP TABLE kpis",
    "missing-index": "DROP INDEX transactions_account",
    "dropped-column": "ALTER TABLE contacts DROP COLUMN email",
    "stray-column": "ALTER TABLE accounts ADD COLUMN sneaky TEXT",
    "changed-table": "DROP TABLE settings; CREATE TABLE settings(key TEXT, value_json TEXT)",
}


@pytest.mark.parametrize("kind", list(POISON))
def test_a_poisoned_workspace_is_refused_on_open(ws_path: Path, kind: str, capsys) -> None:
    conn = sqlite3.connect(ws_path, isolation_level=None)
    conn.executescript(POISON[kind])
    conn.close()
    before = dump(ws_path)
    with pytest.raises(WorkspaceError, match="not a sound segscope workspace"):
        Workspace.open(ws_path)
    code = main(
        ["import", str(ws_path), str(DATA / "transactions_tab_mdy.tsv"), "--kind", "transactions"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "not a sound segscope workspace" in err and err.count("\n") == 1
    assert dump(ws_path) == before


def test_the_expected_schema_follows_the_migrations(monkeypatch) -> None:
    """A table added by a new migration is expected without touching the check."""
    later = [*schema.MIGRATIONS, ["CREATE TABLE later_feature(id INTEGER PRIMARY KEY, x TEXT)"]]
    monkeypatch.setattr(schema, "MIGRATIONS", later)
    version = len(later)
    try:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        schema.migrate(conn, target=version)
        check_schema(conn, "new")
        assert "later_feature" in expected_schema(version)
        conn.execute("DROP TABLE later_feature")
        with pytest.raises(WorkspaceError, match="later_feature is missing"):
            check_schema(conn, "new")
    finally:
        expected_schema.cache_clear()


def test_imported_attributes_are_part_of_the_schema(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        attrs = [r[0] for r in ws.conn.execute("SELECT name FROM account_attributes")]
    assert attrs  # the HubSpot file brings lifecycle_stage and score
    Workspace.open(ws_path).close()


def _poisoned_snapshot(snap: Path, tmp_path: Path, sql: str, params: tuple = ()) -> Path:
    """``snap`` with ``sql`` run on its database, manifest hash and counts recomputed."""
    import hashlib
    import zipfile

    with zipfile.ZipFile(snap) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        db = zf.read("workspace.sqlite")
    work = tmp_path / "craft.sqlite"
    work.write_bytes(db)
    conn = sqlite3.connect(work, isolation_level=None)
    conn.execute(sql, params) if params else conn.executescript(sql)
    tables = {
        n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
        for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    conn.close()
    db = work.read_bytes()
    manifest["tables"] = tables
    manifest["content"].update(size=len(db), sha256=hashlib.sha256(db).hexdigest())
    out = tmp_path / "poisoned.segsnap"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        zf.writestr("workspace.sqlite", db)
    return out


BAD_CONTENT = {
    "trigger": (POISON["trigger"], (), "trigger"),
    "view": (POISON["view"], (), "view"),
    "amount-huge": ("UPDATE transactions SET amount = 9.3e16 WHERE id = 1", (), "amount"),
    "amount-inf": ("UPDATE transactions SET amount = 1e999 WHERE id = 1", (), "amount"),
    "quantity": ("UPDATE transactions SET quantity = -2e9 WHERE id = 1", (), "quantity"),
    "unit-price": ("UPDATE transactions SET unit_price = 'lots' WHERE id = 1", (), "unit_price"),
    "date-low": ("UPDATE transactions SET date = -999999 WHERE id = 1", (), "date"),
    "date-text": ("UPDATE transactions SET date = 'soon' WHERE id = 1", (), "date"),
    "bad-json": ("UPDATE models SET spec_json = '{not json'", (), "not valid JSON"),
    "deep-json": (
        "UPDATE models SET spec_json = ?",
        ("[" * (MAX_JSON_DEPTH + 5) + "]" * (MAX_JSON_DEPTH + 5),),
        "nests deeper",
    ),
    "bad-edit": ("UPDATE edits SET key_json = 'x'", (), "not valid JSON"),
}


@pytest.mark.parametrize("kind", list(BAD_CONTENT))
def test_a_poisoned_snapshot_is_refused_and_nothing_written(
    snap: Path, tmp_path: Path, kind: str, capsys
) -> None:
    sql, params, word = BAD_CONTENT[kind]
    poisoned = _poisoned_snapshot(snap, tmp_path, sql, params)
    target = tmp_path / "r.segscope"
    assert main(["snapshot", "restore", str(poisoned), str(target)]) == 1
    err = capsys.readouterr().err
    assert word in err and err.count("\n") == 1 and "Traceback" not in err
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert main(["snapshot", "info", str(poisoned), "--verify"]) == 1
    assert word in capsys.readouterr().err
    assert main(["snapshot", "diff", str(snap), str(poisoned)]) == 1


# -- 7: damage ------------------------------------------------------------------------------


def _zero_page_of(path: Path, table: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size : root * page_size] = b"\x00" * page_size
    path.write_bytes(bytes(data))


def test_a_damaged_workspace_is_not_snapshotted_and_reads_say_damaged(
    ws_path: Path, tmp_path: Path, capsys
) -> None:
    _zero_page_of(ws_path, "imports")
    out = tmp_path / "d.segsnap"
    assert main(["snapshot", "export", str(ws_path), str(out)]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "integrity check" in err and err.count("\n") == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # an import reads the imports table first: it says "damaged", not a traceback
    code = main(
        ["import", str(ws_path), str(DATA / "transactions_tab_mdy.tsv"), "--kind", "transactions"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "is damaged" in err and "Traceback" not in err and err.count("\n") == 1


def test_a_damaged_page_in_any_read_is_a_workspace_error(ws_path: Path) -> None:
    _zero_page_of(ws_path, "transactions")
    with Workspace.open(ws_path) as ws:
        with pytest.raises(WorkspaceError, match="is damaged"):
            ws.conn.execute("SELECT sum(amount) FROM transactions").fetchall()
        with pytest.raises(WorkspaceError, match="is damaged"), ws.write() as db:
            db.execute("DELETE FROM transactions")


# -- 8: write errors are one line and change nothing -----------------------------------------


def _prepare(ws_path: Path, tmp_path: Path, capsys) -> dict[str, list[str]]:
    """The commands under test, and what they need: a model file, an edit to undo, a big file."""
    w = str(ws_path)
    with Workspace.open(ws_path) as ws:
        spec = json.loads(ws.get_model("ABC by revenue"))
        ws.set_segment_annotation("ABC by revenue", "A", label="Key")  # something to undo
        accounts = [r[0] for r in ws.conn.execute("SELECT account_id FROM accounts")]
    (tmp_path / "m.json").write_text(json.dumps(dict(spec, name="Fresh model")))
    big = tmp_path / "big.csv"  # enough lines to need new pages
    big.write_text(
        "account_id,date,amount,invoice_id\n"
        + "".join(
            f"{accounts[i % len(accounts)]},2024-01-{i % 28 + 1:02d},{i}.5,N{i}\n"
            for i in range(3000)
        )
    )
    capsys.readouterr()
    return {
        "import": ["import", w, str(big), "--kind", "transactions"],
        "run-save": ["run", "save", w, "--model", "ABC by revenue"],
        "undo": ["undo", w],
        "models-save": ["models", w, "--save", str(tmp_path / "m.json")],
        "persona": ["persona", "draft", w, "--model", "ABC by revenue", "--all"],
    }


WRITE_FAULTS = {
    "read-only": ("PRAGMA query_only = 1", "read-only"),
    "disk-full": ("PRAGMA max_page_count = {pages}", "disk is full"),
}


@pytest.mark.parametrize(
    ("fault", "command"),
    [("read-only", c) for c in ("import", "run-save", "undo", "models-save", "persona")]
    # a small edit fits in the pages the file has; an import of 3,000 lines does not
    + [("disk-full", "import")],
)
def test_write_errors_are_one_line_and_change_nothing(
    ws_path: Path, tmp_path: Path, capsys, monkeypatch, fault: str, command: str
) -> None:
    commands = _prepare(ws_path, tmp_path, capsys)
    before = dump(ws_path)
    pragma, words = WRITE_FAULTS[fault]
    import storage.workspace as workspace

    configure = workspace._configure

    def faulty(conn, path, busy_timeout):
        configure(conn, path, busy_timeout)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(pragma.format(pages=pages))

    monkeypatch.setattr(workspace, "_configure", faulty)
    code = main(commands[command])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert words in err and str(ws_path) in err
    monkeypatch.undo()
    assert dump(ws_path) == before


def test_a_full_disk_in_any_write_is_one_workspace_error(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        pages = ws.conn.execute("PRAGMA page_count").fetchone()[0]
        ws.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(WorkspaceError, match=r"disk is full.*nothing was changed"):
            with ws.write(touches_data=False) as db:
                db.conn.executemany(
                    "INSERT INTO settings(key, value_json) VALUES (?, '1')",
                    [(f"k{i}",) for i in range(20000)],
                )
        assert ws.db["settings"].count == 0


@pytest.mark.skipif(IS_ROOT or os.name != "posix", reason="root ignores permissions")
def test_a_read_only_file_is_one_line(ws_path: Path, tmp_path: Path, capsys) -> None:
    commands = _prepare(ws_path, tmp_path, capsys)
    before = dump(ws_path)
    ws_path.chmod(0o444)
    try:
        for args in commands.values():
            code = main(args)
            err = capsys.readouterr().err
            assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    finally:
        ws_path.chmod(0o644)
    assert dump(ws_path) == before


def test_a_fifo_given_to_diff_or_info_is_refused_quickly(
    ws_path: Path, tmp_path: Path, capsys
) -> None:
    fifo = make_fifo(tmp_path / "x.segsnap")
    for args in (
        ["snapshot", "diff", str(fifo), str(ws_path)],
        ["snapshot", "diff", str(ws_path), str(fifo)],
        ["snapshot", "info", str(fifo)],
        ["snapshot", "restore", str(fifo), str(tmp_path / "r.segscope")],
    ):
        assert quickly(lambda args=args: main(args)) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("disk I/O error", "I/O error"),
        ("attempt to write a readonly database", "read-only"),
        ("database or disk is full", "disk is full"),
        ("database disk image is malformed", "is damaged"),
        ("too many columns on accounts", "too many columns"),
    ],
)
def test_write_errors_are_translated_in_one_place(message: str, words: str) -> None:
    from storage.workspace import write_error

    exc = write_error(Path("w.segscope"), sqlite3.OperationalError(message))
    assert isinstance(exc, WorkspaceError)
    assert words in str(exc) and "w.segscope" in str(exc) and "\n" not in str(exc)


def test_an_aborting_trigger_added_while_open_is_one_line(ws_path: Path) -> None:
    """A trigger cannot pass an open; one added behind segscope's back still gives one line."""
    with Workspace.open(ws_path) as ws:
        other = sqlite3.connect(ws_path, isolation_level=None)
        other.execute(
            "CREATE TRIGGER no BEFORE INSERT ON settings BEGIN SELECT RAISE(ABORT, 'no way'); END"
        )
        other.close()
        with pytest.raises(WorkspaceError, match=r"was not written to .*no way"):
            ws.set_setting("theme", "dark")


@pytest.mark.parametrize("length", [240, 250, 300])
def test_file_names_too_long_are_one_line(snap: Path, tmp_path: Path, capsys, length: int) -> None:
    name = str(tmp_path / ("a" * length))
    for args in (
        ["init", name],
        ["snapshot", "restore", str(snap), name + ".segscope"],
        ["snapshot", "export", str(snap.with_name("w.segscope")), name + "x"],
    ):
        code = main(args)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if code != 0:
            assert code == 1 and err.count("\n") == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_planner_statistics_from_analyze_are_allowed(ws_path: Path) -> None:
    conn = sqlite3.connect(ws_path, isolation_level=None)
    conn.execute("ANALYZE")
    conn.close()
    with Workspace.open(ws_path) as ws:
        assert ws.db["transactions"].count > 0
