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


def column_widths(df: pl.DataFrame) -> list[int | None]:
    """Widths for the numeric columns of ``df`` (None elsewhere: the table measures those).

    The table measures a numeric column by its largest value only, so a
    longer negative or a value with more decimals would be cut; here the
    smallest and the largest values and the label are all measured.
    """
    widths: list[int | None] = []
    for name, dtype in df.schema.items():
        if dtype.is_numeric():
            series = df.get_column(name)
            texts = [format(v, "n") for v in (series.min(), series.max()) if v is not None]
            widths.append(max([len(name), *(len(t) for t in texts)]))
        else:
            widths.append(None)
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
