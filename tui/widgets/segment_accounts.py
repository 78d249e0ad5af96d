"""A modal listing accounts (a segment's members, or the accounts that moved
between two runs) in a textual-fastdatatable over a polars frame."""

from __future__ import annotations

import polars as pl
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label
from textual_fastdatatable import DataTable

from tui.widgets.formatting import display_frame
from tui.widgets.segment_table import NULL_REP

# Columns shown first when present; the rest follow in frame order.
LEADING_COLUMNS = (
    "account_id",
    "name",
    "segment",
    "from_segment",
    "to_segment",
    "revenue_from",
    "revenue_to",
    "revenue",
    "margin",
    "industry",
    "country",
)


def order_columns(frame: pl.DataFrame) -> pl.DataFrame:
    leading = [c for c in LEADING_COLUMNS if c in frame.columns]
    return frame.select(leading + [c for c in frame.columns if c not in leading])


class AccountsDialog(ModalScreen[None]):
    """Show ``frame`` (one row per account) with a title; ``q``/escape closes."""

    DEFAULT_CSS = """
    AccountsDialog {
        align: center middle;
        background: $background 60%;
    }
    AccountsDialog > Vertical {
        width: 95%;
        height: 90%;
        border: thick $primary;
        background: $surface;
    }
    AccountsDialog #accounts-title {
        text-style: bold;
        padding: 0 1;
    }
    AccountsDialog DataTable {
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="accounts_dialog.close", tooltip="Back"),
    ]

    def __init__(self, title: str, frame: pl.DataFrame) -> None:
        super().__init__()
        self.title_text = title
        self.frame = order_columns(frame)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"{self.title_text} — {self.frame.height:,} accounts",
                id="accounts-title",
                markup=False,
            )
            # fastdatatable's polars backend renames the frame it gets: hand it a clone.
            yield DataTable(
                # figures as on every screen: exact decimals (94946.90), shares in %
                data=display_frame(self.frame),
                id="accounts-table",
                render_markup=False,
                null_rep=NULL_REP,
                max_column_content_width=28,
                cursor_type="row",
            )

    def on_mount(self) -> None:
        self.query_one("#accounts-table", DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)
