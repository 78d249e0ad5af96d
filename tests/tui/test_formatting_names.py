"""Issue 12, items 3 and 9: one number formatter, one table of display names."""

from __future__ import annotations

import polars as pl

from tui.display_names import analyst_text, label, phrase_text
from tui.widgets.formatting import count, days, format_value, kind_of, money, share
from tui.widgets.segment_table import guess_formatter


class TestOneFormatter:
    def test_the_four_kinds(self):
        assert money(7230.69) == "7,230.69"
        assert money(52623.25) == "52,623.25"
        assert money(4020173.580000001) == "4,020,173.58"
        assert share(0.9566920323521964) == "95.7%"
        assert count(2669) == "2,669"
        assert days(1) == "1 day" and days(12.4) == "12 days"
        assert money(None) == share(None) == count(None) == days(None) == "–"

    def test_columns_are_formatted_by_what_they_hold(self):
        assert format_value("margin_pct", 0.28) == "28.0%"
        assert format_value("share_of_wallet", 0.049) == "4.9%"
        assert format_value("revenue", 94946.9) == "94,946.90"
        assert format_value("recency_days", 30) == "30 days"
        assert format_value("orders", 12) == "12"
        assert kind_of("industry", pl.Utf8) == "text"
        assert kind_of("nrr") == kind_of("growth") == "share"

    def test_small_tables_use_the_same_formats(self):
        assert guess_formatter("margin_pct", pl.Float64)(0.28) == "28.0%"
        assert guess_formatter("accounts", pl.Int64)(2669) == "2,669"
        assert guess_formatter("revenue", pl.Float64)(94946.9) == "94,947"


class TestDisplayNames:
    def test_the_table_and_words_for_the_rest(self):
        assert label("share_of_wallet") == "Share of wallet"
        assert label("is_customer") == "Customer"
        assert label("margin_pct") == "Margin %"
        assert label("product_breadth") == "Product breadth"
        assert label("some_new_column") == "Some new column"

    def test_trait_phrases_in_the_analysts_words(self):
        assert phrase_text("share_of_wallet median 1 vs 0.049 overall") == (
            "Share of wallet: median 100.0% (4.9% overall)")
        assert phrase_text("is_customer = true (lift 1.2, 95 % of segment)") == (
            "Customer: yes, 95% of the segment (1.2 × overall)")

    def test_cluster_names_and_python_advice(self):
        assert analyst_text("Low product_breadth") == "Low product breadth"
        text = analyst_text("the accounts have no CLV yet: open Targeting (7); in Python add "
                            "it with core.forward_frame.forward_columns")
        assert "Python" not in text and "core." not in text
        assert text.endswith(".")
        # file names are not names of the table
        assert analyst_text("online_retail.csv has no rows") == "online_retail.csv has no rows"


def test_years_codes_and_scores_are_not_grouped():
    assert format_value("founded_year", 1996) == "1996"
    assert format_value("r_score", 3) == "3"
    assert format_value("employees", 2822) == "2,822"


def test_the_accounts_table_shows_shares_as_percentages():
    from decimal import Decimal

    from tui.widgets.formatting import display_frame

    shown = display_frame(pl.DataFrame({"revenue": [7230.69], "margin_pct": [0.2843]}))
    assert shown.columns == ["revenue", "margin_pct %"]
    assert shown.row(0) == (Decimal("7230.69"), Decimal("28.4"))


def test_the_clv_dimension_error_reads_without_python_advice():
    import pytest

    from core.errors import SegscopeError
    from core.forward_dimensions import ClvDimension

    with pytest.raises(SegscopeError) as err:
        ClvDimension()._values(pl.DataFrame({"account_id": ["A"]}))
    shown = analyst_text(str(err.value))
    assert "Python" not in shown and "core.forward_frame" not in shown
    assert "Targeting screen (key 7)" in shown
