"""Is this database exactly a segscope workspace? Schema, JSON and value-range checks.

A workspace file can come from anywhere (a snapshot from a colleague, a file
edited with the sqlite3 shell), and SQLite runs whatever triggers and views the
file carries. So a workspace is checked before segscope trusts it:

- ``check_schema`` (every open and every restore; a few milliseconds): the
  objects in ``sqlite_master`` are exactly those the migrations create for the
  file's schema version, with the same SQL text; the only allowed difference is
  the attribute columns an import adds to ``accounts`` (each listed in
  ``account_attributes`` with its type). No triggers, no views, no other
  tables or indexes. The expected schema is not written down here: it is
  built by running the migrations on an in-memory database, so a new
  migration is picked up without touching this module.
- ``check_contents`` (restore and ``snapshot info --verify``; one scan of the
  tables): JSON columns parse, with a bounded nesting depth; amounts,
  quantities, unit prices and margins are finite numbers within the bounds of
  ``storage/limits.py``; transaction dates are days in the years the importer
  accepts (1900-2199).

Both raise ``WorkspaceError`` with one line naming the file and the first
problem; they only read.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from datetime import date
from pathlib import Path

from storage.errors import WorkspaceError
from storage.limits import MAX_ABS_AMOUNT, MAX_ABS_QUANTITY, MAX_ABS_UNIT_PRICE

# JSON written by segscope nests a few levels (a model spec: model > dimensions >
# levels > condition); anything deeper is not ours and could exhaust the
# parser's recursion.
MAX_JSON_DEPTH = 32

# (table, column) pairs holding JSON text; NULL is allowed where the column allows it.
JSON_COLUMNS: tuple[tuple[str, str], ...] = (
    ("imports", "mapping_json"),
    ("rejected_rows", "raw_json"),
    ("models", "spec_json"),
    ("runs", "spec_json"),
    ("segments", "scores_json"),
    ("settings", "value_json"),
    ("personas", "business_json"),
    ("personas", "people_json"),
    ("personas", "drafted_fields_json"),
    ("personas", "draft_basis_json"),
    ("edits", "key_json"),
    ("edits", "before_json"),
    ("edits", "after_json"),
    ("fits", "params_json"),
    ("fits", "report_json"),
)

# (table, column, bound): finite numbers, |value| <= bound (NULL where the schema allows).
BOUNDED_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("transactions", "amount", MAX_ABS_AMOUNT),
    ("transactions", "margin", MAX_ABS_AMOUNT),
    ("transactions", "quantity", MAX_ABS_QUANTITY),
    ("transactions", "unit_price", MAX_ABS_UNIT_PRICE),
)

# Statistics that ANALYZE (or PRAGMA optimize, e.g. from the sqlite3 shell) keeps
# for the query planner: SQLite's own, never read or run by segscope's code.
PLANNER_TABLES = frozenset({"sqlite_stat1", "sqlite_stat4"})

EPOCH = date(1970, 1, 1)
MIN_DAY = (date(1900, 1, 1) - EPOCH).days
MAX_DAY = (date(2199, 12, 31) - EPOCH).days


@functools.cache
def expected_schema(version: int) -> dict[str, tuple[str, str, str | None]]:
    """``name -> (type, tbl_name, sql)`` of what the migrations create up to ``version``."""
    from storage.schema import migrate

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, target=version)
        return _objects(conn)
    finally:
        conn.close()


def _objects(conn: sqlite3.Connection) -> dict[str, tuple[str, str, str | None]]:
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master").fetchall()
    return {name: (kind, tbl, sql) for kind, name, tbl, sql in rows}


def _printable(name: str) -> str:
    return repr(name) if not name.isprintable() else name


def check_schema(conn: sqlite3.Connection, where: str | Path) -> None:
    """Refuse a database whose objects differ from the migrations' (``WorkspaceError``).

    Call on a database that carries the segscope marker, before anything else
    reads or writes it: reading ``sqlite_master`` runs no trigger.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:
        return  # an empty database: the migrations build it from nothing
    expected = expected_schema(version)
    actual = _objects(conn)

    def bad(what: str) -> WorkspaceError:
        return WorkspaceError(f"{where} is not a sound segscope workspace: {what}")

    for name, (kind, _tbl, _sql) in sorted(actual.items()):
        if name not in expected and name not in PLANNER_TABLES:
            if kind in ("trigger", "view"):
                raise bad(
                    f"it contains a {kind} ({_printable(name)}), which segscope never creates"
                )
            raise bad(f"it contains an unknown {kind} ({_printable(name)})")
    for name, (kind, tbl, sql) in sorted(expected.items()):
        if name not in actual:
            raise bad(f"the {kind} {name} is missing")
        a_kind, a_tbl, a_sql = actual[name]
        if (a_kind, a_tbl) != (kind, tbl):
            raise bad(f"{name} is a {a_kind} on {a_tbl}, expected a {kind} on {tbl}")
        if name == "accounts":
            _check_accounts(conn, version, bad)
        elif a_sql != sql:
            raise bad(f"the definition of the {kind} {name} differs from segscope's")


def _table_info(conn: sqlite3.Connection, table: str) -> list[tuple]:
    return [tuple(r[1:]) for r in conn.execute(f'PRAGMA main.table_info("{table}")')]


@functools.cache
def _expected_accounts(version: int) -> list[tuple]:
    from storage.schema import migrate

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, target=version)
        return _table_info(conn, "accounts")
    finally:
        conn.close()


def _check_accounts(conn: sqlite3.Connection, version: int, bad) -> None:
    """accounts = the migrations' columns, then the imported attributes, in that order."""
    base = _expected_accounts(version)
    actual = _table_info(conn, "accounts")
    if actual[: len(base)] != base:
        raise bad("the columns of the table accounts differ from segscope's")
    attributes = dict(conn.execute("SELECT name, dtype FROM account_attributes").fetchall())
    for name, decl, notnull, default, pk in actual[len(base) :]:
        if attributes.get(name) not in ("TEXT", "REAL") or decl not in ("TEXT", "REAL"):
            raise bad(
                f"the column {_printable(str(name))} of accounts is not an imported attribute"
            )
        if notnull or default is not None or pk:
            raise bad(f"the attribute column {_printable(str(name))} of accounts has constraints")


def json_depth_ok(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def parse_json(text: object, what: str) -> object:
    """``text`` decoded as JSON of bounded depth, or ``WorkspaceError`` naming ``what``."""
    if not isinstance(text, str | bytes):
        raise WorkspaceError(f"{what} is not JSON text")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise WorkspaceError(f"{what} is not valid JSON") from None
    if not json_depth_ok(value, MAX_JSON_DEPTH):
        raise WorkspaceError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def check_contents(conn: sqlite3.Connection, where: str | Path) -> None:
    """Refuse bad JSON, out-of-range numbers and dates (``WorkspaceError``); reads only.

    Call after ``check_schema`` (it relies on the tables being segscope's).
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, column in JSON_COLUMNS:
        if table not in tables:
            continue
        # json_valid in SQLite first: one C pass, cheap on large tables.
        row = conn.execute(
            f"SELECT rowid FROM {table} WHERE {column} IS NOT NULL AND NOT json_valid({column})"
            " LIMIT 1"
        ).fetchone()
        if row is not None:
            raise WorkspaceError(
                f"{where} is not a sound segscope workspace: {table}.{column} of row {row[0]}"
                " is not valid JSON"
            )
        for rowid, text in conn.execute(
            f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL"
        ):
            parse_json(text, f"{where}: {table}.{column} of row {rowid}")
    if "transactions" in tables:
        _check_transactions(conn, where)


def _out_of_range(column: str) -> str:
    not_a_number = f"typeof({column}) NOT IN ('integer', 'real')"
    return f"({column} IS NOT NULL AND ({not_a_number} OR NOT abs({column}) <= ?))"


BAD_DATE = "(typeof(date) != 'integer' OR date < ? OR date > ?)"


def _check_transactions(conn: sqlite3.Connection, where: str | Path) -> None:
    """One scan of the (possibly 20M-row) table finds the first bad line; then say what is bad."""
    conditions = [_out_of_range(column) for _t, column, _b in BOUNDED_COLUMNS] + [BAD_DATE]
    params = [bound for _t, _c, bound in BOUNDED_COLUMNS] + [MIN_DAY, MAX_DAY]
    columns = ", ".join(column for _t, column, _b in BOUNDED_COLUMNS)
    row = conn.execute(
        f"SELECT id, {columns}, date FROM transactions WHERE {' OR '.join(conditions)} LIMIT 1",
        params,
    ).fetchone()
    if row is None:
        return
    line, *values, day = row
    for (_t, column, bound), value in zip(BOUNDED_COLUMNS, values, strict=True):
        if value is not None and (not isinstance(value, int | float) or not abs(value) <= bound):
            raise WorkspaceError(
                f"{where} is not a sound segscope workspace: transactions.{column} of row {line}"
                f" is {value!r}, outside the bound of {bound:,.0f}"
            )
    raise WorkspaceError(
        f"{where} is not a sound segscope workspace: transactions.date of row {line}"
        f" is {day!r}, not a day in 1900-2199"
    )
