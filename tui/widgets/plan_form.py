"""The game plan form of one segment, and the KPI form: modals, keyboard-complete.

Tab / shift+tab move through the fields, ctrl+s saves, escape cancels. The
plan form returns only the fields that changed (``None`` clears a field), so
``storage.plans.set_plan`` records exactly what the analyst changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from core.kpi import DIRECTIONS, KPI_LABELS, KPI_METRICS, PERCENT_METRICS
from storage.plans import COVERAGE_MODELS, OBJECTIVES, OFFERS, SALES_LOGICS

# (field, label, choices or None for free text); the order of the form.
PLAN_FORM_FIELDS: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("objective", "Objective", OBJECTIVES),
    ("coverage_model", "Coverage model", COVERAGE_MODELS),
    ("sales_logic", "Sales logic", SALES_LOGICS),
    ("offer", "Offer", OFFERS),
    ("key_messages", "Key messages", None),
    ("channels", "Channels", None),
    ("cadence", "Cadence", None),
    ("owner", "Owner", None),
    ("effort", "Effort / budget", None),
    ("review_date", "Review date", None),
    ("status", "Status", None),
)  # fmt: skip
DIRECTION_LABELS = {"at_least": "at least (higher is better)",
                    "at_most": "at most (lower is better)"}  # fmt: skip

FORM_CSS = """
{cls} {{
    align: center middle;
    background: $background 60%;
}}
{cls} > Vertical {{
    width: 84;
    max-width: 96%;
    height: auto;
    max-height: 95%;
    border: thick $primary;
    background: $surface;
    padding: 0 1;
}}
{cls} .form-title {{ text-style: bold; color: $text-accent; }}
{cls} .form-error {{ color: $text-error; height: auto; }}
{cls} VerticalScroll {{ height: auto; max-height: 30; }}
{cls} .form-row {{ height: 1; }}
{cls} .form-label {{ width: 20; color: $text-muted; }}
{cls} Input, {cls} Select {{ width: 1fr; }}
{cls} Input {{ background: $boost; }}
{cls} .form-buttons {{ height: auto; align-horizontal: right; }}
{cls} Button {{ margin-left: 1; }}
"""


def check_date(text: str, what: str) -> str | None:
    """``text`` as an ISO date (None when empty); ValueError naming ``what`` otherwise."""
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD") from None


def parse_target(metric: str, text: str) -> float:
    """A KPI target as typed: ``12%`` (or ``12 %``) is 0.12; ratios may also be typed as 0.12."""
    raw = text.strip().replace(",", "")
    if not raw:
        raise ValueError("a KPI needs a target")
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("% ").strip())
    except ValueError:
        raise ValueError(f"target {text!r} is not a number") from None
    if percent:
        if metric not in PERCENT_METRICS:
            raise ValueError(f"{KPI_LABELS[metric]} is not a percentage; type a plain number")
        value /= 100
    return value


class PlanForm(ModalScreen[dict[str, Any] | None]):
    """Edit a segment's game plan; dismisses with the changed fields, or None."""

    DEFAULT_CSS = FORM_CSS.format(cls="PlanForm")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="plan_form.save", tooltip="Save the game plan"),
        Binding("escape", "cancel", "Cancel", id="plan_form.cancel",
                tooltip="Close without saving"),
    ]

    def __init__(self, segment: str, plan: dict[str, Any] | None) -> None:
        super().__init__()
        self.segment = segment
        self.plan = dict(plan or {})

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Game plan of {self.segment}", classes="form-title", markup=False)
            yield Label("tab: next field · ctrl+s: save · escape: cancel · dates YYYY-MM-DD",
                        classes="muted")  # fmt: skip
            yield Label("", id="plan-form-error", classes="form-error", markup=False)
            with VerticalScroll():
                for name, label, choices in PLAN_FORM_FIELDS:
                    value = self.plan.get(name)
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        if choices is not None:
                            yield Select(
                                [(c, c) for c in choices], id=f"plan-{name}",
                                prompt="(not set)", allow_blank=True, compact=True,
                                value=value if value in choices else Select.NULL,
                            )  # fmt: skip
                        else:
                            yield Input("" if value is None else str(value), id=f"plan-{name}",
                                        select_on_focus=False, compact=True)  # fmt: skip
            with Horizontal(classes="form-buttons"):
                yield Button("Cancel (esc)", id="plan-form-cancel")
                yield Button("Save (ctrl+s)", id="plan-form-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#plan-objective", Select).focus()

    def values(self) -> dict[str, Any]:
        """Every field as the form shows it (None for a blank field)."""
        out: dict[str, Any] = {}
        for name, _label, choices in PLAN_FORM_FIELDS:
            if choices is not None:
                value = self.query_one(f"#plan-{name}", Select).value
                out[name] = None if value is Select.NULL else value
            else:
                text = self.query_one(f"#plan-{name}", Input).value.strip()
                out[name] = text or None
        return out

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the stored plan (dates checked)."""
        values = self.values()
        values["review_date"] = check_date(values["review_date"] or "", "review date")
        return {k: v for k, v in values.items() if v != self.plan.get(k)}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "plan-form-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        try:
            changes = self.changes()
        except ValueError as exc:
            self.query_one("#plan-form-error", Label).update(str(exc))
            return
        self.dismiss(changes)

    def action_cancel(self) -> None:
        self.dismiss(None)


class KpiForm(ModalScreen[dict[str, Any] | None]):
    """Add a KPI: metric, target, deadline, direction; dismisses with them, or None."""

    DEFAULT_CSS = FORM_CSS.format(cls="KpiForm")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Add", id="kpi_form.save", tooltip="Add the KPI"),
        Binding("escape", "cancel", "Cancel", id="kpi_form.cancel",
                tooltip="Close without adding"),
    ]

    def __init__(self, segment: str, available: dict[str, str | None] | None = None) -> None:
        super().__init__()
        self.segment = segment
        self.available = available or {}

    def compose(self) -> ComposeResult:
        options = []
        for metric in KPI_METRICS:
            why = self.available.get(metric)
            options.append((KPI_LABELS[metric] + (" (not available yet)" if why else ""), metric))
        with Vertical():
            yield Label(f"New KPI of {self.segment}", classes="form-title", markup=False)
            yield Label("tab: next field · ctrl+s: add · escape: cancel · ratios as 12% or 0.12",
                        classes="muted")  # fmt: skip
            yield Label("", id="kpi-form-error", classes="form-error", markup=False)
            with Horizontal(classes="form-row"):
                yield Label("Metric", classes="form-label")
                yield Select(options, id="kpi-metric", value="revenue", allow_blank=False,
                             compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Target", classes="form-label")
                yield Input("", id="kpi-target", placeholder="e.g. 250000 or 10%", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Deadline", classes="form-label")
                yield Input("", id="kpi-deadline", placeholder="YYYY-MM-DD", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Direction", classes="form-label")
                yield Select([(DIRECTION_LABELS[d], d) for d in DIRECTIONS], id="kpi-direction",
                             value="at_least", allow_blank=False, compact=True)  # fmt: skip
            with Horizontal(classes="form-buttons"):
                yield Button("Cancel (esc)", id="kpi-form-cancel")
                yield Button("Add (ctrl+s)", id="kpi-form-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#kpi-metric", Select).focus()

    def result(self) -> dict[str, Any]:
        metric = str(self.query_one("#kpi-metric", Select).value)
        return {
            "metric": metric,
            "target": parse_target(metric, self.query_one("#kpi-target", Input).value),
            "deadline": check_date(self.query_one("#kpi-deadline", Input).value, "deadline"),
            "direction": str(self.query_one("#kpi-direction", Select).value),
        }

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "kpi-form-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        try:
            result = self.result()
        except ValueError as exc:
            self.query_one("#kpi-form-error", Label).update(str(exc))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
