"""Issue 11: hostile snapshots and damaged rows give one line, never a traceback.

The property test builds small workspaces from generated rows, exports them,
mutates the archive (truncation, byte flips, manifest edits, added members, a
trigger or view or an out-of-range value injected with the checksum and the
counts recomputed), and restores: each restore either gives a workspace equal
to the source or is refused with ``SnapshotError``/``WorkspaceError``, and on
refusal the target and its folder are exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import SegscopeError
from storage.errors import WorkspaceError
from storage.snapshot import (
    CONTENT_NAME,
    MANIFEST_NAME,
    SnapshotError,
    export_snapshot,
    read_manifest,
    restore_snapshot,
)
from storage.workspace import Workspace
from tui.cli import main

# -- helpers -------------------------------------------------------------------------


def dump(path: Path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'meta'"
            )
        ]
        return {n: sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"'))) for n in names}
    finally:
        conn.close()


def unpack(snapshot: Path) -> tuple[dict, bytes]:
    with zipfile.ZipFile(snapshot) as zf:
        return json.loads(zf.read(MANIFEST_NAME)), zf.read(CONTENT_NAME)


def repack(out: Path, manifest: dict | bytes, db: bytes, extra=()) -> Path:
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST_NAME, raw)
        zf.writestr(CONTENT_NAME, db)
        for name, data in extra:
            zf.writestr(name, data)
    return out


def recrafted(snapshot: Path, out: Path, sql: str, params: tuple = ()) -> Path:
    """``snapshot`` with ``sql`` run on its database; checksum and counts made to match."""
    manifest, db = unpack(snapshot)
    work = out.with_suffix(".sqlite")
    work.write_bytes(db)
    conn = sqlite3.connect(work, isolation_level=None)
    if params:
        conn.execute(sql, params)
    else:
        conn.executescript(sql)
    manifest["tables"] = {
        n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
        for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    conn.close()
    db = work.read_bytes()
    work.unlink()
    manifest["content"].update(size=len(db), sha256=hashlib.sha256(db).hexdigest())
    return repack(out, manifest, db)


def build(path: Path, accounts: list[str], amounts: list[float], model: str) -> Path:
    with Workspace.create(path, cache=False) as ws:
        with ws.write() as db:
            db.conn.executemany(
                "INSERT INTO accounts(account_id, name) VALUES (?, ?)",
                [(a, f"name {a}") for a in accounts],
            )
            db.conn.executemany(
                "INSERT INTO transactions(account_id, date, amount) VALUES (?, ?, ?)",
                [(accounts[i % len(accounts)], 19000 + i, x) for i, x in enumerate(amounts)],
            )
        ws.save_model("m", json.dumps({"name": model}))
    return path


# -- the property ----------------------------------------------------------------------

MUTATIONS = [
    "none",
    "truncate",
    "flip",
    "flip-headers",
    "manifest-edit",
    "manifest-drop",
    "add-member",
    "trigger",
    "view",
    "amount",
    "bad-json",
    "deep-manifest",
]

ids = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    accounts=st.lists(ids, min_size=1, max_size=5, unique=True),
    amounts=st.lists(
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
        max_size=6,
    ),
    model=st.text(max_size=10),
    mutation=st.sampled_from(MUTATIONS),
    where=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    byte=st.integers(min_value=1, max_value=255),
    key=st.sampled_from(
        ["format", "format_version", "schema_version", "created", "source", "tables", "content"]
    ),
    value=json_values,
    existing=st.booleans(),
)
def test_restore_gives_the_same_workspace_or_one_clean_refusal(
    accounts, amounts, model, mutation, where, byte, key, value, existing
) -> None:
    with tempfile.TemporaryDirectory(prefix="segscope-test-") as tmp:
        tmp = Path(tmp)
        source = build(tmp / "src.segscope", accounts, amounts, model)
        snap = tmp / "s.segsnap"
        export_snapshot(source, snap)
        data = snap.read_bytes()
        bad = tmp / "bad.segsnap"
        if mutation == "none":
            bad.write_bytes(data)
        elif mutation == "truncate":
            bad.write_bytes(data[: int(len(data) * where)])
        elif mutation == "flip":
            i = int(len(data) * where)
            bad.write_bytes(data[:i] + bytes([data[i] ^ byte]) + data[i + 1 :])
        elif mutation == "flip-headers":
            # the central directory and the headers: method, flags, versions, sizes
            i = len(data) - 1 - int(min(len(data), 250) * where)
            bad.write_bytes(data[:i] + bytes([data[i] ^ byte]) + data[i + 1 :])
        elif mutation in ("manifest-edit", "manifest-drop"):
            manifest, db = unpack(snap)
            if mutation == "manifest-edit":
                manifest[key] = value
            else:
                manifest.pop(key)
            repack(bad, manifest, db)
        elif mutation == "add-member":
            manifest, db = unpack(snap)
            repack(bad, manifest, db, extra=[(f"../x{byte}", b"pwned")])
        elif mutation == "trigger":
            recrafted(
                snap,
                bad,
                "CREATE TRIGGER t AFTER INSERT ON transactions BEGIN"
                " UPDATE transactions SET amount = amount * 100 WHERE id = new.id; END",
            )
        elif mutation == "view":
            recrafted(snap, bad, "CREATE VIEW v AS SELECT * FROM accounts")
        elif mutation == "amount":
            recrafted(
                snap, bad, "INSERT INTO transactions(account_id, date, amount) VALUES ('x', 1, ?)",
                (1e9 * (1 + where) + byte,),
            )  # fmt: skip
        elif mutation == "bad-json":
            recrafted(snap, bad, "UPDATE models SET spec_json = ?", ("{" * byte,))
        else:  # deep-manifest
            manifest, db = unpack(snap)
            raw = json.dumps(manifest).encode()
            deep = b"[" * (byte * 50) + b"]" * (byte * 50)
            repack(bad, raw[:-1] + b', "x": ' + deep + b"}", db)
        target = tmp / "out" / "t.segscope"
        target.parent.mkdir()
        if existing:
            build(target, ["KEEP"], [1.0], "keep")
        before = (target.read_bytes() if existing else None, sorted(target.parent.iterdir()))
        try:
            restore_snapshot(bad, target, force=existing)
        except (SnapshotError, WorkspaceError) as exc:
            assert "\n" not in str(exc)
            assert mutation != "none", exc
            after = (target.read_bytes() if existing else None, sorted(target.parent.iterdir()))
            assert after == before
            if not existing:
                assert not target.exists()
            return
        assert mutation in (
            "none",
            "flip",
            "flip-headers",
            "truncate",
            "manifest-edit",
            "manifest-drop",
        )
        assert dump(target) == dump(source)


# -- manifests and rows ------------------------------------------------------------------


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    source = build(tmp_path / "w.segscope", ["A1", "A2"], [10.0, 20.0], "x")
    out = tmp_path / "w.segsnap"
    export_snapshot(source, out)
    return out


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("source", "\x1b[31mred\x1b[0m.segscope"),
        ("created", "2026\x07"),
        ("segscope_version", "1.0\r\n"),
        ("workspace_id", "\x1b]0;title\x07"),
        ("tables", {"accounts\x1b[2J": 1}),
    ],
)
def test_escape_sequences_in_a_manifest_are_refused(
    snap: Path, tmp_path: Path, key, value, capsys
) -> None:
    manifest, db = unpack(snap)
    manifest[key] = value
    bad = repack(tmp_path / "esc.segsnap", manifest, db)
    with pytest.raises(SnapshotError, match="control characters"):
        read_manifest(bad)
    for args in (
        ["snapshot", "info", str(bad)],
        ["snapshot", "restore", str(bad), str(tmp_path / "r")],
    ):
        assert main(args) == 1
        out, err = capsys.readouterr()
        assert "\x1b" not in out + err and "\x07" not in out + err
        assert err.count("\n") == 1


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
def test_a_deeply_nested_manifest_is_one_line(
    snap: Path, tmp_path: Path, depth: int, capsys
) -> None:
    manifest, db = unpack(snap)
    raw = json.dumps(manifest).encode()
    bad = repack(
        tmp_path / "deep.segsnap", raw[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}", db
    )
    assert main(["snapshot", "info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_diff_shows_keys_with_escapes_escaped(tmp_path: Path, capsys) -> None:
    a = build(tmp_path / "a.segscope", ["A1"], [1.0], "x")
    b = build(tmp_path / "b.segscope", ["A1"], [1.0], "x")
    conn = sqlite3.connect(b)  # a name from data, as an import could bring it
    conn.execute("INSERT INTO models VALUES (?, '{}', 't0', 't0')", ("\x1b[31mEVIL",))
    conn.commit()
    conn.close()
    assert main(["snapshot", "diff", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[31mEVIL" in out


@pytest.mark.parametrize(
    ("sql", "args"),
    [
        ("UPDATE edits SET key_json = '{bad'", ["undo"]),
        ("UPDATE edits SET key_json = '{bad'", ["undo", "--list"]),
        ("UPDATE edits SET before_json = '[[' ", ["undo"]),
        ("UPDATE edits SET key_json = '[1]'", ["undo"]),
        ("UPDATE edits SET key_json = '{\"parts\": 5}'", ["undo"]),
        ("UPDATE models SET spec_json = '{bad'", ["models"]),
        ("UPDATE models SET spec_json = '{bad'", ["models", "--json"]),
        ("UPDATE models SET spec_json = '" + "[" * 3000 + "'", ["models"]),
    ],
)
def test_damaged_model_and_edit_rows_are_one_line(tmp_path: Path, capsys, sql, args) -> None:
    ws = build(tmp_path / "w.segscope", ["A1"], [1.0], "x")
    conn = sqlite3.connect(ws)
    conn.execute(sql)
    conn.commit()
    conn.close()
    before = dump(ws)
    code = main([args[0], str(ws), *args[1:]])
    err = capsys.readouterr().err
    assert code == 1
    assert "is damaged" in err and err.count("\n") == 1 and "Traceback" not in err
    assert dump(ws) == before


def test_a_deeply_nested_model_is_refused_when_saved(tmp_path: Path) -> None:
    ws_path = build(tmp_path / "w.segscope", ["A1"], [1.0], "x")
    with Workspace.open(ws_path) as ws:
        for text in ("[" * 100 + "]" * 100, "[" * 100_000 + "]" * 100_000):
            with pytest.raises(SegscopeError, match="nests"):
                ws.save_model("deep", text)
