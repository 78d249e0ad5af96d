"""CLV holdout check (Targeting, key v): expected against actual repeat purchases
in a holdout period, per number of calibration repeats, drawn as the BG/NBD
paper draws its conditional expectations (FHL 2005, figure 4): bars of actual
and expected per 0, 1, ..., 6, 7+ calibration repeats.

Self-contained: the holdout is the last half of the data's span, at most 12
months (the calibration end is the day before); the fit runs in a worker and
never touches the fits kept in the workspace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import polars as pl
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from core.errors import SegscopeError

HOLDOUT_MAX_DAYS = 365


def default_holdout(transactions: pl.DataFrame) -> tuple[dt.date, dt.date]:
    """(calibration end, holdout end): the holdout is the last half of the span of
    the data, at most 12 months, and ends on the last transaction date."""
    first, last = transactions["date"].min(), transactions["date"].max()
    span = (last - first).days  # type: ignore[operator]
    holdout = max(1, min(HOLDOUT_MAX_DAYS, span // 2))
    return last - dt.timedelta(days=holdout), last  # type: ignore[operator]


def holdout_check(transactions: pl.DataFrame, count_zero: bool) -> Any:
    """The ``core.clv.HoldoutComparison`` of a fit calibrated before the default holdout."""
    from core.clv import customer_lifetime_value, holdout_comparison

    cal_end, holdout_end = default_holdout(transactions)
    res = customer_lifetime_value(transactions.filter(pl.col("date") <= cal_end), cal_end,
                                  zero_amount_is_purchase=count_zero)
    return holdout_comparison(transactions, res, holdout_end)


class ClvValidationScreen(ModalScreen[None]):
    """Expected vs actual repeat purchases in the holdout, as text and a bar chart."""

    DEFAULT_CSS = """
    ClvValidationScreen { align: center middle; }
    ClvValidationScreen > Vertical {
        width: 90%;
        max-width: 100;
        height: 80%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    ClvValidationScreen #clv-check-summary { height: auto; color: $text-muted; }
    ClvValidationScreen #clv-check-plot { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="clv_validation.close",
                tooltip="Back to Targeting"),
    ]

    def __init__(self, transactions: pl.DataFrame, *, count_zero: bool = False) -> None:
        super().__init__()
        self._transactions = transactions
        self._count_zero = count_zero
        self.comparison: Any = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("CLV holdout check: computing…", id="clv-check-summary", markup=False)
            yield PlotextPlot(id="clv-check-plot")

    def on_mount(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True, exit_on_error=False, group="clv-check",
          name="clv_check")
    def _compute(self) -> Any:
        return holdout_check(self._transactions, self._count_zero)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "clv_check":
            return
        label = self.query_one("#clv-check-summary", Label)
        if event.state == WorkerState.SUCCESS:
            self.comparison = event.worker.result
            self._show(self.comparison)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            text = str(error) if isinstance(error, SegscopeError) else repr(error)
            label.update(f"CLV holdout check not possible: {text}")

    def _show(self, h: Any) -> None:
        by = h.by_repeats
        zero = "; $0 days count as purchases" if self._count_zero else ""
        self.query_one("#clv-check-summary", Label).update(
            f"Calibration to {h.calibration_end}, holdout to {h.holdout_end} "
            f"({h.holdout_length:.1f} weeks{zero}): {h.customers:,} customers, expected "
            f"{h.expected_total:,.1f} repeat purchases, actual {h.actual_total:,}. "
            "Bars: mean per customer by calibration repeats (Escape closes)."
        )
        plot = self.query_one("#clv-check-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        labels = by["repeats"].to_list()
        plt.multiple_bar(labels, [by["actual"].to_list(), by["expected"].to_list()],
                         labels=["actual", "expected (BG/NBD)"])
        plt.xlabel("repeat purchases in calibration")
        plt.ylabel("holdout purchases per customer")
        plot.refresh()

    def action_close(self) -> None:
        self.dismiss(None)
