"""Segment KPIs of game plans: actuals from the current data, against targets.

DOMAIN.md "Game plans": "KPIs: a metric segscope computes (revenue, growth,
NRR, share of wallet, accounts, churned accounts, ...), a target and a
deadline, with the actual value computed live and compared with the
target." Issue 6 adds GRR, margin %, average order value and average CLV,
and the trend from frozen runs.

Per segment (the definitions of ``core.profile.segment_profiles`` where it
has the metric, so a KPI always shows the number the profile shows):

- ``revenue``, ``accounts``, ``growth``, ``margin_pct``, ``avg_order_value``,
  ``nrr``: as in the segment profile;
- ``grr`` = (P0 − churn − contraction) / P0 over the accounts with positive
  P0 revenue in the revenue bridge = sum of min(P0, P1) over those still
  active in P1 / sum of P0 (DOMAIN.md "revenue bridge");
- ``churned_accounts``: accounts whose bridge class is "Churned";
- ``share_of_wallet`` = sum revenue / sum potential over the accounts that
  have a potential (like ``core.potential``'s segment TAM table); needs a
  ``potential`` column in the frame (run the potential model);
- ``avg_clv``: mean ``clv`` over accounts that have one; needs a ``clv``
  column (run the CLV model).

Status of a KPI (``kpi_actuals``), with ``at_least`` (higher is better) or
``at_most`` (lower is better):

- ``met``: the actual reaches the target;
- ``on track``: not met, the deadline not passed, and the actual reaches the
  *expected* value of a straight line from the ``baseline`` (the actual when
  the KPI was added) on its creation day to the target on the deadline:
  expected = baseline + (target − baseline) × elapsed / (deadline − created),
  the fraction clipped to 0–1;
- ``off track``: otherwise (also when there is no deadline or no baseline,
  since progress cannot be judged then: the note says so);
- ``not available``: no actual (segment absent, metric not computable).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from core.errors import UsageError
from core.profile import _segment_codes as segment_codes
from core.profile import aligned_segments, segment_profiles

__all__ = [
    "KPI_METRICS",
    "KPI_LABELS",
    "DIRECTIONS",
    "check_metric",
    "metric_availability",
    "segment_kpis",
    "kpi_actuals",
    "kpi_trend",
    "kpi_status",
]

KPI_METRICS = (
    "revenue", "growth", "nrr", "grr", "accounts", "churned_accounts", "margin_pct",
    "avg_order_value", "share_of_wallet", "avg_clv",
)  # fmt: skip
KPI_LABELS = {
    "revenue": "Revenue",
    "growth": "Growth",
    "nrr": "NRR",
    "grr": "GRR",
    "accounts": "Accounts",
    "churned_accounts": "Churned accounts",
    "margin_pct": "Margin %",
    "avg_order_value": "Average order value",
    "share_of_wallet": "Share of wallet",
    "avg_clv": "Average CLV",
}
# Ratios shown as percentages.
PERCENT_METRICS = frozenset({"growth", "nrr", "grr", "margin_pct", "share_of_wallet"})
DIRECTIONS = ("at_least", "at_most")
_NEEDS_POTENTIAL = "not available: run the potential model (no 'potential' column)"
_NEEDS_CLV = "not available: run the CLV model (no 'clv' column)"
_NEEDS_BRIDGE = "not available: no revenue bridge (no transactions)"


def check_metric(metric: str) -> str:
    """``metric`` if it is a KPI metric, else a ``UsageError`` listing them."""
    if metric not in KPI_METRICS:
        raise UsageError(f"unknown KPI metric {metric!r}; choose one of {', '.join(KPI_METRICS)}")
    return metric


def metric_availability(
    frame: pl.DataFrame, bridge_accounts: pl.DataFrame | None = None
) -> dict[str, str | None]:
    """Per metric: None when it can be computed from ``frame``, else why not."""
    has_bridge = bridge_accounts is not None or {"bridge_prev_revenue", "bridge_revenue"} <= set(
        frame.columns
    )
    out: dict[str, str | None] = dict.fromkeys(KPI_METRICS)
    if not has_bridge:
        out["nrr"] = out["grr"] = _NEEDS_BRIDGE
    if bridge_accounts is None and "bridge_class" not in frame.columns:
        out["churned_accounts"] = _NEEDS_BRIDGE
    if "potential" not in frame.columns:
        out["share_of_wallet"] = _NEEDS_POTENTIAL
    if "clv" not in frame.columns:
        out["avg_clv"] = _NEEDS_CLV
    return out


def segment_kpis(
    frame: pl.DataFrame,
    assignments: pl.DataFrame,
    *,
    bridge_accounts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per segment (display order): ``segment`` and one column per
    metric of ``KPI_METRICS`` (null where not available; see the module
    docstring for the definitions). ``bridge_accounts`` =
    ``core.bridge.revenue_bridge(...).accounts`` gives NRR, GRR and churned
    accounts (else the frame's ``bridge_*`` columns are used when present)."""
    n = frame.height
    work = frame
    churned: np.ndarray | None = None
    if bridge_accounts is not None:
        # one join; the profile then reads NRR from the bridge_* columns (same numbers
        # as its bridge_accounts path, without joining a second time)
        joined = frame.select("account_id").join(
            bridge_accounts.select("account_id", "p0_revenue", "p1_revenue", "bridge_class"),
            on="account_id", how="left", maintain_order="left",
        )  # fmt: skip
        work = frame.with_columns(
            joined["p0_revenue"].cast(pl.Float64).fill_null(0.0).alias("bridge_prev_revenue"),
            joined["p1_revenue"].cast(pl.Float64).fill_null(0.0).alias("bridge_revenue"),
        )
        churned = (joined["bridge_class"] == "Churned").fill_null(False).to_numpy()
    elif "bridge_class" in frame.columns:
        churned = (frame["bridge_class"].cast(pl.String) == "Churned").fill_null(False).to_numpy()
    profiles = segment_profiles(work, assignments)
    codes, labels = segment_codes(aligned_segments(frame, assignments))
    k = len(labels)

    def numbers(name: str) -> np.ndarray:
        return work.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()

    def per_segment(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=k)

    def ratio(num: np.ndarray, den: np.ndarray) -> list[float | None]:
        return [float(a / b) if b > 0 else None for a, b in zip(num, den, strict=True)]

    extra: dict[str, Any] = {"segment": labels}
    if churned is not None:
        extra["churned_accounts"] = per_segment(churned.astype(np.float64)).astype(np.int64)
    if {"bridge_prev_revenue", "bridge_revenue"} <= set(work.columns):
        p0 = np.nan_to_num(numbers("bridge_prev_revenue"))
        p1 = np.nan_to_num(numbers("bridge_revenue"))
        active = p0 > 0
        extra["grr"] = ratio(
            per_segment(np.where(active & (p1 > 0), np.minimum(p0, p1), 0.0)),
            per_segment(np.where(active, p0, 0.0)),
        )
    if "potential" in frame.columns:
        potential = numbers("potential")
        revenue = numbers("revenue") if "revenue" in frame.columns else np.zeros(n)
        known = ~np.isnan(potential)
        extra["share_of_wallet"] = ratio(
            # max(revenue, 0): net returns do not make a negative share (DOMAIN.md)
            per_segment(np.where(known, np.maximum(np.nan_to_num(revenue), 0.0), 0.0)),
            per_segment(np.where(known, potential, 0.0)),
        )
    if "clv" in frame.columns:
        clv = numbers("clv")
        known = ~np.isnan(clv)
        extra["avg_clv"] = ratio(per_segment(np.where(known, clv, 0.0)),
                                 per_segment(known.astype(np.float64)))  # fmt: skip
    schema = {c: pl.Int64 if c == "churned_accounts" else pl.Float64 for c in extra}
    schema["segment"] = pl.String
    out = profiles.select(
        "segment", "revenue", "growth", "nrr", "accounts", "margin_pct", "avg_order_value"
    ).join(pl.DataFrame(extra, schema=schema), on="segment", how="left", maintain_order="left")
    for metric in KPI_METRICS:
        if metric not in out.columns:
            dtype = pl.Int64 if metric == "churned_accounts" else pl.Float64
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(metric))
    return out.select("segment", *KPI_METRICS)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _reaches(actual: float, goal: float, direction: str) -> bool:
    return actual >= goal if direction == "at_least" else actual <= goal


def kpi_status(
    actual: float | None,
    target: float | None,
    direction: str,
    *,
    baseline: float | None,
    created: dt.date | None,
    deadline: dt.date | None,
    today: dt.date,
) -> tuple[str, float | None, str]:
    """(status, expected value today, note) for one KPI (module docstring)."""
    if direction not in DIRECTIONS:
        raise UsageError(f"KPI direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if actual is None or not np.isfinite(actual):
        return "not available", None, "no actual value"
    if target is None:
        return "not available", None, "no target"
    if _reaches(actual, target, direction):
        return "met", target, ""
    if deadline is None:
        return "off track", None, "not met; no deadline to judge progress against"
    if today >= deadline:
        return "off track", target, "deadline passed"
    if baseline is None or created is None:
        return "off track", None, "not met; no baseline to judge progress from"
    span = (deadline - created).days
    fraction = 1.0 if span <= 0 else min(max((today - created).days / span, 0.0), 1.0)
    expected = baseline + (target - baseline) * fraction
    if _reaches(actual, expected, direction):
        return "on track", expected, ""
    return "off track", expected, "behind the straight line from baseline to target"


def kpi_actuals(
    frame: pl.DataFrame,
    assignments: pl.DataFrame,
    kpis: pl.DataFrame,
    *,
    today: dt.date,
    bridge_accounts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Each KPI of ``kpis`` (``id, segment, metric, target, deadline, direction``
    and optionally ``baseline, created_at``) with its live ``actual`` from
    :func:`segment_kpis`, the ``expected`` value today and ``status`` met /
    on track / off track / not available, and a ``note``."""
    table = segment_kpis(frame, assignments, bridge_accounts=bridge_accounts)
    availability = metric_availability(frame, bridge_accounts)
    by_segment = {row["segment"]: row for row in table.iter_rows(named=True)}
    rows = []
    for k in kpis.iter_rows(named=True):
        metric = k["metric"]
        check_metric(metric)
        seg_row = by_segment.get(k["segment"])
        actual = None if seg_row is None else seg_row.get(metric)
        actual = None if actual is None else float(actual)
        status, expected, note = kpi_status(
            actual,
            None if k.get("target") is None else float(k["target"]),
            k.get("direction") or "at_least",
            baseline=k.get("baseline"),
            created=_date(k.get("created_at")),
            deadline=_date(k.get("deadline")),
            today=today,
        )
        if seg_row is None:
            note = "segment not in the current results of the model"
        elif actual is None and availability.get(metric):
            note = availability[metric] or note
        rows.append({
            "id": k.get("id"), "segment": k["segment"], "metric": metric, "actual": actual,
            "target": k.get("target"), "deadline": _iso(k.get("deadline")),
            "direction": k.get("direction") or "at_least", "baseline": k.get("baseline"),
            "expected": expected, "status": status, "note": note,
        })  # fmt: skip
    return pl.DataFrame(rows, schema=_ACTUALS_SCHEMA)


def _iso(value: Any) -> str | None:
    d = _date(value)
    return None if d is None else d.isoformat()


_ACTUALS_SCHEMA = {
    "id": pl.Int64, "segment": pl.String, "metric": pl.String, "actual": pl.Float64,
    "target": pl.Float64, "deadline": pl.String, "direction": pl.String,
    "baseline": pl.Float64, "expected": pl.Float64, "status": pl.String, "note": pl.String,
}  # fmt: skip


def kpi_trend(
    points: Sequence[tuple[str, pl.DataFrame, pl.DataFrame, pl.DataFrame | None]],
    kpis: pl.DataFrame,
) -> pl.DataFrame:
    """The KPIs at each point, e.g. each frozen run: ``points`` are
    ``(label, frame, assignments, bridge_accounts)`` (the frame at the run's
    analysis date and the run's frozen assignments). Returns ``point, id,
    segment, metric, actual`` in point order."""
    rows = []
    for label, frame, assignments, bridge in points:
        table = segment_kpis(frame, assignments, bridge_accounts=bridge)
        by_segment: Mapping[str, dict] = {r["segment"]: r for r in table.iter_rows(named=True)}
        for k in kpis.iter_rows(named=True):
            metric = check_metric(k["metric"])
            seg_row = by_segment.get(k["segment"])
            value = None if seg_row is None else seg_row.get(metric)
            actual = None if value is None else float(value)
            rows.append({"point": label, "id": k.get("id"), "segment": k["segment"],
                         "metric": metric, "actual": actual})  # fmt: skip
    return pl.DataFrame(rows, schema={"point": pl.String, "id": pl.Int64, "segment": pl.String,
                                      "metric": pl.String, "actual": pl.Float64})  # fmt: skip
