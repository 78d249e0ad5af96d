"""What changed between two snapshots, or a snapshot and a workspace.

Both sides are copied to a private temporary directory (a snapshot is
validated and extracted; a live workspace is copied with the backup API, so a
TUI writing meanwhile does not matter), upgraded to the latest schema so old
and new compare like with like, and compared in SQL with one side ATTACHed.

Every table of either side is compared (tables added by later migrations
included): rows are matched by primary key where the table has one (for a
table without one, as a multiset of whole rows, so only added/removed are
counted). Columns present on one side only are reported and left out of the
row comparison. For the small tables (models, segment annotations, runs,
settings, personas, plans, ... everything except the bulk data tables) the
keys of added, removed and changed rows are listed too, with the changed
columns. ``created_at``/``updated_at`` alone never make a row "changed".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import tempfiles
from storage.snapshot import (
    SnapshotError,
    _migrate,
    _user_tables,
    materialize,
    quote,
)
from storage.workspace import DEFAULT_BUSY_TIMEOUT

# Tables whose keys are not listed one by one (imported data, run rows, the undo log).
BULK_TABLES = frozenset(
    {"accounts", "transactions", "contacts", "activities", "assignments", "rejected_rows",
     "edits"}
)
# How many keys per category a detail lists (counts are always complete).
MAX_KEYS = 50
# Timestamps that change on every save: a model re-saved with the same spec (a plan
# with the same fields) did not change.
IGNORED_FOR_CHANGE = frozenset({"created_at", "updated_at"})
TITLES = {
    "models": "Models",
    "segments": "Segment annotations",
    "runs": "Runs",
    "personas": "Personas",
    "plans": "Game plans",
    "kpis": "KPIs",
}


@dataclass(frozen=True)
class TableDiff:
    """Rows of one table in A and B, and how many were added, removed or changed."""

    name: str
    rows_a: int | None  # None: the table does not exist on that side
    rows_b: int | None
    added: int
    removed: int
    changed: int
    key: tuple[str, ...] | None  # primary key columns; None: compared as whole rows
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()

    @property
    def is_same(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.columns_added
            or self.columns_removed
            or self.rows_a is None
            or self.rows_b is None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.name, "rows_a": self.rows_a, "rows_b": self.rows_b,
            "added": self.added, "removed": self.removed, "changed": self.changed,
            "key": list(self.key) if self.key else None,
            "columns_added": list(self.columns_added),
            "columns_removed": list(self.columns_removed),
        }  # fmt: skip


@dataclass(frozen=True)
class RowChanges:
    """Keys (joined with "/") of one table's added, removed and changed rows (first MAX_KEYS)."""

    table: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (key, changed columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [{"key": k, "columns": list(c)} for k, c in self.changed],
        }


@dataclass(frozen=True)
class SnapshotDiff:
    """The difference B - A."""

    a: dict[str, Any]
    b: dict[str, Any]
    tables: tuple[TableDiff, ...]
    details: dict[str, RowChanges] = field(default_factory=dict)

    def table(self, name: str) -> TableDiff:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def models(self) -> RowChanges:
        return self.details.get("models", RowChanges("models"))

    @property
    def segments(self) -> RowChanges:
        return self.details.get("segments", RowChanges("segments"))

    @property
    def is_empty(self) -> bool:
        return all(t.is_same for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "identical": self.is_empty,
            "tables": [t.to_dict() for t in self.tables],
            "details": {k: v.to_dict() for k, v in sorted(self.details.items())},
        }


def diff_snapshots(
    a: str | Path, b: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
) -> SnapshotDiff:
    """Compare two snapshots (or workspaces, or one of each): what B has that A had not."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    with tempfiles.system_work_dir("segscope-diff") as tmp:
        db_a, db_b = Path(tmp) / "a.sqlite", Path(tmp) / "b.sqlite"
        info_a = {"path": str(a), **materialize(a, db_a, busy_timeout)}
        info_b = {"path": str(b), **materialize(b, db_b, busy_timeout)}
        _migrate(db_a, a)
        _migrate(db_b, b)
        conn = sqlite3.connect(str(db_a), isolation_level=None)
        try:
            conn.execute("ATTACH DATABASE ? AS b", (str(db_b),))
            tables, details = _compare(conn)
        except sqlite3.Error as exc:
            raise SnapshotError(f"cannot compare {a} and {b}: {exc}") from None
        finally:
            conn.close()
    return SnapshotDiff(a=info_a, b=info_b, tables=tuple(tables), details=details)


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[tuple[str, int]]:
    """``(name, pk position)`` of each column (pk 0: not part of the primary key)."""
    rows = conn.execute(f"PRAGMA {schema}.table_info({quote(table)})").fetchall()
    return [(r[1], int(r[5])) for r in rows]


def _compare(conn: sqlite3.Connection) -> tuple[list[TableDiff], dict[str, RowChanges]]:
    in_a, in_b = set(_user_tables(conn, "main")), set(_user_tables(conn, "b"))
    tables: list[TableDiff] = []
    details: dict[str, RowChanges] = {}
    for name in sorted(in_a | in_b):
        t = quote(name)
        if name not in in_b or name not in in_a:
            schema = "main" if name in in_a else "b"
            rows = int(conn.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0])
            tables.append(TableDiff(
                name, rows if name in in_a else None, rows if name in in_b else None,
                added=0 if name in in_a else rows, removed=rows if name in in_a else 0,
                changed=0, key=None,
            ))  # fmt: skip
            continue
        cols_a, cols_b = _columns(conn, "main", name), _columns(conn, "b", name)
        names_a, names_b = [c for c, _ in cols_a], [c for c, _ in cols_b]
        common = [c for c in names_a if c in names_b]
        key_a = tuple(c for c, pk in sorted((c for c in cols_a if c[1]), key=lambda c: c[1]))
        key_b = tuple(c for c, pk in sorted((c for c in cols_b if c[1]), key=lambda c: c[1]))
        key = key_a if key_a and key_a == key_b else None
        rows_a = int(conn.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0])
        rows_b = int(conn.execute(f"SELECT count(*) FROM b.{t}").fetchone()[0])
        if key:
            added, removed, changed = _keyed_counts(conn, name, key, common)
        else:
            added, removed = _multiset_counts(conn, name, common)
            changed = 0
        tables.append(TableDiff(
            name, rows_a, rows_b, added, removed, changed, key,
            columns_added=tuple(c for c in names_b if c not in names_a),
            columns_removed=tuple(c for c in names_a if c not in names_b),
        ))  # fmt: skip
        if key and name not in BULK_TABLES and (added or removed or changed):
            details[name] = _keyed_rows(conn, name, key, common)
    return tables, details


def _on(key: tuple[str, ...]) -> str:
    return " AND ".join(f"x.{quote(k)} IS y.{quote(k)}" for k in key)


def _differs(cols: list[str]) -> str:
    if not cols:
        return "0"
    return " OR ".join(f"x.{quote(c)} IS NOT y.{quote(c)}" for c in cols)


def _value_columns(table: str, key: tuple[str, ...], common: list[str]) -> list[str]:
    return [c for c in common if c not in key and c not in IGNORED_FOR_CHANGE]


def _keyed_counts(
    conn: sqlite3.Connection, table: str, key: tuple[str, ...], common: list[str]
) -> tuple[int, int, int]:
    t = quote(table)
    not_in = (
        "SELECT count(*) FROM {s}.{t} AS x WHERE NOT EXISTS (SELECT 1 FROM {o}.{t} AS y WHERE {on})"
    )
    added = conn.execute(not_in.format(s="b", o="main", t=t, on=_on(key))).fetchone()[0]
    removed = conn.execute(not_in.format(s="main", o="b", t=t, on=_on(key))).fetchone()[0]
    changed = conn.execute(
        f"SELECT count(*) FROM main.{t} AS x JOIN b.{t} AS y ON {_on(key)}"
        f" WHERE {_differs(_value_columns(table, key, common))}"
    ).fetchone()[0]
    return int(added), int(removed), int(changed)


def _multiset_counts(conn: sqlite3.Connection, table: str, common: list[str]) -> tuple[int, int]:
    t = quote(table)
    cols = ", ".join(quote(c) for c in common) or "1"
    # GROUP BY treats NULLs as equal, which is what "the same row" means here.
    row = conn.execute(
        f"SELECT coalesce(sum(max(nb - na, 0)), 0), coalesce(sum(max(na - nb, 0)), 0) FROM ("
        f" SELECT sum(side = 'a') AS na, sum(side = 'b') AS nb FROM ("
        f"  SELECT {cols}, 'a' AS side FROM main.{t} UNION ALL SELECT {cols}, 'b' FROM b.{t}"
        f" ) GROUP BY {cols})"
    ).fetchone()
    return int(row[0]), int(row[1])


def _key_text(values: tuple[Any, ...]) -> str:
    # keys are data: control characters (terminal escapes) are shown escaped, never raw
    return "/".join("" if v is None else _safe(str(v)) for v in values)


def _safe(text: str) -> str:
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _keyed_rows(
    conn: sqlite3.Connection, table: str, key: tuple[str, ...], common: list[str]
) -> RowChanges:
    t = quote(table)
    kx = ", ".join(f"x.{quote(k)}" for k in key)
    not_in = (
        "SELECT {kx} FROM {s}.{t} AS x WHERE NOT EXISTS"
        " (SELECT 1 FROM {o}.{t} AS y WHERE {on}) ORDER BY {kx} LIMIT {n}"
    )
    added = conn.execute(not_in.format(kx=kx, s="b", o="main", t=t, on=_on(key), n=MAX_KEYS))
    added_keys = tuple(_key_text(r) for r in added.fetchall())
    removed = conn.execute(not_in.format(kx=kx, s="main", o="b", t=t, on=_on(key), n=MAX_KEYS))
    removed_keys = tuple(_key_text(r) for r in removed.fetchall())
    values = _value_columns(table, key, common)
    changed: list[tuple[str, tuple[str, ...]]] = []
    if values:
        flags = ", ".join(f"x.{quote(c)} IS NOT y.{quote(c)}" for c in values)
        rows = conn.execute(
            f"SELECT {kx}, {flags} FROM main.{t} AS x JOIN b.{t} AS y ON {_on(key)}"
            f" WHERE {_differs(values)} ORDER BY {kx} LIMIT {MAX_KEYS}"
        ).fetchall()
        for r in rows:
            cols = tuple(c for c, flag in zip(values, r[len(key) :], strict=True) if flag)
            changed.append((_key_text(r[: len(key)]), cols))
    return RowChanges(table, added_keys, removed_keys, tuple(changed))


def format_diff(diff: SnapshotDiff) -> str:
    """The diff as text: one line per table, then the listed keys of the small tables."""

    def side(label: str, info: dict[str, Any]) -> str:
        text = f"{label}: {info['path']} ({info['kind']}, schema {info['schema_version']}"
        manifest = info.get("manifest")
        if manifest:
            text += f", created {manifest['created']}"
        return text + ")"

    lines = [side("A", diff.a), side("B", diff.b)]
    if diff.is_empty:
        lines.append("No differences.")
        return "\n".join(lines)
    rows = [("table", "rows A", "rows B", "added", "removed", "changed")]
    for t in diff.tables:
        rows.append((
            t.name, "-" if t.rows_a is None else f"{t.rows_a:,}",
            "-" if t.rows_b is None else f"{t.rows_b:,}",
            f"+{t.added:,}", f"-{t.removed:,}", f"~{t.changed:,}" if t.key else "",
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines.append("")
    for r in rows:
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    for t in diff.tables:
        notes = []
        if t.rows_a is None:
            notes.append("only in B")
        if t.rows_b is None:
            notes.append("only in A")
        if t.columns_added:
            notes.append("columns added: " + ", ".join(t.columns_added))
        if t.columns_removed:
            notes.append("columns removed: " + ", ".join(t.columns_removed))
        if notes:
            lines.append(f"  {t.name}: " + "; ".join(notes))
    order = [n for n in TITLES if n in diff.details]
    order += sorted(n for n in diff.details if n not in TITLES)
    for name in order:
        d = diff.details[name]
        lines.append("")
        lines.append(f"{TITLES.get(name, name.capitalize())}:")
        if d.added:
            lines.append("  added: " + ", ".join(d.added))
        if d.removed:
            lines.append("  removed: " + ", ".join(d.removed))
        for k, cols in d.changed:
            lines.append(f"  changed: {k} ({', '.join(cols)})")
        total = diff.table(name)
        listed = (len(d.added), len(d.removed), len(d.changed))
        if listed != (total.added, total.removed, total.changed):
            lines.append(f"  (first {MAX_KEYS} of each listed)")
    return "\n".join(lines)
