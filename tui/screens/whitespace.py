"""White space (key 0): what each account's peers buy that it does not.

Top: the segment x line penetration heat map of the active model. Left: the
accounts ranked by white-space value. Right: the highlighted account's next
best lines, each with its peer penetration x median peer revenue and the
peers that buy it. ``p`` switches peers between the segment and the k
nearest customers by profile (``core.whitespace``).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Static

from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.segment_table import fill_table, format_money

#: The heat map shows at most this many lines (the most bought) and segments.
HEAT_LINES = 12
HEAT_SEGMENTS = 10
#: The ranked list shows the top accounts (the command line exports them all).
LIST_ROWS = 500
# background steps for 0-20-40-60-80-100 % penetration (dark to bright teal)
SHADES = ("#1b1f23", "#12403a", "#17604f", "#1d8066", "#25a07e", "#33c196")


def heat_map(penetration: pl.DataFrame, width: int) -> Group:
    """The segment x line penetration as a Rich table with shaded cells, under a caption."""
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
    table.add_column("Segment", no_wrap=True, max_width=22, overflow="ellipsis")
    if penetration.is_empty():
        return Group(Text("No line is bought in the window."), table)
    lines = (penetration.group_by("line").agg(pl.col("buyers").sum())
             .sort(["buyers", "line"], descending=[True, False])["line"].to_list())
    cell_width = min(max(6, *(len(line) for line in lines)), 12)
    room = max(1, (width - 26) // (cell_width + 1))
    total = len(lines)
    lines = sorted(lines[: min(HEAT_LINES, room)])
    more = f", the {len(lines)} most bought of {total} lines" if len(lines) < total else ""
    caption = Text(f"Penetration: share of the segment's customers buying the line{more}",
                   style="italic")
    for line in lines:
        table.add_column(Text(line[:cell_width], justify="right", overflow="ellipsis"),
                         justify="right", width=cell_width, no_wrap=True)
    segments = (penetration.select("segment", "customers").unique()
                .sort(["customers", "segment"], descending=[True, False])
                .head(HEAT_SEGMENTS)["segment"].to_list())
    cell = {(s, ln): p for s, ln, p in penetration.select("segment", "line", "penetration")
            .iter_rows()}
    for seg in segments:
        row: list[Text] = [Text(seg)]
        for line in lines:
            p = cell.get((seg, line), 0.0)
            shade = SHADES[min(int(p * 5 + 1e-9), 5)]
            row.append(Text(f"{p:.0%}", style=f"#e8e8e8 on {shade}"))
        table.add_row(*row)
    return Group(caption, table)


class WhitespaceScreen(WorkbenchScreen):
    """The white space of the active model's segments and its accounts."""

    CSS_PATH = "whitespace.tcss"
    NARROW_BELOW = 110
    BINDINGS = [
        Binding("p", "toggle_peers", "Peers: segment/nearest", id="whitespace.peers",
                tooltip="Peers of an account: the other customers of its segment, or its "
                        "25 nearest customers by profile"),
    ]

    peers = "segment"

    def __init__(self) -> None:
        super().__init__()
        self._result: Any = None
        self._names: dict[str, str] = {}
        self._shown: pl.DataFrame | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Computing the white space…", id="ws-title", markup=False)
        yield Static(id="ws-heat")
        with Horizontal(id="ws-body"):
            with Vertical(id="ws-list-pane"):
                yield Static("Accounts by white-space value", id="ws-list-title", markup=False)
                yield DataTable(id="ws-accounts", cursor_type="row", zebra_stripes=True)
            with Vertical(id="ws-detail-pane"):
                yield Static("Next best lines", id="ws-detail-title", markup=False)
                yield Static(id="ws-detail")
        yield WorkbenchFooter()

    def refresh_from_state(self) -> None:
        self.compute()

    def on_resize(self, event: events.Resize) -> None:
        was_narrow = self.has_class("-narrow")
        super().on_resize(event)
        if self._result is not None and self.has_class("-narrow") != was_narrow:
            self.show(self._result, self._names)  # the list's columns follow the width

    @work(thread=True, exclusive=True, exit_on_error=False, group="whitespace")
    def compute(self) -> None:
        from core.whitespace import white_space

        state = self.state
        assignments = state.assignments
        transactions = state.transactions
        if assignments is None or transactions is None or transactions.is_empty():
            self.app.call_from_thread(self.show_empty)
            return
        frame = state.frame
        result = white_space(transactions, assignments.select("account_id", "segment"),
                             frame=frame, as_of=state.as_of, peers=self.peers, top=5)
        names = {}
        if "name" in frame.columns:
            # accounts without a name (Maven CRM has none) are shown by their id
            names = dict(frame.select(pl.col("account_id").cast(pl.String),
                                      pl.col("name").cast(pl.String))
                         .filter(pl.col("name").is_not_null()).iter_rows())
        self.app.call_from_thread(self.show, result, names)

    def show_empty(self) -> None:
        self.query_one("#ws-title", Static).update(
            "No white space to show: the workspace needs transactions and an active model.")

    def show(self, result: Any, names: dict[str, str]) -> None:
        self._result, self._names = result, names
        what = "product line" if result.line_column == "product_line" else "product"
        peers = ("other customers of its segment" if result.peers == "segment"
                 else f"{result.k} nearest customers by {', '.join(result.profile)}")
        total = float(result.accounts["white_space_value"].sum())
        self.query_one("#ws-title", Static).update(
            f"{self.model_name or 'no model'}: white space {format_money(total)} "
            f"(peer penetration x median peer revenue) · lines by {what} · peers: {peers}")
        self.query_one("#ws-heat", Static).update(heat_map(result.penetration, self.size.width))
        narrow = self.has_class("-narrow")
        width = 18 if narrow else 26
        account = pl.col("account_id").replace_strict(names, default=pl.col("account_id"))
        account = (
            pl.when(account.str.len_chars() > width)
            .then(account.str.slice(0, width - 1) + "…")
            .otherwise(account)
            .alias("account")
        )
        value = pl.col("white_space_value").alias("white space")
        # narrow: the value first and nothing after the name, so no figure is cut
        shown = result.accounts.head(LIST_ROWS).select(
            [value, account] if narrow
            else [account, value, pl.col("white_space_lines").alias("lines"), "segment"]
        )
        self._shown = result.accounts.head(LIST_ROWS)
        table = self.query_one("#ws-accounts", DataTable)
        fill_table(table, shown, formatters={"white space": format_money})
        self.query_one("#ws-list-title", Static).update(
            f"Accounts by white-space value ({min(LIST_ROWS, result.accounts.height):,} of "
            f"{result.accounts.height:,})")
        self._show_detail(table.cursor_row)

    @on(DataTable.RowHighlighted, "#ws-accounts")
    def _on_highlight(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, row: int) -> None:
        detail = self.query_one("#ws-detail", Static)
        title = self.query_one("#ws-detail-title", Static)
        if self._result is None or self._shown is None or not 0 <= row < self._shown.height:
            detail.update("")
            return
        account = self._shown["account_id"][row]
        who = self._names.get(account, account)
        title.update(f"Next best lines of {who}")
        detail.update(next_best_table(self._result, account, self._names))

    def action_toggle_peers(self) -> None:
        self.peers = "nearest" if self.peers == "segment" else "segment"
        self.query_one("#ws-title", Static).update(f"Computing the white space ({self.peers} "
                                                   "peers)…")
        self.compute()

    def palette_commands(self) -> list[PaletteCommand]:
        return [PaletteCommand("White space: switch peers (segment / nearest)",
                               self.action_toggle_peers,
                               "Peers are the other customers of the segment or the 25 "
                               "nearest customers by profile")]


def segment_buyers(result: Any, account: str, line: str, limit: int = 3) -> list[str]:
    """The ids of the biggest buyers of ``line`` among the account's segment peers."""
    seg = result.accounts.filter(pl.col("account_id") == account)["segment"][0]
    members = result.accounts.filter(pl.col("segment") == seg).select("account_id")
    return (
        result.matrix.filter((pl.col("line") == line) & (pl.col("revenue") > 0)
                             & (pl.col("account_id") != account))
        .join(members, on="account_id", how="semi")
        .sort(["revenue", "account_id"], descending=[True, False])
        .head(limit)["account_id"].to_list()
    )


def next_best_table(result: Any, account: str, names: dict[str, str]) -> Group:
    """The account's next best lines (a table) and, under it, the peers that buy each."""
    lines = result.lines.filter(pl.col("account_id") == account).sort("rank").head(5)
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("Line", no_wrap=True, max_width=20, overflow="ellipsis")
    table.add_column("Peers", justify="right", no_wrap=True)
    table.add_column("Median", justify="right", no_wrap=True)
    table.add_column("Expected", justify="right", no_wrap=True)
    bought = Text()
    for r in lines.iter_rows(named=True):
        table.add_row(Text(r["line"]), f"{r['peer_penetration']:.0%}",
                      format_money(r["median_peer_revenue"]), format_money(r["expected_value"]))
        if result.peers == "segment":
            ids = segment_buyers(result, account, r["line"])
            who = ": " + ", ".join(names.get(i, i) for i in ids)
            if r["peer_buyers"] > len(ids):
                who += ", …"
            buyers = f"{r['peer_buyers']} of its {r['peers']} segment peers buy it{who}"
        else:
            buyers = f"{r['peer_buyers']} of its {r['peers']} nearest customers buy it"
        bought.append(f"\n{r['line']}", style="bold")
        bought.append(f": {buyers}")
    if lines.is_empty():
        return Group(Text("No white space: it buys every line its peers buy."))
    return Group(table, bought)
