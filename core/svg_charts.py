"""Small SVG charts for the HTML playbook: numbers in, SVG text out (no I/O).

Every chart is one ``<svg>`` element with ``role="img"``, a ``<title>`` and a
``<desc>`` (read by screen readers and shown as a tooltip), and every mark
carries a text label with its value, so nothing is said by colour alone and a
black-and-white print reads the same. All text from the data goes through
``html.escape`` (a segment named ``<script>`` stays text).

Geometry, fixed so tests can check it by hand:

- bars: a bar's length is ``value / max(values) * BAR_WIDTH`` (values below
  zero or missing draw no bar; the label says "–" for missing);
- line charts (Pareto, trends): x and y are linear in the plotting box,
  ``x = left + share * width``, ``y = top + (1 - share) * height`` for a 0..1
  axis; trends scale y from 0 (or the smallest value when negative) to the
  largest value;
- heat maps: a cell's grey is ``value / max`` (0 = white), its text the value.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "BAR_WIDTH",
    "bar_chart",
    "heat_map",
    "line_chart",
    "pareto_chart",
    "scatter_chart",
]

Formatter = Callable[[float | None], str]
WIDTH = 640
BAR_WIDTH = 360.0  # the longest bar, in SVG units
LABEL_WIDTH = 170.0  # room for the category labels left of the bars
BAR_HEIGHT = 18.0
BAR_GAP = 6.0
FONT = 'font-family="system-ui,sans-serif" font-size="12"'
# line and mark styles: distinguishable by dash pattern and marker, not only colour
_DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")
_MARKERS = ("circle", "square", "triangle", "diamond")
_INK = "#222"
_SERIES = ("#1f5fa8", "#c45a00", "#2e7d32", "#7b1fa2", "#555555", "#b71c1c")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    """A coordinate with at most two decimals (stable text, easy to check)."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _ok(v: float | None) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def _default_fmt(v: float | None) -> str:
    return "–" if not _ok(v) else f"{v:,.0f}"


def _open(chart_id: str, title: str, desc: str, width: float, height: float) -> list[str]:
    cid = _e(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="{_num(width)}" height="{_num(height)}" {FONT}>',
        f'<title id="{cid}-title">{_e(title)}</title>',
        f'<desc id="{cid}-desc">{_e(desc)}</desc>',
        f'<rect width="{_num(width)}" height="{_num(height)}" fill="#fff"/>',
        f'<text x="8" y="16" font-weight="bold">{_e(title)}</text>',
    ]


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    desc: str | None = None,
    fmt: Formatter = _default_fmt,
) -> str:
    """Horizontal bars, one per label, longest = the largest value."""
    if len(labels) != len(values):
        raise ValueError("bar_chart: as many labels as values")
    top = 28.0
    height = top + len(labels) * (BAR_HEIGHT + BAR_GAP) + 8
    finite = [v for v in values if _ok(v) and v > 0]
    biggest = max(finite) if finite else 0.0
    if desc is None:
        pairs = zip(labels, values, strict=True)
        desc = title + ": " + "; ".join(f"{lab} {fmt(v)}" for lab, v in pairs)
    out = _open(chart_id, title, desc, WIDTH, height)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * (BAR_HEIGHT + BAR_GAP)
        length = value / biggest * BAR_WIDTH if biggest and _ok(value) and value > 0 else 0.0
        mid = y + BAR_HEIGHT / 2 + 4
        out.append(
            f'<text x="{_num(LABEL_WIDTH - 6)}" y="{_num(mid)}" text-anchor="end">'
            f"{_e(_clip(label))}</text>"
        )
        out.append(
            f'<rect class="bar" x="{_num(LABEL_WIDTH)}" y="{_num(y)}" width="{_num(length)}" '
            f'height="{_num(BAR_HEIGHT)}" fill="{_SERIES[0]}" stroke="{_INK}" stroke-width="0.5">'
            f"<title>{_e(label)}: {_e(fmt(value))}</title></rect>"
        )
        out.append(
            f'<text x="{_num(LABEL_WIDTH + length + 6)}" y="{_num(mid)}">{_e(fmt(value))}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _clip(text: str, room: int = 26) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= room else text[: room - 1] + "…"


# -- line charts -------------------------------------------------------------------

_BOX_LEFT, _BOX_TOP, _BOX_W, _BOX_H = 100.0, 34.0, 440.0, 200.0


def _x(share: float) -> float:
    return _BOX_LEFT + share * _BOX_W


def _y(share: float) -> float:
    return _BOX_TOP + (1.0 - share) * _BOX_H


def _axes(out: list[str], y_ticks: Sequence[tuple[float, str]],
          x_ticks: Sequence[tuple[float, str]], x_title: str, y_title: str) -> None:  # fmt: skip
    left, bottom = _BOX_LEFT, _BOX_TOP + _BOX_H
    out.append(f'<g class="axes" stroke="{_INK}" stroke-width="1">'
               f'<line x1="{_num(left)}" y1="{_num(_BOX_TOP)}" x2="{_num(left)}" '
               f'y2="{_num(bottom)}"/>'
               f'<line x1="{_num(left)}" y1="{_num(bottom)}" x2="{_num(left + _BOX_W)}" '
               f'y2="{_num(bottom)}"/></g>')  # fmt: skip
    for share, text in y_ticks:
        y = _y(share)
        out.append(f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + _BOX_W)}" '
                   f'y2="{_num(y)}" stroke="#ccc" stroke-width="0.5"/>')  # fmt: skip
        out.append(f'<text x="{_num(left - 4)}" y="{_num(y + 4)}" text-anchor="end">'
                   f"{_e(text)}</text>")  # fmt: skip
    # as many characters as the space between two ticks holds (~6.5 units each)
    spacing = _BOX_W / max(len(x_ticks) - 1, 1)
    room = max(8, min(30, int(spacing / 6.5)))
    for share, text in x_ticks:
        x = _x(share)
        out.append(f'<text x="{_num(x)}" y="{_num(bottom + 14)}" text-anchor="middle">'
                   f"{_e(_clip(text, room))}<title>{_e(text)}</title></text>")  # fmt: skip
    out.append(f'<text x="{_num(left + _BOX_W / 2)}" y="{_num(bottom + 30)}" '
               f'text-anchor="middle">{_e(x_title)}</text>')  # fmt: skip
    mid = _num(_BOX_TOP + _BOX_H / 2)
    out.append(f'<text x="12" y="{mid}" text-anchor="middle" '
               f'transform="rotate(-90 12 {mid})">{_e(y_title)}</text>')  # fmt: skip


def _marker(kind: str, x: float, y: float, colour: str, tip: str) -> str:
    t = f"<title>{_e(tip)}</title>"
    if kind == "square":
        return (f'<rect class="point" x="{_num(x - 3.5)}" y="{_num(y - 3.5)}" width="7" height="7" '
                f'fill="{colour}">{t}</rect>')  # fmt: skip
    if kind == "triangle":
        corners = ((x, y - 4.5), (x - 4, y + 3.5), (x + 4, y + 3.5))
        pts = " ".join(f"{_num(a)},{_num(b)}" for a, b in corners)
        return f'<polygon class="point" points="{pts}" fill="{colour}">{t}</polygon>'
    if kind == "diamond":
        corners = ((x, y - 5), (x - 4, y), (x, y + 5), (x + 4, y))
        pts = " ".join(f"{_num(a)},{_num(b)}" for a, b in corners)
        return f'<polygon class="point" points="{pts}" fill="{colour}">{t}</polygon>'
    return (f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="{colour}">'
            f"{t}</circle>")  # fmt: skip


def pareto_chart(
    chart_id: str,
    points: Sequence[tuple[float, float]],
    *,
    title: str = "Pareto curve: share of revenue by share of customers",
    label_at: Sequence[float] | None = None,
) -> str:
    """The Pareto curve through ``points`` = (share of customers best first,
    share of revenue), both 0..1, from (0, 0); the diagonal is equal shares.
    ``label_at``: the customer shares whose points get a value label (default
    all; a dense curve labels a few so the labels do not overlap)."""
    pct = lambda v: f"{v * 100:.1f} %"  # noqa: E731
    desc = "; ".join(f"top {pct(a)} of customers bring {pct(m)} of revenue" for a, m in points)
    out = _open(chart_id, title, desc or "no customer has revenue", WIDTH, _BOX_TOP + _BOX_H + 44)
    ticks = [(s, f"{s * 100:.0f} %") for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    _axes(out, ticks, ticks, "share of customers (best first)", "share of revenue")
    out.append(f'<line class="diagonal" x1="{_num(_x(0))}" y1="{_num(_y(0))}" x2="{_num(_x(1))}" '
               f'y2="{_num(_y(1))}" stroke="#888" stroke-dasharray="4 3"/>')  # fmt: skip
    path = [(0.0, 0.0), *points]
    coords = " ".join(f"{_num(_x(a))},{_num(_y(m))}" for a, m in path)
    out.append(f'<polyline class="curve" points="{coords}" fill="none" stroke="{_SERIES[0]}" '
               f'stroke-width="2"/>')  # fmt: skip
    for a, m in points:
        x, y = _x(a), _y(m)
        out.append(_marker("circle", x, y, _SERIES[0], f"top {pct(a)}: {pct(m)} of revenue"))
        if label_at is None or any(abs(a - s) < 1e-9 for s in label_at):
            out.append(f'<text x="{_num(x + 6)}" y="{_num(y + 14)}">{_e(pct(m))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    y_title: str = "",
    x_title: str = "frozen runs, oldest first",
    fmt: Formatter = _default_fmt,
) -> str:
    """One line per series over ``x_labels`` (a missing value breaks the line);
    the legend names each series next to its dash pattern and marker."""
    n = len(x_labels)
    for name, values in series.items():
        if len(values) != n:
            raise ValueError(f"line_chart: series {name!r} has {len(values)} values, not {n}")
    finite = [v for vs in series.values() for v in vs if _ok(v)]
    lo = min([0.0, *finite])
    hi = max([*finite, lo + 1.0]) if finite else 1.0
    if hi == lo:
        hi = lo + 1.0
    share = lambda v: (v - lo) / (hi - lo)  # noqa: E731
    xs = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
    lines = []
    for name, values in series.items():
        pairs = zip(x_labels, values, strict=True)
        lines.append(name + ": " + ", ".join(f"{x} {fmt(v)}" for x, v in pairs))
    legend_rows = len(series)
    height = _BOX_TOP + _BOX_H + 44 + max(0, legend_rows * 16 - 0)
    out = _open(chart_id, title, "; ".join(lines) or "no values", WIDTH, height)
    y_ticks = [(s, fmt(lo + s * (hi - lo))) for s in (0.0, 0.5, 1.0)]
    _axes(out, y_ticks, list(zip(xs, x_labels, strict=True)), x_title, y_title)
    for k, (name, values) in enumerate(series.items()):
        colour, dash, marker = _SERIES[k % len(_SERIES)], _DASHES[k % len(_DASHES)], _MARKERS[k % 4]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        run: list[str] = []
        segments: list[list[str]] = [run]
        for x, v in zip(xs, values, strict=True):
            if _ok(v):
                run.append(f"{_num(_x(x))},{_num(_y(share(v)))}")
            elif run:
                run = []
                segments.append(run)
        for part in segments:
            if len(part) > 1:
                out.append(f'<polyline class="series" points="{" ".join(part)}" fill="none" '
                           f'stroke="{colour}" stroke-width="2"{dash_attr}/>')  # fmt: skip
        for x, v, label in zip(xs, values, x_labels, strict=True):
            if _ok(v):
                tip = f"{name}, {label}: {fmt(v)}"
                out.append(_marker(marker, _x(x), _y(share(v)), colour, tip))
        last = next((v for v in reversed(values) if _ok(v)), None)
        ly = _BOX_TOP + _BOX_H + 44 + k * 16
        out.append(f'<line x1="{_num(_BOX_LEFT)}" y1="{_num(ly - 4)}" '
                   f'x2="{_num(_BOX_LEFT + 24)}" y2="{_num(ly - 4)}" stroke="{colour}" '
                   f'stroke-width="2"{dash_attr}/>')  # fmt: skip
        out.append(_marker(marker, _BOX_LEFT + 12, ly - 4, colour, name))
        out.append(f'<text x="{_num(_BOX_LEFT + 30)}" y="{_num(ly)}">{_e(name)} '
                   f"(latest {_e(fmt(last))})</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def heat_map(
    chart_id: str,
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    fmt: Formatter = _default_fmt,
    row_title: str = "",
    column_title: str = "",
) -> str:
    """A grid of cells, darker = larger (grey ``value / max``), every cell
    showing its value as text (white text on the darker half)."""
    if len(values) != len(rows) or any(len(r) != len(columns) for r in values):
        raise ValueError("heat_map: values must be rows x columns")
    cell_w, cell_h = 64.0, 22.0
    left, top = LABEL_WIDTH, 40.0 + (14.0 if column_title else 0.0)
    width = max(WIDTH, left + cell_w * len(columns) + 10)
    height = top + cell_h * len(rows) + 10
    finite = [v for r in values for v in r if _ok(v) and v > 0]
    biggest = max(finite) if finite else 0.0
    desc = "; ".join(
        f"{r}: " + ", ".join(f"{c} {fmt(v)}" for c, v in zip(columns, vs, strict=True))
        for r, vs in zip(rows, values, strict=True)
    )
    out = _open(chart_id, title, desc or "no values", width, height)
    if column_title:
        out.append(f'<text x="{_num(left)}" y="32">{_e(column_title)}</text>')
    if row_title:
        out.append(f'<text x="8" y="{_num(top - 6)}">{_e(row_title)}</text>')
    for j, col in enumerate(columns):
        out.append(f'<text x="{_num(left + (j + 0.5) * cell_w)}" y="{_num(top - 6)}" '
                   f'text-anchor="middle">{_e(_clip(col, 9))}<title>{_e(col)}</title>'
                   "</text>")  # fmt: skip
    for i, (row, vs) in enumerate(zip(rows, values, strict=True)):
        y = top + i * cell_h
        out.append(f'<text x="{_num(left - 6)}" y="{_num(y + cell_h / 2 + 4)}" '
                   f'text-anchor="end">{_e(_clip(row))}</text>')  # fmt: skip
        for j, v in enumerate(vs):
            x = left + j * cell_w
            level = v / biggest if biggest and _ok(v) and v > 0 else 0.0
            grey = round(255 - level * 200)
            ink = "#fff" if level > 0.5 else _INK
            out.append(f'<rect class="cell" x="{_num(x)}" y="{_num(y)}" width="{_num(cell_w)}" '
                       f'height="{_num(cell_h)}" fill="rgb({grey},{grey},{grey})" stroke="#999" '
                       f'stroke-width="0.5"><title>{_e(row)}, {_e(columns[j])}: {_e(fmt(v))}'
                       f"</title></rect>")  # fmt: skip
            out.append(f'<text x="{_num(x + cell_w / 2)}" y="{_num(y + cell_h / 2 + 4)}" '
                       f'text-anchor="middle" fill="{ink}">{_e(fmt(v))}</text>')  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def scatter_chart(
    chart_id: str,
    title: str,
    points: Sequence[tuple[str, float, float]],
    *,
    x_title: str,
    y_title: str,
    x_split: float = 0.5,
    y_split: float = 0.5,
    quadrants: tuple[str, str, str, str] = ("", "", "", ""),
) -> str:
    """Labelled points ``(label, x, y)`` with x and y in 0..1 (clamped), the
    box cut into four quadrants at ``x_split``/``y_split``; ``quadrants`` name
    them top-left, top-right, bottom-left, bottom-right."""
    pct = lambda v: f"{v * 100:.0f} %"  # noqa: E731
    desc = "; ".join(f"{label}: {x_title} {pct(x)}, {y_title} {pct(y)}" for label, x, y in points)
    out = _open(chart_id, title, desc or "no points", WIDTH, _BOX_TOP + _BOX_H + 44)
    ticks = [(s, pct(s)) for s in (0.0, 0.5, 1.0)]
    _axes(out, ticks, ticks, x_title, y_title)
    out.append(f'<line x1="{_num(_x(x_split))}" y1="{_num(_y(0))}" x2="{_num(_x(x_split))}" '
               f'y2="{_num(_y(1))}" stroke="#888" stroke-dasharray="4 3"/>')  # fmt: skip
    out.append(f'<line x1="{_num(_x(0))}" y1="{_num(_y(y_split))}" x2="{_num(_x(1))}" '
               f'y2="{_num(_y(y_split))}" stroke="#888" stroke-dasharray="4 3"/>')  # fmt: skip
    corners = ((0.02, 0.96, "start"), (0.98, 0.96, "end"), (0.02, 0.02, "start"),
               (0.98, 0.02, "end"))  # fmt: skip
    for name, (cx, cy, anchor) in zip(quadrants, corners, strict=True):
        if name:
            out.append(f'<text class="quadrant" x="{_num(_x(cx))}" y="{_num(_y(cy) + 4)}" '
                       f'text-anchor="{anchor}" fill="#666">{_e(name)}</text>')  # fmt: skip
    for label, x, y in points:
        cx, cy = _x(min(max(x, 0.0), 1.0)), _y(min(max(y, 0.0), 1.0))
        out.append(_marker("circle", cx, cy, _SERIES[0], f"{label}: {pct(x)}, {pct(y)}"))
        out.append(f'<text x="{_num(cx + 6)}" y="{_num(cy - 5)}">{_e(_clip(label, 20))}</text>')
    out.append("</svg>")
    return "\n".join(out)
