"""``segscope explain WORKSPACE ACCOUNT [--model NAME]``: why an account is in its segment."""

from __future__ import annotations

import argparse
import difflib
import json
from typing import Any

import polars as pl

from core.errors import SegscopeError

DESCRIPTION = """\
For each dimension of the model, the level the account has and the value or
rule that put it there (DOMAIN.md "Why an account is where it is"): ABC its
measure and the share of the accounts ranked above it; RFM its R, F, M scores,
their values and the grid row; bins the value and the bin edges; rules the
first rule that matched, with its condition; clusters the features that pull
it to its centre rather than the runner-up's. Each explanation is recomputed
from the dimension's own rule and checked against the level it assigns.
Without --model: the model the workbench last used, else the first model.
"""

EPILOG = """examples:
  segscope explain ws.segscope ACC-0000042
  segscope explain ws.segscope ACC-0000042 --model "Value x Potential" --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="why an account is in its segment: per dimension the level and its reason",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file (.segscope)")
    parser.add_argument("account", metavar="ACCOUNT", help="the account id")
    parser.add_argument("--model", metavar="NAME",
                        help="the segmentation model (default: the workbench's active model)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="analysis date YYYY-MM-DD (default: day after the last transaction)")
    parser.add_argument("--ideal", metavar="EXPR",
                        help="also explain the account's lookalike score against the ideal "
                             "customers EXPR (as 'segscope lookalikes --ideal'): the fitted "
                             "logistic regression's contribution of each feature")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=run)


def _default_model(ws: Any) -> str:
    from tui.commands.segment import seed_starter_models

    seed_starter_models(ws)
    names = [name for name, _ in ws.list_models()]
    remembered = ws.get_setting("tui.active_model")
    if isinstance(remembered, str) and remembered in names:
        return remembered
    if not names:  # pragma: no cover - starter models are seeded above
        raise SegscopeError(f"{ws.path} has no segmentation model")
    return sorted(names)[0]


def _check_account(frame: pl.DataFrame, account: str, path: Any) -> None:
    ids = frame["account_id"].cast(pl.String)
    if (ids == account).any():
        return
    near = difflib.get_close_matches(account, ids.to_list(), n=3)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    raise SegscopeError(f"no account {account!r} in {path} ({frame.height:,} accounts){hint}")


def run(args: argparse.Namespace) -> int:
    from core.explain import explain_account
    from core.segment import assign_segments
    from tui.commands.segment import (
        build_frame,
        load_model,
        open_workspace,
        parse_date,
        plain,
        with_forward_columns,
    )

    with open_workspace(args.workspace) as ws:
        model_name = args.model or _default_model(ws)
        model, _ = load_model(ws, model_name)
        frame, transactions, as_of = build_frame(ws, parse_date(args.as_of))
        _check_account(frame, args.account, args.workspace)
        frame = with_forward_columns(frame, transactions, as_of, model)
    assignments = assign_segments(frame, model)
    row = int((frame["account_id"].cast(pl.String) == args.account).arg_true()[0])
    segment = assignments["segment"].cast(pl.String)[row]
    result = explain_account(frame, model, args.account, segment=segment)
    lookalike = _lookalike(frame, args.ideal, args.account) if args.ideal else None
    name = frame["name"][row] if "name" in frame.columns else None
    if args.json:
        payload = {"model": model.name, "as_of": as_of.isoformat(), "name": name,
                   **result.as_dict()}
        if lookalike is not None:
            payload["lookalike"] = {"ideal": args.ideal, **lookalike.as_dict()}
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=plain))
        return 0
    who = f"{name} ({args.account})" if name else args.account
    print(f"{who}: segment {segment!r} of model {model.name!r}, as of {as_of.isoformat()}")
    levels = " · ".join(d.level for d in result.dimensions)
    if segment != levels:
        print(f"  (its cell {levels!r} has fewer accounts than the model's minimum size, "
              f"so it is folded into {segment!r})")
    for d in result.dimensions:
        print(f"- {d.dimension} ({d.kind}): {d.level}")
        print(f"    {d.text}")
        if not d.agrees:
            print(f"    note: the dimension assigns {d.assigned!r}; this explanation does not "
                  "reproduce it")
        for f in d.features[:5]:
            std = f" standardised {f['standardised']:+.2f} (centre {f['centre']:+.2f}, " \
                  f"runner-up {f['runner_up_centre']:+.2f})" if "standardised" in f else ""
            print(f"      {f['feature']} = {plain(f['value'])}:{std} pull {f['pull']:+.2f}")
    if lookalike is not None:
        print(f"- lookalike to {args.ideal!r} (cross-validated ROC AUC "
              f"{lookalike.facts['cv_auc']:.3f}): {lookalike.level}")
        print(f"    {lookalike.text}")
        for f in lookalike.features[:8]:
            print(f"      {f['feature']} = {plain(f['value'])}: {f['contribution']:+.3f}")
    return 0


def _lookalike(frame: pl.DataFrame, ideal: str, account: str) -> Any:
    from core.explain import explain_lookalike
    from core.expr import compile_expression
    from core.lookalike import score_lookalikes

    mask = frame.select(compile_expression(ideal, frame.schema).fill_null(False)).to_series()
    return explain_lookalike(frame, score_lookalikes(frame, mask), account)
