"""Segmentation models: frozen dimension specs, their JSON form, and a registry.

DOMAIN.md: "A segmentation model is an ordered list of dimensions; each maps
every account to one level (a label); a segment is the tuple of levels
("A · High potential · Complex")."

Each dimension kind is a frozen dataclass registered under its ``kind`` with
:func:`register_dimension`; it knows how to compute its :class:`Levels` on a
per-account frame (``levels(frame)``) and how to read and write itself as
JSON. New kinds (cluster, potential, clv) register themselves the same way and
need no change here.

JSON (``"format": 1``)::

    {"format": 1, "name": "Industry x Size", "min_segment_size": 0,
     "other_label": "Other",
     "dimensions": [{"kind": "category", "name": "Industry", "column": "industry", ...},
                    {"kind": "bins", "name": "Size", "column": "employees",
                     "cuts": [10, 50, 250], ...}]}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import polars as pl

from core.dimensions import (
    DimensionError,
    Levels,
    TextColumn,
    bin_levels,
    default_bin_labels,
    levels_from_strings,
    numeric_column,
    quantile_cuts,
    require_column,
    rule_levels,
    text_column,
)
from core.errors import UsageError

__all__ = [
    "FORMAT",
    "ModelError",
    "DimensionError",
    "DIMENSION_KINDS",
    "register_dimension",
    "Dimension",
    "AbcDimension",
    "RfmDimension",
    "PerformanceDimension",
    "BinsDimension",
    "CategoryDimension",
    "RuleDimension",
    "SalesLogicDimension",
    "SegmentationModel",
    "dimension_to_dict",
    "dimension_from_dict",
    "dimension_key",
    "model_to_dict",
    "model_from_dict",
    "model_to_json",
    "model_from_json",
    "assign_segments",
]

FORMAT = 1
RESERVED_NAMES = frozenset({"account_id", "segment"})


class ModelError(UsageError):
    """A model or dimension spec is invalid; the message names the dimension."""


DIMENSION_KINDS: dict[str, type[Dimension]] = {}


def register_dimension(cls: type[Dimension]) -> type[Dimension]:
    """Class decorator: make ``cls`` loadable from JSON under ``cls.kind``."""
    if not getattr(cls, "kind", ""):
        raise TypeError(f"{cls.__name__} needs a 'kind' class attribute")
    DIMENSION_KINDS[cls.kind] = cls
    return cls


def _fail(dim: Any, message: str) -> ModelError:
    name = getattr(dim, "name", "?")
    return ModelError(f"dimension '{name}' ({dim.kind}): {message}")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _tuplify(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuplify(v) for v in value)
    return value


def _listify(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_listify(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _listify(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Dimension:
    """Base of every dimension kind. Subclasses add a ``name`` field first."""

    kind: ClassVar[str] = ""

    def levels(self, frame: pl.DataFrame) -> Levels:
        """Map every row of ``frame`` to a level."""
        key = self.prepare_key()
        if key is None:  # pragma: no cover - subclasses without a prepare step override this
            raise TypeError(f"{type(self).__name__} must define levels() or a prepare step")
        return self.levels_from(frame, self.prepare(frame))

    # A dimension whose work splits into an expensive part that depends on few
    # parameters (sorting a column, hashing its values) and a cheap part (cut
    # points, thresholds, groups) exposes the split, so that core.segment can
    # cache the expensive part per frame and re-run only the cheap one while
    # the analyst edits. Prepared states are cached under ``prepare_key`` alone
    # (per frame), so kinds that return the same key must prepare the same thing
    # ("numeric:<col>", "text:<col>", "abc-rank:<measure>").

    def prepare_key(self) -> str | None:
        """What ``prepare`` depends on (besides the frame), or None when there is no split."""
        return None

    def prepare(self, frame: pl.DataFrame) -> Any:
        """The reusable, expensive part of the computation."""
        return None

    def levels_from(self, frame: pl.DataFrame, prepared: Any) -> Levels:
        """Levels from the prepared state (the cheap part)."""
        return self.levels(frame)

    def columns(self) -> tuple[str, ...]:
        """Frame columns this dimension reads (for traits and cache hints)."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            out[f.name] = _listify(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dimension:
        names = {f.name for f in dataclasses.fields(cls)}
        label = f"dimension '{data.get('name', '?')}' ({cls.kind})"
        unknown = sorted(set(data) - names - {"kind"})
        if unknown:
            raise ModelError(
                f"{label}: unknown field {', '.join(repr(u) for u in unknown)} "
                f"(fields: {', '.join(sorted(names))})"
            )
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [r for r in required if r not in data]
        if missing:
            raise ModelError(f"{label}: missing field {', '.join(repr(m) for m in missing)}")
        kwargs = {k: _tuplify(v) for k, v in data.items() if k != "kind"}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ModelError(f"{label}: {exc}") from None

    def _check_name(self) -> None:
        name = getattr(self, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise _fail(self, "the name must be non-empty text")
        if name in RESERVED_NAMES:
            raise _fail(self, f"'{name}' is reserved; choose another name")


# ------------------------------------------------------------------ abc


@register_dimension
@dataclass(frozen=True)
class AbcDimension(Dimension):
    """ABC class (A/B/C) by cumulative share of a measure (DOMAIN.md "ABC analysis")."""

    kind: ClassVar[str] = "abc"
    name: str = "ABC"
    measure: str = "revenue"
    a: float = 0.80
    b: float = 0.95

    def __post_init__(self) -> None:
        self._check_name()
        if not isinstance(self.measure, str) or not self.measure:
            raise _fail(self, "measure must be a column name such as 'revenue' or 'margin'")
        if not (_is_number(self.a) and _is_number(self.b) and 0 < self.a < self.b <= 1):
            raise _fail(self, f"thresholds need 0 < a < b <= 1, got a={self.a!r}, b={self.b!r}")

    def columns(self) -> tuple[str, ...]:
        return (self.measure, "abc_class")

    def _is_default(self) -> bool:
        return self.measure == "revenue" and (self.a, self.b) == (0.80, 0.95)

    def prepare_key(self) -> str | None:
        # the frame's abc_class already holds the default classes
        return None if self._is_default() else f"abc-rank:{self.measure}"

    def levels(self, frame: pl.DataFrame) -> Levels:
        if self._is_default() and "abc_class" in frame.columns:
            classes = frame.get_column("abc_class").fill_null("C")
            return levels_from_strings(classes, ("A", "B", "C"))
        return self.levels_from(frame, self.prepare(frame))

    def prepare(self, frame: pl.DataFrame) -> Any:
        """Per row (frame order): the measure and the running total of the
        positive measure of the accounts ranked above it, as in ``core.abc``
        (measure descending, ties by account id); plus the positive total."""
        require_column(frame, self.measure, self.name, numeric=True)
        require_column(frame, "account_id", self.name, numeric=False)
        return abc_running_totals(frame, self.measure)

    def levels_from(self, frame: pl.DataFrame, prepared: Any) -> Levels:
        measure, before, total = prepared
        # C for no or non-positive measure; else A while before < a x total, B while < b x total
        codes = np.where(
            np.isnan(measure) | (measure <= 0),
            2,
            np.where(before < self.a * total, 0, np.where(before < self.b * total, 1, 2)),
        ).astype(np.uint32)
        return Levels(pl.Series("", codes, dtype=pl.UInt32), ("A", "B", "C"))


def abc_running_totals(frame: pl.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(measure, before, total) in frame order; ``before`` is the sum of the
    positive measure of the accounts ranked above (measure descending, ties by
    account id, nulls last), computed with the same operations as core.abc."""
    positive = pl.col("_m").clip(lower_bound=0).fill_null(0)
    ranked = (
        frame.select(pl.col("account_id"), pl.col(measure).cast(pl.Float64).alias("_m"))
        .with_row_index("_row")
        .sort(["_m", "account_id"], descending=[True, False], nulls_last=True)
        .select(
            "_row",
            positive.cum_sum().shift(1, fill_value=0.0).alias("_before"),
            positive.sum().alias("_total"),
        )
    )
    before = np.empty(frame.height, dtype=np.float64)
    before[ranked["_row"].to_numpy()] = ranked["_before"].to_numpy()
    total = float(ranked["_total"][0]) if ranked.height else 0.0
    values = frame.get_column(measure).cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return values, before, total


# ------------------------------------------------------------------ rfm

RFM_ORDER = (
    "Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention",
    "About to sleep", "At risk", "Can't lose", "Hibernating", "Lost",
)  # fmt: skip
_RFM_USES = ("segment", "r", "f", "m", "rf")


@register_dimension
@dataclass(frozen=True)
class RfmDimension(Dimension):
    """RFM named segment or scores (DOMAIN.md "RFM").

    ``use``: "segment" (named segment from the grid), "r", "f", "m" (one score,
    levels "R5" … "R1") or "rf" ("R5F3"). Accounts without purchases are
    ``missing_label``. ``grid`` None uses the default grid (and the frame's
    precomputed columns); otherwise it is passed to ``core.rfm.rfm_scores``.
    """

    kind: ClassVar[str] = "rfm"
    name: str = "RFM"
    use: str = "segment"
    grid: Any = None
    missing_label: str = "No purchases"

    def __post_init__(self) -> None:
        self._check_name()
        if self.use not in _RFM_USES:
            raise _fail(self, f"use must be one of {', '.join(_RFM_USES)}, got {self.use!r}")
        if self.grid is not None:
            # kept as the grid's JSON dict (core.rfm.RfmGrid.to_dict) so the spec stays data
            grid = self.grid.to_dict() if hasattr(self.grid, "to_dict") else self.grid
            object.__setattr__(self, "grid", _listify(grid))
            self._rfm_grid()

    def _rfm_grid(self) -> Any:
        from core.rfm import RfmGrid

        if not isinstance(self.grid, Mapping):
            raise _fail(self, "grid must be an object with 'rows' (see core.rfm.RfmGrid)")
        try:
            return RfmGrid.from_dict(dict(self.grid))
        except UsageError as exc:
            raise _fail(self, str(exc)) from None

    def columns(self) -> tuple[str, ...]:
        return ("recency_days", "frequency", "revenue", "r_score", "f_score", "m_score",
                "rfm_segment")  # fmt: skip

    def _scores(self, frame: pl.DataFrame) -> pl.DataFrame:
        needed = ("rfm_segment", "r_score", "f_score", "m_score")
        if self.grid is None and all(c in frame.columns for c in needed):
            return frame.select(needed)
        from core.rfm import rfm_scores

        if self.grid is None:
            scores = rfm_scores(frame)
        else:
            scores = rfm_scores(frame, grid=self._rfm_grid())
        # rfm_scores returns the rows in the order of the frame it is given
        return scores.select(needed)

    def levels(self, frame: pl.DataFrame) -> Levels:
        scores = self._scores(frame)
        if self.use == "segment":
            order = RFM_ORDER
            if self.grid is not None:
                grid = self._rfm_grid()
                order = tuple(r.segment for r in grid.rows) + (grid.default,)
            return levels_from_strings(scores["rfm_segment"], order, self.missing_label)
        parts = [
            pl.lit(letter.upper()) + pl.col(f"{letter}_score").cast(pl.Int64).cast(pl.String)
            for letter in self.use
        ]
        text = scores.select(pl.concat_str(parts).alias("level")).to_series()
        order = [f"{self.use.upper()[0]}{s}" for s in range(5, 0, -1)]
        if self.use == "rf":
            order = [f"R{r}F{f}" for r in range(5, 0, -1) for f in range(5, 0, -1)]
        return levels_from_strings(text, order, self.missing_label)


# ------------------------------------------------------------------ performance

# core.bridge.BRIDGE_CLASSES order (lower-cased), with the DOMAIN.md synonyms
BRIDGE_ORDER = (
    "new", "conversion", "reactivated", "expansion", "penetration", "contraction", "retained",
    "retention", "churned", "churn", "inactive",
)  # fmt: skip


@register_dimension
@dataclass(frozen=True)
class PerformanceDimension(Dimension):
    """Revenue-bridge class of the last period, from the frame's ``bridge_class``
    (DOMAIN.md "Customer performance segmentation")."""

    kind: ClassVar[str] = "performance"
    name: str = "Performance"
    missing_label: str = "No activity"

    def __post_init__(self) -> None:
        self._check_name()

    def columns(self) -> tuple[str, ...]:
        return ("bridge_class",)

    def levels(self, frame: pl.DataFrame) -> Levels:
        require_column(frame, "bridge_class", self.name, numeric=False)
        values = frame.get_column("bridge_class").cast(pl.String)
        present = values.drop_nulls().unique().to_list()
        rank = {c: i for i, c in enumerate(BRIDGE_ORDER)}
        order = sorted(present, key=lambda v: (rank.get(v.lower(), len(rank)), v))
        return levels_from_strings(values, order, self.missing_label)


# ------------------------------------------------------------------ bins


@register_dimension
@dataclass(frozen=True)
class BinsDimension(Dimension):
    """Bins over a numeric column by cut points or quantiles (DOMAIN.md ``bins``).

    ``cuts`` (increasing) give len(cuts)+1 bins; by default they are
    left-closed, [c_i, c_i+1), so a value equal to a cut starts the next bin;
    ``right_closed=True`` makes them (c_i, c_i+1]. A label given twice merges
    those bins into one level. ``quantiles`` is either n
    (n equal-count groups) or increasing probabilities in (0, 1); the cut
    points are computed on the frame (linear interpolation; repeated cuts
    collapse). ``labels`` default to "< 10", "10–50", "≥ 50" or "Q1" … "Qn".
    Null and NaN values get ``missing_label``.
    """

    kind: ClassVar[str] = "bins"
    name: str
    column: str
    cuts: tuple[float, ...] | None = None
    quantiles: int | tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None
    right_closed: bool = False
    missing_label: str = "Unknown"

    def __post_init__(self) -> None:
        self._check_name()
        if not isinstance(self.column, str) or not self.column:
            raise _fail(self, "column must be a column name")
        if (self.cuts is None) == (self.quantiles is None):
            raise _fail(self, "give either cuts or quantiles (exactly one)")
        if self.cuts is not None:
            cuts = self.cuts if isinstance(self.cuts, tuple) else _tuplify(list(self.cuts))
            object.__setattr__(self, "cuts", cuts)
            if not all(_is_number(c) for c in cuts):
                raise _fail(self, f"cuts must be numbers, got {list(cuts)!r}")
            if any(b <= a for a, b in zip(cuts, cuts[1:], strict=False)):
                raise _fail(self, f"cuts must be strictly increasing, got {list(cuts)!r}")
        else:
            q = self.quantiles
            if isinstance(q, bool) or not (
                (isinstance(q, int) and 2 <= q <= 100)
                or (
                    isinstance(q, tuple)
                    and q
                    and all(_is_number(p) and 0 < p < 1 for p in q)
                    and all(b > a for a, b in zip(q, q[1:], strict=False))
                )
            ):
                raise _fail(
                    self,
                    "quantiles must be a number of groups (2-100) or increasing "
                    f"probabilities between 0 and 1, got {q!r}",
                )
        if self.labels is not None:
            if not all(isinstance(x, str) for x in self.labels):
                raise _fail(self, "labels must be text")
            n_bins = self._fixed_bin_count()
            if n_bins is not None and len(self.labels) != n_bins:
                raise _fail(self, f"{n_bins} bins need {n_bins} labels, got {len(self.labels)}")

    def _fixed_bin_count(self) -> int | None:
        if self.cuts is not None:
            return len(self.cuts) + 1
        if isinstance(self.quantiles, int):
            return self.quantiles
        return len(self.quantiles) + 1  # type: ignore[arg-type]

    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def prepare_key(self) -> str | None:
        return f"numeric:{self.column}"

    def prepare(self, frame: pl.DataFrame) -> Any:
        require_column(frame, self.column, self.name, numeric=True)
        return numeric_column(frame, self.column)

    def levels_from(self, frame: pl.DataFrame, prepared: Any) -> Levels:
        if self.cuts is not None:
            cuts = list(self.cuts)
            labels = (
                list(self.labels) if self.labels else default_bin_labels(cuts, self.right_closed)
            )
        else:
            cuts = quantile_cuts(prepared, self.quantiles)  # type: ignore[arg-type]
            wanted = self._fixed_bin_count()
            if self.labels and len(cuts) + 1 == wanted:
                labels = list(self.labels)
            else:
                # ties collapsed some cut points: fall back to numbered groups
                labels = [f"Q{i}" for i in range(1, len(cuts) + 2)]
        return bin_levels(
            prepared, cuts, labels, right_closed=self.right_closed, missing_label=self.missing_label
        )


# ------------------------------------------------------------------ category


@register_dimension
@dataclass(frozen=True)
class CategoryDimension(Dimension):
    """Levels from a text column through a grouping map (DOMAIN.md ``category``).

    ``groups`` maps a label to the values it gathers (exact match). A value in
    no group keeps its own name when ``keep_top`` is None; with ``keep_top=k``
    only the k most frequent ungrouped values keep their name (ties by name)
    and the rest become ``other_label``. Nulls become ``missing_label``, or
    ``other_label`` when that is None.
    """

    kind: ClassVar[str] = "category"
    name: str
    column: str
    groups: Any = field(default_factory=tuple)
    keep_top: int | None = None
    other_label: str = "Other"
    missing_label: str | None = None

    def __post_init__(self) -> None:
        self._check_name()
        if not isinstance(self.column, str) or not self.column:
            raise _fail(self, "column must be a column name")
        groups = self.groups
        if isinstance(groups, Mapping):
            groups = tuple(groups.items())
        try:
            norm = tuple((str(label), tuple(values)) for label, values in groups)
        except (TypeError, ValueError):
            raise _fail(self, "groups must map a label to a list of values") from None
        for label, values in norm:
            if isinstance(values, str) or not all(isinstance(v, str) for v in values):
                raise _fail(self, f"group '{label}' must list text values")
        object.__setattr__(self, "groups", norm)
        if self.keep_top is not None and (
            isinstance(self.keep_top, bool)
            or not isinstance(self.keep_top, int)
            or self.keep_top < 0
        ):
            raise _fail(
                self, f"keep_top must be a whole number >= 0 or null, got {self.keep_top!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["groups"] = {label: list(values) for label, values in self.groups}
        return out

    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def prepare_key(self) -> str | None:
        return f"text:{self.column}"

    def prepare(self, frame: pl.DataFrame) -> Any:
        require_column(frame, self.column, self.name, numeric=False)
        return text_column(frame, self.column)

    def levels_from(self, frame: pl.DataFrame, prepared: Any) -> Levels:
        column: TextColumn = prepared
        mapping: dict[str, str] = {}
        for label, members in self.groups:
            for v in members:
                mapping.setdefault(v, label)
        ungrouped = [
            (v, int(n)) for v, n in zip(column.values, column.counts, strict=True)
            if v not in mapping
        ]  # fmt: skip
        if self.keep_top is not None:
            ungrouped = sorted(ungrouped, key=lambda vn: (-vn[1], vn[0]))[: self.keep_top]
        kept = sorted(v for v, _ in ungrouped)
        for v in kept:
            mapping[v] = v
        missing = self.missing_label or self.other_label
        labels: dict[str, int] = {}
        for label in [label for label, _ in self.groups] + kept + [self.other_label]:
            labels.setdefault(label, len(labels))
        if column.has_nulls:
            labels.setdefault(missing, len(labels))
        lookup = np.array(
            [labels[mapping.get(v, self.other_label)] for v in column.values]
            + [labels.get(missing, 0)],
            dtype=np.uint32,
        )
        codes = lookup[column.codes]
        return Levels(pl.Series("", codes, dtype=pl.UInt32), tuple(labels))


# ------------------------------------------------------------------ rules


def _normalise_rules(dim: Any, rules: Any) -> tuple[tuple[str, str], ...]:
    out = []
    if isinstance(rules, str | Mapping) or not isinstance(rules, Sequence):
        raise _fail(dim, "rules must be a list of (label, condition) pairs")
    for i, rule in enumerate(rules, start=1):
        if isinstance(rule, Mapping):
            pair = (rule.get("label"), rule.get("condition"))
        elif isinstance(rule, Sequence) and not isinstance(rule, str) and len(rule) == 2:
            pair = (rule[0], rule[1])
        else:
            raise _fail(dim, f"rule {i} must be a (label, condition) pair")
        if not all(isinstance(x, str) and x.strip() for x in pair):
            raise _fail(dim, f"rule {i} needs a non-empty label and condition")
        out.append((pair[0], pair[1]))
    return tuple(out)


@register_dimension
@dataclass(frozen=True)
class RuleDimension(Dimension):
    """Ordered (label, condition) rules, first match wins, else ``default``
    (DOMAIN.md ``rule``). Conditions use the language in ``core.expr``; a
    condition that is NULL for an account does not match it."""

    kind: ClassVar[str] = "rule"
    name: str
    rules: tuple[tuple[str, str], ...]
    default: str = "Other"

    def __post_init__(self) -> None:
        self._check_name()
        object.__setattr__(self, "rules", _normalise_rules(self, self.rules))
        if not isinstance(self.default, str) or not self.default:
            raise _fail(self, "default must be a non-empty label")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["rules"] = [{"label": label, "condition": cond} for label, cond in self.rules]
        return out

    def columns(self) -> tuple[str, ...]:
        from core.expr import ExpressionError, parse

        names: set[str] = set()
        for _, cond in self.rules:
            try:
                names |= _columns_of(parse(cond))
            except ExpressionError:
                continue
        return tuple(sorted(names))

    def levels(self, frame: pl.DataFrame) -> Levels:
        return rule_levels(frame, self.rules, self.default, dimension=self.name)


def _columns_of(node: Any) -> set[str]:
    from core.expr import Column

    if isinstance(node, Column):
        return {node.name}
    found: set[str] = set()
    for attr in ("left", "right", "operand", "low", "high", "pattern"):
        child = getattr(node, attr, None)
        if child is not None:
            found |= _columns_of(child)
    return found


SALES_LOGIC_RULES: tuple[tuple[str, str], ...] = (
    (
        "Complex",
        "offer_type STARTS WITH 'custom' OR buying_center_size >= 5 "
        "OR collaboration STARTS WITH 'high'",
    ),
)


@register_dimension
@dataclass(frozen=True)
class SalesLogicDimension(RuleDimension):
    """Traditional vs complex sales from purchasing behaviour (DOMAIN.md
    ``sales_logic``): complex when the offer is customised, the buying centre
    has 5 or more people, or the willingness to collaborate is high. The rules
    are editable and run on the same engine as :class:`RuleDimension`."""

    kind: ClassVar[str] = "sales_logic"
    name: str = "Sales logic"
    rules: tuple[tuple[str, str], ...] = SALES_LOGIC_RULES
    default: str = "Traditional"


# ------------------------------------------------------------------ model


@dataclass(frozen=True)
class SegmentationModel:
    """An ordered list of dimensions; cells smaller than ``min_segment_size``
    accounts fold into ``other_label``."""

    name: str
    dimensions: tuple[Dimension, ...]
    min_segment_size: int = 0
    other_label: str = "Other"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ModelError("a model needs a non-empty name")
        dims = tuple(self.dimensions)
        object.__setattr__(self, "dimensions", dims)
        if not dims:
            raise ModelError(f"model '{self.name}' has no dimensions; add at least one")
        seen: set[str] = set()
        for d in dims:
            if not isinstance(d, Dimension):
                raise ModelError(f"model '{self.name}': {d!r} is not a dimension")
            if d.name in seen:
                raise ModelError(f"model '{self.name}': two dimensions are named '{d.name}'")
            seen.add(d.name)
        m = self.min_segment_size
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ModelError(
                f"model '{self.name}': min_segment_size must be a whole number >= 0, got {m!r}"
            )

    def replace_dimension(self, index: int, dimension: Dimension) -> SegmentationModel:
        dims = list(self.dimensions)
        dims[index] = dimension
        return dataclasses.replace(self, dimensions=tuple(dims))


def dimension_to_dict(dim: Dimension) -> dict[str, Any]:
    return dim.to_dict()


def dimension_from_dict(data: Mapping[str, Any], position: int | None = None) -> Dimension:
    where = f"dimension {position}" if position is not None else "dimension"
    if not isinstance(data, Mapping):
        raise ModelError(f"{where}: expected an object with a 'kind', got {type(data).__name__}")
    kind = data.get("kind")
    name = data.get("name")
    if name is not None:
        where += f" ('{name}')"
    cls = DIMENSION_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(DIMENSION_KINDS))
        raise ModelError(f"{where}: unknown kind {kind!r} (known kinds: {known})")
    return cls.from_dict(data)


def dimension_key(dim: Dimension) -> str:
    """Canonical JSON of a dimension: a cache key that changes with any parameter."""
    return json.dumps(dim.to_dict(), sort_keys=True, ensure_ascii=False)


def model_to_dict(model: SegmentationModel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": model.name,
        "min_segment_size": model.min_segment_size,
        "other_label": model.other_label,
        "dimensions": [d.to_dict() for d in model.dimensions],
    }


def model_from_dict(data: Mapping[str, Any]) -> SegmentationModel:
    if not isinstance(data, Mapping):
        raise ModelError("a model must be a JSON object")
    fmt = data.get("format")
    if fmt != FORMAT:
        raise ModelError(f"model format {fmt!r} is not supported (this version reads format 1)")
    unknown = sorted(
        set(data) - {"format", "name", "min_segment_size", "other_label", "dimensions"}
    )
    if unknown:
        raise ModelError(f"model: unknown field {', '.join(repr(u) for u in unknown)}")
    dims = data.get("dimensions")
    if not isinstance(dims, list):
        raise ModelError(f"model '{data.get('name')}': 'dimensions' must be a list")
    return SegmentationModel(
        name=data.get("name", ""),
        dimensions=tuple(dimension_from_dict(d, i) for i, d in enumerate(dims, start=1)),
        min_segment_size=data.get("min_segment_size", 0),
        other_label=data.get("other_label", "Other"),
    )


def model_to_json(model: SegmentationModel) -> str:
    """The model as versioned JSON text (``"format": 1``)."""
    return json.dumps(model_to_dict(model), indent=2, ensure_ascii=False)


def model_from_json(text: str) -> SegmentationModel:
    """Read a model written by :func:`model_to_json`; errors name the dimension."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ModelError(f"model JSON is not valid: {exc}") from None
    except RecursionError:
        raise ModelError("model JSON is nested too deeply to be a model spec") from None
    return model_from_dict(data)


def rule_columns(frame_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a rule condition may read: the account frame's, plus the
    forward-looking columns (fitted later, so maybe not in the frame yet)."""
    from core.forward_frame import FORWARD_COLUMNS

    columns = dict(frame_schema)
    for name in FORWARD_COLUMNS:
        columns.setdefault(name, pl.Float64)
    return columns


def validate_rules(model: SegmentationModel, columns: Mapping[str, Any] | None) -> None:
    """Parse and type-check every rule condition of ``model`` against ``columns``
    (a frame schema, see :func:`rule_columns`); a ModelError names the dimension
    and the rule. Done when a model is saved, so one bad condition cannot break
    every later run of the model. With ``columns=None`` (a workspace without
    accounts yet: its columns are not known) the conditions are only parsed."""
    from core.expr import ExpressionError, check, parse

    for dim in model.dimensions:
        if not isinstance(dim, RuleDimension):
            continue
        for number, (label, condition) in enumerate(dim.rules, start=1):
            try:
                if columns is None:
                    parse(condition)
                else:
                    check(condition, columns)
            except ExpressionError as exc:
                raise ModelError(
                    f"model '{model.name}', dimension '{dim.name}', rule {number}"
                    f" ('{label}'): {exc}"
                ) from None


def assign_segments(frame: pl.DataFrame, model: SegmentationModel, **kwargs: Any) -> pl.DataFrame:
    """See :func:`core.segment.assign_segments`."""
    from core.segment import assign_segments as _assign

    return _assign(frame, model, **kwargs)


__all__ += ["DimensionError", "RFM_ORDER", "SALES_LOGIC_RULES", "rule_columns", "validate_rules"]
