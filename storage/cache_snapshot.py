"""Write Arrow IPC snapshots of workspace tables, in a child process.

Why a child process: the ADBC SQLite driver links its own copy of SQLite, and
Python's ``sqlite3`` uses the system one. Two SQLite copies in one process
break each other's POSIX locks (closing one copy's file descriptor drops the
other's locks; see "How To Corrupt An SQLite Database File", section 2.2.1),
which shows up as "disk I/O error" and can let a checkpoint overwrite pages a
reader still needs. Between processes the locks work as designed, so the fast
ADBC reader runs here, in its own process, and hands its result back as files.

The child opens one read transaction, reads the data version and every
requested table in it (one consistent snapshot), streams each result into an
LZ4-compressed Arrow IPC file and prints ``{"version": ..., "files": {...}}``
as JSON on stdout; the request is a JSON argument (``path``, ``kinds``,
``files``). It imports only the ADBC driver and pyarrow (no polars) so
it starts quickly.

ADBC infers a column's Arrow type from the first batch of rows, so a column
that starts with NULLs and holds numbers later fails; every query therefore
starts with one typed sentinel row (the reader drops row 0) and CASTs each
column to its stored type.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from storage.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, TRANSACTION_COLUMNS

# Column kinds: how SQLite values are read (DATE = INTEGER days since 1970,
# BOOL = INTEGER 0/1, cast to Arrow date32 / bool here so the files are canonical).
SENTINEL = {"TEXT": "''", "REAL": "0.5", "INTEGER": "0", "DATE": "0", "BOOL": "0"}
SQL_TYPE = {
    "TEXT": "TEXT",
    "REAL": "REAL",
    "INTEGER": "INTEGER",
    "DATE": "INTEGER",
    "BOOL": "INTEGER",
}
# Batches of 256k rows: few chunks in the loaded frames (no rechunk needed),
# yet small enough for the casts and LZ4 to stay in cache.
BATCH_ROWS = 1 << 18

DATA_VERSION_SQL = (
    "SELECT (SELECT value FROM meta WHERE key = 'workspace_id'),"
    " (SELECT value FROM meta WHERE key = 'data_version'),"
    " (SELECT coalesce(max(rowid), 0) FROM accounts),"
    " (SELECT coalesce(max(rowid), 0) FROM transactions),"
    " (SELECT coalesce(max(rowid), 0) FROM contacts)"
)

IS_CUSTOMER_SQL = (
    "CASE WHEN a.is_customer IS NOT NULL THEN a.is_customer != 0 ELSE"
    " EXISTS (SELECT 1 FROM transactions t WHERE t.account_id = a.account_id) END"
)


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def storage_type(declared: str) -> str:
    """TEXT, REAL or INTEGER: how a column of this declared type is read."""
    declared = (declared.split() or ["TEXT"])[0].upper()
    if "INT" in declared:
        return "INTEGER"
    if "REAL" in declared or "FLOA" in declared or "DOUB" in declared:
        return "REAL"
    return "TEXT"


def typed_select(columns: list[tuple[str, str, str]], source: str) -> tuple[str, dict[str, str]]:
    """``SELECT`` of (name, kind, expression) columns with a sentinel row first.

    Returns the SQL and the kind of each column (see ``SENTINEL``).
    """
    sentinel = ", ".join(f"{SENTINEL[kind]} AS {quote(name)}" for name, kind, _ in columns)
    body = ", ".join(f"CAST({expr} AS {SQL_TYPE[kind]})" for _, kind, expr in columns)
    sql = f"SELECT {sentinel} UNION ALL SELECT {body} FROM {source}"
    return sql, {name: kind for name, kind, _ in columns}


def table_query(kind: str, table_info: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The query loading ``kind`` given ``table_info`` = (name, declared type) of its table."""
    if kind == "accounts":
        columns = [
            ("is_customer", "BOOL", IS_CUSTOMER_SQL)
            if name == "is_customer"
            else (name, storage_type(decl), f"a.{name}")
            for name, decl in ACCOUNT_COLUMNS.items()
        ]
        # attributes added by imports, in table order (REAL stays REAL, else TEXT)
        for name, decl in table_info:
            if name not in ACCOUNT_COLUMNS and name != "import_id":
                stored = "REAL" if storage_type(decl) == "REAL" else "TEXT"
                columns.append((name, stored, f"a.{quote(name)}"))
        return typed_select(columns, "accounts AS a")
    canonical = {"transactions": TRANSACTION_COLUMNS, "contacts": CONTACT_COLUMNS}[kind]
    # transactions come in stored (rowid) order, which a plain scan gives
    cols = [(n, "DATE" if n == "date" else storage_type(d), n) for n, d in canonical.items()]
    return typed_select(cols, kind)


def queries_for(conn: Any, kinds: list[str]) -> dict[str, tuple[str, dict[str, str]]]:
    """SQL of each requested kind: a table name or ``run:<id>`` (a run's assignments)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for kind in kinds:
        if kind in ("accounts", "transactions", "contacts"):
            info = _fetch_rows(conn, f"SELECT name, type FROM pragma_table_info('{kind}')")
            out[kind] = table_query(kind, [(r[0], r[1]) for r in info])
        elif kind.startswith("transactions@"):
            # a rowid slice "transactions@LO:HI" (LO < id <= HI; an empty bound is open)
            low, high = kind.split("@", 1)[1].split(":")
            sql, kinds_ = table_query("transactions", [])
            bounds = ([f"id > {int(low)}"] if low else []) + (
                [f"id <= {int(high)}"] if high else []
            )
            out[kind] = (sql + (" WHERE " + " AND ".join(bounds) if bounds else ""), kinds_)
        elif kind.startswith("run:"):
            run_id = int(kind.split(":", 1)[1])
            cols = [
                ("account_id", "TEXT", "account_id"),
                ("segment", "TEXT", "segment"),
                ("revenue", "REAL", "revenue"),
            ]
            out[kind] = typed_select(cols, f"assignments WHERE run_id = {run_id}")
        else:
            raise ValueError(f"unknown table kind {kind!r}")
    return out


def _fetch_rows(conn: Any, sql: str) -> list[tuple]:
    import adbc_driver_manager
    import pyarrow

    stmt = adbc_driver_manager.AdbcStatement(conn)
    try:
        stmt.set_sql_query(sql)
        handle, _ = stmt.execute_query()
        table = pyarrow.RecordBatchReader._import_from_c(handle.address).read_all()
    finally:
        stmt.close()
    return list(zip(*(col.to_pylist() for col in table.columns), strict=True))


def _execute(conn: Any, sql: str) -> None:
    import adbc_driver_manager

    stmt = adbc_driver_manager.AdbcStatement(conn)
    try:
        stmt.set_sql_query(sql)
        stmt.execute_update()
    finally:
        stmt.close()


def canonical_schema(raw: Any, kinds: dict[str, str]) -> Any:
    """The Arrow schema written to the file: string views, date32 and bool where due."""
    import pyarrow

    fields = []
    for field in raw:
        kind = kinds.get(field.name)
        if kind == "DATE":
            fields.append(pyarrow.field(field.name, pyarrow.date32()))
        elif kind == "BOOL":
            fields.append(pyarrow.field(field.name, pyarrow.bool_()))
        elif pyarrow.types.is_string(field.type) or pyarrow.types.is_large_string(field.type):
            # polars' own string layout: reading it back needs no conversion
            fields.append(pyarrow.field(field.name, pyarrow.string_view()))
        else:
            fields.append(field)
    return pyarrow.schema(fields)


def _cast_batch(batch: Any, schema: Any) -> Any:
    import pyarrow

    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if pyarrow.types.is_date32(field.type):
            column = column.cast(pyarrow.int32()).cast(pyarrow.date32())
        elif column.type != field.type:
            column = column.cast(field.type)
        columns.append(column)
    return pyarrow.RecordBatch.from_arrays(columns, schema=schema)


def snapshot(path: str, kinds: list[str], files: dict[str, str]) -> dict[str, Any]:
    """Read ``kinds`` in one read transaction into IPC ``files``; return the data version."""
    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow
    import pyarrow.ipc

    db = adbc_driver_sqlite.connect(path)
    conn = adbc_driver_manager.AdbcConnection(db)
    try:
        _execute(conn, "BEGIN")
        try:
            version = "-".join(str(v) for v in _fetch_rows(conn, DATA_VERSION_SQL)[0])
            queries = queries_for(conn, kinds)
            options = pyarrow.ipc.IpcWriteOptions(compression="lz4")
            rows: dict[str, int] = {}
            for kind in kinds:
                stmt = adbc_driver_manager.AdbcStatement(conn)
                try:
                    stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
                    sql, column_kinds = queries[kind]
                    stmt.set_sql_query(sql)
                    handle, _ = stmt.execute_query()
                    reader = pyarrow.RecordBatchReader._import_from_c(handle.address)
                    schema = canonical_schema(reader.schema, column_kinds)
                    count = 0
                    with pyarrow.ipc.new_file(files[kind], schema, options=options) as out:
                        for batch in reader:
                            if count == 0:
                                batch = batch.slice(1)  # the typed sentinel row
                            count += batch.num_rows
                            out.write_batch(_cast_batch(batch, schema))
                    rows[kind] = count
                finally:
                    stmt.close()
        finally:
            _execute(conn, "COMMIT")
    finally:
        conn.close()
        db.close()
    return {"version": version, "files": files, "rows": rows}


def main() -> int:
    request = json.loads(sys.argv[1])
    try:
        result = snapshot(request["path"], request["kinds"], request["files"])
    except Exception as exc:  # reported to the parent, which raises WorkspaceError
        for name in request.get("files", {}).values():
            try:
                os.unlink(name)
            except OSError:
                pass
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
