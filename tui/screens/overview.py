"""Overview (key 1): the totals, the Pareto curve of revenue and the segments at a glance."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Header, Static
from textual_plotext import PlotextPlot

from tui.overview_data import OverviewData, overview_data  # noqa: F401 (used by the tests)
from tui.screens import PaletteCommand, WorkbenchScreen
from tui.widgets.footer import WorkbenchFooter
from tui.widgets.formatting import clip_words, grouped, percent, short_number
from tui.widgets.stat_tile import StatTile

# The bar colours, named the same for plotext and Rich; the legend is a line under the
# chart (plotext's own legend would sit on top of the first bars).
ACCOUNTS_COLOUR = "blue"
REVENUE_COLOUR = "orange"


def segment_legend() -> Text:
    legend = Text(justify="center")
    legend.append("██", style=ACCOUNTS_COLOUR)
    legend.append(" % of accounts   ")
    legend.append("██", style="dark_orange")  # Rich's name for plotext's orange
    legend.append(" % of revenue")
    return legend


class OverviewScreen(WorkbenchScreen):
    """Totals, the Pareto curve and the active model's segments by accounts and revenue."""

    painted_with_data = False  # set once the tiles show loaded data (bench/bench_tui.py)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="tiles"):
            yield StatTile("Accounts", id="tile-accounts")
            yield StatTile("Customers", id="tile-customers")
            yield StatTile("Prospects", id="tile-prospects")
            yield StatTile("Revenue", id="tile-revenue")
            yield StatTile("Margin", id="tile-margin")
            yield StatTile("Active model", id="tile-model")
        with Horizontal(id="charts"):
            yield PlotextPlot(id="pareto-plot")
            with Vertical(id="segment-box"):
                yield PlotextPlot(id="segment-plot")
                yield Static(segment_legend(), id="segment-legend")
        yield Static("Loading the workspace…", id="overview-status", markup=False)
        yield WorkbenchFooter()

    def refresh_from_state(self) -> None:
        self.compute_overview()

    @work(thread=True, exclusive=True, exit_on_error=False, group="overview")
    def compute_overview(self) -> None:
        data = self.state.overview()
        self.app.call_from_thread(self.show_overview, data)

    def show_overview(self, data: OverviewData) -> None:
        self.query_one("#tile-accounts", StatTile).set(grouped(data.accounts))
        share = data.customers / data.accounts if data.accounts else None
        self.query_one("#tile-customers", StatTile).set(
            grouped(data.customers), percent(share)
        )
        self.query_one("#tile-prospects", StatTile).set(grouped(data.prospects))
        self.query_one("#tile-revenue", StatTile).set(
            short_number(data.revenue), "12 months"
        )
        margin_note = ""
        if data.margin is not None and data.revenue:
            margin_note = percent(data.margin / data.revenue)
        self.query_one("#tile-margin", StatTile).set(short_number(data.margin), margin_note)
        model_note = f"{data.segment_count} segments" if data.segment_count is not None else ""
        self.query_one("#tile-model", StatTile).set(data.model_name or "none", model_note)
        self._draw_pareto(data)
        self._draw_segments(data)
        self.painted_with_data = True
        self.workbench.screen_painted()
        status = self.query_one("#overview-status", Static)
        if data.top20_share is not None:
            status.update(
                f"The top 20% of accounts with revenue bring {percent(data.top20_share)} of it."
            )
        elif data.accounts == 0:
            status.update("The workspace is empty: press 3 to import accounts and transactions.")
        else:
            status.update("No revenue in the analysis window.")

    def _draw_pareto(self, data: OverviewData) -> None:
        widget = self.query_one("#pareto-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        plt.title("Pareto: % of revenue by % of accounts")
        if data.pareto is not None and data.pareto.height:
            xs = [x * 100 for x in data.pareto["account_share"].to_list()]
            ys = [y * 100 for y in data.pareto["measure_share"].to_list()]
            plt.plot([0.0, *xs], [0.0, *ys], marker="braille")
            plt.xlim(0, 100)
            plt.ylim(0, 100)
            plt.xticks([0, 25, 50, 75, 100])
            plt.yticks([0, 25, 50, 75, 100])
            plt.xlabel("% of accounts")
            plt.ylabel("% of revenue")
        widget.refresh()

    def _draw_segments(self, data: OverviewData) -> None:
        widget = self.query_one("#segment-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        plt.title(f"Segments of {data.model_name}" if data.model_name
                  else "Segments: no active model")
        if data.bars is not None and data.bars.height:
            # plotext draws horizontal bars bottom-up: reverse so the biggest is on top
            bars = data.bars.reverse()
            names = [clip_words(str(s), 14) for s in bars["segment"].to_list()]
            plt.multiple_bar(
                names,
                [
                    [round(v * 100, 1) for v in bars["account_share"].to_list()],
                    [round(v * 100, 1) for v in bars["revenue_share"].to_list()],
                ],
                color=[ACCOUNTS_COLOUR, REVENUE_COLOUR],
                orientation="horizontal",
            )
            plt.xlim(0, 100)
            plt.xticks([0, 25, 50, 75, 100])
        widget.refresh()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand(
                "Recompute segments",
                self.workbench.recompute_segments,
                "Recompute the active model's segments from the cached account frame",
            )
        ]
