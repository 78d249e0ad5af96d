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
            "frequency, median recency, growth and NRR; with the potential and CLV kept\n"
            "by 'segscope potential' / 'segscope clv' also share of wallet, headroom,\n"
            "average CLV and TAM. 'segscope models WORKSPACE' lists the models."
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


def potential_fit_params(as_of: dt.date, quantile: float = 0.8) -> dict[str, Any]:
    """The parameters a potential fit is kept under (``storage.fits``)."""
    return {"as_of": as_of, "quantile": quantile}


def clv_fit_params(
    calibration_end: dt.date, horizon_months: int = 24, annual_discount_rate: float = 0.10,
    count_zero_orders: bool = False,
) -> dict[str, Any]:
    """The parameters a CLV fit is kept under (``storage.fits``)."""
    return {"calibration_end": calibration_end, "horizon_months": horizon_months,
            "annual_discount_rate": annual_discount_rate,
            "count_zero_orders": count_zero_orders}  # fmt: skip


def keep_potential(ws: Any, res: Any, as_of: dt.date, quantile: float,
                   data_version: str | None = None) -> None:
    """Keep a ``core.potential`` result in the workspace for the data it was
    fitted on (``data_version``, default the current one) and its as-of date."""
    from storage.fits import save_fit

    save_fit(ws, "potential", potential_fit_params(as_of, quantile), res.report.as_dict(),
             res.frame.select(pl.col("account_id").cast(pl.Utf8), "potential",
                              "share_of_wallet", "headroom"),
             data_version=data_version)


def keep_clv(ws: Any, res: Any, data_version: str | None = None) -> None:
    """Keep a ``core.clv`` result in the workspace for the data it was fitted on
    and its parameters."""
    from storage.fits import save_fit

    params = clv_fit_params(res.calibration_end, res.horizon_months, res.annual_discount_rate,
                            res.zero_amount_is_purchase)
    save_fit(ws, "clv", params, res.describe(),
             res.frame.select(pl.col("account_id").cast(pl.Utf8), "clv", "p_alive"),
             data_version=data_version)


def with_kept_fits(ws: Any, frame: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """``frame`` with the potential (share of wallet, headroom) and CLV columns of
    the fits kept in the workspace for the current data: the potential fitted at
    ``as_of``, the CLV calibrated to the day before it (the newest of each), so
    profiles, KPIs, exports and runs use them without a refit."""
    from core.forward_frame import FORWARD_COLUMNS, add_forward_columns
    from storage.fits import load_fit

    if ws is None:
        return frame
    pot = load_fit(ws, "potential", where={"as_of": as_of})
    clv = load_fit(ws, "clv", where={"calibration_end": as_of - dt.timedelta(days=1)})
    if pot is None and clv is None:
        return frame
    fwd = frame.select(pl.col("account_id").cast(pl.Utf8))
    for fit in (pot, clv):
        if fit is not None:
            fwd = fwd.join(fit.frame, on="account_id", how="left", maintain_order="left")
    keep = [c for c in FORWARD_COLUMNS if c in fwd.columns]
    # columns already on the frame (a fit of this run) win over kept ones
    have = [c for c in keep if c in frame.columns]
    merged = add_forward_columns(frame, fwd.select("account_id", *keep))
    if have:
        merged = merged.with_columns(frame.select(have))
    return merged


def with_forward_columns(
    frame: pl.DataFrame, transactions: pl.DataFrame, as_of: dt.date, model: SegmentationModel,
    ws: Any = None,
) -> pl.DataFrame:
    """``frame`` with the potential and CLV columns kept in the workspace (``ws``,
    see ``with_kept_fits``), and with CLV (and potential) fitted here when a
    dimension of ``model`` bins CLV and no fit is kept (then kept for next time).

    The per-account frame has no CLV column; the workbench fits it on screen 7,
    the command line fits it here (seconds on a few thousand customers).
    """
    from core.forward_dimensions import ClvDimension

    frame = with_kept_fits(ws, frame, as_of)
    if "clv" in frame.columns or not any(isinstance(d, ClvDimension) for d in model.dimensions):
        return frame
    from core.forward_frame import add_forward_columns, forward_columns

    forward = forward_columns(frame, transactions, as_of=as_of)
    if ws is not None:
        if forward.potential is not None:
            keep_potential(ws, forward.potential, as_of, forward.potential.report.quantile)
        if forward.clv is not None:
            keep_clv(ws, forward.clv)
    return add_forward_columns(frame, forward)


def compute_profiles(ws: Any, model_name: str, as_of: dt.date | None) -> dict[str, Any]:
    from core.profile import segment_profiles
    from core.segment import assign_segments

    model, _ = load_model(ws, model_name)
    frame, transactions, as_of = build_frame(ws, as_of)
    frame = with_forward_columns(frame, transactions, as_of, model, ws)
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


def cluster_reports(result: dict[str, Any]) -> list[dict[str, Any]]:
    """For each cluster dimension of the model: the chosen k, how it was chosen,
    the silhouette per k and each cluster's name, size and traits (the fit is
    the one ``assign_segments`` just made, from ``core.cluster``'s cache)."""
    from core.forward_dimensions import ClusterDimension

    out = []
    for dim in result["model"].dimensions:
        if isinstance(dim, ClusterDimension):
            fit = dim.fit(result["frame"])
            out.append({"dimension": dim.name,
                        "chosen_by": "given" if dim.k is not None else "silhouette",
                        **fit.as_dict()})  # fmt: skip
    return out


def cluster_lines(reports: list[dict[str, Any]]) -> list[str]:
    lines = []
    for rep in reports:
        how = ("k given" if rep["chosen_by"] == "given"
               else "k with the best silhouette")  # fmt: skip
        sil = ", ".join(f"k={k}: {v:.3f}" for k, v in rep["silhouette"].items())
        lines.append(f"cluster dimension {rep['dimension']!r}: k = {rep['k']} ({how}); "
                     f"silhouette {sil}")
        for c in rep["clusters"]:
            traits = "; ".join(c["traits"]) or "(none stand out)"
            lines.append(f"  {c['name']} ({c['size']:,}): {traits}")
    return lines


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.traits <= 1_000:
        raise UsageError(f"--traits must be from 0 to 1,000, got {args.traits}")
    as_of = parse_date(args.as_of)
    with open_workspace(args.workspace) as ws:
        result = compute_profiles(ws, args.model, as_of)
    profiles: pl.DataFrame = result["profiles"]
    traits = traits_by_segment(result, args.traits)
    clusters = cluster_reports(result)
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
        if clusters:
            payload["clusters"] = clusters
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
    # the kept (or just fitted) potential and CLV: share of wallet, headroom, CLV, TAM
    forward = [(c, h, f) for c, h, f in (
        ("share_of_wallet", "SoW", fmt_pct), ("headroom", "Headroom", fmt_money),
        ("clv", "Avg CLV", fmt_money), ("tam", "TAM", fmt_money),
    ) if c in profiles.columns]  # fmt: skip
    if forward:
        headers += [h for _, h, _ in forward]
        for row, r in zip(rows, profiles.to_dicts(), strict=True):
            row += [f(r[c]) for c, _, f in forward]
    print(f"model {result['model'].name!r}, as of {result['as_of'].isoformat()}")
    print(render_table(headers, rows, right=set(range(1, len(headers)))))
    for note in result["notes"]:
        print(f"note: {note}")
    if clusters:
        print()
        print("\n".join(cluster_lines(clusters)))
    if traits:
        print("\ndistinguishing traits (strongest first):")
        for seg, phrases in traits.items():
            print(f"  {seg}: {'; '.join(phrases) if phrases else '(none stand out)'}")
    return 0
