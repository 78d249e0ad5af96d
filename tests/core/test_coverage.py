"""core.coverage on a hand-worked example (DOMAIN.md "Coverage: sales effort against potential")."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from core.coverage import CoverageSettings, activity_kind, coverage
from core.errors import UsageError

AS_OF = dt.date(2025, 1, 1)


def _potential() -> pl.DataFrame:
    return pl.DataFrame({
        "account_id": ["A", "B", "C", "D", "E", "F", "G"],
        "revenue": [100.0, 50.0, 50.0, 50.0, 10.0, 20.0, 0.0],
        "potential": [100.0, 150.0, 250.0, 350.0, 1010.0, 420.0, 500.0],
        "headroom": [0.0, 100.0, 200.0, 300.0, 1000.0, 400.0, 500.0],
    })


def _activities() -> pl.DataFrame:
    d = dt.date(2024, 6, 1)
    rows = [
        ("A", d, "Visit", "ann", None),
        ("A", d, "Site visit", "ann", None),
        ("B", d, "Call", "bob", None),
        ("C", d, "Meeting", "ann", 45.0),
        ("E", d, "EMAIL", "bob", None),
        ("E", dt.date(2023, 12, 31), "Visit", "bob", None),  # before the window
        ("E", AS_OF, "Visit", "bob", None),  # on the analysis date: after the window
        ("F", d, "Call", "cat", None),
        ("F", d, "Task", "bob", None),
        ("Z", d, "Call", "cat", None),  # no potential: left out
    ]
    return pl.DataFrame(rows, schema={"account_id": pl.String, "date": pl.Date,
                                      "type": pl.String, "owner": pl.String,
                                      "duration_minutes": pl.Float64}, orient="row")


def test_hand_worked_example() -> None:
    cov = coverage(_activities(), _potential(), as_of=AS_OF,
                   assignments=pl.DataFrame({"account_id": list("ABCDEFG"),
                                             "segment": ["s1", "s1", "s2", "s2", "s2", "s1",
                                                         "s1"]}))
    acc = {r["account_id"]: r for r in cov.accounts.to_dicts()}
    # G: a prospect without effort is outside the book
    assert set(acc) == set("ABCDEF")
    assert {k: acc[k]["effort_minutes"] for k in acc} == {
        "A": 240.0, "B": 15.0, "C": 45.0, "D": 0.0, "E": 5.0, "F": 15.0}
    # total effort 320, total headroom 2000
    assert acc["A"]["ratio"] is None
    assert acc["B"]["ratio"] == pytest.approx((15 / 320) / (100 / 2000))
    assert acc["C"]["ratio"] == pytest.approx(1.40625)
    assert acc["D"]["ratio"] == 0.0
    assert acc["E"]["ratio"] == pytest.approx(0.03125)
    assert acc["F"]["ratio"] == pytest.approx(0.234375)
    # median headroom 250 (lower half), 75th percentile 375 (top quarter)
    assert cov.summary["thresholds"]["over_headroom_at_most"] == pytest.approx(250.0)
    assert cov.summary["thresholds"]["under_headroom_at_least"] == pytest.approx(375.0)
    assert {k for k in acc if acc[k]["status"] == "over"} == {"A"}
    assert {k for k in acc if acc[k]["status"] == "under"} == {"E", "F"}
    assert [acc[k]["headroom_band"] for k in "ABCDEF"] == [
        "Q1 lowest", "Q1 lowest", "Q2", "Q3", "Q4 highest", "Q4 highest"]
    assert [acc[k]["coverage_band"] for k in "ABCDEF"] == [
        "> 2", "0.5-2", "0.5-2", "none", "< 0.5", "< 0.5"]
    assert [acc[k]["owner"] for k in "ABCDEF"] == ["ann", "bob", "ann", None, "bob", "cat"]
    assert cov.notes[0].startswith("1 activities in the window are on accounts without")

    # reallocation: A's 240 minutes are freed (fair effort 0); E needs 160 - 5 = 155,
    # F 64 - 15 = 49; 36 minutes are left over
    assert cov.released.to_dicts()[0]["minutes_freed"] == 240.0
    moves = {r["account_id"]: r for r in cov.reallocation.to_dicts()}
    assert [r["account_id"] for r in cov.reallocation.to_dicts()] == ["E", "F"]
    assert moves["E"]["minutes_added"] == pytest.approx(155.0)
    assert moves["F"]["minutes_added"] == pytest.approx(49.0)
    assert moves["E"]["ratio_after"] == pytest.approx(1.0)
    assert moves["E"]["assumed_uplift"] == pytest.approx(155 / 60 * 0.002 * 1000)
    assert cov.summary["hours_moved"] == pytest.approx(204 / 60)
    assert cov.summary["headroom_reached"] == 1400.0
    assert "ASSUMPTION" in cov.summary["response_assumption"]

    owners = {r["owner"]: r for r in cov.owners.to_dicts()}
    assert owners["ann"]["effort_minutes"] == 285.0 and owners["ann"]["headroom"] == 200.0
    assert owners["bob"]["effort_minutes"] == 20.0 and owners["bob"]["accounts"] == 2
    assert owners["bob"]["headroom"] == 1100.0 and owners["bob"]["under"] == 1
    assert owners["cat"]["effort_minutes"] == 15.0 and owners["cat"]["headroom"] == 400.0

    segs = {r["segment"]: r for r in cov.segments.to_dicts()}
    assert segs["s1"]["effort_minutes"] == 270.0 and segs["s1"]["headroom"] == 500.0
    assert segs["s2"]["over"] == 0 and segs["s2"]["under"] == 1 and segs["s1"]["over"] == 1

    cells = {(r["coverage_band"], r["headroom_band"]): r["accounts"]
             for r in cov.matrix.to_dicts()}
    assert len(cells) == 16 and sum(cells.values()) == 6
    assert cells[("< 0.5", "Q4 highest")] == 2


def test_settings_are_editable() -> None:
    # calls worth 60 minutes: B and F gain effort, and the thresholds move the lists
    settings = CoverageSettings(minutes={"call": 60.0}, under_ratio=0.2, response_per_hour=0.0)
    cov = coverage(_activities(), _potential(), as_of=AS_OF, settings=settings)
    acc = {r["account_id"]: r for r in cov.accounts.to_dicts()}
    assert acc["B"]["effort_minutes"] == 60.0 and acc["F"]["effort_minutes"] == 60.0
    assert {k for k in acc if acc[k]["status"] == "under"} == {"E"}
    assert cov.summary["assumed_uplift"] == 0.0
    everyone = coverage(_activities(), _potential(), as_of=AS_OF, scope="all")
    assert "G" in set(everyone.accounts["account_id"])


def test_crm_type_words() -> None:
    words = ["Call", "CALL", "Outbound call", "Email", "INCOMING_EMAIL", "Meeting", "Event",
             "Site Visit", "On-site", "NOTE", "Task", None]
    got = pl.select(activity_kind(pl.Series(words, dtype=pl.String))).to_series().to_list()
    assert got == ["call", "call", "call", "email", "email", "meeting", "meeting", "visit",
                   "visit", "other", "other", "other"]


def test_no_effort_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no sales effort in the window"):
        coverage(_activities().head(0), _potential(), as_of=AS_OF)
    with pytest.raises(UsageError, match="minutes for call"):
        CoverageSettings(minutes={"call": -1.0})
