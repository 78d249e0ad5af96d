"""Personas drafted from data (DOMAIN.md "Personas").

"A persona belongs to a segment and describes both the business (its
firmographic profile) and the people in its buying centre: role, goals,
pains, buying criteria, influence in the decision, information channels.
Drafts come from data (dominant traits, typical buying-centre roles and size,
purchasing behaviour); an analyst's edits are never overwritten by a
recompute."

A field is addressed by a path: ``"name"``, ``"business.<field>"`` or
``"people.<field>"``. ``Persona.drafted`` holds the paths still as drafted;
editing a field removes it, and :func:`merge_draft` only replaces drafted (or
missing) fields. ``Persona.basis`` keeps the figures a draft was made from
(dominant industry, decision role, median size, ...) so :func:`draft_drift`
can say when the data has moved away from them.

Choices where DOMAIN.md is silent:

- "Dominant" = the most frequent non-null value (ties: alphabetical), with
  its share of the non-null values.
- Sales logic follows the starter ``sales_logic`` rule (core.model
  ``SALES_LOGIC_RULES``): an account buys the complex way when its offer is
  customised, its buying centre has 5+ people or its collaboration is high;
  the segment is "complex" when more than half its accounts are.
- The people part comes from the contacts of the segment's accounts: buying
  centre size = median contacts per account that has contacts; roles,
  functions and channels = the most frequent values with their shares; the
  seniority and function of the persona's role are those most frequent among
  the segment's decision makers.
- Goals, pains, buying criteria and the quote follow the dominant buying
  driver (price -> cost and terms; performance / customised -> fit,
  collaboration, risk; delivery -> availability and speed), with complex-sale
  additions.
- Drift: the dominant industry, region, buying driver, offer type, sales
  logic or decision role differs from the basis, or the median employees,
  buying-centre size or account count moved by more than ``tolerance``
  (default 25 %).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core.errors import UsageError
from core.profile import aligned_segments, distinguishing_traits

__all__ = [
    "BUSINESS_FIELDS",
    "PEOPLE_FIELDS",
    "PERSONA_FIELDS",
    "Persona",
    "draft_persona",
    "edit_persona",
    "merge_draft",
    "draft_drift",
    "persona_to_dict",
    "persona_from_dict",
]

BUSINESS_FIELDS = (
    "summary", "traits", "industry", "region", "typical_employees", "typical_revenue",
    "buying_driver", "offer_type", "collaboration", "purchasing_organisation",
    "buying_center_size", "sales_logic",
)  # fmt: skip
PEOPLE_FIELDS = (
    "role", "buying_centre_size", "decision_roles", "functions", "seniority", "channels",
    "influence", "goals", "pains", "buying_criteria", "quote",
)  # fmt: skip
PERSONA_FIELDS = (
    "name", *(f"business.{f}" for f in BUSINESS_FIELDS), *(f"people.{f}" for f in PEOPLE_FIELDS),
)  # fmt: skip

# Basis keys compared as dominant values, and as sizes with a relative tolerance.
_BASIS_LABELS = {
    "industry": "dominant industry",
    "region": "dominant region",
    "buying_driver": "dominant buying driver",
    "offer_type": "dominant offer type",
    "sales_logic": "sales logic",
    "decision_role": "dominant decision role",
}
_BASIS_SIZES = {
    "median_employees": "median employees",
    "buying_centre_size": "median buying-centre size",
    "accounts": "accounts",
}

# What buyers of each driver want (DOMAIN.md: price- vs customisation-driven).
_BEHAVIOUR = {
    "price": {
        "archetype": "Cost-conscious buyer",
        "goals": ["lower total purchasing cost", "standard supply with little effort"],
        "pains": ["price pressure and budget cuts", "time spent comparing quotes"],
        "buying_criteria": ["price", "payment and delivery terms", "easy ordering"],
        "quote": "Give me a fair price and make ordering effortless.",
    },
    "performance": {
        "archetype": "Solution partner",
        "goals": ["solutions that fit their processes", "long-term partnership and uptime"],
        "pains": ["integration risk", "suppliers who do not understand the application"],
        "buying_criteria": ["fit to requirements", "collaboration and engineering support",
                            "risk reduction"],
        "quote": "We need a partner who understands our application and builds it with us.",
    },
    "delivery": {
        "archetype": "Supply-reliability buyer",
        "goals": ["no stock-outs", "on-time, complete deliveries"],
        "pains": ["late or incomplete deliveries", "downtime while waiting for parts"],
        "buying_criteria": ["delivery speed and reliability", "availability", "service level"],
        "quote": "What counts is that the part is here when we need it.",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Persona:
    """A persona of one segment: ``business`` and ``people`` parts (field -> text
    or list of texts), the paths still as drafted, and the draft's basis."""

    segment: str
    name: str
    business: dict[str, Any] = field(default_factory=dict)
    people: dict[str, Any] = field(default_factory=dict)
    drafted: frozenset[str] = frozenset()
    basis: dict[str, Any] = field(default_factory=dict)

    def get(self, path: str) -> Any:
        """The value at ``path`` (``name``, ``business.x``, ``people.y``); None if absent."""
        if path == "name":
            return self.name
        section, key = _split(path)
        return getattr(self, section).get(key)

    def is_drafted(self, path: str) -> bool:
        return path in self.drafted


def _split(path: str) -> tuple[str, str]:
    section, _, key = path.partition(".")
    if section not in ("business", "people") or not key:
        raise UsageError(
            f"persona field {path!r} is not 'name', 'business.<field>' or 'people.<field>'"
        )
    return section, key


# ---------------------------------------------------------------- drafting


def _dominant(values: pl.Series) -> tuple[str | None, float | None]:
    """Most frequent non-null value (ties alphabetical) and its share of the non-null."""
    values = values.drop_nulls().cast(pl.String)
    values = values.filter(values.str.strip_chars() != "")
    if values.is_empty():
        return None, None
    counts = values.value_counts(name="n").sort(["n", values.name], descending=[True, False])
    top = counts.row(0)
    return str(top[0]), top[1] / values.len()


def _top(values: pl.Series, k: int = 3) -> list[str]:
    """The ``k`` most frequent non-null values as "value (NN %)"."""
    values = values.drop_nulls().cast(pl.String)
    if values.is_empty():
        return []
    counts = values.value_counts(name="n").sort(["n", values.name], descending=[True, False])
    total = values.len()
    return [f"{v} ({n / total:.0%})" for v, n in counts.head(k).iter_rows()]


def _median(values: pl.Series) -> float | None:
    values = values.cast(pl.Float64).drop_nulls().drop_nans()
    return None if values.is_empty() else float(values.median())


def _with_share(value: str | None, share: float | None) -> str | None:
    return None if value is None else f"{value} ({share:.0%} of accounts)"


def _fmt_count(x: float | None, unit: str) -> str | None:
    if x is None:
        return None
    return f"median {x:,.0f} {unit}" if x >= 10 else f"median {x:g} {unit}"


def _complex_share(members: pl.DataFrame) -> float | None:
    """Share of accounts buying the complex way (the starter sales_logic rule)."""
    parts = []
    if "offer_type" in members.columns:
        parts.append(pl.col("offer_type").cast(pl.String).str.to_lowercase()
                     .str.starts_with("custom").fill_null(False))  # fmt: skip
    if "buying_center_size" in members.columns:
        parts.append((pl.col("buying_center_size").cast(pl.Float64) >= 5).fill_null(False))
    if "collaboration" in members.columns:
        parts.append(pl.col("collaboration").cast(pl.String).str.to_lowercase()
                     .str.starts_with("high").fill_null(False))  # fmt: skip
    if not parts or members.is_empty():
        return None
    return float(members.select(pl.any_horizontal(parts).mean()).item())


def _members(frame: pl.DataFrame, assignments: pl.DataFrame, segment: str) -> pl.DataFrame:
    seg = aligned_segments(frame, assignments).cast(pl.String)
    members = frame.filter((seg == segment).fill_null(False))
    if members.is_empty():
        raise UsageError(f"segment {segment!r} has no accounts; nothing to draft a persona from")
    return members


def draft_persona(
    frame: pl.DataFrame,
    assignments: pl.DataFrame,
    segment: str,
    contacts: pl.DataFrame | None,
    *,
    exclude: Iterable[str] = (),
) -> Persona:
    """Draft a persona of ``segment`` from the data (every field marked drafted).

    The business part: the segment's distinguishing traits
    (``core.profile.distinguishing_traits``, ``exclude`` = the model's own
    columns), dominant industry and region, median size and turnover, the
    dominant purchasing behaviour (buying driver, offer type, collaboration,
    purchasing organisation, buying-centre size) and the sales logic
    (traditional vs complex). The people part: from ``contacts`` of the
    segment's accounts, the typical buying-centre size, roles, functions,
    seniority and channels, and goals / pains / buying criteria / a quote
    derived from the behaviour (see the module docstring).
    """
    members = _members(frame, assignments, segment)
    n = members.height

    def col(name: str) -> pl.Series:
        if name in members.columns:
            return members.get_column(name)
        return pl.Series(name, [None] * n, dtype=pl.String)

    industry, industry_share = _dominant(col("industry"))
    region, region_share = _dominant(col("region"))
    driver, driver_share = _dominant(col("buying_driver"))
    offer, offer_share = _dominant(col("offer_type"))
    collab, collab_share = _dominant(col("collaboration"))
    org, org_share = _dominant(col("purchasing_organisation"))
    employees = _median(col("employees"))
    turnover = _median(col("annual_revenue"))
    centre = _median(col("buying_center_size"))
    complex_share = _complex_share(members)
    sales_logic = None
    if complex_share is not None:
        sales_logic = "complex" if complex_share > 0.5 else "traditional"

    traits = distinguishing_traits(frame, assignments, segment, exclude=exclude, limit=6)
    trait_phrases = traits.get_column("phrase").to_list()

    behaviour = _BEHAVIOUR.get((driver or "").lower())
    if behaviour is None and (offer or "").lower().startswith("custom"):
        behaviour = _BEHAVIOUR["performance"]
    if behaviour is None:
        behaviour = {"archetype": "Buyer", "goals": [], "pains": [], "buying_criteria": [],
                     "quote": ""}  # fmt: skip

    summary_bits = [f"{n:,} accounts"]
    if industry:
        summary_bits.append(f"mostly {industry}")
    if region:
        summary_bits.append(f"in {region}")
    if employees is not None:
        summary_bits.append(f"median {employees:,.0f} employees")
    if driver:
        summary_bits.append(f"buying on {driver}")
    if sales_logic:
        summary_bits.append(f"{sales_logic} sales")
    business: dict[str, Any] = {
        "summary": ", ".join(summary_bits),
        "traits": trait_phrases,
        "industry": _with_share(industry, industry_share),
        "region": _with_share(region, region_share),
        "typical_employees": _fmt_count(employees, "employees"),
        "typical_revenue": None if turnover is None else f"median {turnover:,.0f} turnover",
        "buying_driver": _with_share(driver, driver_share),
        "offer_type": _with_share(offer, offer_share),
        "collaboration": _with_share(collab, collab_share),
        "purchasing_organisation": _with_share(org, org_share),
        "buying_center_size": _fmt_count(centre, "people"),
        "sales_logic": (
            None if sales_logic is None
            else f"{sales_logic} ({complex_share:.0%} of accounts buy the complex way)"
        ),
    }  # fmt: skip

    people, role_basis, people_size = _draft_people(members, contacts, behaviour, sales_logic)
    name = behaviour["archetype"] + (f" ({industry})" if industry else "")
    basis = {
        "accounts": n,
        "industry": industry,
        "region": region,
        "median_employees": employees,
        "buying_driver": driver,
        "offer_type": offer,
        "sales_logic": sales_logic,
        "decision_role": role_basis,
        "buying_centre_size": people_size,
    }
    drafted = frozenset(
        ["name", *(f"business.{k}" for k in business), *(f"people.{k}" for k in people)]
    )
    return Persona(segment, name, business, people, drafted, basis)


def _draft_people(
    members: pl.DataFrame,
    contacts: pl.DataFrame | None,
    behaviour: Mapping[str, Any],
    sales_logic: str | None,
) -> tuple[dict[str, Any], str | None, float | None]:
    """The people part, the dominant decision role and the median contacts per account."""
    goals = list(behaviour["goals"])
    pains = list(behaviour["pains"])
    criteria = list(behaviour["buying_criteria"])
    if sales_logic == "complex":
        pains.append("aligning many stakeholders before a decision")
        criteria.append("references and proof for each stakeholder")
    people: dict[str, Any] = {
        "role": None,
        "buying_centre_size": None,
        "decision_roles": [],
        "functions": [],
        "seniority": None,
        "channels": [],
        "influence": None,
        "goals": goals,
        "pains": pains,
        "buying_criteria": criteria,
        "quote": behaviour["quote"] or None,
    }
    if contacts is None or contacts.is_empty() or "account_id" not in contacts.columns:
        people["role"] = "no contacts on file for this segment"
        return people, None, None
    ids = members.get_column("account_id").cast(pl.String).implode()
    mine = contacts.filter(pl.col("account_id").cast(pl.String).is_in(ids))
    if mine.is_empty():
        people["role"] = "no contacts on file for this segment"
        return people, None, None

    def col(name: str) -> pl.Series:
        if name in mine.columns:
            return mine.get_column(name)
        return pl.Series(name, [None] * mine.height, dtype=pl.String)

    per_account = mine.group_by("account_id").len().get_column("len")
    size = float(per_account.median())
    role, _ = _dominant(col("decision_role"))
    deciders = mine.filter(
        col("decision_role").cast(pl.String).str.to_lowercase() == "decision maker"
    ) if "decision_role" in mine.columns else mine.head(0)  # fmt: skip
    source = deciders if not deciders.is_empty() else mine
    d_function, _ = _dominant(source.get_column("function")) if "function" in source.columns \
        else (None, None)  # fmt: skip
    d_seniority, _ = _dominant(source.get_column("seniority")) if "seniority" in source.columns \
        else (None, None)  # fmt: skip
    who = ", ".join(x for x in (d_seniority, d_function) if x)
    people["role"] = f"decision maker: {who}" if who else "decision maker"
    people["buying_centre_size"] = _fmt_count(size, "people per account")
    people["decision_roles"] = _top(col("decision_role"), 4)
    people["functions"] = _top(col("function"), 3)
    people["seniority"] = d_seniority
    people["channels"] = _top(col("preferred_channel"), 2)
    people["influence"] = (
        "shared: the decision maker signs off; influencers and users shape the choice"
        if size >= 5 or sales_logic == "complex"
        else "concentrated: one or two people decide"
    )
    return people, role, size


# ---------------------------------------------------------------- editing


def edit_persona(persona: Persona, path: str, value: Any) -> Persona:
    """``persona`` with the field at ``path`` set to ``value`` by the analyst
    (so no longer drafted: a later :func:`merge_draft` keeps it)."""
    drafted = persona.drafted - {path}
    if path == "name":
        if not isinstance(value, str) or not value.strip():
            raise UsageError("a persona needs a non-empty name")
        return dataclasses.replace(persona, name=value, drafted=drafted)
    section, key = _split(path)
    updated = dict(getattr(persona, section))
    updated[key] = value
    return dataclasses.replace(persona, **{section: updated, "drafted": drafted})


def merge_draft(existing: Persona, new_draft: Persona) -> Persona:
    """A recompute: fields still drafted (or missing) in ``existing`` take the
    new draft's values; every field the analyst edited is kept as it is."""
    drafted = set(existing.drafted)
    name = existing.name
    if "name" in existing.drafted:
        name = new_draft.name
    sections: dict[str, dict[str, Any]] = {}
    for section in ("business", "people"):
        old = dict(getattr(existing, section))
        for key, value in getattr(new_draft, section).items():
            path = f"{section}.{key}"
            if key not in old or path in existing.drafted:
                old[key] = value
                drafted.add(path)
        sections[section] = old
    return Persona(existing.segment, name, sections["business"], sections["people"],
                   frozenset(drafted), dict(new_draft.basis))  # fmt: skip


def draft_drift(persona: Persona, new_draft: Persona, *, tolerance: float = 0.25) -> list[str]:
    """How the data has moved away from the persona's draft basis (empty: it has not).

    Reports a changed dominant industry, region, buying driver, offer type,
    sales logic or decision role, and a median employees, buying-centre size
    or account count that moved by more than ``tolerance`` (relative).
    """
    old, new = persona.basis, new_draft.basis
    if not old:
        return []
    notes = []
    for key, label in _BASIS_LABELS.items():
        a, b = old.get(key), new.get(key)
        if key in old and a != b:
            notes.append(f"{label} was {a or '(none)'}, now {b or '(none)'}")
    for key, label in _BASIS_SIZES.items():
        a, b = old.get(key), new.get(key)
        if a is None or b is None or not math.isfinite(a) or a <= 0:
            continue
        change = (b - a) / a
        if abs(change) > tolerance:
            notes.append(f"{label} moved from {a:,.0f} to {b:,.0f} ({change:+.0%})")
    return notes


# ---------------------------------------------------------------- JSON


def persona_to_dict(persona: Persona) -> dict[str, Any]:
    return {
        "segment": persona.segment,
        "name": persona.name,
        "business": dict(persona.business),
        "people": dict(persona.people),
        "drafted": sorted(persona.drafted),
        "basis": dict(persona.basis),
    }


def persona_from_dict(data: Mapping[str, Any]) -> Persona:
    try:
        return Persona(
            segment=str(data["segment"]),
            name=str(data.get("name") or ""),
            business=dict(data.get("business") or {}),
            people=dict(data.get("people") or {}),
            drafted=frozenset(data.get("drafted") or ()),
            basis=dict(data.get("basis") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"not a persona: {exc}") from None
