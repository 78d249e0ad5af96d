"""RFM scores and named RFM segments (DOMAIN.md "RFM").

Scored population: accounts with at least one purchase day before the analysis
date (``recency_days`` is not null), so lapsed customers with nothing in the
window are scored too (they are the "Lost" and "Hibernating" ones). Prospects
get null scores and a null segment.

Scores: R from ``recency_days`` (fewer days is better), F from ``frequency``
(purchase days in the window), M from ``revenue`` (window revenue). Each is the
quintile of the account's rank, 1-5 with 5 best:

    order the n scored accounts by (value, account_id) ascending;
    r = 1..n in that order (ties broken by account id, i.e. rank "first");
    bucket = clip(ceil(5 * (r - 1) / (n - 1)) - 1, 0, 4)   (integer arithmetic)
    F, M score = bucket + 1;  R score = 5 - bucket  (recency ranks ascending days)

which is exactly pandas ``qcut(rank(method="first"), 5, labels=False)`` (edges
at the 0, .2, ..., 1 quantiles of 1..n, right-closed) without its float
rounding. With a single scored account (n = 1) every score is 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from core.abc import sort_by_id
from core.errors import UsageError

SCORE_VALUES = range(1, 6)


@dataclass(frozen=True)
class RfmGridRow:
    """One named segment: the inclusive ranges of R and F scores it covers."""

    segment: str
    r: tuple[int, int]
    f: tuple[int, int]

    def covers(self, r: int, f: int) -> bool:
        return self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1]


@dataclass(frozen=True)
class RfmGrid:
    """Ordered (segment, R range, F range) rows; the first row covering a cell wins.

    Cells that no row covers get ``default``. The grid is data: edit it, save
    it with ``to_json`` and read it back with ``from_json``.
    """

    rows: tuple[RfmGridRow, ...]
    default: str = "Other"

    def segment_of(self, r: int, f: int) -> str:
        for row in self.rows:
            if row.covers(r, f):
                return row.segment
        return self.default

    def cells(self) -> pl.DataFrame:
        """All 25 (r_score, f_score) cells with their segment."""
        rs, fs, names = [], [], []
        for r in SCORE_VALUES:
            for f in SCORE_VALUES:
                rs.append(r)
                fs.append(f)
                names.append(self.segment_of(r, f))
        return pl.DataFrame(
            {"r_score": rs, "f_score": fs, "rfm_segment": names},
            schema={"r_score": pl.Int8, "f_score": pl.Int8, "rfm_segment": pl.Utf8},
        )

    def to_dict(self) -> dict:
        return {
            "rows": [{"segment": x.segment, "r": list(x.r), "f": list(x.f)} for x in self.rows],
            "default": self.default,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> RfmGrid:
        try:
            rows = tuple(
                RfmGridRow(str(x["segment"]), _score_range(x["r"]), _score_range(x["f"]))
                for x in data["rows"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"invalid RFM grid: {exc}") from None
        return cls(rows=rows, default=str(data.get("default", "Other")))

    @classmethod
    def from_json(cls, text: str) -> RfmGrid:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"invalid RFM grid JSON: {exc}") from None
        return cls.from_dict(data)


def _score_range(value) -> tuple[int, int]:
    lo, hi = (int(v) for v in value)
    if not (1 <= lo <= hi <= 5):
        raise ValueError(f"score range {value!r} must be within 1..5 and ordered")
    return (lo, hi)


# The widely published R x F segment map (rows checked in order; "Lost" is the
# bottom-left cell of the "Hibernating" block).
DEFAULT_RFM_GRID = RfmGrid(
    rows=(
        RfmGridRow("Champions", (5, 5), (4, 5)),
        RfmGridRow("Loyal", (3, 4), (4, 5)),
        RfmGridRow("Potential loyalists", (4, 5), (2, 3)),
        RfmGridRow("New", (5, 5), (1, 1)),
        RfmGridRow("Promising", (4, 4), (1, 1)),
        RfmGridRow("Need attention", (3, 3), (3, 3)),
        RfmGridRow("About to sleep", (3, 3), (1, 2)),
        RfmGridRow("Can't lose", (1, 2), (5, 5)),
        RfmGridRow("At risk", (1, 2), (3, 4)),
        RfmGridRow("Lost", (1, 1), (1, 1)),
        RfmGridRow("Hibernating", (1, 2), (1, 2)),
    )
)
DEFAULT_GRID = DEFAULT_RFM_GRID


def quintile_bucket(rank: pl.Expr, n: pl.Expr) -> pl.Expr:
    """0-4 bucket of 1-based ``rank`` among ``n``: qcut(rank, 5, labels=False) in integers."""
    n1 = n - 1
    # ceil(5(r-1)/(n-1)) - 1 with integer floor division: (a + b - 1) // b.
    bucket = (5 * (rank - 1) + n1 - 1) // n1 - 1
    return pl.when(n1 > 0).then(bucket.clip(0, 4)).otherwise(2)


def _score(value: str, *, reverse: bool) -> pl.Expr:
    # Ordinal rank over (value, account_id): the frame is sorted by account_id
    # first, and rank("ordinal") keeps that order among equal values.
    rank = pl.col(value).rank("ordinal").cast(pl.Int64)
    bucket = quintile_bucket(rank, pl.len().cast(pl.Int64))
    score = (5 - bucket) if reverse else (bucket + 1)
    return score.cast(pl.Int8)


def rfm_scores(
    metrics: pl.DataFrame | pl.LazyFrame, grid: RfmGrid | dict = DEFAULT_RFM_GRID
) -> pl.DataFrame:
    """R, F, M scores 1-5 and the named segment for every account of ``metrics``.

    DOMAIN.md: recency, frequency, monetary scores 1-5 (5 best) by quintiles of
    the ranks, ties broken by account id (the qcut(rank(method="first"))
    convention). Recency ranks ascending days (most recent scores 5). Named RFM
    segments from the R and F scores with the usual published grid; the grid is
    data, editable. See the module docstring for the exact formula and who is scored.

    Returns ``account_id, r_score, f_score, m_score, rfm_segment`` in the order of
    ``metrics``. ``grid`` may also be the dict form (``RfmGrid.to_dict()``).
    """
    if isinstance(grid, dict):
        grid = RfmGrid.from_dict(grid)
    cells = grid.cells()
    names = cells["rfm_segment"].to_list()
    lf = metrics.lazy().select("account_id", "recency_days", "frequency", "revenue")
    scored = lf.with_row_index("_row").filter(pl.col("recency_days").is_not_null()).collect()
    ranked = (
        sort_by_id(scored)
        .lazy()
        .select(
            "_row",
            _score("recency_days", reverse=True).alias("r_score"),
            _score("frequency", reverse=False).alias("f_score"),
            _score("revenue", reverse=False).alias("m_score"),
        )
        .collect()
    )
    # Back to the input order by row number (an integer scatter, not a join on ids).
    n = metrics.lazy().select(pl.len()).collect().item()
    columns = {}
    for name in ("r_score", "f_score", "m_score"):
        full = pl.Series(name, [], dtype=pl.Int8).extend_constant(None, n)
        if ranked.height:
            full = full.scatter(ranked["_row"], ranked[name])
        columns[name] = full
    out = lf.select("account_id").collect().with_columns(**columns)
    cell = (pl.col("r_score").cast(pl.Int32) - 1) * 5 + pl.col("f_score").cast(pl.Int32) - 1
    return out.with_columns(
        cell.replace_strict(list(range(25)), names, return_dtype=pl.Utf8).alias("rfm_segment")
    )
