"""How numbers look on screen: short, aligned, and never in scientific notation."""

from __future__ import annotations

import math

import polars as pl


def short_number(value: float | int | None, *, decimals: int = 1) -> str:
    """12_345_678 -> '12.3M'; 1_234 -> '1.2k'; None -> '–'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{sign}{value / limit:.{decimals}f}{suffix}"
    if float(value).is_integer():
        return f"{sign}{int(value)}"
    return f"{sign}{value:.{decimals}f}"


def grouped(value: int | None) -> str:
    """1234567 -> '1,234,567'."""
    return "–" if value is None else f"{value:,}"


def percent(value: float | None, *, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{decimals}f}%"


def display_frame(df: pl.DataFrame, *, decimals: int = 2) -> pl.DataFrame:
    """A copy for a table: floats as exact decimals with ``decimals`` places.

    The table formats a float with six significant digits (``12236.1``, or
    ``1.23457e+06`` for a million); a decimal shows as it is (``1234567.89``).
    """
    floats = [name for name, dtype in df.schema.items() if dtype in (pl.Float32, pl.Float64)]
    if not floats:
        return df.clone()
    return df.with_columns(
        pl.col(floats).round(decimals).cast(pl.Decimal(38, decimals), strict=False)
    )


def column_widths(df: pl.DataFrame, *, max_width: int | None = None) -> list[int | None]:
    """How wide each column of ``df`` renders in a table, measured in polars.

    Numbers: the smallest and the largest value as the table formats them
    (``format(v, "n")``); the table itself would measure the largest only, and
    cut a longer negative. Text: the longest value (capped at ``max_width``).
    Dates: 10; booleans: 7 (the table's ``✓ True``). Other types: None (let the
    table measure). Labels are measured by the table.
    """
    widths: list[int | None] = []
    for name, dtype in df.schema.items():
        series = df.get_column(name)
        if dtype.is_numeric():
            texts = [format(v, "n") for v in (series.min(), series.max()) if v is not None]
            width: int | None = max([1, *(len(t) for t in texts)])
        elif dtype == pl.Utf8:
            longest = series.str.len_chars().max()
            width = int(longest) if longest is not None else 1
        elif dtype == pl.Date:
            width = 10
        elif dtype == pl.Boolean:
            width = 7
        else:
            width = None
        if width is not None and max_width is not None:
            width = min(width, max_width)
        widths.append(width)
    return widths


def cell_text(value: object) -> str:
    """A value as TSV cell text: no tabs or newlines inside, None as empty."""
    if value is None:
        return ""
    text = str(value)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def to_tsv(df: pl.DataFrame) -> str:
    """The frame as tab-separated text with a header line (for spreadsheets)."""
    lines = ["\t".join(df.columns)]
    for row in df.iter_rows():
        lines.append("\t".join(cell_text(v) for v in row))
    return "\n".join(lines) + "\n"
