"""Sources beyond one file: folders, globs, standard input, DuckDB and PostgreSQL (issue 14).

A source is turned into one temporary Parquet file that the ordinary import
path (``storage.importer.prepare_import`` then ``commit_import``) reads like
any file, so the mapping, validation, reject report and atomic commit are the
ones every file gets. Nothing here writes to a workspace.

What a SOURCE argument may be (``classify``):

- an existing regular file: left to the file import (unchanged), unless
  ``--summarise`` asks DuckDB to summarise it;
- ``-``: standard input, spooled to a temporary file first;
- a folder (every ``*.parquet`` or every ``*.csv``/``*.csv.gz``/``*.tsv`` below it,
  hive partitions ``key=value/`` becoming columns) or a glob pattern
  (``sales/*.parquet``, ``**`` recursive), read by DuckDB;
- a DuckDB database file (recognised by its header), with ``--table`` or ``--query``;
- a ``postgresql://`` (or ``postgres://``) URL, with ``--table`` or ``--query``,
  read through the libpq ADBC driver as Arrow. The password comes from libpq's
  own places (``PGPASSWORD``, ``~/.pgpass``, a service file); a password
  written in the URL is used for the connection but never shown or stored:
  every label and message carries the URL without it.

``summarise=True`` runs DOMAIN.md's "Data that lives elsewhere" summary in the
engine that holds the lines (``summary_sql``): per account x day x product
line (``product_line``, else ``product``) x sign of the line, the net amount
and margin in integer cents, the quantity and ``orders``, the number of
distinct positive invoices, so that only the summary travels. How each
metric stays exact is in ``summary_sql``'s docstring.
"""

from __future__ import annotations

import glob as globmod
import os
import re
import shutil
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from core.errors import SegscopeError, UsageError

if TYPE_CHECKING:
    import sqlite3

    import pyarrow as pa

PG_SCHEMES = ("postgresql", "postgres")
DUCKDB_MAGIC_OFFSET = 8
DUCKDB_MAGIC = b"DUCK"
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
GLOB_CHARS = re.compile(r"[*?\[]")


class SourceError(SegscopeError):
    """A source that cannot be read: unreachable server, refused login, missing
    table, failing query, a column of the wrong type, an empty folder."""


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    # drivers prefix their messages with a status name ("IO: [libpq] ...")
    return re.sub(r"^(?:[A-Z_]+: )?(?:\[libpq\] )?", "", text)


# -- what a source is ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A classified SOURCE argument. ``label`` is safe to show and store."""

    kind: str  # "file", "stdin", "files", "duckdb", "postgresql"
    location: str  # the path, pattern or URL (the URL may hold a password: never shown)
    label: str
    files: tuple[Path, ...] = ()
    format: str = ""  # "parquet" or "csv" for "files"


def redact_url(url: str) -> str:
    """``url`` without its password (and without a ``password=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = re.sub(r"(?i)(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def is_database_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in PG_SCHEMES and "://" in text


def _is_duckdb_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    except OSError:
        return False
    return head[DUCKDB_MAGIC_OFFSET:] == DUCKDB_MAGIC


def _data_format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def _files_source(text: str, files: list[Path], label: str) -> Source:
    formats = {_data_format(f) for f in files} - {None}
    data = sorted(f for f in files if _data_format(f) is not None)
    if not data:
        raise SourceError(f"{label}: no Parquet or CSV files found")
    if len(formats) > 1:
        raise SourceError(
            f"{label} holds both Parquet and CSV files; point at one kind "
            "(e.g. a glob such as 'folder/**/*.parquet')"
        )
    return Source("files", text, label, tuple(data), formats.pop())


def classify(text: str) -> Source:
    """What kind of source ``text`` names (``SourceError`` when none)."""
    if text == "-":
        return Source("stdin", "-", "standard input")
    if is_database_url(text):
        return Source("postgresql", text, redact_url(text))
    path = Path(text).expanduser()
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
        return _files_source(text, found, f"folder {path}")
    if path.is_file():
        if _is_duckdb_file(path):
            return Source("duckdb", str(path), f"DuckDB database {path}")
        return Source("file", str(path), str(path))
    if path.exists():  # a FIFO, socket or device: never opened
        raise SourceError(f"{path} is not a regular file, folder or database")
    if GLOB_CHARS.search(text):
        found = [Path(p) for p in globmod.glob(os.path.expanduser(text), recursive=True)]
        return _files_source(text, [p for p in found if p.is_file()], f"glob {text}")
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise SourceError(
            f"{scheme}:// sources are not supported here; use a file, folder, glob, '-', "
            "a DuckDB file or a postgresql:// URL"
        )
    raise SourceError(f"{path}: no such file, folder or glob match")


def needs_source_path(text: str, *, table: str | None, query: str | None,
                      summarise: bool) -> bool:
    """True when ``text`` is not a plain file for the ordinary file import."""
    if summarise or table or query or text == "-" or is_database_url(text):
        return True
    path = Path(text).expanduser()
    if path.is_dir() or (not path.exists() and GLOB_CHARS.search(text)):
        return True
    return path.is_file() and _is_duckdb_file(path)


# -- the summary, written once ----------------------------------------------------------

# Lines are the source rows with the canonical names the summary needs. One
# definition in DuckDB's dialect, compiled for each engine by sqlglot.
SUMMARY_TEMPLATE = """
WITH lines AS (
    SELECT {account} AS account_id,
           {day} AS day,
           {cents_amount} AS c,
           {cents_margin} AS mc,
           {invoice} AS invoice_id,
           {product} AS product_key,
           {quantity} AS quantity
    FROM ({relation}) AS src
    WHERE {account_raw} IS NOT NULL AND {date_raw} IS NOT NULL AND {amount_raw} IS NOT NULL
),
groups AS (
    SELECT account_id, day, product_key, c > 0 AS positive,
           CAST(SUM(c) AS BIGINT) AS amount_cents,
           CAST(SUM(mc) AS BIGINT) AS margin_cents,
           SUM(quantity) AS quantity
    FROM lines
    GROUP BY account_id, day, product_key, c > 0
),
orders AS (
    SELECT account_id, day, MIN(CASE WHEN c > 0 THEN product_key END) AS product_key
    FROM lines
    GROUP BY account_id, day, invoice_id
    HAVING SUM(c) > 0
),
order_counts AS (
    SELECT account_id, day, product_key, COUNT(*) AS orders
    FROM orders
    GROUP BY account_id, day, product_key
)
SELECT g.account_id AS account_id,
       g.day AS date,
       g.product_key AS {product_name},
       g.amount_cents AS amount_cents,
       g.margin_cents AS margin_cents,
       g.quantity AS quantity,
       CAST(COALESCE(o.orders, 0) AS BIGINT) AS orders
FROM groups AS g
LEFT JOIN order_counts AS o
  ON g.positive
 AND o.account_id = g.account_id
 AND o.day = g.day
 AND o.product_key IS NOT DISTINCT FROM g.product_key
ORDER BY g.account_id, g.day, g.product_key, g.positive
"""


def _cents(value: str) -> str:
    # Integer cents, half away from zero, computed exactly on the double as
    # core.metrics.cents does: floor(|v|) plus one when the fraction is >= 0.5
    # (|v| - floor(|v|) is exact for doubles); engines' ROUND differ (PostgreSQL
    # rounds a double half to even).
    v = f"(CAST({value} AS DOUBLE) * 100)"
    return (
        f"CAST(SIGN({v}) * (FLOOR(ABS({v})) + CASE WHEN ABS({v}) - FLOOR(ABS({v})) >= 0.5 "
        f"THEN 1 ELSE 0 END) AS BIGINT)"
    )


NUMBER_TYPES = ("int", "float", "double", "decimal", "numeric", "real", "hugeint", "bigint",
                "smallint", "tinyint", "ubigint", "uinteger")
DATE_TYPES = ("date", "timestamp")


def _type_class(type_name: str) -> str:
    t = type_name.lower()
    if t.startswith(DATE_TYPES):
        return "date"
    if any(t.startswith(n) or n in t for n in NUMBER_TYPES) and "interval" not in t:
        return "number"
    if t in ("varchar", "string", "text", "utf8", "large_string", "large_utf8") or \
            t.startswith(("varchar", "char", "text", "string")):
        return "text"
    return t


def summary_sql(
    relation: str,
    mapping: Mapping[str, str],
    types: Mapping[str, str],
    dialect: str,
    label: str,
    *,
    text_numbers: bool = False,
) -> tuple[str, str]:
    """The summary query for ``relation`` (a table or subquery in ``dialect``),
    and the product column it groups by (``product_line`` or ``product``).

    ``text_numbers``: the source is CSV read as text (so ids keep their leading
    zeros, as in a file import), and numbers are cast from text by the engine.

    ``mapping`` is {source column: canonical target} (``storage.mapping``);
    ``types`` the source columns' engine types, checked here so that a column
    of the wrong type is one clear line before the engine runs anything.

    Why the import of this summary gives every metric of the lines exactly
    (``core.metrics``): money is summed in the cents each line rounds to; a row
    is an account x day x product line x sign of the line, so day nets
    (purchase days, frequency, recency, tenure, the bridge, CLV) and window
    revenue and margin are sums of rows, and a product line sold on a positive
    line keeps a row with a positive net (``product_breadth``); ``orders`` is
    the number of orders (an invoice, or the invoice-less lines of an account
    and day) with a positive net that day, carried on the positive row of the
    least product line among the order's positive lines. An invoice dated on
    several days counts once per day with a positive net (an order is assumed
    to carry one date, as invoices do).
    """
    by_target: dict[str, str] = {}
    for source, target in mapping.items():
        by_target.setdefault(target, source)

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def need(target: str, klass: str, what: str) -> str:
        source = by_target[target]
        found = _type_class(types.get(source, "text"))
        if (klass == "date" or text_numbers) and found == "text":
            return source
        if klass == "date" and found == "date":
            return source
        if found != klass:
            raise SourceError(
                f"{label}: column '{source}' ({target}) is of type {types.get(source)}; "
                f"--summarise needs {what}"
            )
        return source

    if "account_id" not in by_target or "date" not in by_target:
        missing = [t for t in ("account_id", "date") if t not in by_target]
        raise SourceError(
            f"{label}: no column maps to {', '.join(missing)} (columns: "
            f"{', '.join(types)}); name it with --map SOURCE=TARGET"
        )
    account = by_target["account_id"]
    date_col = need("date", "date", "a date or timestamp")
    date_type = _type_class(types.get(date_col, "text"))
    day = (f"CAST({q(date_col)} AS DATE)" if date_type == "date"
           else f"CAST(CAST({q(date_col)} AS TIMESTAMP) AS DATE)")
    account_type = types.get(account, "")
    account_expr = (
        # a float id (17850.0) reads as the file import would read it: 17850
        f"CASE WHEN {q(account)} = FLOOR({q(account)}) THEN "
        f"CAST(CAST({q(account)} AS BIGINT) AS VARCHAR) ELSE CAST({q(account)} AS VARCHAR) END"
        if account_type.lower().startswith(("double", "float", "real"))
        else f"CAST({q(account)} AS VARCHAR)"
    )
    if "amount" in by_target:
        amount_raw = q(need("amount", "number", "a number"))
        amount = amount_raw
    elif {"quantity", "unit_price"} <= set(by_target):
        qty = q(need("quantity", "number", "a number"))
        price = q(need("unit_price", "number", "a number"))
        amount = f"(CAST({qty} AS DOUBLE) * CAST({price} AS DOUBLE))"
        amount_raw = f"{amount}"
    else:
        raise SourceError(f"{label}: no amount column (nor quantity and unit_price) to summarise")
    margin = (_cents(q(need("margin", "number", "a number"))) if "margin" in by_target
              else "CAST(NULL AS BIGINT)")
    quantity = (f"CAST({q(need('quantity', 'number', 'a number'))} AS DOUBLE)"
                if "quantity" in by_target else "CAST(NULL AS DOUBLE)")
    invoice = (f"CAST({q(by_target['invoice_id'])} AS VARCHAR)" if "invoice_id" in by_target
               else "CAST(NULL AS VARCHAR)")
    product_name = "product_line" if "product_line" in by_target else "product"
    product = (f"CAST({q(by_target[product_name])} AS VARCHAR)" if product_name in by_target
               else "CAST(NULL AS VARCHAR)")
    text = SUMMARY_TEMPLATE.format(
        account=account_expr, day=day, cents_amount=_cents(amount), cents_margin=margin,
        invoice=invoice, product=product, quantity=quantity, relation="__RELATION__",
        account_raw=q(account), date_raw=q(date_col), amount_raw=amount_raw,
        product_name=product_name,
    )
    import sqlglot

    compiled = sqlglot.transpile(text, read="duckdb", write=dialect)[0]
    # The relation is the engine's own text (a user's query): spliced in after
    # compiling, not parsed and re-written.
    return compiled.replace("__RELATION__", relation), product_name


# -- engines ----------------------------------------------------------------------------


class _Engine(ABC):
    """A connection that runs SQL and hands back Arrow record batches."""

    dialect = "duckdb"
    label = ""

    @abstractmethod
    def schema(self, relation: str) -> dict[str, str]:
        """{column: engine type name} of ``relation`` (a table or a parenthesised query)."""

    @abstractmethod
    def batches(self, sql: str) -> pa.RecordBatchReader:
        """The result of ``sql`` as Arrow record batches."""

    def close(self) -> None:  # noqa: B027 - engines without a connection to close
        """Release the connection (nothing to do by default)."""


class _DuckDB(_Engine):
    dialect = "duckdb"

    def __init__(self, label: str, database: str | None = None) -> None:
        import duckdb

        self.label = label
        self._errors: tuple[type[BaseException], ...] = (duckdb.Error,)
        try:
            self.con = (duckdb.connect(database, read_only=True) if database
                        else duckdb.connect())
        except duckdb.Error as exc:
            raise SourceError(f"{label}: cannot open ({_first_line(exc)})") from None

    def schema(self, relation: str) -> dict[str, str]:
        try:
            rows = self.con.execute(f"DESCRIBE SELECT * FROM ({relation}) AS src").fetchall()
        except self._errors as exc:
            raise SourceError(f"{self.label}: {_first_line(exc)}") from None
        return {r[0]: str(r[1]) for r in rows}

    def batches(self, sql: str) -> pa.RecordBatchReader:
        try:
            return self.con.sql(sql).to_arrow_reader(100_000)
        except self._errors as exc:
            raise SourceError(f"{self.label}: {_first_line(exc)}") from None

    def close(self) -> None:
        self.con.close()


class _Postgres(_Engine):
    dialect = "postgres"

    def __init__(self, url: str, label: str) -> None:
        try:
            import adbc_driver_manager
            from adbc_driver_postgresql import dbapi
        except ImportError:  # pragma: no cover - a declared dependency
            raise SourceError("PostgreSQL sources need adbc-driver-postgresql") from None
        self.label = label
        self._errors = (adbc_driver_manager.Error,)
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        try:
            self.con = dbapi.connect(url)
        except self._errors as exc:
            raise SourceError(f"{label}: cannot connect ({_first_line(exc)})") from None
        self.cur = self.con.cursor()

    def _execute(self, sql: str) -> None:
        try:
            self.cur.execute(sql)
        except self._errors as exc:
            try:
                self.con.rollback()
            except self._errors:
                pass
            raise SourceError(f"{self.label}: {_first_line(exc)}") from None

    def schema(self, relation: str) -> dict[str, str]:
        self._execute(f"SELECT * FROM ({relation}) AS src LIMIT 0")
        table = self.cur.fetch_arrow_table()
        # NUMERIC arrives as an opaque extension type named for the server's type
        return {f.name: str(getattr(f.type, "type_name", None) or f.type) for f in table.schema}

    def batches(self, sql: str) -> pa.RecordBatchReader:
        self._execute(sql)
        return self.cur.fetch_record_batch()

    def close(self) -> None:
        for thing in (self.cur, self.con):
            try:
                thing.close()
            except Exception:  # closing after a failed query: nothing to keep
                pass


def _quote_name(name: str) -> str:
    """``schema.table`` as quoted identifiers (a table name is never SQL text)."""
    parts = [p for p in name.split(".")]
    if not all(parts):
        raise UsageError(f"--table {name!r} is not a table name")
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def _files_relation(files: tuple[Path, ...], fmt: str) -> str:
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    if fmt == "parquet":
        reader = "read_parquet"
        options = ""
    else:
        # as text, as the file import reads CSV: ids keep leading zeros ("00123")
        reader = "read_csv"
        options = ", all_varchar = true"
    return (f"SELECT * FROM {reader}([{listed}], hive_partitioning = true, "
            f"union_by_name = true{options})")


def _file_format(path: Path) -> str:
    with path.open("rb") as fh:
        return "parquet" if fh.read(4) == b"PAR1" else "csv"


# -- what the workspace holds already -----------------------------------------------------


def overlap_notes(conn: sqlite3.Connection, summarised: bool) -> list[str]:
    """Warnings when a summary meets stored invoice lines, or another summary:
    a summary carries no invoice ids, so nothing it covers is replaced and the
    same period imported twice counts twice. ``conn`` is the workspace's
    sqlite3 connection (one count over the transactions table)."""
    rows, summary_rows = conn.execute(
        "SELECT COUNT(*), COUNT(orders) FROM transactions"
    ).fetchone()
    lines = rows - summary_rows
    if summarised and lines:
        return [f"the workspace already holds {lines:,} invoice lines: where this summary covers "
                "the same lines they now count twice (import a summary into a fresh workspace, "
                "or only periods not imported before)"]
    if summarised and summary_rows:
        return [f"the workspace already holds {summary_rows:,} summary rows: summaries are "
                "added, never replaced, so a period imported twice counts twice"]
    if not summarised and summary_rows:
        return [f"the workspace holds {summary_rows:,} summary rows: where these lines are "
                "summarised there too they now count twice"]
    return []


# -- materialise: a source as one Parquet file -------------------------------------------


@dataclass
class Materialised:
    """A source written to ``path`` (Parquet, or the spooled standard input)."""

    path: Path
    label: str
    summarised: bool
    notes: list[str] = field(default_factory=list)
    rows: int = 0
    mapping: dict[str, str] | None = None  # a summary's columns, named canonically
    engine: str = ""  # "duckdb" or "postgres"; empty when the ordinary file reader reads it

    def describe(self) -> str | None:
        """The report's format line, or None to keep the file reader's."""
        if not self.engine:
            return None
        what = "summary computed" if self.summarised else "rows read"
        return f"{what} by {'PostgreSQL' if self.engine == 'postgres' else 'DuckDB'}"


def _write_parquet(reader: pa.RecordBatchReader, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 0
    writer = None
    try:
        for batch in reader:
            # extension types (PostgreSQL NUMERIC as opaque text) as their storage
            batch = pa.RecordBatch.from_arrays(
                [c.storage if isinstance(c.type, pa.BaseExtensionType) else c
                 for c in batch.columns],
                names=batch.schema.names,
            )
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_table(pa.Table.from_batches([batch]))
            rows += batch.num_rows
        if writer is None:
            schema = reader.schema
            writer = pq.ParquetWriter(path, schema)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _summary_to_parquet(engine: _Engine, relation: str, overrides: Mapping[str, str | None],
                        path: Path, text_numbers: bool) -> tuple[int, list[str], list[str]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from storage.mapping import resolve_mapping

    types = engine.schema(relation)
    mapping = resolve_mapping(list(types), "transactions", overrides)
    targets = set(mapping.values())
    if {"product_line", "product"} <= targets:
        # core.metrics counts products where the lines carry no product line at
        # all; the summary must then keep the products (one early-stopping probe)
        line = next(s for s, t in mapping.items() if t == "product_line")
        quoted = '"' + line.replace('"', '""') + '"'
        probe = engine.batches(
            f"SELECT 1 AS x FROM ({relation}) AS src WHERE {quoted} IS NOT NULL LIMIT 1")
        if sum(batch.num_rows for batch in probe) == 0:
            mapping = {s: t for s, t in mapping.items() if t != "product_line"}
    sql, product_name = summary_sql(relation, mapping, types, engine.dialect, engine.label,
                                    text_numbers=text_numbers)
    reader = engine.batches(sql)
    table = pa.Table.from_batches(list(reader), schema=reader.schema)
    if table.num_rows == 0:
        raise SourceError(f"{engine.label}: no lines with an account, a date and an amount")

    def money(name: str) -> pa.Array:
        # cents as a decimal number the importer reads back to the same cents
        return pc.divide(pc.cast(table[name], pa.float64()), 100.0)

    columns = {
        "account_id": table["account_id"],
        "date": table["date"],
        product_name: table[product_name],
        "amount": money("amount_cents"),
        "quantity": table["quantity"],
        "orders": pc.cast(table["orders"], pa.int64()),
    }
    if "margin" in mapping.values():
        columns["margin"] = money("margin_cents")
    if table["quantity"].null_count == table.num_rows:
        del columns["quantity"]
    out = pa.table(columns)
    pq.write_table(out, path)
    used = ", ".join(f"{s} -> {t}" for s, t in mapping.items())
    return out.num_rows, out.column_names, [
        f"summarised in {engine.dialect} per account x day x "
        f"{product_name.replace('_', ' ')} ({used})"
    ]


@contextmanager
def materialise(
    source: Source,
    *,
    table: str | None = None,
    query: str | None = None,
    summarise: bool = False,
    overrides: Mapping[str, str | None] | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[Materialised]:
    """``source`` as one file the ordinary import reads; removed on exit.

    Without ``summarise`` the rows come as they are (types kept, names as in
    the source), and the caller's ``--map`` applies at import as for a file.
    With it the file holds the summary in canonical names.
    """
    if table and query:
        raise UsageError("give --table or --query, not both")
    database = source.kind in ("duckdb", "postgresql")
    if database and not (table or query):
        raise UsageError(f"{source.label} is a database: name what to read with --table or "
                         "--query")
    if not database and (table or query):
        raise UsageError(f"--table and --query apply to databases; {source.label} is not one")
    workdir = Path(tempfile.mkdtemp(prefix="segscope-source-"))
    try:
        target = workdir / "source.parquet"
        if source.kind == "stdin":
            spooled = workdir / "stdin"
            with spooled.open("wb") as out:
                shutil.copyfileobj(stdin or sys.stdin.buffer, out)
            if spooled.stat().st_size == 0:
                raise SourceError("standard input is empty")
            with spooled.open("rb") as fh:
                magic = fh.read(4)
            # DuckDB knows a compressed CSV by its name
            suffix = {b"PAR1": ".parquet"}.get(magic, ".csv.gz" if magic[:2] == b"\x1f\x8b"
                                               else ".csv")
            spooled = spooled.rename(spooled.with_name("stdin" + suffix))
            if not summarise:
                yield Materialised(spooled, source.label, False)
                return
            source = Source("file", str(spooled), source.label)
        if source.kind == "file" and not summarise:
            yield Materialised(Path(source.location), source.label, False)
            return
        engine: _Engine
        if source.kind == "postgresql":
            engine = _Postgres(source.location, source.label)
        elif source.kind == "duckdb":
            engine = _DuckDB(source.label, source.location)
        else:
            engine = _DuckDB(source.label)
        try:
            if source.kind == "files":
                relation = _files_relation(source.files, source.format)
            elif source.kind == "file":
                relation = _files_relation((Path(source.location),),
                                           _file_format(Path(source.location)))
            elif table:
                relation = f"SELECT * FROM {_quote_name(table)}"
            else:
                relation = str(query).strip().rstrip(";")
            if summarise:
                as_text = (source.kind == "files" and source.format == "csv") or (
                    source.kind == "file" and _file_format(Path(source.location)) == "csv")
                rows, names, notes = _summary_to_parquet(
                    engine, relation, overrides or {}, target, as_text
                )
                mapping = {name: name for name in names}
            else:
                rows = _write_parquet(engine.batches(f"SELECT * FROM ({relation}) AS src"),
                                      target)
                notes = [f"read through {engine.dialect}"]
                mapping = None
        finally:
            engine.close()
        if rows == 0:
            raise SourceError(f"{source.label}: no rows")
        yield Materialised(target, source.label, summarise, notes, rows, mapping,
                           engine.dialect)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
