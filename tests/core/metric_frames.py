"""Frame helpers for the metric, ABC, RFM, bridge and frame tests (a module with a
unique name, so test files can import it whatever other conftest.py is loaded).

The hand frame (``hand_accounts`` / ``hand_transactions``) is analysed at
AS_OF = 2025-01-01 with a 12-month window: window = [2024-01-01, 2025-01-01),
previous window = [2023-01-01, 2024-01-01). The expected values, with their
arithmetic, are in tests/core/test_metrics.py.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

AS_OF = dt.date(2025, 1, 1)

TX_SCHEMA = {
    "account_id": pl.Utf8,
    "date": pl.Date,
    "amount": pl.Float64,
    "margin": pl.Float64,
    "invoice_id": pl.Utf8,
    "product_line": pl.Utf8,
}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def tx_frame(rows: list[tuple]) -> pl.DataFrame:
    """(account_id, date, amount, margin, invoice_id, product_line) rows -> canonical frame."""
    data = [
        (a, d(day) if isinstance(day, str) else day, amt, m, inv, line)
        for a, day, amt, m, inv, line in rows
    ]
    return pl.DataFrame(data, schema=TX_SCHEMA, orient="row")


def random_data(seed: int, n_accounts: int = 3000, n_tx: int = 30000
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A seeded random data set with returns, null invoices and margins, ties.

    Amounts come from a short list of values, so revenue and frequency ties are
    common and the tie rules are exercised.
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"acc{i:05d}" for i in range(n_accounts)])
    customers = ids[: int(n_accounts * 0.8)]
    acct = customers[rng.integers(0, len(customers), n_tx)]
    start = dt.date(2022, 1, 1)
    days = rng.integers(0, 3 * 365, n_tx)
    dates = [start + dt.timedelta(days=int(x)) for x in days]
    amount = rng.choice([5.0, 10.0, 19.99, 25.5, 100.0, 250.0], n_tx)
    amount[rng.random(n_tx) < 0.08] *= -1
    margin = np.round(amount * 0.3, 2)
    margin_null = rng.random(n_tx) < 0.1
    invoice = np.array([f"inv{i % (n_tx // 2)}" for i in range(n_tx)], dtype=object)
    invoice[rng.random(n_tx) < 0.15] = None
    lines = np.array(["L1", "L2", "L3", "L4", None], dtype=object)[rng.integers(0, 5, n_tx)]
    tx = pl.DataFrame(
        {
            "account_id": acct,
            "date": dates,
            "amount": amount,
            "margin": [None if n else float(m) for m, n in zip(margin, margin_null, strict=True)],
            "invoice_id": list(invoice),
            "product_line": list(lines),
        },
        schema=TX_SCHEMA,
    )
    # An invoice id belongs to one account: prefix it with the account.
    tx = tx.with_columns(
        pl.when(pl.col("invoice_id").is_not_null())
        .then(pl.col("account_id") + ":" + pl.col("invoice_id"))
        .alias("invoice_id")
    )
    accounts = pl.DataFrame({"account_id": ids, "industry": rng.choice(["a", "b"], n_accounts)})
    return accounts, tx
