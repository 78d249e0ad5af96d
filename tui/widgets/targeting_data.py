"""What the Targeting screen shows, as plain functions over polars frames.

No Textual here: the screen calls these (the cheap ones on the UI thread, the
fits in thread workers) and the tests call them directly.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from core.targeting import ANALYST_CRITERIA, DATA_CRITERIA, DEFAULT_WEIGHTS

CRITERIA: tuple[str, ...] = (*DATA_CRITERIA, *ANALYST_CRITERIA)
CRITERION_LABELS = {
    "size": "size (rev.)",
    "growth": "growth",
    "profitability": "profit (m%)",
    "headroom": "headroom",
    "accessibility": "access ★",
    "competitive_intensity": "competition ★",
    "fit": "fit w/ offer ★",
}
WEIGHT_STEP = 0.25
MAX_WEIGHT = 5.0
TOP_CLV_DECILE = "clv-decile"
ABC_A = "abc-a"
SEGMENT_PREFIX = "segment:"
REASONS = 3
# fewer accounts than this: the segment's averages rest on too few accounts to rank on
TINY_SEGMENT = 10


def weights_key(model_name: str) -> str:
    """The workspace setting holding a model's weights (shared with ``segscope targets``)."""
    return f"targeting.weights.{model_name}"


def load_weights(workspace: Any, model_name: str) -> dict[str, float]:
    saved = workspace.get_setting(weights_key(model_name)) or {}
    weights = dict(DEFAULT_WEIGHTS)
    weights.update({k: float(v) for k, v in saved.items() if k in DEFAULT_WEIGHTS})
    return weights


def load_scores(workspace: Any, model_name: str) -> tuple[dict[str, dict[str, float]],
                                                          dict[str, str]]:
    """(analyst scores per segment, stored status per segment) from the segment annotations."""
    notes = workspace.get_segment_annotations(model_name)
    scores: dict[str, dict[str, float]] = {}
    status: dict[str, str] = {}
    for seg, text, st in notes.select("segment", "scores_json", "status").iter_rows():
        if text:
            scores[seg] = {k: float(v) for k, v in json.loads(text).items() if v is not None}
        if st:
            status[seg] = st
    return scores, status


def step_weight(weights: dict[str, float], criterion: str, direction: int) -> dict[str, float]:
    """A copy with ``criterion``'s weight moved one step (0..MAX_WEIGHT)."""
    out = dict(weights)
    value = out.get(criterion, 0.0) + direction * WEIGHT_STEP
    out[criterion] = round(min(max(value, 0.0), MAX_WEIGHT), 4)
    return out


def step_score(current: float | None, direction: int) -> int:
    """Analyst score 1..5 one step up or down (no score counts as 3)."""
    base = 3 if current is None else int(round(current))
    return min(max(base + direction, 1), 5)


def segment_inputs(profiles: pl.DataFrame, assignments: pl.DataFrame,
                   frame: pl.DataFrame) -> pl.DataFrame:
    """The profiles (segment as text) plus tam, headroom, share_of_wallet
    (``core.potential.tam_by_segment``) and avg_clv when the frame has those columns."""
    from core.potential import tam_by_segment

    out = profiles.with_columns(pl.col("segment").cast(pl.Utf8)).filter(
        pl.col("segment") != "All accounts"
    )
    seg = assignments.select("account_id", pl.col("segment").cast(pl.Utf8))
    if {"potential", "headroom"} <= set(frame.columns):
        pot = frame.select("account_id", pl.col("revenue").fill_null(0.0), "potential",
                           "headroom")
        tam = tam_by_segment(pot, seg).select("segment", "tam", "headroom", "share_of_wallet")
        out = out.drop(["tam", "headroom", "share_of_wallet"], strict=False).join(
            tam, on="segment", how="left", maintain_order="left")
    if "clv" in frame.columns:
        clv = (seg.join(frame.select("account_id", "clv"), on="account_id", how="left")
               .group_by("segment").agg(pl.col("clv").mean().alias("avg_clv")))
        out = out.drop("avg_clv", strict=False).join(clv, on="segment", how="left",
                                                     maintain_order="left")
    return out


def comparison_caveat(transactions: pl.DataFrame | None, as_of: Any) -> str | None:
    """The note of ``segscope segment`` when the previous year (growth's and NRR's
    comparison window) is only partly covered by data, else None."""
    from core.periods import shift_months
    from tui.commands.segment import partial_history_note

    if transactions is None or as_of is None:
        return None
    return partial_history_note(transactions, shift_months(as_of, -24),
                                shift_months(as_of, -12), "the previous year")


def comparison_coverage(transactions: pl.DataFrame | None, as_of: Any) -> float:
    """The share of the previous year (growth's comparison window) that the data cover."""
    from core.periods import shift_months

    if transactions is None or as_of is None or transactions.is_empty():
        return 1.0
    first = transactions["date"].min()
    start, end = shift_months(as_of, -24), shift_months(as_of, -12)
    if first is None or first <= start:
        return 1.0
    span = (end - start).days
    return max(0.0, (end - first).days / span) if span > 0 else 0.0


# growth against a window covered less than this reads far too high (2,824 % on
# Online Retail, whose previous year is 2 % covered): it is left out of the scores
MIN_COMPARISON_COVERAGE = 0.75


def skipped_criteria(comparison_note: str | None, coverage: float = 0.0) -> dict[str, str]:
    """Criteria left out of every segment's score: growth when its comparison
    window is covered less than ``MIN_COMPARISON_COVERAGE``."""
    if comparison_note and coverage < MIN_COMPARISON_COVERAGE:
        return {"growth": comparison_note}
    return {}


def caveat_text(missing: str | None, prospects_only: bool | None,
                accounts: int | None) -> str:
    """What the analyst should know next to a segment's score ("" when nothing)."""
    parts = []
    if prospects_only:
        parts.append("prospects only")
    if missing:
        parts.append(f"no {missing.replace(', ', '/')}: scored on the rest")
    if accounts is not None and 0 < accounts < TINY_SEGMENT:
        parts.append(f"only {accounts} accts")
    return "; ".join(parts)


def rank_segments(inputs: pl.DataFrame, weights: dict[str, float],
                  scores: dict[str, dict[str, float]],
                  stored_status: dict[str, str],
                  skip: dict[str, str] | None = None) -> pl.DataFrame:
    """``core.targeting.segment_attractiveness`` plus the analyst scores, the stored
    status, the effective status (stored, else suggested) and a ``caveat`` text
    (``caveat_text``), sorted by rank."""
    from core.targeting import segment_attractiveness

    present = set(inputs["segment"].to_list())
    scores = {s: v for s, v in scores.items() if s in present}
    ranking = segment_attractiveness(inputs, weights, scores, skip=skip)
    segments = ranking["segment"].to_list()
    extra = [
        pl.Series(c, [scores.get(s, {}).get(c) for s in segments], dtype=pl.Float64)
        for c in ANALYST_CRITERIA
    ]
    status = [stored_status.get(s) for s in segments]
    keep = [c for c in ("accounts", "revenue", "headroom", "tam", "avg_clv") if c in inputs.columns]
    ranking = ranking.with_columns(
        *[e.alias(f"analyst_{e.name}") for e in extra],
        pl.Series("status", status, dtype=pl.Utf8),
    ).with_columns(pl.coalesce("status", "suggested_status").alias("effective_status"))
    ranking = ranking.drop([c for c in keep if c in ranking.columns]).join(
        inputs.select("segment", *keep), on="segment", how="left", maintain_order="left")
    accounts = (ranking["accounts"].to_list() if "accounts" in ranking.columns
                else [None] * ranking.height)
    caveats = [caveat_text(m, p, a) for m, p, a in zip(
        ranking["missing"], ranking["prospects_only"], accounts, strict=True)]
    ranking = ranking.with_columns(pl.Series("caveat", caveats, dtype=pl.Utf8))
    return ranking.sort("rank")


def ideal_options(segments: list[str], has_clv: bool) -> list[tuple[str, str]]:
    """(label, value) choices of ideal customers for the lookalike model."""
    options = [("ABC class A", ABC_A)]
    if has_clv:
        options.append(("Top CLV decile", TOP_CLV_DECILE))
    options += [(f"Segment {s}", SEGMENT_PREFIX + s) for s in segments]
    return options


def ideal_mask(frame: pl.DataFrame, choice: str) -> pl.Series:
    """True for the ideal accounts of ``choice`` (see ``ideal_options``); ``frame``
    has a ``segment`` column for segment choices."""
    if choice == ABC_A:
        return frame["abc_class"].cast(pl.Utf8).fill_null("") == "A"
    if choice == TOP_CLV_DECILE:
        clv = frame["clv"]
        cut = clv.quantile(0.9, interpolation="linear")
        if cut is None:
            return pl.Series([False] * frame.height)
        return (clv >= cut).fill_null(False)
    if choice.startswith(SEGMENT_PREFIX):
        return frame["segment"].cast(pl.Utf8).fill_null("") == choice[len(SEGMENT_PREFIX):]
    raise ValueError(f"unknown choice of ideal customers: {choice!r}")


def with_customer_flag(frame: pl.DataFrame) -> pl.DataFrame:
    """``is_customer`` filled where null: an account with a purchase is a customer."""
    known = frame["first_purchase"].is_not_null() if "first_purchase" in frame.columns else (
        frame["revenue"].fill_null(0) > 0)
    if "is_customer" in frame.columns:
        return frame.with_columns(frame["is_customer"].fill_null(known).alias("is_customer"))
    return frame.with_columns(known.alias("is_customer"))


def lookalike_list(result: Any, frame: pl.DataFrame) -> pl.DataFrame:
    """The scored prospects with potential/headroom (when known) and one
    ``reasons`` text naming the nearest ideal customers."""
    out = result.frame
    if "potential" in frame.columns:
        out = out.join(frame.select("account_id", "potential", "headroom"), on="account_id",
                       how="left", maintain_order="left")
    parts = []
    for i in range(1, REASONS + 1):
        if f"nearest_{i}_id" not in out.columns:
            continue
        who = (pl.col(f"nearest_{i}_name") if f"nearest_{i}_name" in out.columns
               else pl.col(f"nearest_{i}_id"))
        parts.append(who.fill_null(pl.col(f"nearest_{i}_id")))
    reasons = pl.concat_str(parts, separator=", ", ignore_nulls=True) if parts else pl.lit("")
    return out.with_columns(reasons.alias("reasons"))


def target_accounts(ranking: pl.DataFrame, assignments: pl.DataFrame,
                    frame: pl.DataFrame) -> pl.DataFrame:
    """The accounts of the target segments (stored status, else suggested) with
    priority = headroom x fit, fit = the segment's attractiveness
    (``core.targeting.account_priority``), best first."""
    from core.targeting import account_priority

    targets = ranking.filter(pl.col("effective_status") == "target").select(
        "segment", pl.col("attractiveness").alias("fit"))
    accounts = assignments.select("account_id", pl.col("segment").cast(pl.Utf8)).join(
        targets, on="segment", how="inner")
    cols = [c for c in ("potential", "headroom", "share_of_wallet", "clv", "revenue", "name")
            if c in frame.columns]
    accounts = accounts.join(frame.select("account_id", *cols), on="account_id", how="left")
    if "headroom" not in accounts.columns:
        accounts = accounts.with_columns(pl.lit(None, dtype=pl.Float64).alias("headroom"))
    prio = account_priority(accounts)
    out = prio.join(accounts.drop("headroom", "fit"), on="account_id", how="left",
                    maintain_order="left")
    front = ["priority_rank", "account_id"] + (["name"] if "name" in out.columns else [])
    return out.select(front + [c for c in out.columns if c not in front])
