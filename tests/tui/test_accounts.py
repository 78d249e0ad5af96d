"""The Accounts screen: table, filter, sort, search, copy, detail pane, drill-down."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from textual.coordinate import Coordinate
from textual.widgets import Input, Static

from tui.screens.accounts import AccountsScreen, search_matches, sort_frame, view_rows

DATA = Path(__file__).parent / "data"  # the tiny inputs (tests/tui/data)


def count_text(screen: AccountsScreen) -> str:
    return str(screen.query_one("#accounts-count", Static).render())


async def open_accounts(app, pilot, settle) -> AccountsScreen:
    await settle(app, pilot)
    await pilot.press("2")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, AccountsScreen)
    return screen


def reference_revenue() -> dict[str, float]:
    """Net revenue per account in [2024-12-31, 2025-12-31), read from the CSV by hand.

    The window of core.metrics: the 12 months before the analysis date, which
    itself is not seen.
    """
    return revenue_between(date(2024, 12, 31), date(2025, 12, 31))


def revenue_between(start: date, end: date) -> dict[str, float]:
    revenue: dict[str, float] = defaultdict(float)
    with (DATA / "transactions.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if start <= date.fromisoformat(row["Invoice Date"]) < end:
                revenue[row["Customer ID"]] += float(row["Net Amount"])
    return revenue


def reference_industry() -> dict[str, str]:
    with (DATA / "accounts.csv").open(encoding="utf-8") as fh:
        return {row["Account ID"]: row["Industry"] for row in csv.DictReader(fh)}


class TestTable:
    async def test_all_accounts_with_metrics_and_segment(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            assert count_text(screen) == "36 of 36 accounts"
            table = screen._table()
            assert table.row_count == 36
            view = screen._view
            assert view.columns[:4] == ["account_id", "name", "segment", "revenue"]
            assert set(view["segment"].to_list()) == {"A", "B", "C"}
            # revenue matches the 12-month sum worked out from the CSV
            expected = reference_revenue()
            for account_id, revenue in view.select("account_id", "revenue").iter_rows():
                assert revenue == pytest.approx(expected.get(account_id, 0.0), abs=0.005)

    async def test_vim_keys_move_and_g_g_G_jump(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            table = screen._table()
            await pilot.press("j", "j", "l")
            assert (table.cursor_row, table.cursor_column) == (2, 1)
            await pilot.press("k", "h")
            assert (table.cursor_row, table.cursor_column) == (1, 0)
            await pilot.press("G")
            assert table.cursor_row == 35
            await pilot.press("g", "g")
            assert table.cursor_row == 0


class TestFilter:
    async def test_valid_expression_filters(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            await pilot.press("f")
            await pilot.pause()
            assert isinstance(app.focused, Input)
            await pilot.press(*'revenue > 3000 and industry == "Retail"', "enter")
            await settle(app, pilot)
            revenue, industry = reference_revenue(), reference_industry()
            expected = sorted(a for a, r in revenue.items()
                              if r > 3000 and industry[a] == "Retail")
            assert expected  # the data has such accounts
            assert sorted(screen._view["account_id"].to_list()) == expected
            assert count_text(screen).startswith(f"{len(expected)} of 36 accounts · filter:")
            assert screen._table().row_count == len(expected)
            assert app.focused is screen._table()  # Enter returns to the table
            assert not screen.query_one("#accounts-filter-error").display

    async def test_invalid_expression_is_explained_inline(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            assert screen.apply_filter('segment == "A"')
            await settle(app, pilot)
            shown = screen._view.height
            assert 0 < shown < 36
            await pilot.press("f")
            await pilot.pause()
            screen.query_one("#accounts-filter", Input).value = ""
            await pilot.press(*"revenue >> 5", "enter")
            await settle(app, pilot)
            error = screen.query_one("#accounts-filter-error", Static)
            assert error.display
            text = str(error.render())
            assert "position 9" in text  # where the second '>' is (0-based offset 9)
            lines = text.splitlines()
            assert lines[-2] == "revenue >> 5" and lines[-1] == " " * 9 + "^"
            assert screen._view.height == shown  # the last valid filter stays
            assert not [m for s, m in app.notices if s == "error"]

    async def test_unknown_column_names_the_nearest(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            assert not screen.apply_filter("revenu > 5")
            text = str(screen.query_one("#accounts-filter-error", Static).render())
            assert "revenue" in text

    async def test_clearing_the_box_shows_everything(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            screen.apply_filter("is_customer == false")
            await settle(app, pilot)
            assert count_text(screen).startswith("6 of 36")
            screen.query_one("#accounts-filter", Input).value = ""
            await settle(app, pilot)
            assert count_text(screen) == "36 of 36 accounts"


class TestSort:
    async def test_brackets_sort_by_cursor_column(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            table = screen._table()
            table.move_cursor(column=screen._view.columns.index("revenue"))
            await pilot.press("right_square_bracket")
            await settle(app, pilot)
            revenue = screen._view["revenue"].to_list()
            assert revenue == sorted(revenue, reverse=True)
            assert "sorted by revenue ↓" in count_text(screen)
            assert screen._table().cursor_column == screen._view.columns.index("revenue")
            await pilot.press("left_square_bracket")
            await settle(app, pilot)
            assert screen._view["revenue"].to_list() == sorted(revenue)

    async def test_sort_and_filter_swap_the_rows_of_the_same_table(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            table = screen._table()
            revenue_col = screen._view.columns.index("revenue")
            table.move_cursor(row=5, column=revenue_col)
            await pilot.pause()
            account = screen._view["account_id"][5]
            shown_before = screen.views_shown
            await pilot.press("right_square_bracket")
            await settle(app, pilot)
            assert screen.views_shown == shown_before + 1
            assert screen._table() is table  # not remounted
            assert len(screen.query("AccountsTable")) == 1
            # the widget itself shows the sorted rows (reference: revenue sorted by hand)
            by_hand = sorted(reference_revenue().items(), key=lambda kv: -kv[1])
            id_col = screen._view.columns.index("account_id")
            top = [str(table.get_cell_at(Coordinate(r, id_col))) for r in range(3)]
            assert top == [a for a, _ in by_hand[:3]]
            # the cursor stays on the same account, in the same column
            assert screen._view["account_id"][table.cursor_row] == account
            assert table.cursor_column == revenue_col
            assert app.focused is table
            # a filter shrinks the same table, virtual height included
            screen.apply_filter("revenue > 3000")
            await settle(app, pilot)
            expected = sum(1 for r in reference_revenue().values() if r > 3000)
            assert screen._table() is table
            assert table.row_count == expected == screen._view.height
            assert table.virtual_size.height == expected + 1  # + the header row

    def test_view_rows_filter_then_stable_sort_nulls_last(self):
        import polars as pl

        df = pl.DataFrame({"k": list("abcdef"), "v": [2.0, None, 1.0, 2.0, 5.0, None],
                           "keep": [True, True, True, True, False, None]})
        assert view_rows(df, None, None) is None
        rows = view_rows(df, pl.col("keep"), ("v", True))
        assert df["k"].gather(rows).to_list() == ["a", "d", "c", "b"]
        rows = view_rows(df, None, ("v", False))
        assert df["k"].gather(rows).to_list() == ["c", "a", "d", "e", "b", "f"]

    def test_sort_frame_puts_nulls_last_and_is_stable(self):
        import polars as pl

        df = pl.DataFrame({"k": ["a", "b", "c", "d"], "v": [2.0, None, 1.0, 2.0]})
        assert sort_frame(df, "v", descending=True)["k"].to_list() == ["a", "d", "c", "b"]
        assert sort_frame(df, "v", descending=False)["k"].to_list() == ["c", "a", "d", "b"]


class TestIndexedBackend:
    """A view is the display table read through an index: same rows as a reordered copy."""

    def test_rows_cells_and_columns_follow_the_index(self):
        import datetime as dt

        import numpy as np
        import pyarrow as pa

        from tui.screens.accounts import IndexedArrowBackend

        data = pa.table({
            "id": ["a", "b", "c", "d"],
            "revenue": [10.5, None, 3.0, 7.25],
            "last": [dt.date(2025, 1, d) for d in (1, 2, 3, 4)],
        })
        rows = np.array([3, 0, 2], dtype=np.uint32)  # a filtered, sorted view
        backend = IndexedArrowBackend(data, [1, 5, 10], rows)
        copy = data.take(pa.array(rows))  # what the view used to be
        assert backend.row_count == backend.source_row_count == 3
        for i in range(3):
            assert list(backend.get_row_at(i)) == list(copy.slice(i, 1).to_pylist()[0].values())
            for c in range(3):
                assert backend.get_cell_at(i, c) == copy.column(c)[i].as_py()
        assert backend.get_row_at(-1) == backend.get_row_at(2)
        assert backend.get_column_at(0) == ["d", "a", "c"]
        assert backend.get_column_at(1) == [7.25, 10.5, 3.0]
        assert backend.column_content_widths == [1, 5, 10]

        everything = IndexedArrowBackend(data, None, None)  # no index: the table as it is
        assert everything.row_count == 4
        assert everything.get_column_at(1) == [10.5, None, 3.0, 7.25]


class TestSearchAndCopy:
    async def test_slash_search_then_n_and_N(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            await pilot.press("l")  # the name column
            await pilot.press("slash")
            await pilot.pause()
            await pilot.press(*"[ret]", "enter")  # brackets are data here, not markup
            await settle(app, pilot)
            table = screen._table()
            matches = [i for i, n in enumerate(screen._view["name"].to_list()) if "[Ret]" in n]
            assert len(matches) == 9
            assert table.cursor_row == matches[0]
            await pilot.press("n")
            assert table.cursor_row == matches[1]
            await pilot.press("N", "N")
            assert table.cursor_row == matches[-1]  # wraps around

    def test_search_matches_is_literal_and_case_insensitive(self):
        import polars as pl

        df = pl.DataFrame({"name": ["A.B", "aXb", None, "a.b"]})
        assert search_matches(df, "name", "a.b") == [0, 3]

    async def test_Y_copies_the_row_as_tsv(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await open_accounts(app, pilot, settle)
            await pilot.press("j", "Y")
            lines = app.clipboard.splitlines()
            assert lines[0].split("\t")[:3] == ["account_id", "name", "segment"]
            assert lines[1].split("\t")[:2] == ["C002", "Firm 02 [Log] GmbH"]
            assert len(lines) == 2
            assert any("copied account C002" in m for _, m in app.notices)


class TestExport:
    async def test_export_this_table_writes_the_filtered_sorted_view(self, make_app, settle,
                                                                     tmp_path):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            screen.apply_filter('industry == "Retail"')
            await settle(app, pilot)
            screen.action_export_table()  # the palette command "Export this table…"
            await pilot.pause()
            box = app.screen.query_one("#prompt-input", Input)
            box.value = str(tmp_path / "retail.csv")
            await pilot.press("enter")
            await settle(app, pilot)
        with (tmp_path / "retail.csv").open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        industry = reference_industry()
        assert sorted(r["account_id"] for r in rows) == sorted(
            a for a, i in industry.items() if i == "Retail")
        assert any(f"exported {len(rows)} rows" in m for _, m in app.notices)


class TestDetail:
    async def test_detail_pane_shows_the_selected_account(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            screen.select_account("C006")
            await pilot.pause()
            screen._load_detail()
            await settle(app, pilot)
            head = str(screen.query_one("#detail-head", Static).render())
            assert "Firm 06 [Log] GmbH" in head and "C006" in head and "segment" in head
            body = screen.query_one("#detail-body", Static).content
            from rich.console import Console

            console = Console(width=46, record=True, file=open("/dev/null", "w"))
            console.print(body)
            text = console.export_text()
            assert "Person 01" in text  # contact P001 belongs to C006
            assert "Last transactions" in text
            spark = screen.query_one("#detail-sparkline").data
            assert len(spark) == 24
            calendar_2025 = revenue_between(date(2025, 1, 1), date(2025, 12, 31))
            assert sum(spark[-12:]) == pytest.approx(calendar_2025["C006"], abs=0.01)

    async def test_drill_down_from_another_screen(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await app.show_accounts('segment == "B"')
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, AccountsScreen)
            assert set(screen._view["segment"].to_list()) == {"B"}
            assert screen.query_one("#accounts-filter", Input).value == 'segment == "B"'


def go(key: str):
    """A run_before step pressing a key (snap_compare's own presses run after run_before)."""
    return lambda pilot: pilot.press(key)


class TestLayoutIssue12:
    """Issue 12: at 80x24 with the detail pane open the table showed two columns;
    scrolling right hid the account id and name."""

    async def test_80x24_detail_goes_below_and_the_table_keeps_its_width(self, make_app,
                                                                         settle):
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            await pilot.press("d")
            await settle(app, pilot)
            table = screen.query_one("#accounts-table")
            detail = screen.query_one("#accounts-detail")
            assert detail.display and screen.has_class("-detail-below")
            assert table.region.width >= 76
            assert detail.region.y >= table.region.bottom
            assert table.region.height >= 5

    async def test_key_columns_are_pinned(self, make_app, settle):
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            table = screen.query_one("#accounts-table")
            names = [str(c.label) for c in table.ordered_columns[:2]]
            assert names == ["account_id", "name"]
            assert table.fixed_columns == 2
            screen.apply_filter("revenue > 0")
            await settle(app, pilot)
            assert table.fixed_columns == 2  # the swapped-in view keeps them pinned

    async def test_l_scrolls_by_whole_columns(self, make_app, settle):
        """Issue 12: scrolling cut numbers at the left edge ("72" for 7,230.69)."""
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            table = screen.query_one("#accounts-table")
            table.focus()
            starts, x = [0], 0
            for column in table.ordered_columns[2:]:
                x += column.render_width
                starts.append(x)
            seen = []
            for _ in range(len(table.ordered_columns) - 1):
                await pilot.press("l")
                await pilot.pause()
                seen.append(table.scroll_x)
            assert max(seen) > 0
            assert all(x in starts or x == table.max_scroll_x for x in seen), (seen, starts)


class TestSlowView:
    async def test_a_slow_filter_says_so_and_dims_the_old_rows(self, make_app, settle,
                                                                monkeypatch):
        """Issue 12 item 6: a 3.5 s Segments drill showed the old rows with no sign of work."""
        import threading

        import tui.screens.accounts as accounts

        release = threading.Event()
        real = accounts.view_rows

        def slow(*args, **kwargs):
            release.wait(10)
            return real(*args, **kwargs)

        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_accounts(app, pilot, settle)
            monkeypatch.setattr(accounts, "view_rows", slow)
            screen.apply_filter("revenue > 0")
            await pilot.pause(0.6)
            assert count_text(screen).startswith("⏳ Filtering by revenue > 0…")
            assert screen.query_one("#accounts-table").has_class("-stale")
            release.set()
            await settle(app, pilot)
            assert "filter: revenue > 0" in count_text(screen)
            assert not screen.query_one("#accounts-table").has_class("-stale")


class TestAccountsSnapshots:
    def test_accounts_120x40(self, make_app, snap_compare, ready):
        async def select(pilot):
            pilot.app.screen.select_account("C006")
            await pilot.pause()
            pilot.app.screen._load_detail()

        app = make_app()
        assert snap_compare(app, terminal_size=(120, 40), run_before=ready(go("2"), select))

    def test_accounts_80x24(self, make_app, snap_compare, ready):
        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=ready(go("2")))

    def test_accounts_80x24_with_detail(self, make_app, snap_compare, ready):
        async def detail(pilot):
            await pilot.press("d")
            await pilot.pause()
            pilot.app.screen._load_detail()

        assert snap_compare(make_app(), terminal_size=(80, 24),
                            run_before=ready(go("2"), detail))

    def test_accounts_200x50(self, make_app, snap_compare, ready):
        assert snap_compare(make_app(), terminal_size=(200, 50), run_before=ready(go("2")))

    def test_accounts_filter_error_120x40(self, make_app, snap_compare, ready):
        def bad_filter(pilot):
            pilot.app.screen.apply_filter('revenue > 1000 and industry = "Retail" or')

        assert snap_compare(make_app(), terminal_size=(120, 40),
                            run_before=ready(go("2"), bad_filter))
