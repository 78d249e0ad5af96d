"""What a metric or column name measures: a share, money, a count, days, or a code.

One rule for the screens (``tui.widgets.formatting``) and the exports
(``storage.export``): ``margin_pct`` is a share shown as 28.0 %, ``revenue``
money rounded to the cent, ``recency_days`` days, ``founded_year`` a plain
number that is never grouped as 1,996.
"""

from __future__ import annotations

# Ratios 0..1 (or growth rates) that read as percentages.
SHARE_NAMES = frozenset({
    "nrr", "grr", "growth", "share", "margin_pct", "share_of_wallet", "revenue_share",
    "account_share", "churn_rate", "retention", "probability", "p_alive",
})
SHARE_SUFFIXES = ("_pct", "_share", "_rate", "_ratio")
DAY_NAMES = frozenset({"recency", "recency_days", "tenure_days", "days"})
MONEY_WORDS = ("revenue", "margin", "value", "headroom", "tam", "clv", "potential", "amount",
               "spend", "wallet", "turnover", "price", "sales")
COUNT_NAMES = frozenset({"accounts", "orders", "frequency", "lines", "customers", "rows",
                         "product_breadth", "employees", "quantity", "contacts", "support"})
PLAIN_SUFFIXES = ("year", "_id", "_code", "zip", "_score")


def column_kind(name: str) -> str:
    """'share', 'days', 'money', 'count', 'plain' or 'number' for a numeric column ``name``."""
    lowered = name.lower()
    if lowered.endswith(PLAIN_SUFFIXES) or lowered in {"id", "rank"}:
        return "plain"
    if lowered in SHARE_NAMES or lowered.endswith(SHARE_SUFFIXES) or lowered.startswith("pct_"):
        return "share"
    if lowered in DAY_NAMES or lowered.endswith("_days"):
        return "days"
    if lowered in COUNT_NAMES or lowered.startswith(("n_", "count")):
        return "count"
    if any(word in lowered for word in MONEY_WORDS):
        return "money"
    return "number"
