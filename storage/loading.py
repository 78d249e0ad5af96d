"""Loading workspace tables into canonical polars frames.

Rows travel SQLite -> Arrow (ADBC's SQLite driver) -> polars, with no Python
object per row. ADBC infers each column's Arrow type from the first batch, so a
column that starts with NULLs and later holds numbers would fail; every query
therefore starts with one typed sentinel row (dropped afterwards) and CASTs
each column to its declared type.

Large frames are also kept as Arrow IPC files in ``<workspace>.cache/`` keyed on
``data_version()`` (read in the same read transaction as the rows), so a cache
written for other data is never used: the SQLite file stays the single source
of truth and the cache can be deleted at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl

from storage.errors import WorkspaceError
from storage.schema import ACCOUNT_COLUMNS, CONTACT_COLUMNS, TRANSACTION_COLUMNS

if TYPE_CHECKING:
    from storage.workspace import Workspace

# Bump when the cached frame layout changes, so old cache files are ignored.
CACHE_FORMAT = "1"
# Frames smaller than this are not worth a cache file.
DEFAULT_CACHE_MIN_ROWS = 200_000

ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8(),
    "name": pl.Utf8(),
    "industry": pl.Utf8(),
    "country": pl.Utf8(),
    "region": pl.Utf8(),
    "employees": pl.Int64(),
    "annual_revenue": pl.Float64(),
    "founded_year": pl.Int64(),
    "legal_form": pl.Utf8(),
    "ownership": pl.Utf8(),
    "business_phase": pl.Utf8(),
    "purchasing_organisation": pl.Utf8(),
    "buying_driver": pl.Utf8(),
    "offer_type": pl.Utf8(),
    "buying_center_size": pl.Int64(),
    "collaboration": pl.Utf8(),
    "technologies": pl.Utf8(),
    "touchpoint_preference": pl.Utf8(),
    "is_customer": pl.Boolean(),
}

TRANSACTION_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Utf8(),
    "date": pl.Date(),
    "amount": pl.Float64(),
    "margin": pl.Float64(),
    "invoice_id": pl.Utf8(),
    "product": pl.Utf8(),
    "product_line": pl.Utf8(),
    "channel": pl.Utf8(),
    "quantity": pl.Float64(),
    "unit_price": pl.Float64(),
}

CONTACT_SCHEMA: dict[str, pl.DataType] = {
    "contact_id": pl.Utf8(),
    "account_id": pl.Utf8(),
    "name": pl.Utf8(),
    "title": pl.Utf8(),
    "function": pl.Utf8(),
    "seniority": pl.Utf8(),
    "decision_role": pl.Utf8(),
    "preferred_channel": pl.Utf8(),
    "email": pl.Utf8(),
}

assert list(ACCOUNT_SCHEMA) == list(ACCOUNT_COLUMNS)
assert list(TRANSACTION_SCHEMA) == list(TRANSACTION_COLUMNS)
assert list(CONTACT_SCHEMA) == list(CONTACT_COLUMNS)

# SQL type each polars dtype is read as, and the sentinel value of the first row.
_SQL_TYPE = {pl.Utf8: ("TEXT", "''"), pl.Float64: ("REAL", "0.5"), pl.Int64: ("INTEGER", "0")}


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _sql_kind(dtype: pl.DataType) -> tuple[str, str]:
    if dtype == pl.Date or dtype == pl.Boolean:
        return _SQL_TYPE[pl.Int64]
    return _SQL_TYPE[type(dtype)]


def _typed_select(columns: dict[str, pl.DataType], exprs: dict[str, str], source: str) -> str:
    """SELECT with a typed sentinel row first (see module docstring)."""
    sentinel = ", ".join(
        f"{_sql_kind(dtype)[1]} AS {quote(name)}" for name, dtype in columns.items()
    )
    body = ", ".join(
        f"CAST({exprs.get(name, quote(name))} AS {_sql_kind(dtype)[0]})"
        for name, dtype in columns.items()
    )
    return f"SELECT {sentinel} UNION ALL SELECT {body} FROM {source}"


def account_attribute_columns(conn: Any) -> dict[str, pl.DataType]:
    """Extra account columns added by imports, with their polars dtypes (REAL -> Float64)."""
    cur = conn.cursor()
    cur.execute("SELECT name, type FROM pragma_table_info('accounts') ORDER BY cid")
    rows = cur.fetchall()
    cur.close()
    extra: dict[str, pl.DataType] = {}
    for name, decl in rows:
        if name in ACCOUNT_COLUMNS or name == "import_id":
            continue
        extra[name] = pl.Float64() if "REAL" in str(decl).upper() else pl.Utf8()
    return extra


class LoadingMixin:
    """``ws.load_accounts()``, ``ws.load_transactions()``, ``ws.load_contacts()``.

    Loads read the last committed state through their own connection, so they
    do not see the uncommitted rows of a ``ws.write()`` block in progress.
    """

    cache_min_rows: int = DEFAULT_CACHE_MIN_ROWS

    def load_accounts(self: Workspace) -> pl.DataFrame:
        """Accounts in canonical dtypes plus their attribute columns.

        ``is_customer`` is the stored value when it is not null, otherwise
        whether the account has any transaction.
        """
        return self._load("accounts", _accounts_query)

    def load_transactions(self: Workspace) -> pl.DataFrame:
        """Transactions in canonical dtypes (``date`` as ``pl.Date``), in stored order."""
        return self._load("transactions", _transactions_query)

    def load_contacts(self: Workspace) -> pl.DataFrame:
        """Contacts in canonical dtypes."""
        return self._load("contacts", _contacts_query)

    # -- internals -----------------------------------------------------------

    def _load(self: Workspace, kind: str, build: Any) -> pl.DataFrame:
        with _read_transaction(self.path) as conn:
            version = _read_data_version(conn)
            cache_file = self.cache_dir / f"{kind}-{_cache_key(kind, version)}.arrow"
            if self.cache_enabled:
                cached = _read_cache(cache_file)
                if cached is not None:
                    return cached
            sql, schema = build(conn)
            frame = _fetch(conn, sql, schema)
        if self.cache_enabled and frame.height >= self.cache_min_rows:
            _write_cache(cache_file, frame)
        return frame


def _accounts_query(conn: Any) -> tuple[str, dict[str, pl.DataType]]:
    schema = {**ACCOUNT_SCHEMA, **account_attribute_columns(conn)}
    exprs = {
        "is_customer": (
            "CASE WHEN a.is_customer IS NOT NULL THEN a.is_customer != 0 ELSE"
            " EXISTS (SELECT 1 FROM transactions t WHERE t.account_id = a.account_id) END"
        ),
    }
    exprs.update({name: f"a.{quote(name)}" for name in schema if name not in exprs})
    return _typed_select(schema, exprs, "accounts AS a"), schema


def _transactions_query(conn: Any) -> tuple[str, dict[str, pl.DataType]]:
    return _typed_select(TRANSACTION_SCHEMA, {}, "transactions"), TRANSACTION_SCHEMA


def _contacts_query(conn: Any) -> tuple[str, dict[str, pl.DataType]]:
    return _typed_select(CONTACT_SCHEMA, {}, "contacts"), CONTACT_SCHEMA


@contextlib.contextmanager
def _read_transaction(path: Path) -> Iterator[Any]:
    """An ADBC connection inside one read transaction (one consistent snapshot)."""
    try:
        conn = adbc_sqlite.connect(str(path), autocommit=True)
    except Exception as exc:
        raise WorkspaceError(f"cannot read the workspace {path}: {exc}") from None
    try:
        cur = conn.cursor()
        cur.execute("BEGIN")
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                cur.execute("COMMIT")
            cur.close()
    finally:
        conn.close()


def _read_data_version(conn: Any) -> str:
    from storage.workspace import _data_version

    return _data_version(conn)


def _fetch(conn: Any, sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    except Exception as exc:
        raise WorkspaceError(f"cannot load data from the workspace: {exc}") from None
    finally:
        cur.close()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.slice(1)  # drop the sentinel row
    casts = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            col = col.cast(pl.Int32).cast(pl.Date)
        elif dtype == pl.Boolean:
            col = col.cast(pl.Boolean)
        else:
            col = col.cast(dtype)
        casts.append(col)
    return frame.select(casts).rechunk()


def _cache_key(kind: str, version: str) -> str:
    return hashlib.sha256(f"{CACHE_FORMAT}:{kind}:{version}".encode()).hexdigest()[:24]


def _read_cache(path: Path) -> pl.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pl.read_ipc(path)
    except Exception:
        # A damaged cache file is just a miss.
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _write_cache(path: Path, frame: pl.DataFrame) -> None:
    """Write atomically (temp file + rename) and drop older files of the same kind."""
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        frame.write_ipc(tmp, compression="lz4")
        os.replace(tmp, path)
        kind = path.name.split("-", 1)[0]
        for old in path.parent.glob(f"{kind}-*.arrow"):
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()
    except OSError:
        # A cache that cannot be written (read-only directory, full disk) is
        # only slower, never wrong.
        with contextlib.suppress(OSError, UnboundLocalError):
            tmp.unlink()
