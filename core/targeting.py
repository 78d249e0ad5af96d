"""Segment attractiveness, target status and account priority (DOMAIN.md "Targeting").

"Segment attractiveness = weighted sum of criteria scaled 0-1 across segments:
size, growth, profitability, headroom/TAM, plus analyst-scored 1-5 criteria
(accessibility, competitive intensity, fit with our offer and roadmap).
Weights are tunable and the ranking updates as they change. Segments are
marked target / maintain / lean and shown on an attractiveness x
current-position (share of wallet) matrix. Account priority within targets:
headroom x fit."

"A criterion a segment has no data for (a segment of prospects has no growth
or margin) is not given a silent neutral score: the weights are renormalised
over the criteria it has, and the ranking says so next to the segment."

Conventions (documented here because they change the numbers):

- size is the segment's revenue (its current business with us; the account
  count when there is no revenue column): ranking by account count put the
  segment of many tiny accounts, or of prospects who have bought nothing,
  first, the opposite of the job ("many small ones cost more to serve than
  they return");
- data criteria are min-max scaled across the segments that have a value:
  (v - min) / (max - min); a criterion that is the same for every segment
  carries no information and scores 0.5 for all;
- a segment whose value is missing (null) is scored on the other criteria:
  its weights are renormalised over the criteria it has, and ``missing``
  names the ones left out; ``prospects_only`` marks a segment without revenue;
- ``skip`` leaves criteria out for every segment, with the reason (growth
  when the earlier comparison window is only partly covered by data);
- analyst scores are 1-5 with 5 = most attractive (for competitive intensity,
  5 = the weakest competition) and map to (s - 1) / 4; a missing score is 3;
- attractiveness = sum(w_c * score_c) / sum(w_c), so it stays in 0..1 whatever
  the weights; weights must be >= 0 and not all 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from core.errors import UsageError

# criterion name -> profile column it is computed from
DATA_CRITERIA: dict[str, str] = {
    "size": "revenue",
    "growth": "growth",
    "profitability": "margin_pct",
    "headroom": "headroom",
}
ANALYST_CRITERIA: tuple[str, ...] = ("accessibility", "competitive_intensity", "fit")
DEFAULT_WEIGHTS: dict[str, float] = {
    "size": 1.0,
    "growth": 1.0,
    "profitability": 1.0,
    "headroom": 1.0,
    "accessibility": 0.5,
    "competitive_intensity": 0.5,
    "fit": 1.0,
}
STATUSES = ("target", "maintain", "lean")
SIZE_FALLBACK = "accounts"  # size when the profiles carry no revenue


def _minmax(values: pl.Series) -> pl.Series:
    """(v - min) / (max - min) over the non-null values; null stays null (no data)."""
    v = values.cast(pl.Float64).fill_nan(None)
    lo, hi = v.min(), v.max()
    if lo is None or hi is None:
        return pl.Series(values.name, [None] * len(v), dtype=pl.Float64)
    if hi == lo:
        return pl.Series(values.name, [0.5 if x is not None else None for x in v],
                         dtype=pl.Float64)
    return (v - lo) / (hi - lo)


def segment_attractiveness(
    profiles: pl.DataFrame,
    weights: Mapping[str, float] | None = None,
    analyst_scores: Mapping[str, Mapping[str, float]] | None = None,
    *,
    criteria: Mapping[str, str] | None = None,
    skip: Mapping[str, str] | None = None,
    attractive_at: float = 0.5,
    strong_position_at: float = 0.5,
) -> pl.DataFrame:
    """Attractiveness score, rank, position and suggested status per segment.

    ``profiles`` has a ``segment`` column and the columns named in ``criteria``
    (default ``DATA_CRITERIA``: size = revenue (accounts when there is no
    revenue column), growth, profitability = margin_pct, headroom); a
    criterion whose column is absent or null for every segment is skipped (its
    weight does not count), and so is one named in ``skip`` (criterion -> reason). A segment with a
    null value is scored on the criteria it has (weights renormalised).
    ``share_of_wallet``, when present, is the segment's current position.
    ``analyst_scores[segment][criterion]`` are the 1-5 scores of
    ``ANALYST_CRITERIA`` (or any other named criterion with a weight); a
    missing analyst score counts as 3. ``weights`` default to ``DEFAULT_WEIGHTS``.

    Columns: segment, one ``score_<criterion>`` (0-1, null = no data) per
    criterion used, attractiveness (0-1), missing (the criteria left out of
    the segment's score, comma-separated, null when none), prospects_only
    (the segment has no revenue; null when unknown), rank (1 = most
    attractive; ties by segment order in ``profiles``), position,
    suggested_status (see ``suggest_status``).
    """
    if "segment" not in profiles.columns:
        raise UsageError("segment attractiveness needs a 'segment' column in the profiles")
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    criteria = dict(DATA_CRITERIA if criteria is None else criteria)
    if criteria.get("size") == "revenue" and "revenue" not in profiles.columns:
        criteria["size"] = SIZE_FALLBACK
    skip = dict(skip or {})
    analyst_scores = analyst_scores or {}
    bad = {k: w for k, w in weights.items() if not w >= 0}
    if bad:
        raise UsageError(f"criterion weights must be >= 0: {bad}")
    segments = profiles["segment"].cast(pl.Utf8).to_list()
    unknown_segments = sorted(set(analyst_scores) - set(segments))
    if unknown_segments:
        raise UsageError(f"analyst scores for unknown segments: {', '.join(unknown_segments)}")
    scored: dict[str, pl.Series] = {}
    for name, column in criteria.items():
        if weights.get(name, 0) > 0 and column in profiles.columns and name not in skip:
            values = _minmax(profiles[column])
            if values.null_count() < len(values):  # no segment has it: like an absent column
                scored[name] = values
    analyst_names = sorted(
        {c for s in analyst_scores.values() for c in s} | set(ANALYST_CRITERIA)
    )
    for name in analyst_names:
        if name in criteria or name in skip or weights.get(name, 0) <= 0:
            continue
        values = []
        for seg in segments:
            s = analyst_scores.get(seg, {}).get(name)
            if s is not None and not 1 <= s <= 5:
                raise UsageError(f"analyst score {name} of segment {seg!r} must be 1-5, got {s}")
            values.append(0.5 if s is None else (float(s) - 1.0) / 4.0)
        scored[name] = pl.Series(name, values, dtype=pl.Float64)
    if sum(weights[n] for n in scored) <= 0:
        raise UsageError("at least one criterion needs a positive weight")
    attractiveness: list[float] = []
    missing: list[str | None] = []
    for i in range(len(segments)):
        have = {n: scored[n][i] for n in scored if scored[n][i] is not None}
        total = sum(weights[n] for n in have)
        attractiveness.append(
            sum(weights[n] * v for n, v in have.items()) / total if total > 0 else 0.0)
        gone = [n for n in scored if n not in have]
        missing.append(", ".join(gone) if gone else None)
    position = (
        profiles["share_of_wallet"].cast(pl.Float64)
        if "share_of_wallet" in profiles.columns
        else pl.Series([None] * len(segments), dtype=pl.Float64)
    )
    prospects_only = (
        (profiles["revenue"].cast(pl.Float64).fill_null(0.0) <= 0)
        if "revenue" in profiles.columns
        else pl.Series([None] * len(segments), dtype=pl.Boolean)
    )
    out = pl.DataFrame({"segment": segments}).with_columns(
        [scored[n].alias(f"score_{n}") for n in scored]
        + [
            pl.Series("attractiveness", attractiveness, dtype=pl.Float64),
            pl.Series("missing", missing, dtype=pl.Utf8),
            pl.Series("prospects_only", prospects_only, dtype=pl.Boolean),
            pl.Series("position", position),
        ]
    )
    order = sorted(range(len(segments)), key=lambda i: (-attractiveness[i], i))
    rank = [0] * len(segments)
    for r, i in enumerate(order, start=1):
        rank[i] = r
    statuses = [
        suggest_status(a, p, attractive_at=attractive_at, strong_position_at=strong_position_at)
        for a, p in zip(out["attractiveness"], out["position"], strict=True)
    ]
    return out.with_columns(
        pl.Series("rank", rank, dtype=pl.Int64),
        pl.Series("suggested_status", statuses, dtype=pl.Utf8),
    )


def suggest_status(
    attractiveness: float,
    position: float | None,
    *,
    attractive_at: float = 0.5,
    strong_position_at: float = 0.5,
) -> str:
    """target / maintain / lean from the attractiveness x position matrix.

    - attractive (>= ``attractive_at``) with a weak position (share of wallet
      < ``strong_position_at``, or unknown): **target** (room to grow where it pays);
    - attractive with a strong position: **maintain** (defend what we have);
    - not attractive with a strong position: **maintain** (serve efficiently);
    - not attractive with a weak or unknown position: **lean**.
    """
    attractive = attractiveness >= attractive_at
    strong = position is not None and position >= strong_position_at
    if attractive:
        return "maintain" if strong else "target"
    return "maintain" if strong else "lean"


def account_priority(frame: pl.DataFrame, *, fit_column: str = "fit") -> pl.DataFrame:
    """Account priority = headroom x fit (DOMAIN.md "Targeting").

    ``frame`` has account_id, headroom (from ``core.potential``) and a 0-1 fit
    column (a lookalike score, or the segment's attractiveness). Null headroom
    or fit counts as 0. Columns: account_id, headroom, fit, priority,
    priority_rank (1 = first; ties by account_id); sorted by rank.
    """
    for col in ("account_id", "headroom", fit_column):
        if col not in frame.columns:
            raise UsageError(f"account priority needs a {col!r} column")
    return (
        frame.select(
            "account_id",
            pl.col("headroom").cast(pl.Float64).fill_null(0.0),
            pl.col(fit_column).cast(pl.Float64).fill_null(0.0).alias("fit"),
        )
        .with_columns((pl.col("headroom") * pl.col("fit")).alias("priority"))
        .sort(["priority", "account_id"], descending=[True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("priority_rank"))
    )
