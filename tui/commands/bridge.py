"""``segscope bridge WORKSPACE [--period year|quarter|month] [--model NAME] [--json]``.

Prints the revenue bridge (P0 -> new, reactivated, expansion, contraction,
churn, adjustments -> P1, retained, NRR, GRR), overall and, with ``--model``,
per segment of a saved segmentation model.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

import polars as pl

from tui.commands.metrics import parse_date
from tui.commands.segment import partial_history_note

DESCRIPTION = """\
Print the revenue bridge between two consecutive periods P0 and P1.

Periods are trailing by default: P1 is the year (quarter, month) ending at the
analysis date, P0 the one before; --calendar uses the last complete calendar
periods instead. Amounts are summed in cents, so the lines reconcile exactly:
P0 + new + reactivated + expansion - contraction - churn + adjustments = P1.
Adjustments carry the revenue of account-periods whose net is <= 0 (returns
exceeding purchases), which count as inactive. NRR and GRR are over the P0
revenue of accounts active in P0.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bridge",
        help="print the revenue bridge (new, expansion, churn, NRR, GRR), per segment",
        description=DESCRIPTION,
        epilog=("examples:\n  segscope bridge ws.segscope --period quarter\n"
                "  segscope bridge ws.segscope --model 'ABC by revenue' --json"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--period", choices=("year", "quarter", "month"), default="year",
                        help="period length (default: year)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--calendar", action="store_true",
                        help="use the last complete calendar periods instead of trailing ones")
    parser.add_argument("--model", metavar="NAME",
                        help="also break the bridge down by the segments of this saved model")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def _segments(ws, accounts: pl.DataFrame, transactions: pl.DataFrame, as_of, name: str
              ) -> pl.DataFrame:
    from core.errors import SegscopeError
    from core.frame import account_frame
    from core.model import ModelError, assign_segments, model_from_json

    try:
        model = model_from_json(ws.get_model(name))
    except ModelError as exc:  # a damaged stored spec is a workspace problem: exit 1
        raise SegscopeError(f"model {name!r} stored in {ws.path} is damaged: {exc}") from None
    frame = account_frame(accounts, transactions, as_of=as_of)
    return assign_segments(frame, model).select("account_id", "segment")


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


MAX_GROUP_COLUMNS = 4  # more groups than this: one row per group instead


def _aligned(rows: list[list[str]], rule_after: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        out.append("  ".join(cells).rstrip())
        if i in rule_after:
            out.append("  ".join("-" * w for w in widths))
    return out


def format_bridge(result) -> str:
    """The bridge as an aligned text table: lines down, groups across ("All"
    first); with many segments, one row per group and whole currency units."""
    from core.bridge import COUNT_COLUMNS, LINE_LABELS

    day = dt.timedelta(days=1)
    totals = result.totals.to_dicts()
    lines = [
        f"Revenue bridge ({result.alignment} {result.period}): "
        f"P0 {result.p0_start} .. {result.p0_end - day}, "
        f"P1 {result.p1_start} .. {result.p1_end - day}",
        "",
    ]
    if len(totals) <= MAX_GROUP_COLUMNS:
        rows = [["", *(str(r["segment"]) for r in totals)]]
        for key, label in LINE_LABELS.items():
            fmt = _pct if key in ("nrr", "grr") else _money
            rows.append([label, *(fmt(r[key]) for r in totals)])
        rows.append(["Accounts",
                     *(f"{sum(r[c] for c in COUNT_COLUMNS.values()):,}" for r in totals)])
        p1_row = list(LINE_LABELS).index("p1") + 1
        lines += _aligned(rows, {0, p1_row})
    else:
        keys = [k for k in LINE_LABELS if k != "retained"]
        header = ["Segment", *(LINE_LABELS[k].lstrip("+-= ") for k in keys), "Accounts"]
        rows = [header]
        for r in totals:
            cells = [str(r["segment"])]
            for key in keys:
                if key in ("nrr", "grr"):
                    cells.append(_pct(r[key]))
                else:
                    cells.append(f"{r[key]:,.0f}")
            cells.append(f"{sum(r[c] for c in COUNT_COLUMNS.values()):,}")
            rows.append(cells)
        lines += _aligned(rows, {0, 1})
    overall = totals[0]
    lines.append("")
    lines.append("Accounts by class (all): " + ", ".join(
        f"{cls} {overall[col]:,}" for cls, col in COUNT_COLUMNS.items()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from core.bridge import revenue_bridge
    from core.metrics import default_as_of
    from storage.workspace import Workspace

    as_of = parse_date(args.as_of) if args.as_of else None
    with Workspace.open(args.workspace) as ws:
        accounts = ws.load_accounts()
        transactions = ws.load_transactions()
        if as_of is None:
            as_of = default_as_of(transactions)
        segments = (_segments(ws, accounts, transactions, as_of, args.model)
                    if args.model else None)
    result = revenue_bridge(transactions, period=args.period, as_of=as_of, segments=segments,
                            alignment="calendar" if args.calendar else "trailing")
    note = partial_history_note(
        transactions, result.p0_start, result.p0_end, "P0",
        "accounts that bought before the data count as new, and NRR reads too high",
    )
    if args.json:
        data = result.to_dict()
        if args.model:
            data["model"] = args.model
        data["notes"] = [note] if note else []
        print(json.dumps(data, indent=2, default=str))
    else:
        print(format_bridge(result))
        if note:
            print(f"note: {note}")
    return 0
