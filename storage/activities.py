"""Reading the activities table (CRM calls, meetings, visits, e-mails; schema migration 7).

Activities are small beside the invoice lines (tens per account and year), so
they are read with one query rather than through the snapshot children of
``storage.loading``.
"""

from __future__ import annotations

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
