"""Persona drafts: by hand on a tiny frame, and on generated data whose planted
behaviour groups (sample_data/README.md, `_truth.csv`) the drafts must name."""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from core.errors import UsageError
from core.frame import account_frame
from core.persona import (
    PERSONA_FIELDS,
    Persona,
    draft_drift,
    draft_persona,
    edit_persona,
    merge_draft,
    persona_from_dict,
    persona_to_dict,
)
from sample_data.generate import GeneratorConfig, generate

# ------------------------------------------------------------------ tiny frame by hand


@pytest.fixture()
def tiny() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame({
        "account_id": ["a1", "a2", "a3", "a4", "b1"],
        "industry": ["Energy", "Energy", "Retail", None, "Retail"],
        "region": ["DACH", "DACH", "DACH", "Nordics", "Nordics"],
        "employees": [100, 300, 50, 1000, 20],
        "buying_driver": ["performance", "performance", "price", "performance", "price"],
        "offer_type": ["customised", "standard", "customised", "customised", "standard"],
        "buying_center_size": [8, 6, 2, 3, 1],
        "collaboration": ["high", "high", "low", "medium", "low"],
    })  # fmt: skip
    assignments = pl.DataFrame({"account_id": frame["account_id"],
                                "segment": ["S", "S", "S", "S", "T"]})  # fmt: skip
    contacts = pl.DataFrame({
        "contact_id": [f"c{i}" for i in range(9)],
        "account_id": ["a1", "a1", "a1", "a2", "a2", "a3", "a4", "a4", "b1"],
        "decision_role": ["decision maker", "influencer", "influencer", "decision maker",
                          "user", "decision maker", "influencer", "buyer", "decision maker"],
        "function": ["management", "engineering", "engineering", "operations", "engineering",
                     "management", "quality", "procurement", "procurement"],
        "seniority": ["C-level", "manager", "specialist", "director", "specialist", "C-level",
                      "manager", "manager", "C-level"],
        "preferred_channel": ["in person", "email", "email", "phone", "email", "email",
                              "video call", "email", "web portal"],
    })  # fmt: skip
    return frame, assignments, contacts


def test_draft_by_hand(tiny) -> None:
    frame, assignments, contacts = tiny
    p = draft_persona(frame, assignments, "S", contacts)
    b, people = p.business, p.people
    # industry over the 3 known values: Energy 2 of 3
    assert b["industry"] == "Energy (67% of accounts)"
    assert b["region"] == "DACH (75% of accounts)"
    # median of 50, 100, 300, 1000 = 200
    assert b["typical_employees"] == "median 200 employees"
    assert b["buying_driver"] == "performance (75% of accounts)"
    assert b["offer_type"] == "customised (75% of accounts)"
    # complex: a1 (customised), a2 (6 people), a3 (customised), a4 (customised) = 4 of 4
    assert b["sales_logic"].startswith("complex (100%")
    # contacts per account: a1 3, a2 2, a3 1, a4 2 -> median 2
    assert people["buying_centre_size"] == "median 2 people per account"
    # roles over 8 contacts: influencer 3, decision maker 3 (tie: alphabetical), user 1, buyer 1
    assert people["decision_roles"][:2] == ["decision maker (38%)", "influencer (38%)"]
    assert p.basis["decision_role"] == "decision maker"
    # the decision makers: management/C-level, operations/director, management/C-level
    assert people["role"] == "decision maker: C-level, management"
    assert people["functions"][0] == "engineering (38%)"
    # email 5 of 8 = 62.5 %, shown rounded half to even
    assert people["channels"][0] == "email (62%)"
    assert "fit to requirements" in people["buying_criteria"]
    assert p.basis["median_employees"] == 200 and p.basis["accounts"] == 4
    assert p.drafted == frozenset(PERSONA_FIELDS)
    assert p.name == "Solution partner (Energy)"


def test_draft_matches_a_plain_python_reference(tiny) -> None:
    frame, assignments, contacts = tiny
    p = draft_persona(frame, assignments, "T", contacts)
    rows = [r for r in frame.iter_rows(named=True) if r["account_id"] == "b1"]
    assert p.basis["median_employees"] == statistics.median(r["employees"] for r in rows)
    mine = [c for c in contacts.iter_rows(named=True) if c["account_id"] == "b1"]
    top_role = Counter(c["decision_role"] for c in mine).most_common(1)[0][0]
    assert p.basis["decision_role"] == top_role
    assert p.business["sales_logic"].startswith("traditional")
    assert p.people["influence"].startswith("concentrated")
    assert "price" in p.people["buying_criteria"]


def test_draft_without_contacts_says_so(tiny) -> None:
    frame, assignments, _ = tiny
    p = draft_persona(frame, assignments, "S", None)
    assert p.people["role"] == "no contacts on file for this segment"
    assert p.basis["decision_role"] is None


def test_empty_segment_is_refused(tiny) -> None:
    frame, assignments, contacts = tiny
    with pytest.raises(UsageError, match="segment 'Z' has no accounts"):
        draft_persona(frame, assignments, "Z", contacts)


def test_edit_merge_and_drift(tiny) -> None:
    frame, assignments, contacts = tiny
    draft = draft_persona(frame, assignments, "S", contacts)
    edited = edit_persona(draft, "people.quote", "Our words.")
    edited = edit_persona(edited, "business.industry", "Utilities")
    edited = edit_persona(edited, "name", "Olga the engineer")
    assert "people.quote" not in edited.drafted and "business.region" in edited.drafted
    # the data moves: every S account becomes Retail and twice as big
    moved = frame.with_columns(
        pl.when(pl.col("account_id") != "b1").then(pl.lit("Retail")).otherwise("industry")
        .alias("industry"),
        pl.col("employees") * 2,
    )  # fmt: skip
    new_draft = draft_persona(moved, assignments, "S", contacts)
    merged = merge_draft(edited, new_draft)
    assert merged.people["quote"] == "Our words."
    assert merged.business["industry"] == "Utilities"
    assert merged.name == "Olga the engineer"
    assert merged.business["typical_employees"] == "median 400 employees"
    assert merged.drafted == edited.drafted
    notes = draft_drift(edited, new_draft)
    assert "dominant industry was Energy, now Retail" in notes
    assert any(n.startswith("median employees moved from 200 to 400 (+100%)") for n in notes)
    assert draft_drift(merged, new_draft) == []
    assert draft_drift(draft, draft) == []
    assert draft_drift(Persona("S", "hand-written"), new_draft) == []


def test_edit_errors_and_json_round_trip(tiny) -> None:
    frame, assignments, contacts = tiny
    p = draft_persona(frame, assignments, "S", contacts)
    with pytest.raises(UsageError, match="non-empty name"):
        edit_persona(p, "name", " ")
    with pytest.raises(UsageError, match="'colour'"):
        edit_persona(p, "colour", "red")
    assert persona_from_dict(persona_to_dict(p)) == p
    with pytest.raises(UsageError, match="not a persona"):
        persona_from_dict({"name": "x"})


# ------------------------------------------------------------------ generated data


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    out: Path = tmp_path_factory.mktemp("gen")
    generate(GeneratorConfig(accounts=300, seed=3, transactions_per_customer=8), out)
    accounts = pl.read_csv(out / "accounts.csv", infer_schema_length=0).with_columns(
        pl.col("employees", "buying_center_size").cast(pl.Int64),
        pl.col("annual_revenue").cast(pl.Float64),
    )
    tx = pl.read_csv(out / "transactions.csv", try_parse_dates=True)
    contacts = pl.read_csv(out / "contacts.csv", infer_schema_length=0)
    truth = pl.read_csv(out / "_truth.csv")
    frame = account_frame(accounts, tx)
    assignments = frame.select("account_id").join(
        truth.select("account_id", pl.col("behaviour_group").alias("segment")),
        on="account_id", how="left", maintain_order="left",
    )  # fmt: skip
    return frame, assignments, contacts


def test_drafts_name_the_planted_behaviour(generated) -> None:
    frame, assignments, contacts = generated
    solution = draft_persona(frame, assignments, "solution", contacts)
    price = draft_persona(frame, assignments, "price-driven", contacts)
    delivery = draft_persona(frame, assignments, "delivery-driven", contacts)

    b, people = solution.business, solution.people
    assert b["offer_type"].startswith("customised")
    assert b["collaboration"].startswith("high")
    assert b["buying_driver"].startswith("performance")
    assert b["sales_logic"].startswith("complex")
    assert solution.basis["buying_centre_size"] >= 5  # planted 5-12, contacts a few fewer
    assert people["influence"].startswith("shared")
    assert {"fit to requirements", "collaboration and engineering support"} <= set(
        people["buying_criteria"])  # fmt: skip
    assert any(t.startswith("offer_type = customised") for t in b["traits"])

    assert price.business["buying_driver"].startswith("price")
    assert price.business["offer_type"].startswith("standard")
    assert price.business["collaboration"].startswith("low")
    assert price.business["sales_logic"].startswith("traditional")
    assert price.basis["buying_centre_size"] <= 3  # planted 1-3
    assert {"price", "payment and delivery terms"} <= set(price.people["buying_criteria"])
    assert any(t.startswith("buying_driver = price") for t in price.business["traits"])

    assert delivery.business["buying_driver"].startswith("delivery")
    assert delivery.business["collaboration"].startswith("medium")
    assert "delivery speed and reliability" in delivery.people["buying_criteria"]
    # the planted buying centres differ in size: price < delivery < solution
    sizes = [p.basis["buying_centre_size"] for p in (price, delivery, solution)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[2]
