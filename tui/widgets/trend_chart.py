"""A line chart of values over frozen runs (plotext through textual-plotext):
one line per series, the runs on the x axis oldest first, y ticks in the
workbench's number formats. Used by the Runs screen (segments over runs) and
the Game plans screen (a KPI over runs).

Lines differ by marker as well as colour, and the legend names each series
with its latest value, so the chart reads without colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import polars as pl
from textual_plotext import PlotextPlot

from tui.widgets.formatting import clip_words, short_number

# one marker per series (plotext names): told apart without colour
MARKERS = ("dot", "x", "+", "o", "*", "#")
COLOURS = ("blue", "orange", "green", "magenta", "cyan", "red")


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def long_to_series(
    frame: pl.DataFrame, name: str, value: str, point: str = "point"
) -> tuple[list[str], dict[str, list[float | None]]]:
    """``point, name, value`` rows (points in order) as the x labels and one list of
    values per ``name`` (None where a name has no row at a point)."""
    points = list(dict.fromkeys(frame[point].to_list()))
    names = list(dict.fromkeys(str(n) for n in frame[name].to_list()))
    found = {(p, str(n)): v for p, n, v in frame.select(point, name, value).rows()}
    return points, {n: [found.get((p, n)) for p in points] for n in names}


class TrendChart(PlotextPlot):
    """``show(title, runs, series)`` draws; ``show`` with no series clears."""

    def show(
        self,
        title: str,
        runs: Sequence[str],
        series: Mapping[str, Sequence[float | None]],
        *,
        fmt: Callable[[float], str] = short_number,
        from_zero: bool = True,
    ) -> None:
        """``from_zero``: the y axis starts at 0 (sizes); else it spans the values
        with a margin, so a change of a few percent is visible in a few rows."""
        plt = self.plt
        plt.clear_figure()
        # plotext leaves out a title wider than its canvas: cut it to fit instead
        room = self.size.width - 10 if self.size.width > 20 else len(title)
        plt.title(clip_words(title, room))
        xs = list(range(1, len(runs) + 1))
        values = [v for vs in series.values() for v in vs if _finite(v)]
        for k, (name, vs) in enumerate(series.items()):
            points = [(x, v) for x, v in zip(xs, vs, strict=True) if _finite(v)]
            if not points:
                continue
            last = points[-1][1]
            plt.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker=MARKERS[k % len(MARKERS)],
                color=COLOURS[k % len(COLOURS)],
                label=f"{clip_words(str(name), 18)} ({fmt(last)})",
            )
        if xs:
            plt.xticks(xs, [clip_words(r, 12) for r in runs])
            plt.xlim(0.5, len(xs) + 0.5)
        if values:
            lo, hi = (min(0.0, *values) if from_zero else min(values)), max(values)
            if not from_zero:
                margin = (hi - lo) * 0.25 or abs(hi) * 0.1 or 1.0
                lo, hi = lo - margin, hi + margin
            hi = hi if hi > lo else lo + 1.0
            ticks = [lo, lo + (hi - lo) / 2, hi]
            plt.ylim(lo, hi + (hi - lo) * 0.15)  # room above the top line for the legend
            plt.yticks(ticks, [fmt(t) for t in ticks])
        self.refresh()
