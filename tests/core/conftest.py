"""Tiny hand-made frames for the metric, ABC, RFM, bridge and frame tests.

The hand frame is analysed at AS_OF = 2025-01-01 with a 12-month window:
window = [2024-01-01, 2025-01-01), previous window = [2023-01-01, 2024-01-01).
The expected values, with their arithmetic, are in tests/core/test_metrics.py.
"""

from __future__ import annotations

import polars as pl
import pytest
from metric_frames import tx_frame


@pytest.fixture
def hand_accounts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "name": ["One", "Two", "Three", "Four (prospect)", "Five (returns only)"],
            "industry": ["Retail", "Retail", "Health", "Health", "Finance"],
        }
    )


@pytest.fixture
def hand_transactions() -> pl.DataFrame:
    return tx_frame(
        [
            # A1: history before the window, a return-only day, a line without margin.
            ("A1", "2023-03-10", 100.00, 30.0, "I1", "X"),
            ("A1", "2024-02-01", 200.00, 50.0, "I2", "X"),
            ("A1", "2024-02-01", 50.00, 10.0, "I2", "Y"),
            ("A1", "2024-06-15", 300.00, 90.0, "I3", "Z"),
            ("A1", "2024-06-20", -50.00, -10.0, "I4", "Y"),
            ("A1", "2024-12-31", 100.00, None, "I5", "X"),
            # A2: nothing in the window; a day whose purchase and return cancel.
            ("A2", "2022-06-01", 80.00, None, None, "X"),
            ("A2", "2023-05-05", 40.00, None, None, "X"),
            ("A2", "2023-05-05", -40.00, None, None, "X"),
            ("A2", "2023-07-01", 20.00, None, "J1", "X"),
            # A3: no margins, lines without invoice, two invoices on one day,
            # a line on the analysis date itself (excluded).
            ("A3", "2024-03-01", 10.00, None, None, None),
            ("A3", "2024-03-01", 15.00, None, None, "Y"),
            ("A3", "2024-03-02", 5.00, None, None, None),
            ("A3", "2024-03-02", -5.00, None, None, None),
            ("A3", "2024-11-30", 70.00, None, "K1", "Y"),
            ("A3", "2024-11-30", 30.00, None, "K2", "Y"),
            ("A3", "2025-01-01", 999.00, None, "K3", "Y"),
            # A5: returns only.
            ("A5", "2024-05-05", -20.00, -5.0, "R1", "X"),
            # Z9 is not in accounts: ignored by the metric frame.
            ("Z9", "2024-05-05", 1000.00, 1.0, "Z1", "X"),
        ]
    )
