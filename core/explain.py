"""Why an account is where it is: per dimension, the level and what put it there.

DOMAIN.md, "Why an account is where it is": "Every segment assignment and
score can be explained: for each dimension the level and the value or rule
that put the account there ("revenue 52,623, in the top 80 % of revenue: A";
"rule 2 matched: revenue > 50000 AND industry IN (...)"); for a cluster the
features that pull it towards its centre; for a lookalike score and a
potential the features that raise or lower it."

Every explanation is recomputed from the same inputs and rules as the
dimension itself (``core.model``), never phrased from a template of guesses:
``explain_account`` checks that the level it derives is the level the
dimension assigns and says so in ``agrees``. What each kind reports
(``Explanation.facts``):

- ``abc``: the measure, the positive total, ``share_before`` (share of the
  accounts ranked above it), the thresholds; A while share_before < a, B while
  < b, else C; a measure <= 0 or missing is C.
- ``rfm``: recency days, frequency, revenue and their R, F, M scores (quintiles
  of ranks, ties by account id, as ``core.rfm``), the grid row whose R and F
  ranges cover the scores (first match wins).
- ``bins`` (and the bins of ``potential`` / ``clv``): the value, the cut points
  in force (quantile cuts computed on the frame), the bin's edges.
- ``category``: the value and the group it falls in.
- ``rule`` / ``sales_logic``: each rule in order with its condition text and
  whether it held (true / false / null = unknown, which does not match), up to
  the first that matched; else the default.
- ``performance``: the revenue-bridge class.
- ``cluster``: per feature the account's standardised value (the design
  matrix ``core.cluster`` clusters on), its cluster's centre (the mean of the
  members), the runner-up cluster (nearest other centre), and the feature's
  ``pull`` = (x − runner-up centre)² − (x − own centre)²: the features are
  what the squared-distance gap between the two centres is made of (the pulls
  sum to it), largest pull first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from core.errors import UsageError
from core.model import (
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    Dimension,
    PerformanceDimension,
    RfmDimension,
    RuleDimension,
    SegmentationModel,
    abc_running_totals,
)


@dataclass(frozen=True)
class Explanation:
    """One dimension's level for one account and the facts that put it there."""

    dimension: str
    kind: str
    level: str
    assigned: str  # the level the dimension itself assigns (equal to ``level`` when agrees)
    text: str
    facts: dict[str, Any] = field(default_factory=dict)
    features: tuple[dict[str, Any], ...] = ()  # cluster: per feature, strongest pull first

    @property
    def agrees(self) -> bool:
        return self.level == self.assigned

    def as_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "kind": self.kind, "level": self.level,
                "assigned": self.assigned, "agrees": self.agrees, "text": self.text,
                "facts": self.facts, "features": list(self.features)}


@dataclass(frozen=True)
class AccountExplanation:
    account_id: str
    segment: str | None
    dimensions: tuple[Explanation, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "segment": self.segment,
                "dimensions": [e.as_dict() for e in self.dimensions]}


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "missing"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}"


def _row_of(frame: pl.DataFrame, account_id: str) -> int:
    hits = np.flatnonzero(frame["account_id"].cast(pl.String).to_numpy() == str(account_id))
    if len(hits) == 0:
        raise UsageError(f"no account with id {account_id!r} among the {frame.height:,} accounts")
    return int(hits[0])


def assigned_level(dim: Dimension, frame: pl.DataFrame, row: int) -> str:
    """The level ``dim`` assigns to row ``row`` of ``frame`` (the dimension's own computation)."""
    levels = dim.levels(frame)
    return levels.labels[int(levels.codes[row])]


# ------------------------------------------------------------------ per kind


def explain_abc(dim: AbcDimension, frame: pl.DataFrame, row: int) -> Explanation:
    measure, before, total = abc_running_totals(frame, dim.measure)
    value = float(measure[row])
    share_before = float(before[row]) / total if total > 0 else None
    facts: dict[str, Any] = {"measure": dim.measure, "value": None if math.isnan(value) else value,
                             "total": total, "share_before": share_before,
                             "a": dim.a, "b": dim.b}
    if math.isnan(value) or value <= 0:
        level = "C"
        text = f"{dim.measure} {_num(value)}: zero, negative or missing measure is C"
    else:
        # the same comparison as AbcDimension (in measure units, not shares)
        if before[row] < dim.a * total:
            level, cut = "A", f"< {dim.a:.0%}"
        elif before[row] < dim.b * total:
            level, cut = "B", f"{dim.a:.0%} to < {dim.b:.0%}"
        else:
            level, cut = "C", f">= {dim.b:.0%}"
        text = (f"{dim.measure} {_num(value)}; the accounts ranked above it hold "
                f"{share_before:.1%} of {dim.measure} ({cut}): {level}")
    return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text, facts)


def explain_rfm(dim: RfmDimension, frame: pl.DataFrame, row: int) -> Explanation:
    from core.rfm import DEFAULT_RFM_GRID, RfmGrid, rfm_scores

    grid = RfmGrid.from_dict(dict(dim.grid)) if dim.grid is not None else DEFAULT_RFM_GRID
    scores = rfm_scores(frame, grid=grid)  # rows in frame order
    r, f, m = (scores[c][row] for c in ("r_score", "f_score", "m_score"))
    values = {c: frame[c][row] if c in frame.columns else None
              for c in ("recency_days", "frequency", "revenue")}
    facts: dict[str, Any] = {"r_score": r, "f_score": f, "m_score": m, **values}
    if r is None:
        level = dim.missing_label
        text = f"no purchase day before the analysis date: {level}"
        return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text,
                           facts)
    scored = (f"recency {_num(values['recency_days'])} days -> R{r}, "
              f"frequency {_num(values['frequency'])} -> F{f}, "
              f"revenue {_num(values['revenue'])} -> M{m}")
    if dim.use == "segment":
        match = next((i for i, gr in enumerate(grid.rows) if gr.covers(int(r), int(f))), None)
        if match is None:
            level = grid.default
            text = f"{scored}; no grid row covers R{r}F{f}: {level}"
        else:
            gr = grid.rows[match]
            level = gr.segment
            facts["grid_row"] = match + 1
            facts["grid_r"], facts["grid_f"] = list(gr.r), list(gr.f)
            text = (f"{scored}; grid row {match + 1} (R {gr.r[0]}-{gr.r[1]}, "
                    f"F {gr.f[0]}-{gr.f[1]}) is the first to cover R{r}F{f}: {level}")
    else:
        got = {"r": r, "f": f, "m": m}
        level = "".join(f"{ch.upper()}{got[ch]}" for ch in dim.use)
        text = f"{scored}: {level}"
    return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text, facts)


def bin_edges(dim: BinsDimension, prepared: Any) -> tuple[list[float], list[str]]:
    """The cut points and labels ``dim`` uses (as ``BinsDimension.levels_from``);
    ``prepared`` is the dimension's prepared numeric column."""
    from core.dimensions import default_bin_labels, quantile_cuts

    if dim.cuts is not None:
        cuts = list(dim.cuts)
        labels = list(dim.labels) if dim.labels else default_bin_labels(cuts, dim.right_closed)
        return cuts, labels
    cuts = quantile_cuts(prepared, dim.quantiles)  # type: ignore[arg-type]
    wanted = dim._fixed_bin_count()
    if dim.labels and len(cuts) + 1 == wanted:
        return cuts, list(dim.labels)
    return cuts, [f"Q{i}" for i in range(1, len(cuts) + 2)]


def explain_bins(dim: Any, frame: pl.DataFrame, row: int) -> Explanation:
    """Bins, and the bins of ``potential`` / ``clv`` (same rule over a forward column)."""
    bins = dim if isinstance(dim, BinsDimension) else BinsDimension(
        dim.name, dim.column, cuts=dim.cuts, quantiles=dim.quantiles, labels=dim.labels,
        right_closed=dim.right_closed, missing_label=dim.missing_label)
    prepared = dim.prepare(frame)  # the values the dimension bins, in frame order
    cuts, labels = bin_edges(bins, prepared)
    raw = float(prepared.values[row])
    value = None if math.isnan(raw) else raw
    facts: dict[str, Any] = {"column": bins.column, "value": value, "cuts": cuts,
                             "right_closed": bins.right_closed}
    if bins.quantiles is not None:
        facts["quantiles"] = bins.quantiles
    if value is None:
        level = bins.missing_label
        text = f"{bins.column} missing: {level}"
    else:
        side = "left" if bins.right_closed else "right"
        i = int(np.searchsorted(np.asarray(cuts, dtype=float), value, side=side))
        level = labels[i]
        lo = cuts[i - 1] if i > 0 else None
        hi = cuts[i] if i < len(cuts) else None
        facts["lower"], facts["upper"] = lo, hi
        open_l, close_r = ("(", "]") if bins.right_closed else ("[", ")")
        edge = (f"{open_l}{_num(lo)}" if lo is not None else "(-inf") + ", " + \
            (f"{_num(hi)}{close_r}" if hi is not None else "inf)")
        how = " (quantile cut points of this frame)" if bins.quantiles is not None else ""
        text = f"{bins.column} {_num(value)} is in {edge}{how}: {level}"
    return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text, facts)


def explain_category(dim: CategoryDimension, frame: pl.DataFrame, row: int) -> Explanation:
    value = frame[dim.column][row]
    assigned = assigned_level(dim, frame, row)
    group = next((label for label, members in dim.groups if value in members), None)
    if value is None:
        text = f"{dim.column} missing: {assigned}"
    elif group is not None:
        text = f"{dim.column} = {value!r}, which group '{group}' lists: {group}"
    elif assigned == value:
        text = f"{dim.column} = {value!r}, kept as its own level: {value}"
    else:
        text = f"{dim.column} = {value!r}, in no group and not among the values kept: {assigned}"
    level = group if group is not None else assigned
    return Explanation(dim.name, dim.kind, level, assigned, text,
                       {"column": dim.column, "value": value, "group": group})


def explain_rule(dim: RuleDimension, frame: pl.DataFrame, row: int) -> Explanation:
    from core.expr import compile_expression

    one = frame.slice(row, 1)
    checked: list[dict[str, Any]] = []
    level = dim.default
    matched: int | None = None
    for number, (label, condition) in enumerate(dim.rules, start=1):
        result = one.select(compile_expression(condition, frame.schema).alias("c")).item()
        checked.append({"rule": number, "label": label, "condition": condition,
                        "result": result})
        if result is True:
            level, matched = label, number
            break
    if matched is not None:
        earlier = "" if matched == 1 else " (rules before it did not hold)"
        text = f"rule {matched} matched{earlier}: {dim.rules[matched - 1][1]} -> {level}"
    else:
        text = f"no rule matched (false or unknown): default {level}"
    return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text,
                       {"matched_rule": matched, "rules": checked})


def explain_performance(dim: PerformanceDimension, frame: pl.DataFrame, row: int) -> Explanation:
    value = frame["bridge_class"][row] if "bridge_class" in frame.columns else None
    level = value if value is not None else dim.missing_label
    text = (f"revenue-bridge class of the last period: {level}" if value is not None
            else f"no revenue-bridge class (no activity in either period): {level}")
    return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text,
                       {"bridge_class": value})


def explain_cluster(dim: Any, frame: pl.DataFrame, row: int) -> Explanation:
    from core.cluster import design_matrix

    result = dim.fit(frame)
    dm = design_matrix(frame, dim.features)
    labels = result.frame["cluster_id"].to_numpy()
    k = result.k
    centres = np.vstack([dm.X[labels == c].mean(axis=0) for c in range(k)])
    x = dm.X[row]
    own = int(labels[row])
    d2 = ((centres - x) ** 2).sum(axis=1)
    others = [c for c in range(k) if c != own]
    runner = min(others, key=lambda c: (d2[c], c))
    names = [result.names[i] for i in range(k)]
    if dim.cluster_names is not None and len(dim.cluster_names) == k:
        names = list(dim.cluster_names)
    # per source feature (one-hot columns summed): how much of the gap it makes
    per: dict[str, dict[str, Any]] = {}
    for j, (src, lvl) in enumerate(zip(dm.sources, dm.levels, strict=True)):
        item = per.setdefault(src, {"feature": src, "value": frame[src][row],
                                    "pull": 0.0, "distance_own": 0.0, "distance_runner_up": 0.0})
        a = (x[j] - centres[own, j]) ** 2
        b = (x[j] - centres[runner, j]) ** 2
        item["pull"] += float(b - a)
        item["distance_own"] += float(a)
        item["distance_runner_up"] += float(b)
        if lvl is None:
            item["standardised"] = float(x[j])
            item["centre"] = float(centres[own, j])
            item["runner_up_centre"] = float(centres[runner, j])
    features = tuple(sorted(per.values(), key=lambda d: (-d["pull"], d["feature"])))
    level = names[own]
    top = [f for f in features if f["pull"] > 0][:3]
    pulls = ", ".join(f"{f['feature']} ({f['pull']:+.2f})" for f in top) or "none"
    text = (f"nearest centre: {level} (squared standardised distance {d2[own]:.2f}; "
            f"runner-up {names[runner]} at {d2[runner]:.2f}); features pulling it to "
            f"{level} rather than {names[runner]}: {pulls}")
    facts = {"cluster_id": own, "distance": float(d2[own]), "runner_up": names[runner],
             "runner_up_distance": float(d2[runner]), "k": k}
    return Explanation(dim.name, dim.kind, level, assigned_level(dim, frame, row), text,
                       facts, features)


def explain_lookalike(frame: pl.DataFrame, result: Any, account_id: str) -> Explanation:
    """The lookalike score of ``account_id`` as the fitted logistic regression makes it.

    ``result``: the ``core.lookalike.LookalikeResult`` fitted on ``frame``. The
    score is sigmoid(intercept + sum over design columns of coefficient x value),
    values from the same design matrix the classifier was fitted on
    (standardised numeric, 0/1 one-hot); a feature's contribution is the sum
    over its columns, in log-odds. Largest absolute contribution first;
    positive raises the score, negative lowers it.
    """
    from core.cluster import design_matrix

    row = _row_of(frame, account_id)
    dm = design_matrix(frame, result.features)
    if dm.columns != tuple(result.design_columns):
        raise UsageError("the lookalike result was fitted on another frame (its design "
                         "columns differ); fit it again on this frame")
    x = dm.X[row]
    coef = np.asarray(result.coefficients)
    per: dict[str, dict[str, Any]] = {}
    for j, (src, lvl) in enumerate(zip(dm.sources, dm.levels, strict=True)):
        item = per.setdefault(src, {"feature": src, "value": frame[src][row],
                                    "contribution": 0.0})
        item["contribution"] += float(coef[j] * x[j])
        if lvl is None:
            item["standardised"] = float(x[j])
            item["coefficient"] = float(coef[j])
    logit = result.intercept + float(coef @ x)
    score = 1.0 / (1.0 + math.exp(-logit))
    features = tuple(sorted(per.values(), key=lambda d: (-abs(d["contribution"]),
                                                         d["feature"])))
    top = ", ".join(f"{f['feature']} {f['contribution']:+.2f}" for f in features[:3])
    text = (f"score {score:.3f} = sigmoid(intercept {result.intercept:+.2f} + feature "
            f"contributions in log-odds: {top}{' ...' if len(features) > 3 else ''})")
    facts = {"score": score, "logit": logit, "intercept": result.intercept,
             "cv_auc": result.cv_auc}
    return Explanation("Lookalike", "lookalike", f"{score:.3f}", f"{score:.3f}", text, facts,
                       features)


def explain_dimension(dim: Dimension, frame: pl.DataFrame, row: int) -> Explanation:
    """The explanation of ``dim``'s level for row ``row`` of ``frame``."""
    from core.forward_dimensions import ClusterDimension, _ForwardBins

    if isinstance(dim, AbcDimension):
        return explain_abc(dim, frame, row)
    if isinstance(dim, RfmDimension):
        return explain_rfm(dim, frame, row)
    if isinstance(dim, BinsDimension | _ForwardBins):
        return explain_bins(dim, frame, row)
    if isinstance(dim, CategoryDimension):
        return explain_category(dim, frame, row)
    if isinstance(dim, RuleDimension):  # sales_logic is a rule dimension
        return explain_rule(dim, frame, row)
    if isinstance(dim, PerformanceDimension):
        return explain_performance(dim, frame, row)
    if isinstance(dim, ClusterDimension):
        return explain_cluster(dim, frame, row)
    level = assigned_level(dim, frame, row)
    return Explanation(getattr(dim, "name", dim.kind), dim.kind, level, level,
                       f"{dim.kind} dimension: {level} (no explanation for this kind yet)")


def explain_account(
    frame: pl.DataFrame, model: SegmentationModel, account_id: str,
    *, segment: str | None = None,
) -> AccountExplanation:
    """Every dimension of ``model`` explained for ``account_id`` (a row of ``frame``).

    ``segment``: the account's segment if already assigned (cells under the
    model's minimum size fold into "Other", which no dimension explains).
    """
    row = _row_of(frame, account_id)
    dims = tuple(explain_dimension(d, frame, row) for d in model.dimensions)
    return AccountExplanation(str(account_id), segment, dims)
