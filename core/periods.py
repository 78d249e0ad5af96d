"""Calendar arithmetic shared by the metric windows and the revenue bridge.

Windows are whole calendar months counted back from the analysis date (the
same rule as polars ``dt.offset_by("-12mo")``: the day of month is kept and
clamped to the month's last day), never 30-day approximations.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from core.errors import UsageError

Period = Literal["year", "quarter", "month"]
PERIOD_MONTHS: dict[str, int] = {"year": 12, "quarter": 3, "month": 1}


def shift_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (negative = back), end of month clamped."""
    if months == 0:
        return day
    return pl.select(pl.lit(day, dtype=pl.Date).dt.offset_by(f"{months}mo")).item()


def period_months(period: str) -> int:
    """Length of a bridge period in months; raises UsageError for an unknown name."""
    try:
        return PERIOD_MONTHS[period]
    except KeyError:
        choices = ", ".join(PERIOD_MONTHS)
        raise UsageError(f"unknown period {period!r}: choose one of {choices}") from None


def period_start(day: dt.date, period: str) -> dt.date:
    """First day of the calendar year, quarter or month that contains ``day``."""
    months = period_months(period)
    month = ((day.month - 1) // months) * months + 1
    return dt.date(day.year, month, 1)
