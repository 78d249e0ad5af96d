"""Assigning accounts to segments: levels per dimension, combined into cells.

DOMAIN.md: "a segment is the tuple of levels ("A · High potential ·
Complex") ... Cells with fewer members than a minimum size can be folded into
"Other"."

Levels are computed per dimension and can be cached per (frame version,
dimension spec), so editing one dimension recomputes only that dimension;
combining the cached integer codes into segments is a few vectorised numpy
operations.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import polars as pl

from core.cache import LruCache, spec_hash
from core.dimensions import DimensionError, Levels
from core.model import Dimension, SegmentationModel, dimension_key

__all__ = ["SEPARATOR", "assign_segments", "dimension_levels", "segment_order"]

SEPARATOR = " · "
# Beyond this many possible cells, count with np.unique instead of bincount.
_DENSE_CELLS = 5_000_000


def dimension_levels(
    frame: pl.DataFrame,
    dimension: Dimension,
    *,
    cache: LruCache[Any] | None = None,
    frame_token: Hashable | None = None,
) -> Levels:
    """The dimension's levels on ``frame``, from ``cache`` when the frame token
    and the dimension spec are unchanged."""
    if cache is None or frame_token is None:
        return dimension.levels(frame)

    def compute() -> Levels:
        prepare_key = dimension.prepare_key()
        if prepare_key is None:
            return dimension.levels(frame)
        # the expensive part (sorting, hashing a column) is shared by every
        # parameter value, and by dimensions of other models over that column
        prepared = cache.get_or_compute(
            ("prepared", frame_token, prepare_key), lambda: dimension.prepare(frame)
        )
        return dimension.levels_from(frame, prepared)

    key = ("levels", frame_token, spec_hash(dimension_key(dimension)))
    return cache.get_or_compute(key, compute)


def assign_segments(
    frame: pl.DataFrame,
    model: SegmentationModel,
    *,
    cache: LruCache[Any] | None = None,
    frame_token: Hashable | None = None,
) -> pl.DataFrame:
    """One row per account: ``account_id``, one column per dimension (its
    level) and ``segment`` (the levels joined by " · ").

    Rows keep the order of ``frame``. Dimension and segment columns are
    ``pl.Enum`` in display order (dimension levels in order; a folded "Other"
    last). When ``model.min_segment_size`` > 0, accounts of cells with fewer
    accounts are given the segment ``model.other_label``; their dimension
    columns keep their own levels.

    Pass a shared ``cache`` and a ``frame_token`` that changes whenever the
    frame changes to reuse the levels of unchanged dimensions.
    """
    if "account_id" not in frame.columns:
        raise DimensionError("the per-account frame has no 'account_id' column")
    n = frame.height
    all_levels = [
        dimension_levels(frame, d, cache=cache, frame_token=frame_token) for d in model.dimensions
    ]
    for d, lv in zip(model.dimensions, all_levels, strict=True):
        # a contract check for dimension kinds added later
        top = lv.codes.max() if lv.codes.len() else None
        if lv.codes.len() != n or (top is not None and top >= len(lv.labels)):
            raise DimensionError(
                f"dimension '{d.name}' ({d.kind}) produced {lv.codes.len()} levels for {n} "
                f"accounts or a level outside its {len(lv.labels)} labels"
            )
    radices = [max(len(lv.labels), 1) for lv in all_levels]
    total_cells = int(np.prod([float(r) for r in radices]))

    combined = np.zeros(n, dtype=np.int64)
    for lv, radix in zip(all_levels, radices, strict=True):
        combined *= radix
        combined += lv.codes.to_numpy().astype(np.int64, copy=False)

    if total_cells <= _DENSE_CELLS:
        counts = np.bincount(combined, minlength=total_cells)
        cells = np.flatnonzero(counts)
        cell_counts = counts[cells]
        position = None
    else:
        cells, position, cell_counts = np.unique(combined, return_inverse=True, return_counts=True)

    keep = cell_counts >= model.min_segment_size
    labels: list[str] = []
    index_of: dict[str, int] = {}
    cell_index = np.empty(len(cells), dtype=np.uint32)
    for i, (cell, kept) in enumerate(zip(cells.tolist(), keep.tolist(), strict=True)):
        if not kept:
            continue
        label = _cell_label(cell, all_levels, radices)
        cell_index[i] = index_of.setdefault(label, len(index_of))
        if len(index_of) > len(labels):
            labels.append(label)
    if not keep.all():
        other = model.other_label
        other_idx = index_of.setdefault(other, len(index_of))
        if other_idx == len(labels):
            labels.append(other)
        cell_index[~keep] = other_idx

    if position is None:
        lookup = np.zeros(max(total_cells, 1), dtype=np.uint32)
        lookup[cells] = cell_index
        segment_codes = lookup[combined] if n else np.zeros(0, dtype=np.uint32)
    else:
        segment_codes = cell_index[position]

    if not labels:  # empty frame
        labels = [model.other_label]
    segment = pl.Series("segment", labels, dtype=pl.Enum(labels)).gather(
        pl.Series(segment_codes, dtype=pl.UInt32)
    )
    columns = [frame.get_column("account_id")]
    columns += [lv.as_series(d.name) for d, lv in zip(model.dimensions, all_levels, strict=True)]
    columns.append(segment)
    return pl.DataFrame(columns)


def _cell_label(cell: int, all_levels: list[Levels], radices: list[int]) -> str:
    parts = []
    for lv, radix in zip(reversed(all_levels), reversed(radices), strict=True):
        cell, code = divmod(cell, radix)
        parts.append(lv.labels[code])
    return SEPARATOR.join(reversed(parts))


def segment_order(assignments: pl.DataFrame) -> list[str]:
    """Segments in display order (the Enum order when available, else sorted)."""
    col = assignments.get_column("segment")
    present = set(col.drop_nulls().unique().cast(pl.String).to_list())
    if isinstance(col.dtype, pl.Enum):
        return [c for c in col.dtype.categories.to_list() if c in present]
    return sorted(present)
