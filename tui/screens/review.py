"""Review mode of the Game plans screen (``r``): the target segments one by one,
for a meeting: profile, distinguishing traits, personas, game plan and KPIs.

``n`` / ``p`` (or right / left) move to the next / previous segment, escape
leaves. Target segments are those flagged "target" on the Segments screen;
with none flagged, every segment is reviewed and the screen says so. Traits
are computed in a thread worker per segment and kept while the screen is open.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Static
from textual.worker import get_current_worker

from tui.screens.plans import DIRECTION_SIGNS, STATUS_COLOURS, fmt_value
from tui.widgets.plan_form import PLAN_FORM_FIELDS

if TYPE_CHECKING:
    from tui.screens.plans import PlansData

NO_TARGETS = "No segment is flagged as target (key t on Segments): reviewing them all."
PROFILE_FIELDS = (
    ("accounts", "accounts", "count"),
    ("account_share", "of accounts", "pct"),
    ("revenue", "revenue", "money"),
    ("revenue_share", "of revenue", "pct"),
    ("margin_pct", "margin", "pct"),
    ("growth", "growth", "pct"),
    ("nrr", "NRR", "pct"),
)


def review_segments(data: PlansData) -> tuple[list[str], str | None]:
    """The segments to review (targets, in display order) and a note when none is a target."""
    targets = [s for s in data.segments if data.status_of(s) == "target"]
    if targets:
        return targets, None
    return list(data.segments), NO_TARGETS


def profile_line(row: dict[str, Any] | None) -> str:
    if row is None:
        return "no profile (the segment is not in the current results)"
    from tui.widgets import formatting

    parts = []
    for key, label, kind in PROFILE_FIELDS:
        value = row.get(key)
        if value is None:
            continue
        text = {"count": formatting.count, "pct": formatting.share,
                "money": lambda v: formatting.money(v, cents=False)}[kind](value)
        parts.append(f"{text} {label}")
    return " · ".join(parts)


class ReviewScreen(Screen[None]):
    """One target segment at a time, in full."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,right", "step(1)", "Next", id="review.next",
                tooltip="The next target segment"),
        Binding("p,left", "step(-1)", "Previous", id="review.prev",
                tooltip="The previous target segment"),
        Binding("escape,q", "leave", "Leave review", id="review.leave",
                tooltip="Back to the Game plans screen"),
    ]
    DEFAULT_CSS = """
    ReviewScreen #review-title { text-style: bold; color: $text-accent; padding: 0 1; }
    ReviewScreen #review-note { color: $text-warning; padding: 0 1; height: auto; }
    ReviewScreen #review-body { padding: 0 1; }
    ReviewScreen .review-heading { text-style: bold; margin-top: 1; color: $text-primary; }
    ReviewScreen Static { height: auto; }
    """

    class TraitsReady(Message):
        def __init__(self, segment: str, phrases: list[str]) -> None:
            super().__init__()
            self.segment = segment
            self.phrases = phrases

    def __init__(self, data: PlansData, segments: list[str], note: str | None = None) -> None:
        super().__init__()
        self.data = data
        self.segments = segments
        self.note = note
        self.index = 0
        self._traits: dict[str, list[str]] = {}

    @property
    def segment(self) -> str:
        return self.segments[self.index]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="review-title", markup=False)
        yield Label(self.note or "", id="review-note", markup=False)
        with VerticalScroll(id="review-body"):
            for part, heading in (("profile", "Profile"), ("traits", "Distinguishing traits"),
                                  ("personas", "Personas"), ("plan", "Game plan"),
                                  ("kpis", "KPIs")):  # fmt: skip
                yield Label(heading, classes="review-heading")
                yield Static("", id=f"review-{part}")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#review-note").display = bool(self.note)
        self.query_one("#review-body", VerticalScroll).focus()  # arrows / page keys scroll
        self.show()

    def show(self) -> None:
        seg, data = self.segment, self.data
        self.query_one("#review-title", Label).update(
            f"Review · {data.model_name} · segment {seg} ({self.index + 1} of {len(self.segments)})"
        )
        profiles = self.app.state.profiles  # type: ignore[attr-defined]
        row = None
        if profiles is not None:
            found = profiles.filter(pl.col("segment").cast(pl.Utf8) == seg)
            row = found.row(0, named=True) if found.height else None
        self.query_one("#review-profile", Static).update(Content(profile_line(row)))
        self._show_traits()
        self.query_one("#review-personas", Static).update(Content(self._personas_text()))
        self.query_one("#review-plan", Static).update(Content(self._plan_text()))
        self.query_one("#review-kpis", Static).update(Content.from_markup(self._kpis_markup()))
        self.query_one("#review-body", VerticalScroll).scroll_home(animate=False)

    def _show_traits(self) -> None:
        seg = self.segment
        phrases = self._traits.get(seg)
        widget = self.query_one("#review-traits", Static)
        if phrases is None:
            widget.update(Content("computing…"))
            self._compute_traits(seg)
        elif not phrases:
            widget.update(Content("Nothing stands out: like the whole customer base."))
        else:
            widget.update(Content("\n".join(f"• {p}" for p in phrases)))

    @work(thread=True, exclusive=True, group="review-traits", exit_on_error=False)
    def _compute_traits(self, segment: str) -> None:
        from core.profile import distinguishing_traits
        from tui.screens.personas import model_columns

        state = self.app.state  # type: ignore[attr-defined]
        if state.assignments is None:
            return
        traits = distinguishing_traits(state.frame, state.assignments, segment,
                                       exclude=model_columns(state.active_model), limit=6)
        if not get_current_worker().is_cancelled:
            from tui.display_names import trait_phrase

            phrases = [trait_phrase(row) for row in traits.iter_rows(named=True)]
            self.post_message(self.TraitsReady(segment, phrases))

    def on_review_screen_traits_ready(self, message: TraitsReady) -> None:
        self._traits[message.segment] = message.phrases
        if message.segment == self.segment:
            self._show_traits()

    def _personas_text(self) -> str:
        from storage.plans import list_personas

        ws = self.app.state.workspace  # type: ignore[attr-defined]
        stored = list_personas(ws, self.data.model_name, self.segment)
        if not stored:
            return "none yet (Personas screen, key 8, d drafts one)"
        lines = []
        for sp in stored:
            p = sp.persona
            lines.append(f"#{sp.id} {p.name}")
            for path, label in (("people.role", "role"), ("people.goals", "goals"),
                                ("people.pains", "pains"),
                                ("people.buying_criteria", "buying criteria"),
                                ("people.quote", "quote")):  # fmt: skip
                value = p.get(path)
                if isinstance(value, list):
                    value = "; ".join(map(str, value))
                if value:
                    lines.append(f"   {label}: {value}")
        return "\n".join(lines)

    def _plan_text(self) -> str:
        plan = self.data.plans.get(self.segment)
        if not plan:
            return "none yet (Game plans screen, e writes one)"
        lines = [f"{label}: {plan.get(name)}" for name, label, _ in PLAN_FORM_FIELDS
                 if plan.get(name)]  # fmt: skip
        return "\n".join(lines) or "(empty plan)"

    def _kpis_markup(self) -> str:
        kpis = self.data.kpis_of(self.segment)
        if kpis.is_empty():
            return "none yet (Game plans screen, k adds one)"
        lines = []
        for k in kpis.iter_rows(named=True):
            colour = STATUS_COLOURS.get(k["status"])
            status = escape(k["status"])
            status = f"[b ${colour}]{status}[/]" if colour else f"[dim]{status}[/]"
            sign = DIRECTION_SIGNS.get(k["direction"], "")
            deadline = f" by {k['deadline']}" if k["deadline"] else ""
            lines.append(
                f"{escape(k['metric'])}: actual {escape(fmt_value(k['metric'], k['actual']))}"
                f" · target {sign} {escape(fmt_value(k['metric'], k['target']))}{deadline}"
                f" · {status}"
            )
        return "\n".join(lines)

    def action_step(self, step: int) -> None:
        if not self.segments:
            return
        self.index = (self.index + step) % len(self.segments)
        self.show()

    def action_leave(self) -> None:
        self.dismiss(None)
