"""Coverage (key C): sales effort against potential (``core.coverage``).

Top: the coverage x headroom matrix (accounts per cell; the over-covered
corner and the under-covered one marked) beside the owners' effort against
the headroom of the accounts they own. Below: the over-covered accounts (most
effort first) or, after ``t``, the under-covered ones (most headroom first),
beside the reallocation table, whose uplift carries its assumption's label.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Static

from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.segment_table import fill_table, format_money

LIST_ROWS = 500
REALLOCATION_ROWS = 8
# cells where the over- and under-covered accounts sit
OVER_CELL = "#5c2b2b"
UNDER_CELL = "#2b3f5c"


def _hours(minutes: float | None) -> str:
    if minutes is None:
        return ""
    hours = minutes / 60
    return f"{hours:,.0f} h" if hours >= 100 else f"{hours:,.1f} h"


def _ratio(x: float | None) -> str:
    return "∞" if x is None else f"{x:.2f}"


def matrix_table(result: Any) -> Group:
    """Accounts per coverage band x headroom band, as a Rich table under a caption."""
    from core.coverage import COVERAGE_BANDS, HEADROOM_BANDS

    cells = {(r["coverage_band"], r["headroom_band"]): r["accounts"]
             for r in result.matrix.to_dicts()}
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("Ratio", no_wrap=True)
    for band in HEADROOM_BANDS:
        table.add_column(band.replace(" ", "\n", 1) if " " in band else band,
                         justify="right", no_wrap=True)
    for band in reversed(COVERAGE_BANDS):
        row: list[Text] = [Text(band)]
        for i, h in enumerate(HEADROOM_BANDS):
            style = ""
            if band == "> 2" and i < 2:
                style = f"#e8e8e8 on {OVER_CELL}"
            elif band in ("< 0.5", "none") and i == 3:
                style = f"#e8e8e8 on {UNDER_CELL}"
            row.append(Text(f"{cells[(band, h)]:,}", style=style))
        table.add_row(*row)
    caption = Text("Accounts: coverage ratio x headroom", style="italic")
    return Group(caption, table)


def reallocation_text(result: Any, names: dict[str, str]) -> Group:
    """The reallocation summary and its first receiving accounts."""
    s = result.summary
    head = Text()
    head.append(f"{s['hours_freed']:,.1f} h", style="bold")
    head.append(" above fair share on over-covered accounts; ")
    head.append(f"{s['hours_moved']:,.1f} h", style="bold")
    head.append(f" placed on {result.reallocation.height:,} under-covered accounts with ")
    head.append(format_money(s["headroom_reached"]), style="bold")
    head.append(" headroom (each to its fair share, ratio 1).")
    table = Table(box=None, padding=(0, 0, 0, 1), show_edge=False)
    table.add_column("Account", no_wrap=True, max_width=18, overflow="ellipsis")
    table.add_column("Ratio", justify="right", no_wrap=True)
    table.add_column("Added", justify="right", no_wrap=True)
    table.add_column("Headroom", justify="right", no_wrap=True)
    table.add_column("Uplift*", justify="right", no_wrap=True)
    for r in result.reallocation.head(REALLOCATION_ROWS).iter_rows(named=True):
        table.add_row(Text(names.get(r["account_id"], r["account_id"])), _ratio(r["ratio"]),
                      _hours(r["minutes_added"]), format_money(r["headroom"]),
                      format_money(r["assumed_uplift"]))
    note = Text(f"* {format_money(s['assumed_uplift'])} in all. {s['response_assumption']}.",
                style="italic")
    return Group(head, table, note)


class CoverageScreen(WorkbenchScreen):
    """Sales effort (imported activities) against headroom, per account and owner."""

    CSS_PATH = "coverage.tcss"
    NARROW_BELOW = 110
    BINDINGS = [
        Binding("t", "toggle_list", "Over/under", id="coverage.toggle",
                tooltip="Show the over-covered accounts (most effort first) or the "
                        "under-covered ones (most headroom first)"),
    ]

    showing = "over"

    def __init__(self) -> None:
        super().__init__()
        self._result: Any = None
        self._names: dict[str, str] = {}
        self._shown: pl.DataFrame | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Computing the coverage…", id="cov-title", markup=False)
        with Horizontal(id="cov-top"):
            yield Static(id="cov-matrix")
            with Vertical(id="cov-owners-pane"):
                yield Static("Owners: effort against their accounts' headroom",
                             id="cov-owners-title", markup=False)
                yield DataTable(id="cov-owners", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="cov-body"):
            with Vertical(id="cov-list-pane"):
                yield Static("Over-covered", id="cov-list-title", markup=False)
                yield DataTable(id="cov-accounts", cursor_type="row", zebra_stripes=True)
            with Vertical(id="cov-realloc-pane"):
                yield Static("Reallocation", id="cov-realloc-title", markup=False)
                yield Static(id="cov-realloc")
        yield WorkbenchFooter()

    def refresh_from_state(self) -> None:
        self.compute()

    @work(thread=True, exclusive=True, exit_on_error=False, group="coverage")
    def compute(self) -> None:
        from core.coverage import coverage
        from core.errors import SegscopeError
        from core.periods import shift_months
        from storage.activities import activity_count, activity_summary
        from tui.commands.coverage import potential_frame

        state = self.state
        ws = state.workspace
        transactions = state.transactions
        if activity_count(ws) == 0 or transactions is None or transactions.is_empty():
            self.app.call_from_thread(self.show_empty, "No coverage to show: the workspace "
                                      "needs transactions and imported activities "
                                      "(on the Import screen, key 3, choose the kind activities).")
            return
        frame = state.frame
        potential, source = potential_frame(ws, frame, state.as_of)
        activities = activity_summary(ws, shift_months(state.as_of, -12), state.as_of)
        assignments = state.assignments
        try:
            result = coverage(
                activities, potential, as_of=state.as_of,
                assignments=None if assignments is None
                else assignments.select("account_id", "segment"))
        except SegscopeError as exc:
            self.app.call_from_thread(self.show_empty, f"No coverage to show: {exc}")
            return
        names = {}
        if "name" in frame.columns:
            names = dict(frame.select(pl.col("account_id").cast(pl.String),
                                      pl.col("name").cast(pl.String)).iter_rows())
        self.app.call_from_thread(self.show, result, names, source)

    def show_empty(self, message: str) -> None:
        self.query_one("#cov-title", Static).update(message)

    def show(self, result: Any, names: dict[str, str], source: str) -> None:
        self._result, self._names = result, names
        s = result.summary
        self.query_one("#cov-title", Static).update(
            f"{s['accounts']:,} accounts, {s['effort_hours']:,.1f} h of effort against "
            f"{format_money(s['headroom'])} headroom · over-covered {s['over_covered']:,} "
            f"(ratio > {s['thresholds']['over_ratio']:g}, lower half of headroom) · "
            f"under-covered {s['under_covered']:,} (ratio < "
            f"{s['thresholds']['under_ratio']:g}, top quarter) · headroom from {source}")
        self.query_one("#cov-matrix", Static).update(matrix_table(result))
        owners = result.owners.select(
            pl.col("owner").str.slice(0, 16),
            pl.col("accounts"),
            pl.col("effort_minutes").alias("effort"),
            "headroom",
            "ratio",
            "over",
            "under",
        )
        fill_table(self.query_one("#cov-owners", DataTable), owners,
                   formatters={"effort": _hours, "headroom": format_money, "ratio": _ratio})
        self.query_one("#cov-realloc", Static).update(reallocation_text(result, names))
        self._fill_list()

    def _fill_list(self) -> None:
        result = self._result
        if result is None:
            return
        acc = result.accounts.filter(pl.col("status") == self.showing)
        if self.showing == "over":
            acc = acc.sort(["effort_minutes", "account_id"], descending=[True, False])
            title = "Over-covered, most effort first"
        else:
            acc = acc.sort(["headroom", "account_id"], descending=[True, False])
            title = "Under-covered, most headroom first"
        self._shown = acc.head(LIST_ROWS)
        shown = self._shown.select(
            pl.col("account_id").replace_strict(self._names, default=pl.col("account_id"))
            .str.slice(0, 22).alias("account"),
            pl.col("effort_minutes").alias("effort"),
            "headroom",
            "ratio",
            pl.col("owner").str.slice(0, 12),
        )
        fill_table(self.query_one("#cov-accounts", DataTable), shown,
                   formatters={"effort": _hours, "headroom": format_money, "ratio": _ratio})
        self.query_one("#cov-list-title", Static).update(
            f"{title} ({self._shown.height:,} of {acc.height:,}) · t: "
            f"{'under' if self.showing == 'over' else 'over'}-covered")

    def action_toggle_list(self) -> None:
        self.showing = "under" if self.showing == "over" else "over"
        self._fill_list()

    def palette_commands(self) -> list[PaletteCommand]:
        return [PaletteCommand("Coverage: show over- or under-covered accounts",
                               self.action_toggle_list,
                               "Over-covered: most effort first; under-covered: most "
                               "headroom first")]
