"""``segscope targets WORKSPACE --model NAME``: segment attractiveness, ranking, target list."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import polars as pl

from core.errors import UsageError
from tui.commands._safety import add_force, check_out, out_options

DESCRIPTION = """\
Rank the segments of a model by attractiveness: a weighted sum of criteria
scaled 0-1 across segments (size = revenue, growth, profitability =
margin_pct, headroom from the potential model) and the analyst's 1-5 scores
(accessibility, competitive_intensity, fit) stored with the segments. The
position is the segment's share of wallet; the suggested status (target /
maintain / lean) comes from attractiveness x position.

Weights come from --weights, else the ones saved for the model, else the
defaults. --out writes the accounts of the target segments (stored status, or
the suggested one where none is stored) with priority = headroom x fit (fit =
the segment's attractiveness), for a CRM import.
"""

EPILOG = """examples:
  segscope targets ws.segscope --model "Value x Potential"
  segscope targets ws.segscope --model RFM --weights growth=3,headroom=2 --save-weights
  segscope targets ws.segscope --model RFM --out targets.xlsx
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "targets",
        help="segment attractiveness ranking and the target account list",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("--model", metavar="NAME", required=True, help="the segmentation model")
    parser.add_argument("--weights", metavar="K=V,...",
                        help="criterion weights, e.g. size=1,growth=2,headroom=2,fit=1")
    parser.add_argument("--save-weights", action="store_true",
                        help="store the weights with the model for next time")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--out", metavar="FILE",
                        help="write the target accounts with priority (.csv, .xlsx, .parquet)")
    add_force(parser)
    parser.set_defaults(handler=run)


WEIGHT_MAX = 1000.0


def parse_weights(text: str) -> dict[str, float]:
    from core.targeting import ANALYST_CRITERIA, DATA_CRITERIA

    known = set(DATA_CRITERIA) | set(ANALYST_CRITERIA)
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise UsageError(f"--weights: {part!r} is not NAME=NUMBER with NAME one of "
                             f"{', '.join(sorted(known))}")
        try:
            out[name] = float(value)
        except ValueError:
            raise UsageError(f"--weights: {value!r} is not a number (in {part!r})") from None
        if not 0 <= out[name] <= WEIGHT_MAX:  # also refuses nan and inf
            raise UsageError(
                f"--weights: {part!r} is out of range; a weight is a number from 0"
                f" to {WEIGHT_MAX:g}"
            )
    return out


def weights_key(model: str) -> str:
    return f"targeting.weights.{model}"


def analyst_scores(ws: Any, model: str) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    notes = ws.get_segment_annotations(model)
    scores: dict[str, dict[str, float]] = {}
    status: dict[str, str] = {}
    for seg, text, st in notes.select("segment", "scores_json", "status").iter_rows():
        if text:
            scores[seg] = {k: v for k, v in json.loads(text).items() if v is not None}
        if st:
            status[seg] = st
    return scores, status


def rank_segments(
    result: dict[str, Any], weights: dict[str, float], scores: dict[str, dict[str, float]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Any]:
    """The segments of ``result`` (``compute_profiles``) ranked by attractiveness.

    The profiles gain TAM, headroom and share of wallet from a potential fit;
    analyst scores of segments the model no longer has are dropped. Returns the
    ranking, those profiles, the assignments (segment as text) and the fit.
    Shared by ``segscope targets`` and ``segscope export crm``.
    """
    from core.potential import fit_potential, tam_by_segment
    from core.targeting import segment_attractiveness

    assignments = result["assignments"].with_columns(pl.col("segment").cast(pl.Utf8))
    profiles = result["profiles"].with_columns(pl.col("segment").cast(pl.Utf8)).filter(
        pl.col("segment") != "All accounts")
    pot = fit_potential(result["frame"])
    tam = tam_by_segment(pot.frame, assignments)
    profiles = profiles.join(tam.select("segment", "tam", "headroom", "share_of_wallet"),
                             on="segment", how="left", maintain_order="left")
    known = set(profiles["segment"].to_list())
    ranking = segment_attractiveness(profiles, weights,
                                     {s: v for s, v in scores.items() if s in known})
    return ranking, profiles, assignments, pot


def run(args: argparse.Namespace) -> int:
    from core.targeting import DEFAULT_WEIGHTS, account_priority
    from storage.export import write_frame
    from tui.commands.segment import (
        compute_profiles,
        fmt_money,
        fmt_pct,
        open_workspace,
        parse_date,
        render_table,
        rows_as_json,
    )

    if args.weights:
        parse_weights(args.weights)  # a bad flag is refused before any work
    check_out(args, args.out)
    with open_workspace(args.workspace) as ws:
        saved = ws.get_setting(weights_key(args.model))
        weights = dict(DEFAULT_WEIGHTS, **(saved or {}))
        if args.weights:
            weights.update(parse_weights(args.weights))
        result = compute_profiles(ws, args.model, parse_date(args.as_of))
        scores, stored_status = analyst_scores(ws, args.model)
        if args.save_weights:
            ws.set_setting(weights_key(args.model), weights)
    frame = result["frame"]
    ranking, profiles, assignments, pot = rank_segments(result, weights, scores)
    ranking = ranking.join(
        profiles.select("segment", "accounts", "revenue", "tam", "headroom"), on="segment",
        how="left", maintain_order="left",
    ).with_columns(
        pl.col("segment").replace_strict(stored_status, default=None, return_dtype=pl.Utf8)
        .alias("status")
    ).sort("rank")
    if args.json:
        print(json.dumps({"model": args.model, "as_of": result["as_of"].isoformat(),
                          "weights": weights, "potential": pot.report.as_dict(),
                          "segments": rows_as_json(ranking)}, indent=2))
    else:
        print(f"model {args.model!r}, weights: "
              + ", ".join(f"{k}={v:g}" for k, v in weights.items()))
        rows = [
            [str(r["rank"]), r["segment"], f"{r['attractiveness']:.3f}", f"{r['accounts']:,}",
             fmt_money(r["revenue"]), fmt_money(r["headroom"]), fmt_pct(r["position"]),
             r["suggested_status"], r["status"] or ""]
            for r in ranking.iter_rows(named=True)
        ]
        print(render_table(["rank", "segment", "attract.", "accounts", "revenue", "headroom",
                            "SoW", "suggested", "status"], rows, right={0, 2, 3, 4, 5, 6}))
    if args.out:
        status = ranking.select(
            "segment", "attractiveness",
            pl.coalesce("status", "suggested_status").alias("effective_status"),
        )
        targets = status.filter(pl.col("effective_status") == "target")
        accounts = (
            assignments.select("account_id", "segment")
            .join(targets, on="segment", how="inner")
            .join(pot.frame.select("account_id", "potential", "headroom", "share_of_wallet"),
                  on="account_id", how="left")
            .rename({"attractiveness": "fit"})
        )
        prio = account_priority(accounts)
        out = prio.join(accounts.select("account_id", "segment", "potential",
                                        "share_of_wallet"), on="account_id", how="left",
                        maintain_order="left")
        if "name" in frame.columns:
            out = out.join(frame.select("account_id", "name"), on="account_id", how="left",
                           maintain_order="left")
        front = ["priority_rank", "account_id"] + (["name"] if "name" in out.columns else [])
        out = out.select(front + [c for c in out.columns if c not in front])
        path = write_frame(out, args.out, **out_options(args))
        print(f"{out.height:,} accounts of {targets.height} target segments written to {path}",
              file=sys.stderr)
    return 0
