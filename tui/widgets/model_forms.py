"""One form per dimension kind for the model editor.

A form shows the fields of one dimension spec (``core.model``), rebuilds the
spec on every keystroke and posts ``DimensionForm.Edited`` with either the new
spec or the error. Errors are shown inline under the field they concern; an
expression error in a rule names the line and points at the position with a
caret. Text parsing (comma lists, "label: values" lines) lives in plain
functions here so it is tested without a screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, TextArea

from core.errors import SegscopeError
from core.expr import validate_expression
from core.forward_dimensions import (
    POTENTIAL_COLUMNS,
    ClusterDimension,
    ClvDimension,
    PotentialDimension,
)
from core.model import (
    AbcDimension,
    BinsDimension,
    CategoryDimension,
    Dimension,
    PerformanceDimension,
    RfmDimension,
    RuleDimension,
    SalesLogicDimension,
)

KIND_CHOICES: list[tuple[str, str]] = [
    ("abc", "abc — A/B/C by cumulative share of revenue or margin"),
    ("rfm", "rfm — RFM named segment or one score"),
    ("performance", "performance — revenue-bridge class of the last period"),
    ("bins", "bins — a numeric column cut into ranges"),
    ("category", "category — a text column grouped into levels"),
    ("rule", "rule — ordered label: condition rules"),
    ("sales_logic", "sales_logic — traditional vs complex sales"),
    ("potential", "potential — headroom, potential or share of wallet"),
    ("clv", "clv — lifetime value in bins (fitted on Targeting, 7)"),
    ("cluster", "cluster — clusters over chosen columns, k or suggested"),
]

POTENTIAL_COLUMN_TEXT = {
    "headroom": "headroom (potential - revenue)",
    "potential": "potential (the model's estimate)",
    "share_of_wallet": "share_of_wallet (revenue / potential)",
}

# behaviour columns of the per-account frame a new cluster dimension starts from
CLUSTER_DEFAULT_FEATURES = ("frequency", "avg_order_value", "product_breadth", "recency_days")

RFM_USES = [
    ("segment", "named RFM segment (Champions, Loyal, …)"),
    ("r", "recency score R1–R5"),
    ("f", "frequency score F1–F5"),
    ("m", "monetary score M1–M5"),
    ("rf", "recency × frequency (R5F5 …)"),
]


class FieldError(ValueError):
    """A field's text cannot be read; ``field`` names the input it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# -- text parsing (pure) ---------------------------------------------------------


def format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_number_list(text: str, field: str) -> tuple[float, ...]:
    """"10, 50, 250" -> (10.0, 50.0, 250.0); the error names the bad item."""
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        raise FieldError(field, "give at least one number, e.g. 10, 50, 250")
    values = []
    for position, item in enumerate(items, start=1):
        try:
            values.append(float(item.replace("_", "")))
        except ValueError:
            raise FieldError(
                field, f"item {position} ({item!r}) is not a number"
            ) from None
    return tuple(values)


def parse_text_list(text: str) -> tuple[str, ...] | None:
    """"Small, Mid, Large" -> ("Small", "Mid", "Large"); empty text -> None."""
    items = tuple(item.strip() for item in text.split(","))
    return None if items == ("",) else items


def parse_quantiles(text: str, field: str) -> int | tuple[float, ...]:
    """"4" (four equal groups) or "0.2, 0.5, 0.8" (probabilities)."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    return parse_number_list(stripped, field)


def parse_label_lines(text: str, field: str) -> list[tuple[int, str, str]]:
    """Lines "label: rest" -> [(line number, label, rest)]; blank lines are skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, colon, rest = line.partition(":")
        if not colon or not label.strip():
            raise FieldError(field, f"line {number}: write it as 'label: …'")
        if not rest.strip():
            raise FieldError(field, f"line {number}: nothing after '{label.strip()}:'")
        out.append((number, label.strip(), rest.strip()))
    return out


def parse_groups(text: str, field: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Lines "label: v1, v2" -> ((label, (v1, v2)), ...)."""
    return tuple(
        (label, tuple(v.strip() for v in rest.split(",") if v.strip()))
        for _, label, rest in parse_label_lines(text, field)
    )


def format_groups(groups: Iterable[tuple[str, Iterable[str]]]) -> str:
    return "\n".join(f"{label}: {', '.join(values)}" for label, values in groups)


ECHO_WIDTH = 30  # the echoed condition fits the form's narrowest width


def caret_echo(text: str, position: int, width: int = ECHO_WIDTH) -> tuple[str, str]:
    """A window of ``text`` around ``position`` and a line with a caret under it."""
    start = max(0, min(position - width // 2, len(text) - width))
    end = start + width
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    snippet = prefix + text[start:end] + suffix
    return snippet, " " * (len(prefix) + position - start) + "^"


def parse_rules(
    text: str, field: str, schema: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    """Lines "label: condition", each condition checked against ``schema``.

    The error names the line, echoes the condition around the position where
    it goes wrong and puts a caret under that character.
    """
    rules = []
    for number, label, condition in parse_label_lines(text, field):
        error = validate_expression(condition, schema)
        if error is not None:
            snippet, caret = caret_echo(condition, error.position)
            raise FieldError(field, f"line {number} ({label}): {error}\n{snippet}\n{caret}")
        rules.append((label, condition))
    if not rules:
        raise FieldError(field, "add at least one rule, e.g.  Big: revenue >= 100000")
    return tuple(rules)


def format_rules(rules: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"{label}: {condition}" for label, condition in rules)


def numeric_columns(schema: Mapping[str, Any]) -> list[str]:
    return [name for name, dtype in schema.items() if dtype.is_numeric()]


def text_columns(schema: Mapping[str, Any]) -> list[str]:
    return [
        name
        for name, dtype in schema.items()
        if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum)
        if name != "account_id"
    ]


def describe_dimension(dim: Dimension) -> str:
    """One line naming the dimension and its main parameter."""
    detail = ""
    if isinstance(dim, AbcDimension):
        detail = dim.measure
    elif isinstance(dim, RfmDimension):
        detail = dim.use
    elif isinstance(dim, BinsDimension | CategoryDimension):
        detail = dim.column
    elif isinstance(dim, RuleDimension):
        detail = f"{len(dim.rules)} rules"
    elif isinstance(dim, PotentialDimension):
        detail = dim.column
    elif isinstance(dim, ClusterDimension):
        detail = f"k={dim.k}" if dim.k is not None else f"k {dim.k_range[0]}-{dim.k_range[1]}"
    return f"{dim.name} · {dim.kind}" + (f" ({detail})" if detail else "")


def _unique_name(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    return name


def new_dimension(kind: str, schema: Mapping[str, Any], taken: set[str] | None = None) -> Dimension:
    """A sensible first version of a dimension of ``kind`` for this frame."""
    taken = taken or set()
    numeric = numeric_columns(schema)
    text = text_columns(schema)
    if kind == "abc":
        return AbcDimension(name=_unique_name("ABC", taken))
    if kind == "rfm":
        return RfmDimension(name=_unique_name("RFM", taken))
    if kind == "performance":
        return PerformanceDimension(name=_unique_name("Performance", taken))
    if kind == "bins":
        column = next((c for c in ("revenue", "employees") if c in numeric), None)
        column = column or (numeric[0] if numeric else "revenue")
        return BinsDimension(name=_unique_name("Size", taken), column=column, quantiles=4)
    if kind == "category":
        column = "industry" if "industry" in text else (text[0] if text else "industry")
        return CategoryDimension(name=_unique_name(column.capitalize(), taken), column=column)
    if kind == "rule":
        return RuleDimension(
            name=_unique_name("Rule", taken),
            rules=(("Big", "revenue >= 100000"),),
            default="Other",
        )
    if kind == "sales_logic":
        return SalesLogicDimension(name=_unique_name("Sales logic", taken))
    if kind == "potential":
        return PotentialDimension(name=_unique_name("Headroom", taken), column="headroom")
    if kind == "clv":
        return ClvDimension(name=_unique_name("CLV", taken))
    if kind == "cluster":
        features = tuple(c for c in CLUSTER_DEFAULT_FEATURES if c in numeric)
        if len(features) < 2:  # another frame: its first numeric columns besides revenue
            features = tuple(c for c in numeric if c not in ("revenue", "margin"))[:3] or (
                tuple(numeric[:1]) or ("revenue",)
            )
        return ClusterDimension(name=_unique_name("Cluster", taken), features=features)
    raise SegscopeError(f"unknown dimension kind {kind!r}")


# -- widgets ---------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """Where a field's error is shown."""

    id: str


class DimensionForm(Vertical):
    """Base of the per-kind forms: fields, inline errors, ``Edited`` messages."""

    class Edited(Message):
        """The form's text changed: ``spec`` is the new valid spec, or None with ``error``."""

        def __init__(self, index: int, spec: Dimension | None, error: str | None) -> None:
            super().__init__()
            self.index = index
            self.spec = spec
            self.error = error

    # Words of a core.model error message -> the field it is shown under.
    ERROR_FIELDS: dict[str, str] = {"name": "name"}

    def __init__(self, spec: Dimension, schema: Mapping[str, Any], *, index: int) -> None:
        super().__init__(classes="dimension-form")
        self.spec = spec
        self.schema = dict(schema)
        self.index = index
        self._ready = False

    # subclasses: compose the fields; build the spec from them
    def fields(self) -> ComposeResult:  # pragma: no cover - abstract
        yield from ()

    def build(self) -> Dimension:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must build its dimension spec")

    def compose(self) -> ComposeResult:
        yield from self.text_field("name", "Name", self.spec.name)
        yield from self.fields()
        yield Label("", id="form-error", classes="field-error", markup=False)

    def on_mount(self) -> None:
        # Changed events from setting the initial values are not edits.
        self.call_after_refresh(self._set_ready)

    def _set_ready(self) -> None:
        self._ready = True

    # -- field helpers -----------------------------------------------------------

    def field_label(self, text: str) -> Label:
        return Label(text, classes="field-label", markup=False)

    def error_label(self, field: str) -> Label:
        return Label("", id=f"{field}-error", classes="field-error", markup=False)

    def text_field(
        self, field: str, label: str, value: str, *, placeholder: str = ""
    ) -> ComposeResult:
        yield self.field_label(label)
        yield Input(value, id=field, placeholder=placeholder, compact=True, select_on_focus=False)
        yield self.error_label(field)

    def select_field(
        self, field: str, label: str, options: list[tuple[str, str]], value: str
    ) -> ComposeResult:
        values = [v for _, v in options]
        if value not in values:  # a column the current data lacks: keep it visible
            options = [(f"{value} (not in the data)", value), *options]
        yield self.field_label(label)
        yield Select(options, value=value, allow_blank=False, id=field, compact=True)
        yield self.error_label(field)

    def area_field(self, field: str, label: str, value: str, *, height: int = 6) -> ComposeResult:
        yield self.field_label(label)
        area = TextArea(value, id=field, soft_wrap=False, show_line_numbers=True)
        area.styles.height = height + 2
        yield area
        yield self.error_label(field)

    def text(self, field: str) -> str:
        widget = self.query_one(f"#{field}")
        if isinstance(widget, TextArea):
            return widget.text
        if isinstance(widget, Select):
            return str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def focus_first_field(self) -> None:
        self.query_one("#name", Input).focus()

    # -- change handling ---------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.revalidate()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.revalidate()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.revalidate()

    def revalidate(self) -> None:
        if not self._ready:
            return
        for label in self.query(".field-error"):
            assert isinstance(label, Label)
            label.update("")
            label.remove_class("-shown")
        try:
            spec = self.build()
        except FieldError as exc:
            self.show_error(str(exc), exc.field)
            self.post_message(self.Edited(self.index, None, _first_line(str(exc))))
            return
        except SegscopeError as exc:
            message = str(exc)
            field = next((f for word, f in self.ERROR_FIELDS.items() if word in message), None)
            self.show_error(message, field)
            self.post_message(self.Edited(self.index, None, message))
            return
        self.spec = spec
        self.post_message(self.Edited(self.index, spec, None))

    def show_error(self, message: str, field: str | None = None) -> None:
        """Show ``message`` under ``field`` (or under the whole form)."""
        target = self.query(f"#{field}-error") if field else None
        label = target.first() if target else self.query_one("#form-error", Label)
        assert isinstance(label, Label)
        label.update(message)
        label.add_class("-shown")

    def value_or_none(self, field: str) -> str | None:
        text = self.text(field).strip()
        return text or None


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def _float(text: str, field: str, what: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise FieldError(field, f"{what} must be a number, e.g. 0.8") from None


class AbcForm(DimensionForm):
    spec: AbcDimension
    ERROR_FIELDS = {"threshold": "b", "measure": "measure", "name": "name"}

    def fields(self) -> ComposeResult:
        measures = numeric_columns(self.schema)
        preferred = [m for m in ("revenue", "margin") if m in measures]
        options = [(m, m) for m in preferred + [m for m in measures if m not in preferred]]
        yield from self.select_field("measure", "Measure", options, self.spec.measure)
        yield from self.text_field(
            "a", "Class A while the cumulative share ranked above is below (0–1)",
            format_number(self.spec.a),
        )
        yield from self.text_field(
            "b", "Class B while the cumulative share ranked above is below (0–1)",
            format_number(self.spec.b),
        )

    def build(self) -> Dimension:
        return AbcDimension(
            name=self.text("name").strip(),
            measure=self.text("measure"),
            a=_float(self.text("a"), "a", "the A threshold"),
            b=_float(self.text("b"), "b", "the B threshold"),
        )


class RfmForm(DimensionForm):
    spec: RfmDimension

    def fields(self) -> ComposeResult:
        yield from self.select_field("use", "Use", [(t, v) for v, t in RFM_USES], self.spec.use)
        yield from self.text_field("missing", "Label for accounts without purchases",
                                   self.spec.missing_label)

    def build(self) -> Dimension:
        return RfmDimension(
            name=self.text("name").strip(),
            use=self.text("use"),
            grid=self.spec.grid,
            missing_label=self.text("missing").strip() or "No purchases",
        )


class PerformanceForm(DimensionForm):
    spec: PerformanceDimension

    def fields(self) -> ComposeResult:
        yield Label(
            "Levels are the revenue-bridge classes of the last period "
            "(new, reactivated, expansion, retention, contraction, churn).",
            classes="field-help",
            markup=False,
        )
        yield from self.text_field("missing", "Label for accounts without activity",
                                   self.spec.missing_label)

    def build(self) -> Dimension:
        return PerformanceDimension(
            name=self.text("name").strip(),
            missing_label=self.text("missing").strip() or "No activity",
        )


def _bins_values_text(spec: Any) -> str:
    if spec.cuts is not None:
        return ", ".join(format_number(c) for c in spec.cuts)
    if isinstance(spec.quantiles, int):
        return str(spec.quantiles)
    return ", ".join(format_number(q) for q in spec.quantiles or ())


class _BinsFields(DimensionForm):
    """The cut fields shared by bins, potential and clv: mode, values, labels, closed side."""

    LABELS_PLACEHOLDER = "Small, Mid, Large"

    def cut_fields(self) -> ComposeResult:
        spec = self.spec
        mode = "cuts" if spec.cuts is not None else "quantiles"
        yield from self.select_field(
            "mode",
            "Cut by",
            [("cut points", "cuts"), ("quantiles", "quantiles")],
            mode,
        )
        yield from self.text_field(
            "values",
            "Cut points (comma list) or quantiles (a number of groups, or probabilities)",
            _bins_values_text(spec),
            placeholder="10, 50, 250   or   4   or   0.2, 0.5, 0.8",
        )
        yield from self.text_field(
            "labels", "Labels (comma list, optional)", ", ".join(spec.labels or ()),
            placeholder=self.LABELS_PLACEHOLDER,
        )
        yield from self.select_field(
            "closed",
            "A value equal to a cut point goes",
            [("to the bin above [a, b)", "left"), ("to the bin below (a, b]", "right")],
            "right" if spec.right_closed else "left",
        )

    def read_cuts(self) -> dict[str, Any]:
        """cuts / quantiles / labels / right_closed as typed (keyword arguments of the spec)."""
        values = self.text("values")
        cuts = quantiles = None
        if self.text("mode") == "cuts":
            cuts = parse_number_list(values, "values")
        else:
            quantiles = parse_quantiles(values, "values")
        return {
            "cuts": cuts,
            "quantiles": quantiles,
            "labels": parse_text_list(self.text("labels")),
            "right_closed": self.text("closed") == "right",
        }


class BinsForm(_BinsFields):
    spec: BinsDimension
    ERROR_FIELDS = {"cuts": "values", "quantiles": "values", "labels": "labels", "name": "name"}

    def fields(self) -> ComposeResult:
        columns = numeric_columns(self.schema)
        yield from self.select_field(
            "column", "Column", [(c, c) for c in columns], self.spec.column
        )
        yield from self.cut_fields()

    def build(self) -> Dimension:
        return BinsDimension(
            name=self.text("name").strip(),
            column=self.text("column"),
            missing_label=self.spec.missing_label,
            **self.read_cuts(),
        )


class _ForwardBinsForm(_BinsFields):
    """Potential and CLV: bins over a column the forward fit adds, with a missing label."""

    ERROR_FIELDS = {"cuts": "values", "quantiles": "values", "labels": "labels",
                    "column": "column", "name": "name"}
    LABELS_PLACEHOLDER = "Low, Medium, High"

    def missing_field(self) -> ComposeResult:
        yield from self.text_field(
            "missing", "Label for accounts without a value", self.spec.missing_label
        )

    def read_missing(self) -> str:
        missing = self.text("missing").strip()
        if not missing:
            raise FieldError("missing", "the label for accounts without a value cannot be empty")
        return missing


class PotentialForm(_ForwardBinsForm):
    spec: PotentialDimension

    def fields(self) -> ComposeResult:
        options = [(POTENTIAL_COLUMN_TEXT.get(c, c), c) for c in POTENTIAL_COLUMNS]
        yield from self.select_field("column", "Column", options, self.spec.column)
        yield from self.cut_fields()
        yield from self.missing_field()
        yield from self.text_field(
            "quantile",
            "Potential model quantile (0–1; used when potential is fitted here)",
            format_number(self.spec.quantile),
        )

    def build(self) -> Dimension:
        text = self.text("quantile")
        quantile = _float(text, "quantile", "the potential model quantile")
        if not 0 < quantile < 1:
            raise FieldError(
                "quantile", f"the quantile must be between 0 and 1, got {text.strip()}"
            )
        return PotentialDimension(
            name=self.text("name").strip(),
            column=self.text("column"),
            quantile=quantile,
            missing_label=self.read_missing(),
            **self.read_cuts(),
        )


class ClvForm(_ForwardBinsForm):
    spec: ClvDimension

    def fields(self) -> ComposeResult:
        yield Label(
            f"Bins over {self.spec.column}: the Targeting screen (key 7) fits CLV on the "
            "transactions; until then the counts say it is missing.",
            classes="field-help",
            markup=False,
        )
        yield from self.cut_fields()
        yield from self.missing_field()

    def build(self) -> Dimension:
        return ClvDimension(
            name=self.text("name").strip(),
            column=self.spec.column,
            missing_label=self.read_missing(),
            **self.read_cuts(),
        )


class CategoryForm(DimensionForm):
    spec: CategoryDimension
    ERROR_FIELDS = {"group": "groups", "keep_top": "keep_top", "name": "name"}

    def fields(self) -> ComposeResult:
        spec = self.spec
        columns = text_columns(self.schema)
        yield from self.select_field("column", "Column", [(c, c) for c in columns], spec.column)
        yield from self.area_field(
            "groups", "Groups, one per line:  label: value, value, …", format_groups(spec.groups)
        )
        yield from self.text_field(
            "keep_top",
            "Keep the N most frequent other values (empty: keep all)",
            "" if spec.keep_top is None else str(spec.keep_top),
        )
        yield from self.text_field("other", "Other label", spec.other_label)

    def build(self) -> Dimension:
        keep_text = self.text("keep_top").strip()
        keep_top = None
        if keep_text:
            if not keep_text.isdigit():
                raise FieldError("keep_top", "a whole number, or empty to keep all values")
            keep_top = int(keep_text)
        other = self.text("other").strip()
        if not other:
            raise FieldError("other", "the Other label cannot be empty")
        return CategoryDimension(
            name=self.text("name").strip(),
            column=self.text("column"),
            groups=parse_groups(self.text("groups"), "groups"),
            keep_top=keep_top,
            other_label=other,
            missing_label=self.spec.missing_label,
        )


class RuleForm(DimensionForm):
    spec: RuleDimension

    def fields(self) -> ComposeResult:
        yield from self.area_field(
            "rules",
            "Rules in order, first match wins:  label: condition",
            format_rules(self.spec.rules),
            height=7,
        )
        yield Label(
            "e.g.  Key: revenue >= 100000 AND industry IN ('Retail', 'Food')",
            classes="field-help",
            markup=False,
        )
        yield from self.text_field("default", "Default label (no rule matches)",
                                   self.spec.default)

    def build(self) -> Dimension:
        default = self.text("default").strip()
        if not default:
            raise FieldError("default", "the default label cannot be empty")
        cls = type(self.spec)
        return cls(
            name=self.text("name").strip(),
            rules=parse_rules(self.text("rules"), "rules", self.schema),
            default=default,
        )


def parse_features(text: str, field: str, schema: Mapping[str, Any]) -> tuple[str, ...]:
    """"frequency, recency_days" -> the column names, each a number or text column of ``schema``.

    core.cluster scales the numbers and one-hot encodes the text columns; an
    unknown name gets the nearest column names as a hint.
    """
    import difflib

    names = parse_text_list(text)
    if names is None or not any(names):
        raise FieldError(field, "give at least one column, e.g. frequency, recency_days")
    usable = set(numeric_columns(schema)) | set(text_columns(schema)) | {
        name for name, dtype in schema.items() if dtype == pl.Boolean
    }
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            raise FieldError(field, f"item {position} is empty")
        if name in seen:
            raise FieldError(field, f"'{name}' is listed twice")
        seen.add(name)
        if name not in schema:
            near = difflib.get_close_matches(name, sorted(usable), n=2)
            hint = f" (did you mean {', '.join(repr(c) for c in near)}?)" if near else ""
            raise FieldError(field, f"unknown column '{name}'{hint}")
        if name not in usable:
            raise FieldError(
                field, f"'{name}' is a {schema[name]} column: features are numbers or text"
            )
    return names


def parse_k_range(text: str, field: str) -> tuple[int, int]:
    """"2-8" (also "2, 8" or "2 to 8") -> (2, 8), with 2 <= low <= high <= 50."""
    parts = [p.strip() for p in text.replace(",", "-").replace(" to ", "-").split("-")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise FieldError(field, "write the k range as low-high, e.g. 2-8")
    low, high = int(parts[0]), int(parts[1])
    if not 2 <= low <= high <= 50:
        raise FieldError(field, f"the k range needs 2 <= low <= high <= 50, got {low}-{high}")
    return low, high


class ClusterForm(DimensionForm):
    spec: ClusterDimension
    # "feature" first: "features must be ... column names" is about the features
    ERROR_FIELDS = {"feature": "features", "cluster_names": "names", "k_range": "k_range",
                    "names": "names", "name": "name"}

    def fields(self) -> ComposeResult:
        spec = self.spec
        yield from self.text_field(
            "features", "Features (comma list of number or text columns)",
            ", ".join(spec.features), placeholder="frequency, avg_order_value, recency_days",
        )
        yield from self.text_field(
            "k", "Number of clusters k (empty: suggested by silhouette)",
            "" if spec.k is None else str(spec.k), placeholder="suggest",
        )
        yield from self.text_field(
            "k_range", "k range tried when suggesting (low-high)",
            f"{spec.k_range[0]}-{spec.k_range[1]}", placeholder="2-8",
        )
        yield from self.select_field(
            "method", "Method",
            [("k-means", "kmeans"), ("Gaussian mixture", "gmm")], spec.method,
        )
        yield from self.text_field("seed", "Seed", str(spec.seed))
        yield from self.text_field(
            "names", "Cluster names, largest first (comma list, optional)",
            ", ".join(spec.cluster_names or ()), placeholder="named by their traits",
        )

    def build(self) -> Dimension:
        features = parse_features(self.text("features"), "features", self.schema)
        k_text = self.text("k").strip()
        k = None
        if k_text:
            if not k_text.isdigit() or not 2 <= int(k_text) <= 50:
                raise FieldError("k", "k must be a whole number from 2 to 50, or empty to "
                                 "suggest one")
            k = int(k_text)
        k_range = parse_k_range(self.text("k_range"), "k_range")
        seed_text = self.text("seed").strip()
        if not seed_text.isdigit():
            raise FieldError("seed", "the seed must be a whole number, e.g. 0")
        names = parse_text_list(self.text("names"))
        if names is not None:
            if not all(names):
                raise FieldError("names", "a cluster name is empty")
            if len(set(names)) != len(names):
                raise FieldError("names", "two clusters have the same name")
            if k is not None and len(names) != k:
                raise FieldError(
                    "names", f"{k} clusters need {k} names, got {len(names)} (or leave it empty)"
                )
        return ClusterDimension(
            name=self.text("name").strip(),
            features=features,
            k=k,
            k_range=k_range,
            method=self.text("method"),
            seed=int(seed_text),
            cluster_names=names,
        )


FORMS: dict[type[Dimension], type[DimensionForm]] = {
    AbcDimension: AbcForm,
    RfmDimension: RfmForm,
    PerformanceDimension: PerformanceForm,
    BinsDimension: BinsForm,
    CategoryDimension: CategoryForm,
    RuleDimension: RuleForm,
    SalesLogicDimension: RuleForm,
    PotentialDimension: PotentialForm,
    ClvDimension: ClvForm,
    ClusterDimension: ClusterForm,
}


class UnsupportedForm(DimensionForm):
    """Dimensions of kinds without a form (registered by other modules): read-only."""

    def fields(self) -> ComposeResult:
        yield Label(
            f"Dimensions of kind {self.spec.kind} are edited elsewhere; "
            "this model keeps it as it is.",
            classes="field-help",
            markup=False,
        )

    def build(self) -> Dimension:
        return self.spec


def form_for(spec: Dimension, schema: Mapping[str, Any], *, index: int) -> Widget:
    """The form that edits ``spec`` (dimension number ``index`` of the model)."""
    return FORMS.get(type(spec), UnsupportedForm)(spec, schema, index=index)
