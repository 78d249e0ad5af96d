"""The analyst's words for metric and column names: one table for every screen.

``label("share_of_wallet")`` is "Share of wallet"; a name not in the table
reads as words ("buying_center_size" -> "Buying center size"). Labels,
traits, personas, KPIs and cluster names go through here, so the screens
never show ``margin_pct`` or ``is_customer = true``. ``analyst_text`` turns a
message written with developer names (a trait phrase, a cluster name, a
dimension's error) into the same words and drops advice meant for Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tui.widgets.formatting import format_value, kind_of, share

DISPLAY_NAMES: dict[str, str] = {
    "account_id": "Account id",
    "name": "Name",
    "segment": "Segment",
    "accounts": "Accounts",
    "account_share": "% of accounts",
    "share": "% of accounts",
    "revenue": "Revenue",
    "revenue_share": "% of revenue",
    "revenue_prev": "Revenue (previous year)",
    "margin": "Margin",
    "margin_pct": "Margin %",
    "avg_order_value": "Average order value",
    "frequency": "Frequency",
    "orders": "Orders",
    "recency_days": "Days since last order",
    "tenure_days": "Days as customer",
    "product_breadth": "Product breadth",
    "first_purchase": "First purchase",
    "last_purchase": "Last purchase",
    "growth": "Growth",
    "nrr": "NRR",
    "grr": "GRR",
    "share_of_wallet": "Share of wallet",
    "is_customer": "Customer",
    "is_prospect": "Prospect",
    "potential": "Potential",
    "headroom": "Headroom",
    "clv": "CLV",
    "avg_clv": "Average CLV",
    "churned_accounts": "Churned accounts",
    "industry": "Industry",
    "region": "Region",
    "country": "Country",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "buying_driver": "Buying driver",
    "buying_center_size": "Buying-centre size",
    "buying_centre_size": "Buying-centre size",
    "offer_type": "Offer type",
    "sales_logic": "Sales logic",
    "decision_role": "Decision role",
    "lookalike_score": "Lookalike score",
    "score": "Score",
    "rank": "Rank",
    "status": "Status",
    "target": "Target",
    "actual": "Actual",
    "kpi_status": "Status",
    "abc": "ABC class",
    "abc_class": "ABC class",
    "r_score": "R score",
    "f_score": "F score",
    "m_score": "M score",
    "rfm_segment": "RFM segment",
    "bridge_class": "Revenue bridge",
    "bridge_prev_revenue": "Bridge: previous revenue",
    "bridge_revenue": "Bridge: revenue",
    "founded_year": "Founded",
    "cluster_id": "Cluster",
}

_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b(?:nrr|grr|clv|abc)\b")
# Advice for a Python programmer, not for the analyst: dropped from a message.
_PYTHON_ADVICE = re.compile(r"[;,]?\s*(?:and\s+)?\bin Python\b.*?(?=\.\s|\.?$)", re.IGNORECASE)


def label(name: str, names: Mapping[str, str] | None = None) -> str:
    """The display name of a metric or column (``names`` first, then the table)."""
    if names and name in names:
        return names[name]
    if name in DISPLAY_NAMES:
        return DISPLAY_NAMES[name]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def labels_for(columns: list[str] | tuple[str, ...]) -> dict[str, str]:
    """{column: display name} for a table's headers."""
    return {column: label(column) for column in columns}


def _inline(name: str) -> str:
    """A name inside a sentence: capitalised only where the table says so (NRR, CLV)."""
    shown = label(name)
    if name in DISPLAY_NAMES and shown[:1].isupper() and not shown[:3].isupper():
        return shown[:1].lower() + shown[1:]
    return shown


def analyst_text(text: str) -> str:
    """``text`` with developer names replaced by display names and Python advice dropped.

    "Low product_breadth" -> "Low product breadth"; "is_customer = true" ->
    "customer = yes". Only names in ``DISPLAY_NAMES`` are replaced.
    """
    stripped = _PYTHON_ADVICE.sub("", text)
    if stripped != text and stripped and stripped[-1] not in ".!?":
        stripped += "."
    text = re.sub(r"=\s*true\b", "= yes", stripped)
    text = re.sub(r"=\s*false\b", "= no", text)
    # only names the table knows: a file name such as online_retail.csv stays as it is
    return _WORD.sub(
        lambda m: _inline(m.group(0)) if m.group(0) in DISPLAY_NAMES else m.group(0), text)


def trait_phrase(row: Mapping[str, object]) -> str:
    """One trait of ``core.profile.distinguishing_traits`` in the analyst's words.

    Numeric: "Share of wallet: median 100.0% (4.9% overall)". Category:
    "Industry: retail, 62% of the segment (2.1 × overall)".
    """
    column = str(row.get("column") or "")
    name = label(column)
    if row.get("kind") == "numeric":
        seg, overall = row.get("segment_value"), row.get("overall_value")
        return (f"{name}: median {format_value(column, seg)} "
                f"({format_value(column, overall)} overall)")
    value = row.get("value")
    shown = {"true": "yes", "false": "no"}.get(str(value).lower(), str(value))
    if kind_of(column) == "share":
        shown = str(value)
    lift = row.get("lift")
    lift_text = f" ({float(lift):.1f} × overall)" if isinstance(lift, int | float) else ""
    return f"{name}: {shown}, {share(row.get('segment_value'), decimals=0)} of the segment" + \
        lift_text


_NUMERIC_PHRASE = re.compile(r"^(?P<col>\w+) median (?P<seg>[-\d.,eE+]+) vs (?P<all>[-\d.,eE+]+)"
                             r" overall$")
_CATEGORY_PHRASE = re.compile(r"^(?P<col>\w+) = (?P<value>.+) \(lift (?P<lift>[\d.]+), "
                              r"(?P<pct>\d+) % of segment\)$")


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def phrase_text(phrase: str) -> str:
    """A trait phrase as ``core.profile`` writes it, in the analyst's words.

    "share_of_wallet median 1 vs 0.049 overall" -> "Share of wallet: median 100.0%
    (4.9% overall)"; "is_customer = true (lift 1.2, 95 % of segment)" ->
    "Customer: yes, 95% of the segment (1.2 × overall)". Other text: ``analyst_text``.
    """
    match = _NUMERIC_PHRASE.match(phrase.strip())
    if match:
        seg, overall = _number(match["seg"]), _number(match["all"])
        if seg is not None and overall is not None:
            return trait_phrase({"column": match["col"], "kind": "numeric",
                                 "segment_value": seg, "overall_value": overall})
    match = _CATEGORY_PHRASE.match(phrase.strip())
    if match:
        return trait_phrase({"column": match["col"], "kind": "category",
                             "value": match["value"], "lift": _number(match["lift"]),
                             "segment_value": int(match["pct"]) / 100})
    return analyst_text(phrase)
