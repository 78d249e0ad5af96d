"""The "Why?" dialog: why an account is in its segment (``core.explain``).

Per dimension of the active model: the level, and the value or the rule that
put the account there; for a cluster, the features that pull it to its
centre rather than the runner-up's. Opened from the Accounts screen (``w``).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


def explanation_view(result: Any, title: str) -> Group:
    """The explanations as Rich renderables: a heading and the reason per dimension."""
    parts: list[Any] = []
    levels = " · ".join(d.level for d in result.dimensions)
    head = Text(f"{title}: segment ", style="bold")
    head.append(str(result.segment), style="bold reverse")
    parts.append(head)
    if result.segment is not None and result.segment != levels:
        parts.append(Text(f"(its cell {levels} is under the model's minimum size, "
                          f"so it is folded into {result.segment})", style="italic"))
    for d in result.dimensions:
        line = Text("\n")
        line.append(f"{d.dimension}", style="bold")
        line.append(f" ({d.kind}): ")
        line.append(d.level, style="bold")
        parts.append(line)
        parts.append(Text(f"  {d.text}"))
        if not d.agrees:
            parts.append(Text(f"  note: the dimension assigns {d.assigned}; this explanation "
                              "does not reproduce it", style="bold red"))
        if d.features:
            table = Table(box=None, padding=(0, 1), show_edge=False)
            table.add_column("  Feature")
            table.add_column("Value", max_width=18, overflow="ellipsis", no_wrap=True)
            table.add_column("Std.", justify="right")
            table.add_column("Centre", justify="right")
            table.add_column("Runner-up", justify="right")
            table.add_column("Pull", justify="right")
            for f in d.features[:6]:
                std = f.get("standardised")
                table.add_row(
                    Text(f"  {f['feature']}"), Text(str(f["value"])),
                    "" if std is None else f"{std:+.2f}",
                    "" if std is None else f"{f['centre']:+.2f}",
                    "" if std is None else f"{f['runner_up_centre']:+.2f}",
                    f"{f['pull']:+.2f}",
                )
            parts.append(table)
    return Group(*parts)


class WhyDialog(ModalScreen[None]):
    """Why the account is in its segment of the active model."""

    DEFAULT_CSS = """
    WhyDialog {
        align: center middle;
        background: $background 60%;
    }
    WhyDialog > Vertical {
        width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    WhyDialog #why-title {
        text-style: bold;
        color: $text-accent;
    }
    WhyDialog VerticalScroll {
        height: auto;
        max-height: 1fr;
    }
    WhyDialog #why-hint {
        color: $text-muted;
    }
    """
    BINDINGS = [
        Binding("escape,q,w", "close", "Close", id="why_dialog.close", tooltip="Back"),
    ]

    def __init__(self, frame: Any, model: Any, assignments: Any, account_id: str,
                 title: str) -> None:
        super().__init__()
        self._frame, self._model, self._assignments = frame, model, assignments
        self.account_id = account_id
        self.title_text = title
        self.result: Any = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Why? {self.title_text} in model {self._model.name}", id="why-title",
                        markup=False)
            with VerticalScroll():
                yield Static("Explaining…", id="why-body", markup=False)
            yield Label("Each reason is recomputed from the dimension's own rule. "
                        "Esc closes.", id="why-hint", markup=False)

    def on_mount(self) -> None:
        self.explain()

    @work(thread=True, exclusive=True, exit_on_error=False, group="why")
    def explain(self) -> None:
        import polars as pl

        from core.explain import explain_account

        segment = None
        if self._assignments is not None and "segment" in self._assignments.columns:
            hit = self._assignments.filter(pl.col("account_id").cast(pl.String)
                                           == self.account_id)
            if hit.height:
                segment = str(hit["segment"][0])
        result = explain_account(self._frame, self._model, self.account_id, segment=segment)
        self.app.call_from_thread(self.show, result)

    def show(self, result: Any) -> None:
        self.result = result
        self.query_one("#why-body", Static).update(explanation_view(result, self.title_text))

    def action_close(self) -> None:
        self.dismiss(None)
