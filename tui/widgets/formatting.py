"""How numbers look on screen: the one formatter of the workbench.

Every screen and table formats through here, so a figure reads the same on
each: money with thousands separators and cents (``7,230.69``), shares and
rates as percentages (``28.4%``), counts grouped (``1,234``), days with their
unit (``12 days``), and a missing value as ``–``. ``short_number`` (``5.7M``)
is for tiles and summaries only, where the exact figure is one key away.
``kind_of`` decides from a column's name (and type) which of these it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl

from core.units import column_kind

NULL_REP = "–"
Formatter = Callable[[object], str]



def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: object, *, cents: bool = True) -> str:
    """7230.69 -> '7,230.69' (``cents=False``: '7,231'); None -> '–'."""
    if _missing(value):
        return NULL_REP
    return f"{float(value):,.2f}" if cents else f"{float(value):,.0f}"  # type: ignore[arg-type]


def share(value: object, *, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.2843 -> '28.4%'; None -> '–'."""
    if _missing(value):
        return NULL_REP
    return f"{float(value) * 100:,.{decimals}f}%"  # type: ignore[arg-type]


def count(value: object) -> str:
    """1234567 -> '1,234,567' (a float count is rounded); None -> '–'."""
    if _missing(value):
        return NULL_REP
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def days(value: object) -> str:
    """12 -> '12 days', 1 -> '1 day'; None -> '–'."""
    if _missing(value):
        return NULL_REP
    n = round(float(value))  # type: ignore[arg-type]
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def number(value: object) -> str:
    """Any other figure: integers grouped, floats with two decimals; booleans yes/no."""
    if _missing(value):
        return NULL_REP
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def plain(value: object) -> str:
    """A number that is a code, a year or a score: as it is (an integral float without .0)."""
    if _missing(value):
        return NULL_REP
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def text(value: object) -> str:
    if _missing(value):
        return NULL_REP
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def short_number(value: float | int | None, *, decimals: int = 1) -> str:
    """12_345_678 -> '12.3M'; 1_234 -> '1.2k'; None -> '–' (tiles and summaries only)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NULL_REP
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
    return count(value)


def percent(value: float | None, *, decimals: int = 1) -> str:
    """A fraction as a percentage (same as ``share``)."""
    return share(value, decimals=decimals)


def clip_words(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut between words with '…' (never mid-word
    unless one word is longer than ``width``)."""
    if len(text) <= width:
        return text
    words = text.split()
    kept = ""
    for word in words:
        candidate = f"{kept} {word}" if kept else word
        if len(candidate) + 1 > width:
            break
        kept = candidate
    if not kept:
        return text[: max(width - 1, 0)] + "…"
    return kept.rstrip(" ·,-") + "…"


def kind_of(name: str, dtype: pl.DataType | None = None) -> str:
    """'share', 'days', 'money', 'count', 'number', 'plain' or 'text' for a column name."""
    if dtype is not None and not dtype.is_numeric():
        return "text"
    kind = column_kind(name)
    if kind == "number" and dtype is not None and dtype.is_integer():
        return "count"
    return kind


FORMATTERS: dict[str, Formatter] = {
    "share": share, "days": days, "money": money, "count": count, "number": number,
    "text": text, "plain": plain,
}


def formatter_for(name: str, dtype: pl.DataType | None = None) -> Formatter:
    """The formatter of a column (by its name and type)."""
    return FORMATTERS[kind_of(name, dtype)]


def format_value(name: str, value: object) -> str:
    """One value of column or metric ``name`` as the screens show it."""
    if isinstance(value, str | bool):
        return text(value)
    if not isinstance(value, int | float) and value is not None:
        return str(value)
    return formatter_for(name)(value)


def display_frame(df: pl.DataFrame, *, decimals: int = 2) -> pl.DataFrame:
    """A copy for a table: floats as exact decimals with ``decimals`` places.

    The table formats a float with six significant digits (``12236.1``, or
    ``1.23457e+06`` for a million); a decimal shows as it is (``1234567.89``).
    A share (``margin_pct`` 0.2843, ``kind_of``) shows as a percentage with one
    decimal under a header that says so: ``margin_pct %`` 28.4. Only the header
    changes; the name stays the one the filter language uses.
    """
    floats = [name for name, dtype in df.schema.items() if dtype in (pl.Float32, pl.Float64)]
    if not floats:
        return df.clone()
    shares = [name for name in floats if kind_of(name) == "share"]
    plain = [name for name in floats if name not in shares]
    exprs = []
    if plain:
        exprs.append(pl.col(plain).round(decimals).cast(pl.Decimal(38, decimals), strict=False))
    if shares:
        exprs.append((pl.col(shares) * 100).round(1).cast(pl.Decimal(38, 1), strict=False))
    out = df.with_columns(exprs)
    return out.rename({name: f"{name} %" for name in shares}) if shares else out


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
