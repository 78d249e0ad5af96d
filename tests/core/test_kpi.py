"""Segment KPIs: by hand on a tiny frame, against an independent computation on
generated data (plain Python over rows, and the revenue bridge's own per-segment
NRR/GRR), and the met / on track / off track status."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from core.bridge import revenue_bridge
from core.errors import UsageError
from core.frame import account_frame
from core.kpi import (
    KPI_METRICS,
    check_metric,
    kpi_actuals,
    kpi_status,
    kpi_trend,
    metric_availability,
    segment_kpis,
)
from sample_data.generate import GeneratorConfig, generate


@pytest.fixture()
def hand() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame({
        "account_id": ["x1", "x2", "y1", "y2"],
        "revenue": [100.0, 300.0, 50.0, 0.0],
        "revenue_prev": [200.0, 100.0, 0.0, 0.0],
        "margin": [30.0, 60.0, 10.0, None],
        "orders": [2, 3, 1, 0],
        "potential": [400.0, 300.0, 100.0, 500.0],
        "clv": [1000.0, 3000.0, None, None],
    })  # fmt: skip
    assignments = pl.DataFrame({"account_id": frame["account_id"],
                                "segment": ["X", "X", "Y", "Y"]})  # fmt: skip
    bridge = pl.DataFrame({
        "account_id": ["x1", "x2", "y1"],
        "p0_revenue": [200.0, 100.0, 80.0],
        "p1_revenue": [100.0, 300.0, 0.0],
        "bridge_class": ["Contraction", "Expansion", "Churned"],
    })  # fmt: skip
    return frame, assignments, bridge


def test_segment_kpis_by_hand(hand) -> None:
    frame, assignments, bridge = hand
    table = segment_kpis(frame, assignments, bridge_accounts=bridge)
    k = {r["segment"]: r for r in table.to_dicts()}
    x, y = k["X"], k["Y"]
    assert (x["accounts"], x["revenue"], y["accounts"], y["revenue"]) == (2, 400.0, 2, 50.0)
    assert x["growth"] == pytest.approx(400 / 300 - 1) and y["growth"] is None
    assert x["margin_pct"] == pytest.approx(90 / 400) and y["margin_pct"] == pytest.approx(0.2)
    assert x["avg_order_value"] == pytest.approx(80.0) and y["avg_order_value"] == 50.0
    # NRR X = (100 + 300) / 300; GRR X = (min(200,100) + min(100,300)) / 300
    assert x["nrr"] == pytest.approx(4 / 3) and x["grr"] == pytest.approx(2 / 3)
    assert y["nrr"] == 0.0 and y["grr"] == 0.0
    assert (x["churned_accounts"], y["churned_accounts"]) == (0, 1)
    assert x["share_of_wallet"] == pytest.approx(400 / 700)
    assert y["share_of_wallet"] == pytest.approx(50 / 600)
    assert x["avg_clv"] == 2000.0 and y["avg_clv"] is None


def test_missing_inputs_are_not_available(hand) -> None:
    frame, assignments, _ = hand
    bare = frame.drop("potential", "clv")
    avail = metric_availability(bare)
    assert avail["share_of_wallet"].startswith("not available: run the potential model")
    assert avail["avg_clv"].startswith("not available: run the CLV model")
    assert avail["nrr"] and avail["grr"] and avail["churned_accounts"]
    assert avail["revenue"] is None
    k = segment_kpis(bare, assignments)
    assert k.columns == ["segment", *KPI_METRICS]
    assert k["share_of_wallet"].null_count() == 2 and k["nrr"].null_count() == 2


D = dt.date


@pytest.mark.parametrize(
    ("actual", "target", "direction", "baseline", "deadline", "today", "status", "expected"),
    [
        # 182 of 364 days gone: expected = 100 + (200 - 100) * 0.5 = 150
        (160, 200, "at_least", 100, D(2026, 12, 31), D(2026, 7, 2), "on track", 150),
        (140, 200, "at_least", 100, D(2026, 12, 31), D(2026, 7, 2), "off track", 150),
        (200, 200, "at_least", 100, D(2026, 12, 31), D(2026, 7, 2), "met", 200),
        # lower is better: expected = 10 + (4 - 10) * 0.5 = 7
        (6, 4, "at_most", 10, D(2026, 12, 31), D(2026, 7, 2), "on track", 7),
        (8, 4, "at_most", 10, D(2026, 12, 31), D(2026, 7, 2), "off track", 7),
        (4, 4, "at_most", 10, D(2026, 12, 31), D(2026, 7, 2), "met", 4),
        (190, 200, "at_least", 100, D(2026, 12, 31), D(2027, 1, 1), "off track", 200),
        (190, 200, "at_least", None, D(2026, 12, 31), D(2026, 7, 2), "off track", None),
        (190, 200, "at_least", 100, None, D(2026, 7, 2), "off track", None),
        (None, 200, "at_least", 100, D(2026, 12, 31), D(2026, 7, 2), "not available", None),
    ],
)
def test_kpi_status(actual, target, direction, baseline, deadline, today, status, expected):
    got, exp, note = kpi_status(actual, target, direction, baseline=baseline,
                                created=D(2026, 1, 1), deadline=deadline, today=today)  # fmt: skip
    assert got == status
    assert exp == (None if expected is None else pytest.approx(expected))
    if status == "off track":
        assert note


def test_kpi_actuals_and_trend(hand) -> None:
    frame, assignments, bridge = hand
    kpis = pl.DataFrame({
        "id": [1, 2, 3, 4],
        "segment": ["X", "X", "Y", "Gone"],
        "metric": ["revenue", "share_of_wallet", "churned_accounts", "revenue"],
        "target": [500.0, 0.5, 0.0, 1.0],
        "deadline": ["2026-12-31", None, "2026-12-31", None],
        "direction": ["at_least", "at_least", "at_most", "at_least"],
        "baseline": [300.0, None, 1.0, None],
        "created_at": ["2026-01-01T09:00:00Z"] * 4,
    })  # fmt: skip
    out = kpi_actuals(frame, assignments, kpis, today=D(2026, 7, 2), bridge_accounts=bridge)
    rows = {r["id"]: r for r in out.to_dicts()}
    # 400 against expected 300 + 200 * 0.5 = 400
    assert rows[1]["actual"] == 400.0 and rows[1]["status"] == "on track"
    assert rows[1]["expected"] == pytest.approx(400.0)
    assert rows[2]["status"] == "met"
    assert rows[3]["actual"] == 1.0 and rows[3]["status"] == "off track"
    assert rows[4]["status"] == "not available" and "segment not in" in rows[4]["note"]
    no_potential = kpi_actuals(frame.drop("potential"), assignments, kpis.filter(pl.col("id") == 2),
                               today=D(2026, 7, 2))  # fmt: skip
    assert no_potential["status"][0] == "not available"
    assert "run the potential model" in no_potential["note"][0]
    with pytest.raises(UsageError, match="unknown KPI metric 'profit'"):
        check_metric("profit")

    moved = assignments.with_columns(pl.Series("segment", ["X", "Y", "Y", "Y"]))
    trend = kpi_trend([("run 1", frame, assignments, bridge), ("run 2", frame, moved, bridge)],
                      kpis.filter(pl.col("id") == 1))  # fmt: skip
    assert trend["point"].to_list() == ["run 1", "run 2"]
    assert trend["actual"].to_list() == [400.0, 100.0]


# ------------------------------------------------------------------ generated data


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out: Path = tmp_path_factory.mktemp("gen")
    generate(GeneratorConfig(accounts=300, seed=5, transactions_per_customer=10), out)
    accounts = pl.read_csv(out / "accounts.csv", infer_schema_length=0).with_columns(
        pl.col("employees", "buying_center_size").cast(pl.Int64),
        pl.col("annual_revenue").cast(pl.Float64),
    )
    tx = pl.read_csv(out / "transactions.csv", try_parse_dates=True)
    truth = pl.read_csv(out / "_truth.csv")
    as_of = D(2026, 1, 1)
    frame = account_frame(accounts, tx, as_of=as_of)
    assignments = truth.select("account_id", pl.col("behaviour_group").alias("segment"))
    return frame, assignments, tx, as_of


def test_kpis_equal_an_independent_computation(generated) -> None:
    frame, assignments, tx, as_of = generated
    bridge = revenue_bridge(tx, as_of=as_of, segments=assignments)
    got = {r["segment"]: r for r in segment_kpis(
        frame, assignments, bridge_accounts=bridge.accounts).to_dicts()}  # fmt: skip

    group = dict(assignments.iter_rows())
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in frame.iter_rows(named=True):
        s = sums[group[r["account_id"]]]
        s["accounts"] += 1
        s["revenue"] += r["revenue"] or 0.0
        s["revenue_prev"] += r["revenue_prev"] or 0.0
        s["orders"] += r["orders"] or 0
        if r["margin"] is not None:
            s["margin"] += r["margin"]
            s["revenue_m"] += r["revenue"] or 0.0
    totals = {r["segment"]: r for r in bridge.totals.to_dicts()}
    assert set(got) == {"price-driven", "solution", "delivery-driven"}
    for seg, g in got.items():
        s = sums[seg]
        assert g["accounts"] == s["accounts"]
        assert g["revenue"] == pytest.approx(s["revenue"], rel=1e-12)
        assert g["growth"] == pytest.approx(s["revenue"] / s["revenue_prev"] - 1, rel=1e-9)
        assert g["margin_pct"] == pytest.approx(s["margin"] / s["revenue_m"], rel=1e-9)
        assert g["avg_order_value"] == pytest.approx(s["revenue"] / s["orders"], rel=1e-9)
        assert g["nrr"] == pytest.approx(totals[seg]["nrr"], rel=1e-9)
        assert g["grr"] == pytest.approx(totals[seg]["grr"], rel=1e-9)
        assert g["churned_accounts"] == totals[seg]["n_churned"]
        assert not math.isnan(g["grr"]) and g["grr"] <= g["nrr"]
