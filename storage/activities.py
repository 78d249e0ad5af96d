"""Reading the activities table (CRM calls, meetings, visits, e-mails; schema migration 7).

Activities are small beside the invoice lines (tens per account and year), so
they are read with one query rather than through the snapshot children of
``storage.loading``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from storage.schema import ACTIVITY_COLUMNS

ACTIVITY_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "date": pl.Date(),
    "type": pl.String(),
    "owner": pl.String(),
    "duration_minutes": pl.Float64(),
    "activity_id": pl.String(),
    "subject": pl.String(),
}
assert tuple(ACTIVITY_SCHEMA) == tuple(ACTIVITY_COLUMNS)


def load_activities(ws: Any) -> pl.DataFrame:
    """Every stored activity of the workspace ``ws``, in import order, ``date`` as a Date."""
    columns = ", ".join(ACTIVITY_COLUMNS)
    with ws.committed() as conn:
        rows = conn.execute(f"SELECT {columns} FROM activities ORDER BY id").fetchall()
    raw = {name: pl.Int32() if name == "date" else dtype
           for name, dtype in ACTIVITY_SCHEMA.items()}
    frame = pl.DataFrame(rows, schema=raw, orient="row")
    return frame.with_columns(pl.col("date").cast(pl.Date))


def activity_count(ws: Any) -> int:
    """How many activities the workspace holds."""
    with ws.committed() as conn:
        return int(conn.execute("SELECT count(*) FROM activities").fetchone()[0])


def activity_summary(ws: Any, start: Any, end: Any) -> pl.DataFrame:
    """The activities dated in ``[start, end)`` summed in SQL per account, owner and type:
    ``account_id, owner, type, activities`` (count), ``duration_minutes`` (sum of the
    durations given, null when none is), ``without_duration`` (count of those
    without). ``core.coverage`` takes this in place of the rows: a million
    accounts' activities then cross into Python as a few rows per account."""
    epoch = dt.date(1970, 1, 1)
    with ws.committed() as conn:
        rows = conn.execute(
            "SELECT account_id, owner, type, count(*), sum(duration_minutes),"
            " count(*) - count(duration_minutes) FROM activities"
            " WHERE date >= ? AND date < ? GROUP BY account_id, owner, type"
            " ORDER BY account_id, owner, type",
            ((start - epoch).days, (end - epoch).days),
        ).fetchall()
    schema = {"account_id": pl.String(), "owner": pl.String(), "type": pl.String(),
              "activities": pl.Int64(), "duration_minutes": pl.Float64(),
              "without_duration": pl.Int64()}
    return pl.DataFrame(rows, schema=schema, orient="row")
