"""core.explain: every explanation agrees with the computation it explains.

Property-style over small frames (hypothesis, deterministic): for ABC, RFM,
bins, rules and clusters, (1) the level an explanation derives is the level
the dimension assigns, and (2) changing the value the explanation names
changes the level it names, the way the named rule says it must.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import UsageError
from core.explain import explain_account, explain_dimension
from core.forward_dimensions import ClusterDimension
from core.model import (
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    RfmDimension,
    RuleDimension,
    SegmentationModel,
)

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)
INDUSTRIES = ("Tech", "Retail", "Health")


@st.composite
def frames(draw: st.DrawFn, min_size: int = 3, max_size: int = 12) -> pl.DataFrame:
    n = draw(st.integers(min_size, max_size))
    money = st.one_of(st.just(0.0), st.floats(-500, 5000, allow_nan=False).map(
        lambda x: round(x, 2)))
    revenue = draw(st.lists(money, min_size=n, max_size=n))
    recency = draw(st.lists(st.one_of(st.none(), st.integers(0, 900)), min_size=n, max_size=n))
    frequency = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    industry = draw(st.lists(st.one_of(st.none(), st.sampled_from(INDUSTRIES)),
                             min_size=n, max_size=n))
    employees = draw(st.lists(st.one_of(st.none(), st.integers(1, 5000)), min_size=n,
                              max_size=n))
    return pl.DataFrame({
        "account_id": [f"a{i:02d}" for i in range(n)],
        "revenue": revenue,
        "recency_days": recency,
        "frequency": frequency,
        "industry": industry,
        "employees": employees,
    }, schema_overrides={"recency_days": pl.Int64, "employees": pl.Int64,
                         "industry": pl.String})


def _set(frame: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    values = frame[column].to_list()
    values[row] = value
    return frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))


# ------------------------------------------------------------------ ABC


@SETTINGS
@given(frames(), st.data())
def test_abc_explanation_agrees_and_its_value_moves_the_class(frame, data) -> None:
    dim = AbcDimension(a=0.6, b=0.9)
    row = data.draw(st.integers(0, frame.height - 1))
    e = explain_dimension(dim, frame, row)
    assert e.agrees, e.text
    f = e.facts
    if f["value"] is None or f["value"] <= 0:
        assert e.level == "C"
    else:
        share = f["share_before"]
        assert e.level == ("A" if share < dim.a else "B" if share < dim.b else "C")
        assert f"{share:.1%}" in e.text
    # the named value: zero makes it C; more than everyone else together makes it A
    zero = explain_dimension(dim, _set(frame, row, "revenue", 0.0), row)
    assert zero.agrees and zero.level == "C"
    top = float(frame["revenue"].clip(lower_bound=0).sum()) * 10 + 1
    big = explain_dimension(dim, _set(frame, row, "revenue", top), row)
    assert big.agrees and big.level == "A" and big.facts["share_before"] == 0.0


# ------------------------------------------------------------------ RFM


@settings(max_examples=80, deadline=None, derandomize=True)
@given(frames(min_size=6), st.data())
def test_rfm_explanation_agrees_and_recency_moves_the_r_score(frame, data) -> None:
    row = data.draw(st.integers(0, frame.height - 1))
    for use in ("segment", "r", "rf"):
        e = explain_dimension(RfmDimension(use=use), frame, row)
        assert e.agrees, e.text
    seg = explain_dimension(RfmDimension(), frame, row)
    if seg.facts["r_score"] is None:
        assert seg.level == "No purchases"
        return
    if "grid_row" in seg.facts:
        lo_r, hi_r = seg.facts["grid_r"]
        lo_f, hi_f = seg.facts["grid_f"]
        assert lo_r <= seg.facts["r_score"] <= hi_r and lo_f <= seg.facts["f_score"] <= hi_f
    if frame["recency_days"].is_not_null().sum() < 2:
        return  # a lone scored account scores 3 whatever its values (core.rfm)
    # the named value: the longest recency of all (ties broken against it) gives R1
    worst = int(frame["recency_days"].max()) + 1000
    moved = _set(frame, row, "recency_days", worst)
    r = explain_dimension(RfmDimension(use="r"), moved, row)
    assert r.agrees and r.level == "R1" and r.facts["recency_days"] == worst
    before = explain_dimension(RfmDimension(use="r"), frame, row)
    assert (before.level != r.level) == (before.facts["r_score"] != 1)
    seg_moved = explain_dimension(RfmDimension(), moved, row)
    assert seg_moved.agrees and f"R{seg_moved.facts['r_score']}" == "R1"


# ------------------------------------------------------------------ bins


@SETTINGS
@given(frames(), st.data())
def test_bins_explanation_names_the_edges_and_a_value_past_them_moves_the_bin(frame, data) \
        -> None:
    row = data.draw(st.integers(0, frame.height - 1))
    right = data.draw(st.booleans())
    dim = BinsDimension("Size", "employees", cuts=(10, 100, 1000), right_closed=right)
    e = explain_dimension(dim, frame, row)
    assert e.agrees, e.text
    value = e.facts["value"]
    if value is None:
        assert e.level == "Unknown"
    else:
        lo, hi = e.facts["lower"], e.facts["upper"]
        if right:
            assert (lo is None or value > lo) and (hi is None or value <= hi)
        else:
            assert (lo is None or value >= lo) and (hi is None or value < hi)
    # move the value to each other bin: the level names that bin
    targets = [5, 50, 500, 5000]
    labels = dim.levels(frame).labels
    for i, target in enumerate(targets):
        moved = explain_dimension(dim, _set(frame, row, "employees", target), row)
        assert moved.agrees and moved.level == labels[i]
    # quantile bins: the explanation's cuts are the ones the dimension used
    q = BinsDimension("Q", "revenue", quantiles=3)
    eq = explain_dimension(q, frame, row)
    assert eq.agrees, eq.text


# ------------------------------------------------------------------ rules

RULES = (("Big", "revenue > 1000"), ("Tech", "industry = 'Tech' AND employees >= 50"))


@SETTINGS
@given(frames(), st.data())
def test_rule_explanation_names_the_first_matching_rule_and_breaking_it_moves_the_level(
    frame, data
) -> None:
    dim = RuleDimension("Fit", RULES, default="Other")
    row = data.draw(st.integers(0, frame.height - 1))
    e = explain_dimension(dim, frame, row)
    assert e.agrees, e.text
    matched = e.facts["matched_rule"]
    results = [r["result"] for r in e.facts["rules"]]
    if matched is None:
        assert e.level == "Other" and all(r is not True for r in results)
        assert "no rule matched" in e.text
        # make rule 1 hold: the level becomes rule 1's
        moved = explain_dimension(dim, _set(frame, row, "revenue", 5000.0), row)
        assert moved.level == "Big" and moved.facts["matched_rule"] == 1 and moved.agrees
    else:
        assert results[:-1] == [r for r in results[:-1] if r is not True]
        assert e.level == RULES[matched - 1][0]
        assert RULES[matched - 1][1] in e.text and f"rule {matched} matched" in e.text
        # break the named rule: the level is no longer its label
        broken = (_set(frame, row, "revenue", 0.0) if matched == 1
                  else _set(frame, row, "industry", "Retail"))
        moved = explain_dimension(dim, broken, row)
        assert moved.agrees and moved.level != e.level


# ------------------------------------------------------------------ category


def test_category_explanation_names_the_group() -> None:
    frame = pl.DataFrame({"account_id": ["a", "b", "c"],
                          "industry": ["Tech", "Retail", None]})
    dim = CategoryDimension("Industry", "industry", groups=(("Digital", ("Tech",)),))
    got = [explain_dimension(dim, frame, i) for i in range(3)]
    assert [g.level for g in got] == ["Digital", "Retail", "Other"]
    assert all(g.agrees for g in got)
    assert "group 'Digital'" in got[0].text


# ------------------------------------------------------------------ clusters


def _blobs(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    sizes = (14, 12, 10)
    xs = np.vstack([c + rng.normal(0, 0.6, size=(n, 2))
                    for c, n in zip(centres, sizes, strict=True)])
    return pl.DataFrame({"account_id": [f"c{i:02d}" for i in range(len(xs))],
                         "x": xs[:, 0], "y": xs[:, 1]})


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.integers(0, 35))
def test_cluster_explanation_pulls_sum_to_the_gap_and_moving_features_moves_the_cluster(
    seed, row
) -> None:
    frame = _blobs(seed)
    dim = ClusterDimension("Shape", features=("x", "y"), k=3)
    e = explain_dimension(dim, frame, row)
    assert e.agrees, e.text
    pulls = sum(f["pull"] for f in e.features)
    assert pulls == pytest.approx(e.facts["runner_up_distance"] - e.facts["distance"], abs=1e-9)
    assert pulls > 0  # its own centre is nearer than the runner-up's
    assert [f["pull"] for f in e.features] == sorted((f["pull"] for f in e.features),
                                                     reverse=True)
    # give it the features of a member of the runner-up cluster: it moves there
    levels = dim.levels(frame)
    names = [levels.labels[c] for c in levels.codes.to_list()]
    mate = next(i for i, n in enumerate(names) if n == e.level and i != row)
    donor = next(i for i, n in enumerate(names) if n == e.facts["runner_up"])
    moved_frame = _set(_set(frame, row, "x", frame["x"][donor]), row, "y", frame["y"][donor])
    moved = explain_dimension(dim, moved_frame, row)
    new_levels = dim.levels(moved_frame)
    new_names = [new_levels.labels[c] for c in new_levels.codes.to_list()]
    assert moved.agrees
    assert moved.level == new_names[donor] and moved.level != new_names[mate]


# ------------------------------------------------------------------ account


def test_explain_account_covers_every_dimension_and_names_unknown_ids() -> None:
    frame = pl.DataFrame({"account_id": ["a", "b", "c", "d"],
                          "revenue": [900.0, 50.0, 30.0, 20.0],
                          "recency_days": [3, 40, 200, None],
                          "frequency": [9, 2, 1, 0],
                          "employees": [400, 20, 5, None]})
    model = SegmentationModel("M", (AbcDimension(), RfmDimension(),
                                    BinsDimension("Size", "employees", cuts=(10, 100))))
    out = explain_account(frame, model, "a")
    assert [d.dimension for d in out.dimensions] == ["ABC", "RFM", "Size"]
    assert [d.level for d in out.dimensions] == ["A", "Champions", "≥ 100"]
    assert out.dimensions[0].text == ("revenue 900; the accounts ranked above it hold 0.0% of "
                                      "revenue (< 80%): A")
    assert out.as_dict()["dimensions"][2]["facts"]["lower"] == 100
    with pytest.raises(UsageError, match="no account with id 'zz'"):
        explain_account(frame, model, "zz")


# ------------------------------------------------------------------ lookalike


def test_lookalike_contributions_rebuild_the_fitted_score() -> None:
    from core.explain import explain_lookalike
    from core.lookalike import score_lookalikes

    rng = np.random.default_rng(3)
    n = 80
    employees = np.exp(rng.normal(4, 1.2, n)).round()
    industry = rng.choice(["Tech", "Retail", "Health"], n)
    customer = np.arange(n) < 60
    ideal = customer & ((employees > np.median(employees)) | (industry == "Tech"))
    frame = pl.DataFrame({"account_id": [f"p{i:02d}" for i in range(n)],
                          "employees": employees, "industry": industry,
                          "is_customer": customer,
                          "revenue": np.where(customer, 100.0, 0.0)})
    res = score_lookalikes(frame, pl.Series(ideal), features=["employees", "industry"])
    scores = dict(zip(res.frame["account_id"], res.frame["lookalike_score"], strict=True))
    for account, score in scores.items():
        e = explain_lookalike(frame, res, account)
        assert e.facts["score"] == pytest.approx(score, abs=1e-9)
        total = res.intercept + sum(f["contribution"] for f in e.features)
        assert total == pytest.approx(e.facts["logit"], abs=1e-9)
        mags = [abs(f["contribution"]) for f in e.features]
        assert mags == sorted(mags, reverse=True)
    # more employees raise the score exactly when the fitted coefficient is positive
    emp = next(f for f in explain_lookalike(frame, res, "p70").features
               if f["feature"] == "employees")
    moved = frame.with_columns(pl.when(pl.col("account_id") == "p70")
                               .then(pl.col("employees") * 10).otherwise(pl.col("employees"))
                               .alias("employees"))
    res2 = score_lookalikes(moved, pl.Series(ideal), features=["employees", "industry"])
    after = explain_lookalike(moved, res2, "p70").facts["score"]
    before = explain_lookalike(frame, res, "p70").facts["score"]
    assert (after > before) == (emp["coefficient"] > 0)
