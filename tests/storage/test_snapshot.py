"""Workspace snapshots: round trip, consistency under a live writer, validation, restore rules."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import polars as pl
import pytest

from storage import schema
from storage.errors import WorkspaceBusyError
from storage.importer import commit_import, prepare_import
from storage.schema import APPLICATION_ID, LATEST_VERSION, migrate
from storage.snapshot import (
    CONTENT_NAME,
    MANIFEST_NAME,
    SnapshotError,
    SnapshotSchemaTooNewError,
    export_snapshot,
    read_manifest,
    restore_snapshot,
    validate_snapshot,
)
from storage.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "import"


# -- helpers -------------------------------------------------------------------


def build_workspace(path: Path) -> Path:
    """Accounts, transactions and contacts through the importer, a model, a run, annotations."""
    with Workspace.create(path, cache=False) as ws:
        for name, kind in (
            ("accounts_salesforce_cp1252.csv", "accounts"),
            ("accounts_hubspot_bom.csv", "accounts"),
            ("transactions_semicolon_dmy.csv", "transactions"),
            ("contacts_pipe.csv", "contacts"),
        ):
            commit_import(ws, prepare_import(DATA / name, kind))
        ws.save_model("abc", json.dumps({"dimensions": ["abc_class"]}))
        run = pl.DataFrame({"account_id": ["A-01", "A-02"], "segment": ["A", "B"]})
        ws.save_run("abc", ws.get_model("abc"), "2024-06-30", run, label="June")
        ws.set_segment_annotation("abc", "A", label="Key", notes="big ones", status="target")
        ws.set_segment_annotation("abc", "B", scores={"fit": 3})
        ws.set_setting("theme", "dark")
        # migration 3 tables, written directly (their DAOs belong to other modules)
        with ws.write(touches_data=False) as db:
            db.execute(
                "INSERT INTO personas(model_name, segment, name, created_at, updated_at)"
                " VALUES ('abc', 'A', 'Procurement Petra', 't0', 't0')"
            )
            db.execute(
                "INSERT INTO plans(model_name, segment, objective) VALUES ('abc', 'A', 'grow')"
            )
            db.execute(
                "INSERT INTO kpis(model_name, segment, metric, target, created_at)"
                " VALUES ('abc', 'A', 'revenue', 1e6, 't0')"
            )
            db.execute(
                "INSERT INTO edits(created_at, entity, key_json, after_json)"
                " VALUES ('t0', 'plans', '[\"abc\", \"A\"]', '{}')"
            )
    return path


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of a database file, rows sorted (an independent reading: plain sqlite3)."""
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def schema_sql(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def rezip(out: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return out


def unpack(snapshot: Path) -> tuple[dict, bytes]:
    with zipfile.ZipFile(snapshot) as zf:
        return json.loads(zf.read(MANIFEST_NAME)), zf.read(CONTENT_NAME)


def recrafted(snapshot: Path, out: Path, db: bytes, **manifest_changes) -> Path:
    """A snapshot with new content whose manifest checksum matches it (a careful forger)."""
    manifest, _ = unpack(snapshot)
    manifest["content"]["sha256"] = hashlib.sha256(db).hexdigest()
    manifest["content"]["size"] = len(db)
    manifest.update(manifest_changes)
    return rezip(out, [(MANIFEST_NAME, json.dumps(manifest).encode()), (CONTENT_NAME, db)])


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    return build_workspace(tmp_path / "w.segscope")


@pytest.fixture
def snap(ws_path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "s.segsnap"
    export_snapshot(ws_path, out)
    return out


# -- round trip ------------------------------------------------------------------


def test_round_trip_every_table_identical(ws_path: Path, tmp_path: Path) -> None:
    (tmp_path / "w.segscope.cache").mkdir()
    (tmp_path / "w.segscope.cache" / "accounts-x.arrow").write_bytes(b"derived")
    out = tmp_path / "s.segsnap"
    manifest = export_snapshot(ws_path, out)

    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == [MANIFEST_NAME, CONTENT_NAME]  # no cache
        content = zf.read(CONTENT_NAME)
    assert manifest.sha256 == hashlib.sha256(content).hexdigest()
    assert manifest.size == len(content)
    assert manifest == read_manifest(out) == validate_snapshot(out)

    before = tables(ws_path)
    assert manifest.tables == {n: len(rows) for n, rows in before.items()}
    # the fixture holds what it says, so "identical" compares something
    assert len(before["accounts"]) == 10 and len(before["transactions"]) == 5
    assert len(before["contacts"]) == 3 and len(before["assignments"]) == 2
    assert len(before["segments"]) == 2 and len(before["rejected_rows"]) > 0
    assert [len(before[t]) for t in ("personas", "plans", "kpis")] == [1, 1, 1]
    assert len(before["edits"]) >= 1
    assert manifest.schema_version == LATEST_VERSION
    assert manifest.source == "w.segscope"
    assert manifest.created.endswith("Z") and manifest.created[:4].isdigit()

    target = tmp_path / "r.segscope"
    restored = restore_snapshot(out, target)
    assert restored == target
    assert tables(target) == before
    assert schema_sql(target) == schema_sql(ws_path)
    assert not Path(f"{target}.cache").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    with Workspace.open(target) as ws:
        assert ws.schema_version == LATEST_VERSION
        assert ws.get_model("abc") == json.dumps({"dimensions": ["abc_class"]})
        assert ws.load_run(1)["segment"].to_list() == ["A", "B"]
        assert ws.get_setting("theme") == "dark"
        assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ws.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert oct(target.stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_table_no_migration_creates_is_refused(ws_path: Path, tmp_path: Path) -> None:
    """Tables come from the migrations only (issue 11): a foreign one is refused on restore."""
    conn = sqlite3.connect(ws_path, isolation_level=None)
    conn.execute("CREATE TABLE later_feature(id INTEGER PRIMARY KEY, segment TEXT, quote TEXT)")
    conn.execute("INSERT INTO later_feature(segment, quote) VALUES ('A', 'on time, every time')")
    conn.close()
    out = tmp_path / "s.segsnap"
    assert export_snapshot(ws_path, out).tables["later_feature"] == 1
    with pytest.raises(SnapshotError, match="unknown table"):
        restore_snapshot(out, tmp_path / "r.segscope")
    assert not (tmp_path / "r.segscope").exists()


def test_export_reads_and_never_changes_the_workspace(tmp_path: Path) -> None:
    path = tmp_path / "v1.segscope"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=1)
    conn.close()
    manifest = export_snapshot(path, tmp_path / "s.segsnap")
    assert manifest.schema_version == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1  # not upgraded
    conn.close()


def test_export_refuses_bad_sources_and_outputs(ws_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.segsnap"
    with pytest.raises(SnapshotError, match="does not exist"):
        export_snapshot(tmp_path / "missing.segscope", out)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SnapshotError, match="not a segscope workspace"):
        export_snapshot(text, out)
    with pytest.raises(SnapshotError, match="over the workspace itself"):
        export_snapshot(ws_path, ws_path, overwrite=True)
    export_snapshot(ws_path, out)
    first = out.read_bytes()
    with pytest.raises(SnapshotError, match="already exists"):
        export_snapshot(ws_path, out)
    assert out.read_bytes() == first
    export_snapshot(ws_path, out, overwrite=True)
    validate_snapshot(out)
    other = build_workspace(tmp_path / "other.segscope")
    with pytest.raises(SnapshotError, match="is a segscope workspace"):
        export_snapshot(ws_path, other, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# -- consistency while another process writes -----------------------------------------

HOLDING_WRITER = """
import sys
from storage.workspace import Workspace
ws = Workspace.open(sys.argv[1])
with ws.write() as db:
    db.conn.executemany(
        "INSERT INTO accounts(account_id) VALUES (?)", [(f"W{i}",) for i in range(100)]
    )
    print("locked", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""

# Commits batches of 7 accounts, each in one transaction, until stdin closes.
STREAM_WRITER = """
import sys, threading, time
from storage.workspace import Workspace
ws = Workspace.open(sys.argv[1], busy_timeout=10)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
t = 0
print("started", flush=True)
while not stop.is_set():
    with ws.write() as db:
        db.conn.executemany(
            "INSERT INTO accounts(account_id) VALUES (?)", [(f"S{t}-{i}",) for i in range(7)]
        )
        db.conn.execute(
            "INSERT INTO transactions(account_id, date, amount) VALUES (?, 19000, 1.0)",
            (f"S{t}-0",),
        )
        time.sleep(0.002)
    t += 1
print(t, flush=True)
"""


def _python(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_export_while_another_process_holds_the_write_lock(ws_path: Path, tmp_path: Path) -> None:
    base = len(tables(ws_path)["accounts"])
    writer = _python(HOLDING_WRITER, str(ws_path))
    try:
        assert writer.stdout.readline().strip() == "locked"
        manifest = export_snapshot(ws_path, tmp_path / "during.segsnap", busy_timeout=1)
        assert manifest.tables["accounts"] == base  # the uncommitted rows are not in it
        validate_snapshot(tmp_path / "during.segsnap")
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "committed"
    finally:
        writer.communicate(timeout=10)
    assert writer.returncode == 0
    after = export_snapshot(ws_path, tmp_path / "after.segsnap")
    assert after.tables["accounts"] == base + 100


def test_export_while_another_process_keeps_writing(ws_path: Path, tmp_path: Path) -> None:
    base = tables(ws_path)
    writer = _python(STREAM_WRITER, str(ws_path))
    seen = []
    try:
        assert writer.stdout.readline().strip() == "started"
        for i in range(4):
            out = tmp_path / f"s{i}.segsnap"
            manifest = export_snapshot(ws_path, out)
            assert validate_snapshot(out) == manifest  # counts match the content
            # every writer transaction adds 7 accounts and 1 transaction: a consistent
            # snapshot holds whole transactions only
            extra = manifest.tables["accounts"] - len(base["accounts"])
            lines = manifest.tables["transactions"] - len(base["transactions"])
            assert extra == 7 * lines
            seen.append(lines)
    finally:
        out_text, err = writer.communicate(input="", timeout=20)
    assert writer.returncode == 0, err
    assert seen == sorted(seen) and seen[-1] > 0  # it really was writing meanwhile
    assert int(out_text.split()[-1]) >= seen[-1]


# -- validation -------------------------------------------------------------------


def test_flipped_byte_in_the_content_is_rejected(snap: Path, tmp_path: Path) -> None:
    data = snap.read_bytes()
    with zipfile.ZipFile(snap) as zf:
        info = zf.getinfo(CONTENT_NAME)
    # the data starts after the local header (30 bytes, name, and its own extra field)
    local = data[info.header_offset : info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little")
    start += int.from_bytes(local[28:30], "little")
    # positions across the compressed content (not its last bytes, which may be padding)
    step = max(1, info.compress_size // 17)
    original = unpack(snap)[1]
    rejected = 0
    for pos in range(start, start + info.compress_size - 16, step):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        path = tmp_path / "bad.segsnap"
        path.write_bytes(bytes(bad))
        try:
            validate_snapshot(path)
        except SnapshotError as exc:
            assert "damaged" in str(exc)
            rejected += 1
        else:
            # deflate has a little redundancy: a flip there leaves the content
            # byte-identical, and then accepting the file is right
            with zipfile.ZipFile(path) as zf:
                assert zf.read(CONTENT_NAME) == original, pos
    assert rejected >= 14


def test_flipped_byte_in_a_stored_snapshot_is_rejected(ws_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "stored.segsnap"
    export_snapshot(ws_path, out, compress=False)
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="damaged"):
        validate_snapshot(out)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_snapshot_is_rejected(snap: Path, tmp_path: Path, keep: float) -> None:
    data = snap.read_bytes()
    path = tmp_path / "cut.segsnap"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(SnapshotError, match="damaged or truncated"):
        read_manifest(path)


def test_foreign_files_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.segsnap"
    empty.write_bytes(b"")
    text = tmp_path / "text.segsnap"
    text.write_text("manifest.json workspace.sqlite\n")
    other = rezip(tmp_path / "other.zip", [("readme.txt", b"hi"), ("data.csv", b"a,b\n")])
    fake = rezip(tmp_path / "fake.zip", [(MANIFEST_NAME, b"{not json"), (CONTENT_NAME, b"x")])
    foreign = rezip(
        tmp_path / "foreign.zip",
        [(MANIFEST_NAME, json.dumps({"format": "other"}).encode()), (CONTENT_NAME, b"x")],
    )
    cases = {
        empty: "not a zip archive",
        text: "not a zip archive",
        other: "has no manifest.json",
        fake: "not JSON",
        foreign: "format is 'other'",
        tmp_path / "missing.segsnap": "does not exist",
    }
    for path, message in cases.items():
        with pytest.raises(SnapshotError, match=message):
            validate_snapshot(path)
        with pytest.raises(SnapshotError, match=message):
            restore_snapshot(path, tmp_path / "t.segscope")
        assert not (tmp_path / "t.segscope").exists()


def test_a_sqlite_workspace_is_not_a_snapshot(ws_path: Path, tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="not a zip archive"):
        restore_snapshot(ws_path, tmp_path / "t.segscope")


def test_altered_manifest_counts_are_rejected(snap: Path, tmp_path: Path) -> None:
    manifest, db = unpack(snap)
    manifest["tables"]["accounts"] += 1
    path = rezip(tmp_path / "x.segsnap", [(MANIFEST_NAME, json.dumps(manifest).encode()),
                                          (CONTENT_NAME, db)])  # fmt: skip
    with pytest.raises(SnapshotError, match=r"row counts do not match .*accounts: 10 rows"):
        validate_snapshot(path)
    before = listing(tmp_path)
    with pytest.raises(SnapshotError, match="row counts"):
        restore_snapshot(path, tmp_path / "t.segscope")
    assert listing(tmp_path) == before  # the temp file beside the target is gone too


def test_altered_content_with_a_matching_checksum_is_rejected(snap: Path, tmp_path: Path) -> None:
    """A forger who fixes the checksum and the counts still fails SQLite's integrity check."""
    _, db = unpack(snap)
    grown = tmp_path / "grown.sqlite"
    grown.write_bytes(db)
    conn = sqlite3.connect(grown)
    # rows (and their primary-key index) in a table of segscope's own
    conn.executemany(
        "INSERT INTO settings(key, value_json) VALUES (?, '1')",
        [(f"v{i:05d}",) for i in range(3000)],
    )
    conn.commit()
    conn.close()
    good = grown.read_bytes()
    page = 4096
    for p in range(len(good) // page - 1, 1, -1):  # the last page that, damaged, still counts
        bad = bytearray(good)
        bad[p * page + 2000 : p * page + 2008] = b"\x00" * 8
        trial = tmp_path / "trial.sqlite"
        trial.write_bytes(bytes(bad))
        conn = sqlite3.connect(trial)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            counts = {n: len(r) for n, r in tables(trial).items()}
        except sqlite3.DatabaseError:
            ok = True
        finally:
            conn.close()
        if not ok:
            break
    else:
        pytest.fail("no page found whose damage keeps the database readable")
    path = recrafted(snap, tmp_path / "forged.segsnap", bytes(bad), tables=counts)
    with pytest.raises(SnapshotError, match="integrity check"):
        validate_snapshot(path)
    with pytest.raises(SnapshotError, match="integrity check"):
        restore_snapshot(path, tmp_path / "t.segscope")
    assert not (tmp_path / "t.segscope").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # the same forgery without the damage passes: the check above was the integrity check
    good_counts = {n: len(r) for n, r in tables(grown).items()}
    assert validate_snapshot(recrafted(snap, tmp_path / "ok.segsnap", good, tables=good_counts))


def test_foreign_database_with_a_valid_manifest_is_rejected(snap: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE accounts(account_id TEXT)")
    conn.commit()
    conn.close()
    path = recrafted(snap, tmp_path / "f.segsnap", foreign.read_bytes())
    with pytest.raises(SnapshotError, match="not a segscope workspace"):
        validate_snapshot(path)
    path = recrafted(snap, tmp_path / "g.segsnap", b"not sqlite at all" * 10)
    with pytest.raises(SnapshotError, match="not SQLite"):
        validate_snapshot(path)


def test_newer_schema_is_a_clear_error(snap: Path, tmp_path: Path) -> None:
    manifest, db = unpack(snap)
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(db)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.commit()
    conn.close()
    path = recrafted(snap, tmp_path / "n.segsnap", newer.read_bytes(),
                     schema_version=LATEST_VERSION + 1)  # fmt: skip
    with pytest.raises(SnapshotSchemaTooNewError, match=f"schema version {LATEST_VERSION + 1}"):
        validate_snapshot(path)
    with pytest.raises(SnapshotSchemaTooNewError, match="upgrade segscope"):
        restore_snapshot(path, tmp_path / "t.segscope")
    assert not (tmp_path / "t.segscope").exists()
    future = dict(manifest, format_version=99)
    path = rezip(tmp_path / "f.segsnap", [(MANIFEST_NAME, json.dumps(future).encode()),
                                          (CONTENT_NAME, db)])  # fmt: skip
    with pytest.raises(SnapshotError, match="format 99"):
        read_manifest(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": "2"}, "schema_version"),
        ({"tables": {"accounts": -1}}, "tables"),
        ({"content": {"name": CONTENT_NAME, "size": 1, "sha256": "xyz"}}, "sha256"),
        ({"created": None}, "created"),
    ],
)
def test_malformed_manifests(snap: Path, tmp_path: Path, change: dict, message: str) -> None:
    manifest, db = unpack(snap)
    manifest.update(change)
    path = rezip(tmp_path / "m.segsnap", [(MANIFEST_NAME, json.dumps(manifest).encode()),
                                          (CONTENT_NAME, db)])  # fmt: skip
    with pytest.raises(SnapshotError, match=message):
        read_manifest(path)


# -- older schema ------------------------------------------------------------------


def test_older_schema_snapshot_is_migrated_on_restore(tmp_path: Path) -> None:
    old = tmp_path / "v1.segscope"
    conn = sqlite3.connect(old, isolation_level=None)
    assert migrate(conn, target=1) == 1
    conn.execute("BEGIN")
    conn.execute("INSERT INTO accounts(account_id, name, employees) VALUES ('A1', 'Acme', 12)")
    conn.execute("INSERT INTO transactions(account_id, date, amount) VALUES ('A1', 19000, 9.5)")
    conn.execute("INSERT INTO contacts(contact_id, account_id, name) VALUES ('C1', 'A1', 'Ann')")
    conn.execute("COMMIT")
    conn.close()
    before = tables(old)
    out = tmp_path / "v1.segsnap"
    assert export_snapshot(old, out).schema_version == 1
    target = tmp_path / "r.segscope"
    restore_snapshot(out, target)
    after = tables(target)
    # columns added by later migrations (transactions.orders) come last: compare the old ones
    assert {
        n: [row[: len(old_row)] for row, old_row in zip(after[n], before[n], strict=True)]
        for n in before
    } == before
    fresh = tmp_path / "fresh.segscope"
    Workspace.create(fresh).close()
    assert set(after) == set(tables(fresh))
    assert {"models", "runs", "assignments", "segments", "settings"} <= set(after) - set(before)
    with Workspace.open(target) as ws:
        assert ws.schema_version == LATEST_VERSION
        ws.save_model("m", "{}")  # the upgraded tables work
    # the restored file equals a workspace upgraded in place
    Workspace.open(old).close()
    assert schema_sql(target) == schema_sql(old)
    assert len(schema.MIGRATIONS) == LATEST_VERSION


# -- restore rules ------------------------------------------------------------------


def test_restore_refuses_an_existing_workspace_without_force(snap: Path, tmp_path: Path) -> None:
    target = build_workspace(tmp_path / "t.segscope")
    with Workspace.open(target) as ws:
        ws.save_model("only-in-target", "{}")
    before = target.read_bytes()
    with pytest.raises(SnapshotError, match="already exists"):
        restore_snapshot(snap, target)
    assert target.read_bytes() == before


def test_force_replaces_and_clears_stale_companions(snap: Path, tmp_path: Path) -> None:
    target = build_workspace(tmp_path / "t.segscope")
    with Workspace.open(target) as ws:
        ws.save_model("only-in-target", "{}")
    cache = tmp_path / "t.segscope.cache"
    cache.mkdir()
    (cache / "accounts-old.arrow").write_bytes(b"stale")
    Path(f"{target}-shm").write_bytes(b"stale shm")
    target.chmod(0o600)
    restore_snapshot(snap, target, force=True)
    assert not cache.exists()
    assert not Path(f"{target}-shm").exists() and not Path(f"{target}-wal").exists()
    _, db = unpack(snap)
    expected = tmp_path / "expected.sqlite"
    expected.write_bytes(db)
    assert tables(target) == tables(expected)
    assert target.stat().st_mode & 0o777 == 0o600  # the replaced file's mode is kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_force_refuses_non_workspaces_and_directories(snap: Path, tmp_path: Path) -> None:
    data = tmp_path / "customers.csv"
    data.write_text("id,name\n1,a\n")
    with pytest.raises(SnapshotError, match="not a segscope workspace; refusing"):
        restore_snapshot(snap, data, force=True)
    assert data.read_text() == "id,name\n1,a\n"
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(SnapshotError, match="is a directory"):
        restore_snapshot(snap, folder, force=True)
    with pytest.raises(SnapshotError, match="does not exist"):
        restore_snapshot(snap, tmp_path / "nowhere" / "t.segscope")
    with pytest.raises(SnapshotError, match="over itself"):
        restore_snapshot(snap, snap, force=True)


def test_force_refuses_a_workspace_another_process_has_open(snap: Path, tmp_path: Path) -> None:
    target = build_workspace(tmp_path / "t.segscope")
    holder = _python(HOLDING_WRITER, str(target))
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceBusyError):
            restore_snapshot(snap, target, force=True, busy_timeout=0.2)
    finally:
        holder.communicate(input="\n", timeout=10)
    assert holder.returncode == 0
    assert len(tables(target)["accounts"]) == 110  # the holder's rows: nothing was replaced
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_force_replaces_a_symlink_not_what_it_points_to(snap: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = build_workspace(elsewhere / "victim.segscope")
    victim_cache = elsewhere / "cache"
    victim_cache.mkdir()
    (victim_cache / "keep.arrow").write_bytes(b"keep")
    before = victim.read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    link = work / "t.segscope"
    link.symlink_to(victim)
    (work / "t.segscope.cache").symlink_to(victim_cache, target_is_directory=True)
    with pytest.raises(SnapshotError, match="already exists"):
        restore_snapshot(snap, link)
    restore_snapshot(snap, link, force=True)
    assert not link.is_symlink() and link.is_file()
    assert victim.read_bytes() == before
    assert (victim_cache / "keep.arrow").read_bytes() == b"keep"
    assert not (work / "t.segscope.cache").exists()
    dangling = work / "d.segscope"
    dangling.symlink_to(elsewhere / "missing.segscope")
    with pytest.raises(SnapshotError, match="already exists"):
        restore_snapshot(snap, dangling)
    assert not (elsewhere / "missing.segscope").exists()


def test_stale_wal_beside_a_new_target_is_refused_and_kept(snap: Path, tmp_path: Path) -> None:
    """Issue 11 (3): a -wal/-shm/-journal without its database is not ours to delete or replay."""
    target = tmp_path / "t.segscope"
    for suffix in ("-wal", "-shm", "-journal"):
        companion = Path(f"{target}{suffix}")
        companion.write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
        with pytest.raises(SnapshotError, match=f"t.segscope{suffix} exists without its database"):
            restore_snapshot(snap, target)
        assert not target.exists()
        assert companion.read_bytes().startswith(b"\x37\x7f")
        companion.unlink()
    restore_snapshot(snap, target)
    with Workspace.open(target) as ws:
        assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_restore_to_a_new_path_keeps_a_cache_folder_it_never_made(
    snap: Path, tmp_path: Path
) -> None:
    target = tmp_path / "t.segscope"
    cache = tmp_path / "t.segscope.cache"
    cache.mkdir()
    (cache / "mine.txt").write_text("not segscope's")
    restore_snapshot(snap, target)
    assert (cache / "mine.txt").read_text() == "not segscope's"


# -- zip-slip ------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_crafted_member_names_never_become_paths(snap: Path, tmp_path: Path) -> None:
    manifest, db = unpack(snap)
    manifest_bytes = json.dumps(manifest).encode()
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    crafted = {
        "only-evil": [("../evil", b"pwned"), ("../../evil2", b"pwned")],
        "valid-plus-evil": [
            (MANIFEST_NAME, manifest_bytes),
            (CONTENT_NAME, db),
            ("../evil", b"pwned"),
            (str(tmp_path / "abs_evil"), b"pwned"),
        ],
        "renamed-content": [(MANIFEST_NAME, manifest_bytes), ("../" + CONTENT_NAME, db)],
        "dir-content": [(MANIFEST_NAME, manifest_bytes), ("x/../" + CONTENT_NAME, db)],
        "backslash": [(MANIFEST_NAME, manifest_bytes), ("..\\" + CONTENT_NAME, db)],
        "duplicate": [(MANIFEST_NAME, manifest_bytes), (CONTENT_NAME, db), (CONTENT_NAME, db)],
    }
    holder = tmp_path / "zips"
    holder.mkdir()
    for n, (name, members) in enumerate(crafted.items()):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for member, data in members:
                info = zipfile.ZipInfo(member)  # ZipInfo keeps the name as given
                zf.writestr(info, data)
        path = holder / f"crafted{n}.segsnap"
        path.write_bytes(buf.getvalue())
        before = listing(tmp_path)
        for force in (False, True):
            with pytest.raises(SnapshotError, match="not a valid segscope snapshot|no manifest"):
                restore_snapshot(path, work / "t.segscope", force=force)
        with pytest.raises(SnapshotError):
            validate_snapshot(path)
        assert listing(tmp_path) == before, name
        assert not list(tmp_path.rglob("*evil*"))
        assert not (tmp_path / "a" / CONTENT_NAME).exists()
        assert not (Path.cwd().parent / "evil").exists()
    # the honest snapshot restores into the same place (so the refusals above were the names)
    restore_snapshot(snap, work / "t.segscope")
    assert listing(work) == {"t.segscope"}


def test_manifest_size_must_match_the_member(snap: Path, tmp_path: Path) -> None:
    """The content is never inflated beyond what the manifest promised (no zip bomb)."""
    manifest, db = unpack(snap)
    bigger = db + b"\x00" * (1 << 20)
    manifest["content"]["size"] = len(db)
    path = rezip(tmp_path / "b.segsnap", [(MANIFEST_NAME, json.dumps(manifest).encode()),
                                          (CONTENT_NAME, bigger)])  # fmt: skip
    with pytest.raises(SnapshotError, match="holds .* bytes, the manifest says"):
        read_manifest(path)


def test_application_id_constant_is_what_workspaces_carry(ws_path: Path) -> None:
    conn = sqlite3.connect(ws_path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


# -- I/O failures are errors a user can act on, never tracebacks -----------------------


class FullDisk(io.BytesIO):
    name = "/mnt/full/t.segscope"

    def write(self, data) -> int:
        raise OSError(28, "No space left on device")


def test_a_full_disk_is_not_called_a_damaged_snapshot(snap: Path) -> None:
    from storage.snapshot import _stream_content

    with pytest.raises(SnapshotError, match="cannot write /mnt/full/t.segscope: No space left"):
        _stream_content(snap, read_manifest(snap), FullDisk())


def test_unwritable_places_are_snapshot_errors(
    ws_path: Path, snap: Path, tmp_path: Path, monkeypatch
) -> None:
    import storage.tempfiles as module  # where the snapshot's temporaries are made

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(module.tempfile, "mkdtemp", denied)
    monkeypatch.setattr(module.tempfile, "mkstemp", denied)
    with pytest.raises(SnapshotError, match=r"cannot write the snapshot .*: Permission denied"):
        export_snapshot(ws_path, tmp_path / "x.segsnap")
    with pytest.raises(SnapshotError, match=r"cannot restore to .*: Permission denied"):
        restore_snapshot(snap, tmp_path / "t.segscope")
    assert not (tmp_path / "x.segsnap").exists() and not (tmp_path / "t.segscope").exists()


def test_progress_reports_each_step(ws_path: Path, tmp_path: Path) -> None:
    steps: list[str] = []
    export_snapshot(ws_path, tmp_path / "s.segsnap", progress=steps.append)
    assert [s.split()[0] for s in steps] == ["copying", "counting", "writing"]
    steps.clear()
    restore_snapshot(tmp_path / "s.segsnap", tmp_path / "r.segscope", progress=steps.append)
    assert [s.split()[0] for s in steps] == ["checking", "extracting"]
