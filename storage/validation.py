"""Validating mapped import rows, vectorised, with reasons a person understands.

Everything here works on whole polars columns; a reason string is built only
for the rows that are rejected, so a 20-million-line file never goes through a
Python loop per row.

Per-file decisions (``FileRules``) come first, from the whole column, because a
single value cannot tell how to read ``03/04/2024`` or ``1,250``:

- **Decimal separator** per numeric column: a value that can only be read one
  way (``12,5``, ``1.234,56``, ``0,75`` versus ``12.5``, ``1,234.56``) is
  evidence; the majority wins. With no evidence (only integers or values like
  ``1,250``) a ``;``-separated file reads the comma as decimal separator (the
  European convention that produced the ``;``), any other file reads it as a
  thousands separator. Values that do not fit the chosen reading are rejected.
  Currency symbols and codes (``€ 1.234,50``, ``$1,234.50``, ``1234 EUR``),
  spaces and apostrophes as thousands separators, accounting negatives
  ``(12.50)`` and SAP-style trailing minus ``12.50-`` are understood.
- **Date order** per date column, for day-first/month-first dates
  (``d/m/Y``, ``m/d/Y``, also with ``.`` or ``-``): a first part above 12 means
  day/month, a second part above 12 means month/day; if the whole column is
  ambiguous, day/month/year is used and the report says so. ISO dates
  (``2024-03-31``), timestamps (``2010-12-01 08:26:00``, ``2024-03-31T10:00Z``,
  the date is taken as written, not shifted to UTC), ``YYYYMMDD``, Excel serial
  numbers (days since 1899-12-30) and ``01-Dec-2010`` are read too.

Row rules:

- A required field (``account_id``; ``date`` and ``amount`` for transactions)
  that is empty rejects the row. ``amount`` is ``quantity x unit_price`` when
  the file has no amount (or the amount cell is empty).
- A value that does not parse as its column's type rejects the row (also for
  optional columns: a silently emptied value hides a data problem).
- Negative amounts are returns or credit notes and are kept.
- Duplicate ids within one accounts or contacts file: the first valid row with
  an id is kept, later rows with the same id are rejected as duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from storage import limits
from storage.readers import ROW

NULL_TOKENS = ["", "na", "n/a", "null", "none", "nan", "-", "--", "#n/a", "nil"]
# Cells that stand for "no value" and are never an account id.
ID_PLACEHOLDERS = [
    *NULL_TOKENS,
    "?",
    "??",
    "n.a.",
    "nv",
    "_",
    "—",
    "–",
    "unknown",
    "undefined",
    "(null)",
    "<null>",
    "(blank)",
    "#null!",
    "#ref!",
    "#value!",
]
# The spellings looked for (an exact is_in is much cheaper than lower-casing
# every id of 20 million lines).
_ID_PLACEHOLDER_SPELLINGS = sorted(
    {v for t in ID_PLACEHOLDERS for v in (t, t.upper(), t.title(), t.capitalize())}
)
# The bound of each number (storage.limits); numbers without one here get
# MAX_ABS_OTHER_NUMBER.
NUMBER_BOUNDS = {
    "amount": limits.MAX_ABS_AMOUNT,
    "margin": limits.MAX_ABS_AMOUNT,
    "quantity": limits.MAX_ABS_QUANTITY,
    "unit_price": limits.MAX_ABS_UNIT_PRICE,
    # a week of minutes: a longer "activity" is a data error, not effort
    "duration_minutes": 7 * 24 * 60,
}
# Full-width digits and separators (Japanese and Chinese input methods) read as ASCII.
_FULL_WIDTH = [chr(0xFF10 + i) for i in range(10)] + ["／", "－", "：", "．", "\u3000"]
_HALF_WIDTH = [str(i) for i in range(10)] + ["/", "-", ":", ".", " "]

# Typed targets per kind.
INT_TARGETS = {
    "accounts": ("employees", "founded_year", "buying_center_size"),
    "transactions": ("orders",),
    "contacts": (),
    "activities": (),
}
FLOAT_TARGETS = {
    "accounts": ("annual_revenue",),
    "transactions": ("amount", "margin", "quantity", "unit_price"),
    "contacts": (),
    "activities": ("duration_minutes",),
}
DATE_TARGETS = {
    "accounts": (), "transactions": ("date",), "contacts": (), "activities": ("date",),
}
BOOL_TARGETS = {"accounts": ("is_customer",), "transactions": (), "contacts": (), "activities": ()}
ID_TARGET = {
    "accounts": "account_id", "transactions": None, "contacts": "contact_id", "activities": None,
}

TRUE_WORDS = ["true", "yes", "y", "1", "x", "customer", "ja", "oui", "wahr"]
FALSE_WORDS = ["false", "no", "n", "0", "prospect", "nein", "non", "falsch"]

_CURRENCY = r"(?:[€$£¥₹]|(?i:eur|usd|gbp|chf|jpy|sek|nok|dkk|pln|czk|huf|cad|aud))"

# A value that can only be read with "." as the decimal separator, and with ",".
_POINT_ONLY = (
    r"^[+-]?(?:\d*\.\d{1,2}|\d*\.\d{4,}|\d{4,}\.\d+|0?\.\d+|\d{1,3}(?:,\d{3})+\.\d+)$"
    r"|[eE][+-]?\d+$"
)
_COMMA_ONLY = r"^[+-]?(?:\d*,\d{1,2}|\d*,\d{4,}|\d{4,},\d+|0?,\d+|\d{1,3}(?:\.\d{3})+,\d+)$"
_POINT_VALID = r"^[+-]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$"
_COMMA_VALID = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,?\d*|,\d+)$"

# Hours 0-23, minutes 0-59, seconds 0-60 (a leap second): 25:61 is not a time.
_TIME = (
    r"(?:[T ](?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:[.,][0-9]+)?)?"
    r"\s*(?:[AaPp][Mm]|Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_ISO = rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME}$"
_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_SERIAL = r"^\d{1,5}(?:\.\d+)?$"
_DAY_MONTH = rf"^(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}})\.?{_TIME}$"
_MONTH_NAME = rf"^(\d{{1,2}})[- ]([A-Za-z]{{3}})[A-Za-z]*\.?[- ,]+(\d{{4}}|\d{{2}}){_TIME}$"
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
MIN_YEAR, MAX_YEAR = 1900, 2199
ORDER_WORDS = {"dmy": "day/month/year", "mdy": "month/day/year"}


# -- cleaning ------------------------------------------------------------------


def text(expr: pl.Expr) -> pl.Expr:
    """Stripped text, empty as null."""
    s = expr.str.strip_chars()
    return pl.when(s.str.len_bytes() > 0).then(s)


def present(expr: pl.Expr) -> pl.Expr:
    """True where a typed cell holds something other than a null token."""
    s = expr.str.strip_chars().str.to_lowercase()
    return s.is_not_null() & ~s.is_in(NULL_TOKENS)


def _number_text(expr: pl.Expr) -> pl.Expr:
    """Strip currency, spaces and sign conventions; keep digits and separators."""
    s = expr.str.replace_all(r"[\s\u00a0\u202f'’]", "")
    s = s.str.replace(rf"^([+-]?){_CURRENCY}", "${1}")
    s = s.str.replace(rf"{_CURRENCY}$", "")
    paren = s.str.contains(r"^\(.*\)$")
    s = pl.when(paren).then(pl.lit("-") + s.str.slice(1).str.strip_suffix(")")).otherwise(s)
    trailing = s.str.contains(r"^\d[\d.,]*-$")
    s = pl.when(trailing).then(pl.lit("-") + s.str.strip_suffix("-")).otherwise(s)
    return s


def parse_number(expr: pl.Expr, style: str) -> pl.Expr:
    """Float64 of a number written with ``style`` 'point' or 'comma' decimals; null if invalid."""
    s = _number_text(expr)
    if style == "comma":
        ok = s.str.contains(_COMMA_VALID) & s.str.contains(r"\d")
        norm = s.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    else:
        ok = s.str.contains(_POINT_VALID) & s.str.contains(r"\d")
        norm = s.str.replace_all(",", "", literal=True)
    return pl.when(ok).then(norm.cast(pl.Float64, strict=False))


def parse_bool(expr: pl.Expr) -> pl.Expr:
    s = expr.str.strip_chars().str.to_lowercase()
    return (pl.when(s.is_in(TRUE_WORDS)).then(True).when(s.is_in(FALSE_WORDS)).then(False)).cast(
        pl.Boolean
    )


def _ymd_date(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """A Date from integer parts; null when the day does not exist (31/02)."""
    txt = pl.format(
        "{}-{}-{}",
        y.cast(pl.String).str.zfill(4),
        m.cast(pl.String).str.zfill(2),
        d.cast(pl.String).str.zfill(2),
    )
    return txt.str.to_date("%Y-%m-%d", strict=False)


def _year(ystr: pl.Expr) -> pl.Expr:
    """Integer year; two-digit years pivot like strptime's %y (69-99 -> 19xx, else 20xx)."""
    y = ystr.cast(pl.Int32, strict=False)
    two = ystr.str.len_bytes() == 2
    return pl.when(two & (y <= 68)).then(y + 2000).when(two).then(y + 1900).otherwise(y)


def _groups(s: pl.Expr, pattern: str, i: int) -> pl.Expr:
    return s.str.extract(pattern, i)


def _int(part: pl.Expr) -> pl.Expr:
    # ``\d`` in a regex also matches other scripts' digits (Arabic-Indic, ...),
    # which do not cast: null, so the cell is rejected rather than the import.
    return part.cast(pl.Int32, strict=False)


def date_text(expr: pl.Expr) -> pl.Expr:
    """The stripped cell with full-width digits and separators as ASCII."""
    return expr.str.strip_chars().str.replace_many(_FULL_WIDTH, _HALF_WIDTH)


def parse_date(expr: pl.Expr, order: str = "dmy") -> pl.Expr:
    """Date of a cell in any supported format; ``order`` reads d/m/Y vs m/d/Y."""
    s = date_text(expr)
    iso = _ymd_date(*(_int(_groups(s, _ISO, i)) for i in (1, 2, 3)))
    compact = _ymd_date(*(_int(_groups(s, _COMPACT, i)) for i in (1, 2, 3)))
    a = _int(_groups(s, _DAY_MONTH, 1))
    b = _int(_groups(s, _DAY_MONTH, 2))
    y = _year(_groups(s, _DAY_MONTH, 3))
    slash = _ymd_date(y, a, b) if order == "mdy" else _ymd_date(y, b, a)
    mon = (
        _groups(s, _MONTH_NAME, 2)
        .str.to_lowercase()
        .replace_strict(MONTHS, default=None, return_dtype=pl.Int32)
    )
    named = _ymd_date(_year(_groups(s, _MONTH_NAME, 3)), mon, _int(_groups(s, _MONTH_NAME, 1)))
    serial_days = pl.when(s.str.contains(_SERIAL)).then(
        s.cast(pl.Float64, strict=False).floor().cast(pl.Int64)
    )
    serial = (pl.lit(-25569, pl.Int64) + serial_days).cast(pl.Int32).cast(pl.Date)
    date = pl.coalesce(iso, compact, slash, named, serial)
    year = date.dt.year()
    return pl.when((year >= MIN_YEAR) & (year <= MAX_YEAR)).then(date)


_LO, _HI = dt.date(MIN_YEAR, 1, 1), dt.date(MAX_YEAR, 12, 31)


def _in_range(date: pl.Expr) -> pl.Expr:
    return pl.when((date >= _LO) & (date <= _HI)).then(date)


def _fast_dates(c: pl.Expr) -> list[pl.Expr]:
    """Cheap exact-format readers of the commonest date cells (ISO date, ISO timestamp)."""
    return [
        _in_range(c.str.to_date("%Y-%m-%d", strict=False)),
        _in_range(c.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date()),
    ]


def _fast_number(c: pl.Expr, style: str) -> pl.Expr:
    """A plain number cell (``12.5``, ``-3``; ``12,5`` in comma style) by a straight cast."""
    if style == "comma":
        no_point = ~c.str.contains(".", literal=True)
        v = (
            pl.when(no_point)
            .then(c.str.replace(",", ".", literal=True))
            .cast(pl.Float64, strict=False)
        )
    else:
        v = c.cast(pl.Float64, strict=False)
    return pl.when(v.is_finite()).then(v)


def type_column(
    frame: pl.DataFrame, src: str, steps: Sequence[pl.Expr], careful: pl.Expr
) -> tuple[pl.Series, pl.Series]:
    """(value, bad) of one source column.

    The cheap ``steps`` run first, each only on the cells the previous ones
    could not read; ``careful`` (the full regex parser) only on what is left.
    ``bad`` marks cells that hold something (not a null token) and could not be read.
    """
    # One column as its own frame: a select on a frame of many columns costs
    # time in proportion to its width, and this runs once per column.
    frame = frame.get_column(src).to_frame()
    raw = frame.get_column(src)
    value = frame.select(steps[0].alias("v")).get_column("v")
    todo = raw.is_not_null() & value.is_null()
    for step in [*steps[1:], careful]:
        if not todo.any():
            break
        idx = todo.arg_true()
        got = frame.select(pl.col(src)).gather(idx).select(step.alias("v")).get_column("v")
        value = value.scatter(idx, got.cast(value.dtype))
        todo = todo.scatter(idx, got.is_null())
    if todo.any():
        idx = todo.arg_true()
        held = frame.select(pl.col(src)).gather(idx).select(present(pl.col(src))).to_series()
        todo = todo.scatter(idx, held)
    return value, todo


# -- per-file decisions ------------------------------------------------------------


@dataclass
class Evidence:
    """Counts gathered over every batch of a file, from which ``FileRules`` are decided."""

    numbers: dict[str, list[int]] = field(default_factory=dict)
    # source -> [present, point_only, comma_only, valid_point, valid_comma, with . or ,]
    dates: dict[str, list[int]] = field(default_factory=dict)
    # source -> [day_first_evidence, month_first_evidence, day_month_pattern]
    separator: str = ";"  # the file's delimiter: only ";" files default to a decimal comma

    def add(
        self,
        frame: pl.DataFrame,
        number_sources: Sequence[str],
        date_sources: Sequence[str],
        attribute_sources: Sequence[str] = (),
    ) -> None:
        """Add the counts of one batch. Cheap casts first; regexes only where needed."""
        # each column as its own frame (see type_column)
        for src in number_sources:
            one = frame.get_column(src).to_frame()
            self._add(self.numbers, src, self._number_counts(one, src, src in attribute_sources))
        for src in date_sources:
            self._add(self.dates, src, self._date_counts(frame.get_column(src).to_frame(), src))

    @staticmethod
    def _add(store: dict[str, list[int]], src: str, counts: list[int]) -> None:
        old = store.setdefault(src, [0] * len(counts))
        store[src] = [x + y for x, y in zip(old, counts, strict=True)]

    def _number_counts(self, frame: pl.DataFrame, src: str, full: bool) -> list[int]:
        c = pl.col(src)
        if full:  # attributes (small files): is every value a number, either way?
            p = present(c)
            held, digits = frame.select(
                p.sum().alias("held"), (p & c.str.contains("[0-9]")).sum().alias("digits")
            ).row(0)
            if digits != held:
                # a value without a digit: text, whatever the rest holds (and the
                # regexes below cost ~30 ms a column to compile: a wide file of
                # text columns skips them)
                return [int(held or 0), 0, 0, 0, 0, 0]
            s = _number_text(c)
            exprs = [
                p.sum(),
                (p & s.str.contains(_POINT_ONLY)).sum(),
                (p & s.str.contains(_COMMA_ONLY)).sum(),
                (p & parse_number(c, "point").is_not_null()).sum(),
                (p & parse_number(c, "comma").is_not_null()).sum(),
                (p & s.str.contains(r"[.,]")).sum(),
            ]
            return [
                int(x or 0)
                for x in frame.select(e.alias(str(i)) for i, e in enumerate(exprs)).row(0)
            ]
        # Plain cells are read by a cast (as "12.5" or as "12,5") and give their
        # evidence from the raw text; only the rest is cleaned of currency etc.
        as_point = c.cast(pl.Float64, strict=False).is_not_null()
        no_point = ~c.str.contains(".", literal=True)
        as_comma = (
            ~as_point
            & no_point
            & c.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False).is_not_null()
        )
        sep = ~no_point | c.str.contains(",", literal=True)
        n_point, n_cells = frame.select(
            as_point.sum().alias("p"), c.is_not_null().sum().alias("n")
        ).row(0)
        if n_point == n_cells and self.separator != ";":
            # Every cell is a plain number and nothing defaults to a decimal comma.
            return [int(n_cells), 0, 0, 0, 0, 0]
        if n_point == n_cells:  # every cell is a plain number; is any point-only?
            point, seps = frame.select(
                c.str.contains(_POINT_ONLY).sum().alias("p"), sep.sum().alias("s")
            ).row(0)
            return [int(n_cells), int(point or 0), 0, 0, 0, int(seps or 0)]
        head = frame.select(
            (as_point | as_comma).sum().alias("plain"),
            (as_point & c.str.contains(_POINT_ONLY)).sum().alias("point"),
            (as_comma & c.str.contains(_COMMA_ONLY)).sum().alias("comma"),
            ((as_point | as_comma) & sep).sum().alias("sep"),
        ).row(0)
        hard = frame.select(c).filter(c.is_not_null() & ~as_point & ~as_comma)
        s = _number_text(c)
        p = present(c)
        tail = hard.select(
            p.sum(),
            (p & s.str.contains(_POINT_ONLY)).sum().alias("point"),
            (p & s.str.contains(_COMMA_ONLY)).sum().alias("comma"),
            (p & s.str.contains(r"[.,]")).sum().alias("sep"),
        ).row(0)
        plain, point, comma, seps = (int(x or 0) for x in head)
        t_n, t_point, t_comma, t_sep = (int(x or 0) for x in tail)
        return [plain + t_n, point + t_point, comma + t_comma, 0, 0, seps + t_sep]

    @staticmethod
    def _date_counts(frame: pl.DataFrame, src: str) -> list[int]:
        c = pl.col(src)
        iso = pl.coalesce(*_fast_dates(c))
        hard = frame.select(c).filter(c.is_not_null() & iso.is_null())
        if hard.height == 0:
            return [0, 0, 0]
        s = date_text(c)
        a = _int(s.str.extract(_DAY_MONTH, 1))
        b = _int(s.str.extract(_DAY_MONTH, 2))
        row = hard.select(
            (a > 12).sum().alias("dm"), (b > 12).sum().alias("md"), a.is_not_null().sum().alias("n")
        ).row(0)
        return [int(x or 0) for x in row]


@dataclass(frozen=True)
class FileRules:
    """How this file's numbers and dates are read (decided once for the whole file)."""

    decimal: Mapping[str, str]  # source column -> "point" | "comma"
    date_order: Mapping[str, str]  # source column -> "dmy" | "mdy"
    numeric_attributes: frozenset[str] = frozenset()  # attribute targets stored as REAL
    notes: tuple[str, ...] = ()


def decide_decimal(point_only: int, comma_only: int, separator: str) -> str:
    if comma_only > point_only:
        return "comma"
    if point_only > comma_only:
        return "point"
    return "comma" if separator == ";" else "point"


def decide_date_order(day_first: int, month_first: int) -> str:
    if month_first > day_first:
        return "mdy"
    return "dmy"


def decide_rules(
    evidence: Evidence,
    separator: str,
    number_sources: Mapping[str, str],
    attribute_sources: Mapping[str, str],
    date_sources: Mapping[str, str],
) -> FileRules:
    """``*_sources`` map source column -> target for the columns of each type."""
    decimal: dict[str, str] = {}
    notes: list[str] = []
    numeric_attrs: set[str] = set()
    for src, (n, point, comma, vp, vc, sep) in evidence.numbers.items():
        style = decide_decimal(point, comma, separator)
        decimal[src] = style
        if src in attribute_sources:
            valid = vc if style == "comma" else vp
            if n > 0 and valid == n:
                numeric_attrs.add(attribute_sources[src])
        elif point == 0 and comma == 0 and style == "comma" and sep:
            notes.append(
                f"{number_sources.get(src, src)} ('{src}'): read with a decimal comma "
                "(the file is ;-separated and no value says otherwise)"
            )
    order: dict[str, str] = {}
    for src, (dm, md, n) in evidence.dates.items():
        order[src] = decide_date_order(dm, md)
        target = date_sources.get(src, src)
        if n and dm == 0 and md == 0:
            notes.append(
                f"{target} ('{src}'): every d/m/y date is ambiguous (no part above 12); "
                "read as day/month/year. Check a few against the source."
            )
        elif n and dm and md:
            chosen = ORDER_WORDS[order[src]]
            notes.append(
                f"{target} ('{src}'): dates mix day-first and month-first; "
                f"read as {chosen}, the others are rejected"
            )
    return FileRules(decimal, order, frozenset(numeric_attrs), tuple(notes))


# -- validation --------------------------------------------------------------------


@dataclass
class Validated:
    accepted: pl.DataFrame  # canonical targets (+ ROW), typed; dates as Int32 days
    rejected: pl.DataFrame  # ROW, raw_json, reason, rule


REJECTED_SCHEMA = {ROW: pl.Int64, "raw_json": pl.String, "reason": pl.String, "rule": pl.String}


@dataclass(frozen=True)
class _Check:
    flag: str  # boolean column in the working frame
    rule: str  # category shown in reports ("amount is not a number")
    reason: pl.Expr  # built only on rejected rows


def _quoted(src: str) -> pl.Expr:
    return pl.col(src).str.strip_chars().str.slice(0, 80)


def validate(
    frame: pl.DataFrame,
    kind: str,
    mapping: Mapping[str, str],
    rules: FileRules,
    source_columns: Sequence[str],
) -> Validated:
    """Type, check and split one batch of raw rows into accepted and rejected."""
    by_target: dict[str, str] = {t: s for s, t in mapping.items()}
    ints, floats = INT_TARGETS[kind], FLOAT_TARGETS[kind]
    dates, bools = DATE_TARGETS[kind], BOOL_TARGETS[kind]
    checks: list[_Check] = []
    typed: dict[str, pl.Expr | pl.Series] = {}
    ranged: list[str] = []  # numeric targets whose values must be finite and bounded
    flags: dict[str, pl.Expr | pl.Series] = {}

    def t(target: str) -> pl.Expr:
        return pl.col(f"__t_{target}")

    def check(name: str, rule: str, reason: pl.Expr) -> None:
        checks.append(_Check(name, rule, reason))

    # Stages 1 and 2: typed values (null where empty or unreadable) and one flag
    # per value that is present but unreadable. Cheap casts read most cells;
    # the regex parsers see only the rest (type_column).
    for target, src in by_target.items():
        c = pl.col(src)
        style = rules.decimal.get(src, "point")
        if target in ints or target in floats or target in rules.numeric_attributes:
            value, bad = type_column(frame, src, [_fast_number(c, style)], parse_number(c, style))
            typed[target] = value
            ranged.append(target)
            if target in rules.numeric_attributes:
                continue
            flags[f"__bad_{target}"] = bad
            check(
                f"__bad_{target}",
                f"{target} is not a number",
                pl.format(f"{target} '{{}}' is not a number", _quoted(src)),
            )
            if target in ints:
                flags[f"__frac_{target}"] = t(target).is_not_null() & (
                    t(target) != t(target).round(0)
                )
                check(
                    f"__frac_{target}",
                    f"{target} is not a whole number",
                    pl.format(f"{target} '{{}}' is not a whole number", _quoted(src)),
                )
        elif target in dates:
            order_code = rules.date_order.get(src, "dmy")
            value, bad = type_column(frame, src, _fast_dates(c), parse_date(c, order_code))
            typed[target] = value
            flags[f"__bad_{target}"] = bad
            order = ORDER_WORDS[order_code]
            plain = pl.format(f"{target} '{{}}' is not a valid date", _quoted(src))
            hinted = pl.format(
                f"{target} '{{}}' is not a valid date (this file's d/m/y dates are read as "
                f"{order})",
                _quoted(src),
            )
            is_dm = c.str.strip_chars().str.contains(_DAY_MONTH)
            check(
                f"__bad_{target}",
                f"{target} is not a valid date",
                pl.when(is_dm).then(hinted).otherwise(plain),
            )
        elif target in bools:
            value, bad = type_column(frame, src, [parse_bool(c)], parse_bool(c))
            typed[target] = value
            flags[f"__bad_{target}"] = bad
            check(
                f"__bad_{target}",
                f"{target} is not yes/no",
                pl.format(f"{target} '{{}}' is not yes/no (true/false, 1/0)", _quoted(src)),
            )
        elif target in ("account_id", "contact_id", "invoice_id"):
            # Keys are compared and joined: surrounding spaces go.
            stripped = c.str.strip_chars()
            placeholder = stripped.is_in(_ID_PLACEHOLDER_SPELLINGS)
            if target == "account_id":
                typed[target] = pl.when(stripped.str.len_bytes() > 0).then(stripped)
                flags["__placeholder_account_id"] = (
                    placeholder & (stripped.str.len_bytes() > 0)
                ).fill_null(False)
                check(
                    "__placeholder_account_id",
                    "account_id is a placeholder",
                    pl.format(
                        "account_id '{}' is a placeholder for a missing value, not an id",
                        _quoted(src),
                    ),
                )
            else:
                # a contact without an id gets one of its own; a line without an
                # invoice id is appended
                typed[target] = pl.when((stripped.str.len_bytes() > 0) & ~placeholder).then(
                    stripped
                )
        elif kind == "transactions":
            # Millions of lines: text stays as read (the CSV reader already
            # turns empty cells into null).
            typed[target] = c
        else:
            typed[target] = text(c)

    # Stage 3: derived columns.
    derived: dict[str, pl.Expr] = {}
    if kind == "transactions" and "quantity" in typed and "unit_price" in typed:
        product = t("quantity") * t("unit_price")
        derived["amount"] = pl.coalesce(t("amount"), product) if "amount" in typed else product
    if kind == "contacts":
        parts = [t(k) for k in ("first_name", "last_name") if k in typed]
        if parts:
            joined = pl.concat_str(parts, separator=" ", ignore_nulls=True)
            joined = pl.when(joined.str.len_bytes() > 0).then(joined)
            derived["name"] = pl.coalesce(t("name"), joined) if "name" in typed else joined
        own = pl.format("{}-{}", t("account_id"), pl.col(ROW))
        derived["contact_id"] = pl.coalesce(t("contact_id"), own) if "contact_id" in typed else own
    names = [k for k in typed if k not in ("first_name", "last_name")]
    names += [k for k in derived if k not in names]

    # Stage 3b: numbers past their bound (storage.limits), inf and nan: one
    # such value would break every later sum, so the row is rejected.
    out_of_range: dict[str, pl.Expr] = {}
    for target in [*ranged, *(k for k in derived if k in floats and k not in ranged)]:
        bound = NUMBER_BOUNDS.get(target, limits.MAX_ABS_OTHER_NUMBER)
        value = t(target)
        flag = f"__range_{target}"
        out_of_range[flag] = value.is_not_null() & ~(value.is_finite() & (value.abs() <= bound))
        checks.append(
            _Check(
                flag,
                f"{target} is out of range",
                pl.when(value.is_finite())
                .then(
                    pl.format(
                        f"{target} {{}} is beyond the limit of ±{bound:,.0f}",
                        value.cast(pl.String),
                    )
                )
                .otherwise(
                    pl.format(f"{target} {{}} is not a finite number", value.cast(pl.String))
                ),
            )
        )

    # Stage 4: required values that are missing (not merely unparseable).
    required = ["account_id"] + (
        ["date", "amount"] if kind == "transactions" else ["date"] if kind == "activities" else []
    )
    missing: dict[str, pl.Expr] = {}
    type_flags = [pl.col(f) for f in flags]
    for target in required:
        src = by_target.get(target)
        if target == "amount" and src is None:
            label = "amount is missing (no amount, no quantity x unit price)"
        elif target == "amount" and "quantity" in typed:
            label = f"amount is missing ('{src}' is empty and no quantity x unit price)"
        else:
            label = f"{target} is missing ('{src}' is empty)"
        missing[f"__missing_{target}"] = t(target).is_null() & ~pl.any_horizontal(
            pl.lit(False), *type_flags
        )
        checks.append(_Check(f"__missing_{target}", f"{target} is missing", pl.lit(label)))

    if kind == "activities":
        # Effort is the duration, else the type's default: a row with neither
        # has no effort to count; a negative duration is a data error.
        if "duration_minutes" in typed:
            missing["__negative_duration"] = t("duration_minutes") < 0
            checks.append(_Check(
                "__negative_duration", "duration_minutes is negative",
                pl.format("duration_minutes {} is negative",
                          t("duration_minutes").cast(pl.String)),
            ))
        no_type = t("type").is_null() if "type" in typed else pl.lit(True)
        no_duration = (t("duration_minutes").is_null() if "duration_minutes" in typed
                       else pl.lit(True))
        missing["__no_effort"] = no_type & no_duration & ~pl.any_horizontal(
            pl.lit(False), *type_flags
        )
        checks.append(_Check(
            "__no_effort", "activity has no type and no duration",
            pl.lit("the activity has no type and no duration: its effort is unknown"),
        ))

    work = (
        frame.with_columns(
            **{
                f"__t_{k}": (v.alias(f"__t_{k}") if isinstance(v, pl.Series) else v)
                for k, v in typed.items()
            }
        )
        .with_columns(
            **{
                k: (v.alias(k) if isinstance(v, pl.Series) else v.fill_null(False))
                for k, v in flags.items()
            }
        )
        .with_columns(**{f"__t_{k}": v for k, v in derived.items()})
        .with_columns(**{k: v.fill_null(False) for k, v in out_of_range.items()})
        .with_columns(**{k: v.fill_null(False) for k, v in missing.items()})
    )
    flag_names = [ch.flag for ch in checks]
    work = work.with_columns(__bad=pl.any_horizontal(pl.lit(False), *map(pl.col, flag_names)))

    # Duplicates among otherwise valid rows: the first keeps the id.
    id_target = ID_TARGET[kind]
    if id_target is not None:
        key = f"__t_{id_target}"
        # The id of a row that failed another check does not count: null it.
        valid_key = pl.when(~pl.col("__bad")).then(pl.col(key))
        dup = valid_key.is_not_null() & ~valid_key.is_first_distinct()
        work = work.with_columns(__dup=dup)
        work = work.with_columns(__bad=pl.col("__bad") | pl.col("__dup"))
        first_rows = None
        if work.select(pl.col("__dup").any()).item():
            dup_keys = work.filter(pl.col("__dup")).get_column(key).unique()
            first_rows = (
                work.filter(pl.col(key).is_in(dup_keys.implode()) & ~pl.col("__bad"))
                .group_by(key)
                .agg(pl.col(ROW).min().alias("__first"))
            )
        checks.append(
            _Check(
                "__dup",
                f"duplicate {id_target}",
                pl.format(
                    f"duplicate {id_target} '{{}}' (first seen on row {{}}; the first is kept)",
                    pl.col(key),
                    pl.col("__first"),
                ),
            )
        )

    out = [pl.col(ROW)]
    for k in names:
        col = pl.col(f"__t_{k}")
        if k in ints:
            col = col.cast(pl.Int64, strict=False)
        elif k in dates:
            col = col.cast(pl.Int32)
        out.append(col.alias(k))
    accepted = work.filter(~pl.col("__bad")).select(out)
    bad_rows = work.filter(pl.col("__bad"))
    if id_target is not None:
        key = f"__t_{id_target}"
        if first_rows is not None:
            bad_rows = bad_rows.join(first_rows, on=key, how="left")
        else:
            bad_rows = bad_rows.with_columns(__first=pl.lit(None, pl.Int64))
    if bad_rows.height == 0:
        rejected = pl.DataFrame(schema=REJECTED_SCHEMA)
    else:
        src_cols = [c for c in source_columns if c in bad_rows.columns]
        reasons = [pl.when(pl.col(ch.flag)).then(ch.reason) for ch in checks]
        categories = [pl.when(pl.col(ch.flag)).then(pl.lit(ch.rule)) for ch in checks]
        rejected = bad_rows.select(
            pl.col(ROW),
            pl.struct(src_cols).struct.json_encode().alias("raw_json"),
            pl.concat_list(reasons).list.drop_nulls().list.join("; ").alias("reason"),
            pl.coalesce(categories).alias("rule"),
        )
    return Validated(accepted, rejected)
