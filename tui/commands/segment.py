"""``segscope segment WORKSPACE --model NAME``: the segment profile table.

Also home of the helpers the models/export/run commands share (opening the
workspace, seeding starter models, building the per-account frame).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import SegscopeError, UsageError
from core.model import SegmentationModel, model_from_json
from core.starter_models import starter_model_specs

EPILOG = """examples:
  segscope segment ws.segscope --model "ABC by revenue"
  segscope segment ws.segscope --model RFM --as-of 2024-01-01 --json
"""


# ---------------------------------------------------------------- shared helpers


def open_workspace(path: str) -> Any:
    from storage.workspace import Workspace

    return Workspace.open(Path(path).expanduser())


def seed_starter_models(ws: Any) -> list[str]:
    """Save the starter models into a workspace that has no model yet."""
    if ws.list_models():
        return []
    specs = starter_model_specs()
    for name, spec in specs.items():
        ws.save_model(name, spec)
    return list(specs)


def load_model(ws: Any, name: str) -> tuple[SegmentationModel, str]:
    """The model ``name`` and its spec JSON (starter models seeded if none exist)."""
    from core.model import ModelError

    seed_starter_models(ws)
    spec = ws.get_model(name)
    try:
        return model_from_json(spec), spec
    except ModelError as exc:
        # the stored spec is damaged: a workspace problem (exit 1), not a usage error
        raise SegscopeError(f"model {name!r} stored in {ws.path} is damaged: {exc}") from None


def parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from tui.commands._safety import bounded_date

    return bounded_date(text, "--as-of")


def resolve_as_of(transactions: pl.DataFrame, as_of: dt.date | None) -> dt.date:
    from core.metrics import default_as_of

    if as_of is not None:
        return as_of
    if transactions.is_empty():
        return dt.date.today()
    return default_as_of(transactions)


def build_frame(ws: Any, as_of: dt.date | None) -> tuple[pl.DataFrame, pl.DataFrame, dt.date]:
    """(per-account frame, transactions, analysis date) for the workspace."""
    from core.frame import account_frame

    accounts = ws.load_accounts()
    transactions = ws.load_transactions()
    if accounts.is_empty():
        raise SegscopeError(f"{ws.path} has no accounts yet; import some with 'segscope import'")
    as_of = resolve_as_of(transactions, as_of)
    return account_frame(accounts, transactions, as_of=as_of), transactions, as_of


def partial_history_note(
    transactions: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    what: str,
    effect: str = "growth and NRR against it read too high",
) -> str | None:
    """A note when the data begins after ``start``: the period [start, end) is only
    partly covered, so figures compared with it (growth, NRR) read too high."""
    if transactions.is_empty() or "date" not in transactions.columns:
        return None
    first = transactions["date"].min()
    if first is None or first <= start:
        return None
    span = (end - start).days
    if first >= end:
        return (f"the data starts {first.isoformat()}, after {what} "
                f"({start.isoformat()} .. {(end - dt.timedelta(days=1)).isoformat()}): "
                "there is nothing to compare with")  # fmt: skip
    covered = (end - first).days / span if span > 0 else 0.0
    return (f"the data starts {first.isoformat()}, so {what} ({start.isoformat()} .. "
            f"{(end - dt.timedelta(days=1)).isoformat()}) is only {covered:.0%} covered: "
            f"{effect}")  # fmt: skip


def bridge_accounts(transactions: pl.DataFrame, as_of: dt.date) -> pl.DataFrame | None:
    from core.bridge import revenue_bridge

    if transactions.is_empty():
        return None
    return revenue_bridge(transactions, as_of=as_of).accounts


def plain(value: Any) -> Any:
    """JSON-safe scalar (NaN/inf become null, dates ISO text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rows_as_json(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in df.to_dicts()]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A plain fixed-width text table (first column left-aligned)."""
    from tui.commands._safety import printable

    # escape control characters first, so the columns line up with what is shown
    headers = [printable(h) for h in headers]
    rows = [[printable(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def fmt_money(x: float | None) -> str:
    return "" if x is None else f"{x:,.0f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x * 100:.{digits}f} %"


def fmt_num(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:,.{digits}f}"


# ---------------------------------------------------------------- the command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="print the segment profiles of a model",
        description=(
            "Assign every account of WORKSPACE to a segment of model NAME and print one\n"
            "row per segment: accounts, revenue, margin %, average order value, mean\n"
            "frequency, median recency, growth and NRR. 'segscope models WORKSPACE' lists\n"
            "the models."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    parser.add_argument("--model", required=True, metavar="NAME", help="the model to apply")
    parser.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD (default: "
                        "the day after the last transaction)")  # fmt: skip
    parser.add_argument(
        "--traits",
        type=int,
        default=0,
        metavar="N",
        help="also show the N strongest distinguishing traits of each segment",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def with_forward_columns(
    frame: pl.DataFrame, transactions: pl.DataFrame, as_of: dt.date, model: SegmentationModel
) -> pl.DataFrame:
    """``frame`` with CLV (and potential) when a dimension of ``model`` bins CLV.

    The per-account frame has no CLV column; the workbench fits it on screen 7,
    the command line fits it here (seconds on a few thousand customers).
    """
    from core.forward_dimensions import ClvDimension

    if "clv" in frame.columns or not any(isinstance(d, ClvDimension) for d in model.dimensions):
        return frame
    from core.forward_frame import add_forward_columns, forward_columns

    return add_forward_columns(frame, forward_columns(frame, transactions, as_of=as_of))


def compute_profiles(ws: Any, model_name: str, as_of: dt.date | None) -> dict[str, Any]:
    from core.profile import segment_profiles
    from core.segment import assign_segments

    model, _ = load_model(ws, model_name)
    frame, transactions, as_of = build_frame(ws, as_of)
    frame = with_forward_columns(frame, transactions, as_of, model)
    assignments = assign_segments(frame, model)
    profiles = segment_profiles(
        frame, assignments, bridge_accounts=bridge_accounts(transactions, as_of), total=True
    )
    from core.periods import shift_months

    note = partial_history_note(transactions, shift_months(as_of, -24),
                                shift_months(as_of, -12), "the previous year")
    return {"model": model, "as_of": as_of, "profiles": profiles, "frame": frame,
            "assignments": assignments, "notes": [note] if note else []}  # fmt: skip


def traits_by_segment(result: dict[str, Any], limit: int) -> dict[str, list[str]]:
    """The ``limit`` strongest trait phrases per segment (the model's own columns excluded)."""
    from core.profile import segment_traits

    if limit <= 0:
        return {}
    model: SegmentationModel = result["model"]
    own = {c for d in model.dimensions for c in d.columns()}
    traits = segment_traits(result["frame"], result["assignments"], exclude=own, limit=limit)
    out: dict[str, list[str]] = {
        s: [] for s in result["profiles"]["segment"].to_list() if s != "All accounts"
    }
    for seg, phrase in traits.select("segment", "phrase").iter_rows():
        out.setdefault(seg, []).append(phrase)
    return out


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.traits <= 1_000:
        raise UsageError(f"--traits must be from 0 to 1,000, got {args.traits}")
    as_of = parse_date(args.as_of)
    with open_workspace(args.workspace) as ws:
        result = compute_profiles(ws, args.model, as_of)
    profiles: pl.DataFrame = result["profiles"]
    traits = traits_by_segment(result, args.traits)
    if args.json:
        payload = {
            "model": result["model"].name,
            "as_of": result["as_of"].isoformat(),
            "accounts": result["frame"].height,
            "dimensions": [d.name for d in result["model"].dimensions],
            "segments": rows_as_json(profiles.filter(pl.col("segment") != "All accounts")),
            "total": rows_as_json(profiles.filter(pl.col("segment") == "All accounts"))[0],
            "notes": result["notes"],
        }
        if args.traits:
            for row in payload["segments"]:
                row["traits"] = traits.get(row["segment"], [])
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    headers = ["Segment", "Accounts", "% acc", "Revenue", "% rev", "Margin %", "AOV",
               "Freq", "Recency d", "Growth", "NRR"]  # fmt: skip
    rows = [
        [
            r["segment"],
            f"{r['accounts']:,}",
            fmt_pct(r["account_share"]),
            fmt_money(r["revenue"]),
            fmt_pct(r["revenue_share"]),
            fmt_pct(r["margin_pct"]),
            fmt_money(r["avg_order_value"]),
            fmt_num(r["frequency"]),
            fmt_num(r["recency_days"], 0),
            fmt_pct(r["growth"]),
            fmt_pct(r["nrr"], 0),
        ]  # fmt: skip
        for r in profiles.to_dicts()
    ]
    print(f"model {result['model'].name!r}, as of {result['as_of'].isoformat()}")
    print(render_table(headers, rows, right=set(range(1, len(headers)))))
    for note in result["notes"]:
        print(f"note: {note}")
    if traits:
        print("\ndistinguishing traits (strongest first):")
        for seg, phrases in traits.items():
            print(f"  {seg}: {'; '.join(phrases) if phrases else '(none stand out)'}")
    return 0
