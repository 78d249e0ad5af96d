"""Coverage: sales effort against potential (DOMAIN.md "Coverage: sales effort against potential").

- **Effort** of an account = the minutes of its activities dated in the window
  ``[as_of - window_months, as_of)``: an activity's own duration where the
  export gives one, else its type's default (visit 120, meeting 60, call 15,
  e-mail 5 minutes; other types such as tasks and notes 0; all editable in
  ``CoverageSettings.minutes``). Types are read from CRM wording
  (``Call``, ``CALL``, ``Email``, ``INCOMING_EMAIL``, ``Site visit``, ...).
- **Coverage ratio** = share of effort / share of headroom, both over the
  accounts in scope. An account with effort but no headroom has no finite
  ratio (``ratio`` null, ``coverage_band`` "> 2"): effort where nothing is
  left to win.
- **Over-covered**: ratio > ``over_ratio`` (2) and headroom in the lower half
  (``headroom <= quantile(headroom, 0.5)``). **Under-covered**: ratio <
  ``under_ratio`` (0.5) and headroom in the top quarter
  (``headroom >= quantile(headroom, 0.75)``). Quantiles are linear-interpolated
  over the accounts in scope.
- **Scope**: "book" (default) = accounts with revenue in the window or effort
  in the window; "all" = every account with a potential (prospects too).
- **Owner** of an account = the activity owner with most minutes on it in the
  window (ties: the first owner by name). Per owner: the minutes the owner
  spent on accounts in scope against the headroom of the accounts they own.
- **Reallocation**: an over-covered account keeps its fair effort (total
  effort x its share of headroom); the rest is freed and placed on the
  under-covered accounts, largest headroom first, each up to its fair effort.
  The headroom reached is the headroom of the accounts that receive effort.
  Any revenue uplift rests on ``response_per_hour`` (share of an account's
  headroom won per hour added, capped at the headroom): an explicit,
  editable assumption, labelled as such wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core.errors import UsageError
from core.periods import shift_months

EFFORT_TYPES = ("visit", "meeting", "call", "email", "other")
DEFAULT_MINUTES: dict[str, float] = {
    "visit": 120.0, "meeting": 60.0, "call": 15.0, "email": 5.0, "other": 0.0,
}
COVERAGE_BANDS = ("none", "< 0.5", "0.5-2", "> 2")
HEADROOM_BANDS = ("Q1 lowest", "Q2", "Q3", "Q4 highest")
RESPONSE_LABEL = (
    "ASSUMPTION (not measured): each hour added to an under-covered account wins "
    "{pct} of its headroom within a year"
)


@dataclass(frozen=True)
class CoverageSettings:
    """The editable parts of the coverage definition."""

    minutes: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MINUTES))
    over_ratio: float = 2.0
    over_headroom_quantile: float = 0.5
    under_ratio: float = 0.5
    under_headroom_quantile: float = 0.75
    response_per_hour: float = 0.002

    def __post_init__(self) -> None:
        unknown = sorted(set(self.minutes) - set(EFFORT_TYPES))
        if unknown:
            raise UsageError(f"unknown activity type(s) {', '.join(unknown)}; "
                             f"expected {', '.join(EFFORT_TYPES)}")
        for name, value in self.minutes.items():
            if not value >= 0:
                raise UsageError(f"minutes for {name} must be 0 or more, got {value}")
        if not 0 < self.under_ratio <= self.over_ratio:
            raise UsageError("thresholds must satisfy 0 < under ratio <= over ratio, got "
                             f"{self.under_ratio} and {self.over_ratio}")
        for name in ("over_headroom_quantile", "under_headroom_quantile"):
            if not 0 <= getattr(self, name) <= 1:
                raise UsageError(f"{name.replace('_', ' ')} must be within 0-1")
        if not 0 <= self.response_per_hour <= 1:
            raise UsageError(f"the response per hour must be within 0-1, got "
                             f"{self.response_per_hour}")

    def minutes_for(self, kind: str) -> float:
        return float({**DEFAULT_MINUTES, **self.minutes}[kind])

    @property
    def response_label(self) -> str:
        return RESPONSE_LABEL.format(pct=f"{self.response_per_hour:.2%}")


@dataclass(frozen=True)
class Coverage:
    """Per account, per segment, per owner, the matrix and the reallocation."""

    accounts: pl.DataFrame
    segments: pl.DataFrame
    owners: pl.DataFrame
    matrix: pl.DataFrame
    reallocation: pl.DataFrame
    released: pl.DataFrame
    summary: dict[str, Any]
    settings: CoverageSettings
    as_of: dt.date
    window_months: int
    scope: str
    notes: tuple[str, ...]


def activity_kind(raw: pl.Expr) -> pl.Expr:
    """CRM wording of an activity type -> visit, meeting, call, email or other."""
    s = raw.cast(pl.String).str.to_lowercase().str.replace_all(r"[^a-z]", "")
    return (
        pl.when(s.str.contains("visit|onsite|inperson|fieldsales")).then(pl.lit("visit"))
        .when(s.str.contains("meeting|event|appointment|demo")).then(pl.lit("meeting"))
        .when(s.str.contains("call|phone")).then(pl.lit("call"))
        .when(s.str.contains("mail")).then(pl.lit("email"))
        .otherwise(pl.lit("other"))
    )


def activity_effort(
    activities: pl.DataFrame, settings: CoverageSettings, as_of: dt.date, window_months: int,
) -> pl.DataFrame:
    """The window's activities with ``kind``, ``n`` (activities per row) and
    ``minutes`` (durations given, else the type's default).

    ``activities`` is either one row per activity (``date``, ``duration_minutes``
    null where not given) or the window's summary of
    ``storage.activities.activity_summary`` (no ``date``; ``activities`` = count,
    ``duration_minutes`` = sum of the durations given, ``without_duration`` =
    count of those without one).
    """
    start = shift_months(as_of, -window_months)
    defaults = pl.DataFrame({"kind": list(EFFORT_TYPES),
                             "default_minutes": [settings.minutes_for(k) for k in EFFORT_TYPES]})
    acts = activities
    if "duration_minutes" not in acts.columns:
        acts = acts.with_columns(duration_minutes=pl.lit(None, pl.Float64))
    if "owner" not in acts.columns:
        acts = acts.with_columns(owner=pl.lit(None, pl.String))
    if "date" in acts.columns:
        acts = acts.filter((pl.col("date") >= start) & (pl.col("date") < as_of))
        given = pl.col("duration_minutes").cast(pl.Float64)
        acts = acts.with_columns(n=pl.lit(1, pl.Int64),
                                 without_duration=given.is_null().cast(pl.Int64))
    else:
        acts = acts.with_columns(n=pl.col("activities").cast(pl.Int64))
    # the type words are few: read each once, not once per activity
    words = acts.select(pl.col("type").cast(pl.String).unique().drop_nulls())
    kinds = dict(words.with_columns(kind=activity_kind(pl.col("type"))).iter_rows())
    return (
        acts.with_columns(pl.col("account_id").cast(pl.String),
                          kind=pl.col("type").cast(pl.String)
                          .replace_strict(kinds, default="other", return_dtype=pl.String),
                          owner=pl.col("owner").cast(pl.String).fill_null("(no owner)"))
        .join(defaults, on="kind", how="left")
        .with_columns(minutes=pl.col("duration_minutes").cast(pl.Float64).fill_null(0.0)
                      + pl.col("default_minutes") * pl.col("without_duration"))
        .drop("default_minutes")
    )


def _owners(acts: pl.DataFrame) -> pl.DataFrame:
    # most minutes, ties to the first name: a max, a filter and a min instead of
    # a three-key sort (seconds at a million accounts)
    per = acts.group_by("account_id", "owner").agg(pl.col("minutes").sum())
    return (per.filter(pl.col("minutes") == pl.col("minutes").max().over("account_id"))
            .group_by("account_id").agg(pl.col("owner").min()))


def coverage(
    activities: pl.DataFrame,
    potential: pl.DataFrame,
    *,
    as_of: dt.date,
    window_months: int = 12,
    assignments: pl.DataFrame | None = None,
    settings: CoverageSettings | None = None,
    scope: str = "book",
) -> Coverage:
    """Coverage of each account, segment and owner (see the module docstring).

    ``activities``: account_id, date (Date), type, owner, duration_minutes
    (null: the type's default). ``potential``: account_id, revenue (window
    revenue), potential, headroom, one row per account (``core.potential``).
    ``assignments``: account_id, segment (optional).
    """
    settings = settings or CoverageSettings()
    if not isinstance(window_months, int) or window_months < 1:
        raise UsageError(f"window must be a whole number of months >= 1, got {window_months!r}")
    if scope not in ("book", "all"):
        raise UsageError(f"scope must be 'book' or 'all', got {scope!r}")
    notes: list[str] = []
    acts = activity_effort(activities, settings, as_of, window_months)
    pot = potential.select(
        pl.col("account_id").cast(pl.String),
        pl.col("revenue").cast(pl.Float64).fill_null(0.0),
        pl.col("potential").cast(pl.Float64),
        pl.col("headroom").cast(pl.Float64),
    ).filter(pl.col("headroom").is_not_null())
    known = acts.join(pot.select("account_id"), on="account_id", how="semi")
    left_out = int(acts["n"].sum()) - int(known["n"].sum())
    if left_out:
        notes.append(f"{left_out:,} activities in the window are on accounts "
                     "without a potential and are left out")
    acts = known
    other = int(acts.filter(pl.col("kind") == "other")["n"].sum())
    if other:
        notes.append(f"{other:,} activities of other types (tasks, notes, ...) count "
                     f"{settings.minutes_for('other'):g} minutes unless they give a duration")
    per_account = acts.group_by("account_id").agg(
        effort_minutes=pl.col("minutes").sum(), activities=pl.col("n").sum().cast(pl.Int64))
    frame = (pot.join(per_account, on="account_id", how="left")
             .with_columns(pl.col("effort_minutes").fill_null(0.0),
                           pl.col("activities").fill_null(0)))
    if scope == "book":
        frame = frame.filter((pl.col("revenue") > 0) | (pl.col("effort_minutes") > 0))
    total_effort = float(frame["effort_minutes"].sum())
    total_headroom = float(frame["headroom"].sum())
    if frame.is_empty() or total_effort <= 0:
        raise UsageError("there is no sales effort in the window: import activities "
                         "(segscope import WS FILE --kind activities) dated before the "
                         f"analysis date {as_of.isoformat()}")
    if total_headroom <= 0:
        raise UsageError("the accounts in scope have no headroom: coverage against it is "
                         "undefined")
    q_over = float(frame["headroom"].quantile(settings.over_headroom_quantile, "linear"))
    q_under = float(frame["headroom"].quantile(settings.under_headroom_quantile, "linear"))
    q25 = float(frame["headroom"].quantile(0.25, "linear"))
    q50 = float(frame["headroom"].quantile(0.5, "linear"))
    q75 = float(frame["headroom"].quantile(0.75, "linear"))
    segment = (assignments.select(pl.col("account_id").cast(pl.String),
                                  pl.col("segment").cast(pl.String))
               if assignments is not None else None)
    frame = frame.join(_owners(acts), on="account_id", how="left")
    if segment is not None:
        frame = frame.join(segment, on="account_id", how="left")
    else:
        frame = frame.with_columns(segment=pl.lit(None, pl.String))
    h, e = pl.col("headroom"), pl.col("effort_minutes")
    ratio = pl.when(h > 0).then((e / total_effort) / (h / total_headroom))
    frame = frame.with_columns(
        share_effort=e / total_effort,
        share_headroom=h / total_headroom,
        ratio=ratio,
        fair_minutes=total_effort * h / total_headroom,
    ).with_columns(
        over=(pl.col("ratio").is_null() & (e > 0) | (pl.col("ratio") > settings.over_ratio))
        & (h <= q_over),
        under=(pl.col("ratio") < settings.under_ratio) & (h >= q_under),
        coverage_band=pl.when(e <= 0).then(pl.lit("none"))
        .when(pl.col("ratio").is_null() | (pl.col("ratio") > 2)).then(pl.lit("> 2"))
        .when(pl.col("ratio") < 0.5).then(pl.lit("< 0.5"))
        .otherwise(pl.lit("0.5-2")),
        headroom_band=pl.when(h <= q25).then(pl.lit(HEADROOM_BANDS[0]))
        .when(h <= q50).then(pl.lit(HEADROOM_BANDS[1]))
        .when(h < q75).then(pl.lit(HEADROOM_BANDS[2]))
        .otherwise(pl.lit(HEADROOM_BANDS[3])),
    ).with_columns(
        over=pl.col("over").fill_null(False),
        under=pl.col("under").fill_null(False),
    ).with_columns(
        status=pl.when(pl.col("over")).then(pl.lit("over"))
        .when(pl.col("under")).then(pl.lit("under")).otherwise(pl.lit("")),
    ).select(
        "account_id", "segment", "owner", "revenue", "potential", "headroom",
        "activities", "effort_minutes", "share_effort", "share_headroom", "ratio",
        "fair_minutes", "coverage_band", "headroom_band", "status",
    ).sort(["headroom", "account_id"], descending=[True, False])

    segments = _group(frame, "segment", total_effort, total_headroom)
    owner_minutes = (acts.join(frame.select("account_id"), on="account_id", how="semi")
                     .group_by("owner").agg(effort_minutes=pl.col("minutes").sum()))
    owned = frame.filter(pl.col("owner").is_not_null()).group_by("owner").agg(
        accounts=pl.len().cast(pl.Int64), headroom=pl.col("headroom").sum(),
        over=pl.col("status").eq("over").sum().cast(pl.Int64),
        under=pl.col("status").eq("under").sum().cast(pl.Int64))
    owners = (owner_minutes.join(owned, on="owner", how="full", coalesce=True)
              .with_columns(pl.col("accounts", "over", "under").fill_null(0),
                            pl.col("headroom", "effort_minutes").fill_null(0.0))
              .with_columns(share_effort=pl.col("effort_minutes") / total_effort,
                            share_headroom=pl.col("headroom") / total_headroom)
              .with_columns(ratio=pl.when(pl.col("share_headroom") > 0)
                            .then(pl.col("share_effort") / pl.col("share_headroom")))
              .select("owner", "accounts", "effort_minutes", "headroom", "share_effort",
                      "share_headroom", "ratio", "over", "under")
              .sort(["effort_minutes", "owner"], descending=[True, False]))
    matrix = _matrix(frame)
    reallocation, released, moved = _reallocate(frame, settings)
    uplift = float(reallocation["assumed_uplift"].sum()) if reallocation.height else 0.0
    summary = {
        "accounts": frame.height,
        "activities": int(frame["activities"].sum()),
        "effort_hours": total_effort / 60.0,
        "headroom": total_headroom,
        "over_covered": int(frame["status"].eq("over").sum()),
        "under_covered": int(frame["status"].eq("under").sum()),
        "over_effort_hours": float(frame.filter(pl.col("status") == "over")["effort_minutes"]
                                   .sum()) / 60.0,
        "under_headroom": float(frame.filter(pl.col("status") == "under")["headroom"].sum()),
        "hours_freed": float(released["minutes_freed"].sum()) / 60.0 if released.height else 0.0,
        "hours_moved": moved / 60.0,
        "headroom_reached": float(reallocation["headroom"].sum()) if reallocation.height else 0.0,
        "assumed_uplift": uplift,
        "response_assumption": settings.response_label,
        "thresholds": {"over_ratio": settings.over_ratio,
                       "over_headroom_at_most": q_over,
                       "under_ratio": settings.under_ratio,
                       "under_headroom_at_least": q_under},
        "minutes": {k: settings.minutes_for(k) for k in EFFORT_TYPES},
    }
    return Coverage(accounts=frame, segments=segments, owners=owners, matrix=matrix,
                    reallocation=reallocation, released=released, summary=summary,
                    settings=settings, as_of=as_of, window_months=window_months, scope=scope,
                    notes=tuple(notes))


def _group(frame: pl.DataFrame, key: str, total_effort: float,
           total_headroom: float) -> pl.DataFrame:
    return (frame.group_by(key).agg(
        accounts=pl.len().cast(pl.Int64),
        effort_minutes=pl.col("effort_minutes").sum(),
        headroom=pl.col("headroom").sum(),
        over=pl.col("status").eq("over").sum().cast(pl.Int64),
        under=pl.col("status").eq("under").sum().cast(pl.Int64),
    ).with_columns(share_effort=pl.col("effort_minutes") / total_effort,
                   share_headroom=pl.col("headroom") / total_headroom)
     .with_columns(ratio=pl.when(pl.col("share_headroom") > 0)
                   .then(pl.col("share_effort") / pl.col("share_headroom")))
     .sort(["headroom", key], descending=[True, False], nulls_last=True))


def _matrix(frame: pl.DataFrame) -> pl.DataFrame:
    """Every coverage band x headroom band cell, empty cells included."""
    cells = pl.DataFrame({"coverage_band": list(COVERAGE_BANDS)}).join(
        pl.DataFrame({"headroom_band": list(HEADROOM_BANDS)}), how="cross")
    counts = frame.group_by("coverage_band", "headroom_band").agg(
        accounts=pl.len().cast(pl.Int64), effort_minutes=pl.col("effort_minutes").sum(),
        headroom=pl.col("headroom").sum())
    return (cells.join(counts, on=["coverage_band", "headroom_band"], how="left",
                       maintain_order="left")
            .with_columns(pl.col("accounts").fill_null(0),
                          pl.col("effort_minutes", "headroom").fill_null(0.0)))


def _reallocate(frame: pl.DataFrame,
                settings: CoverageSettings) -> tuple[pl.DataFrame, pl.DataFrame, float]:
    """(receiving under-covered accounts, releasing over-covered ones, minutes moved)."""
    released = (frame.filter(pl.col("status") == "over")
                .with_columns(minutes_freed=(pl.col("effort_minutes") - pl.col("fair_minutes"))
                              .clip(lower_bound=0.0))
                .select("account_id", "segment", "owner", "headroom", "effort_minutes",
                        "fair_minutes", "minutes_freed")
                .sort(["minutes_freed", "account_id"], descending=[True, False]))
    pool = float(released["minutes_freed"].sum()) if released.height else 0.0
    takers = (frame.filter(pl.col("status") == "under")
              .sort(["headroom", "account_id"], descending=[True, False]))
    added: list[float] = []
    left = pool
    for effort, fair in zip(takers["effort_minutes"].to_list(), takers["fair_minutes"].to_list(),
                            strict=True):
        give = min(max(fair - effort, 0.0), left)
        added.append(give)
        left -= give
    takers = takers.with_columns(minutes_added=pl.Series(added, dtype=pl.Float64))
    takers = takers.filter(pl.col("minutes_added") > 0)
    response = settings.response_per_hour
    reallocation = takers.with_columns(
        effort_after=pl.col("effort_minutes") + pl.col("minutes_added"),
    ).with_columns(
        ratio_after=pl.col("effort_after") / pl.col("fair_minutes"),
        assumed_uplift=(pl.col("minutes_added") / 60.0 * response).clip(upper_bound=1.0)
        * pl.col("headroom"),
    ).select("account_id", "segment", "owner", "headroom", "effort_minutes", "minutes_added",
             "effort_after", "ratio", "ratio_after", "assumed_uplift")
    return reallocation, released, pool - left
