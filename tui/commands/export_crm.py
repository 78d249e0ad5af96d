"""``segscope export crm WORKSPACE --for salesforce|hubspot|dynamics --model NAME --out FILE``.

One row per account with what the sales team acts on: the account id in the
column the CRM matches records by, the segment, each dimension's level, the
segment's target status, the account's priority (headroom x fit), potential
and CLV, under column names that each CRM's import tool maps without manual
work. The conventions behind the names (facts about the tools, as of 2026):

- Salesforce (Data Import Wizard, Data Loader): a custom field's API name ends
  in ``__c`` and may hold letters, digits and single underscores, starting with
  a letter, at most 40 characters; records are updated ("upsert") by matching
  a field marked *External ID* (or the 18-character record Id). Headers equal
  to the API names map automatically.
- HubSpot (Import, companies): a column maps automatically when its header
  equals a property's label or internal name (lower case, underscores);
  existing companies are updated by matching *Record ID*, the company domain,
  or a custom property that requires unique values.
- Microsoft Dynamics 365 / Dataverse (Import Data wizard, or Power Query
  dataflows): a custom column's logical name starts with the solution
  publisher's prefix (``new_`` for the default publisher) and is lower case;
  the wizard maps a header equal to a column's display or logical name;
  updates match an *alternate key*; the standard Account Number column
  (``accountnumber``) is the usual key for an account number from another
  system.

The names are defaults: ``--id-column`` names the id column the CRM holds
(e.g. ``Id`` when the account ids came from a Salesforce export). How to load
the file: README, "Results back into the CRM".
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

import polars as pl

from core.errors import UsageError
from tui.commands._safety import add_force, check_out, out_options


@dataclass(frozen=True)
class CrmConvention:
    """How one CRM's import tool names the columns segscope writes."""

    id_column: str
    prefix: str
    suffix: str
    lower: bool
    max_len: int

    def field(self, name: str) -> str:
        """A field name for ``name`` under this CRM's naming rules."""
        words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w] or ["field"]
        if not words[0][0].isalpha():
            words.insert(0, "x")
        base = "_".join(w.lower() if self.lower else w[:1].upper() + w[1:] for w in words)
        room = self.max_len - len(self.prefix) - len(self.suffix)
        return f"{self.prefix}{base[:room].rstrip('_')}{self.suffix}"


CRMS: dict[str, CrmConvention] = {
    "salesforce": CrmConvention("External_ID__c", "", "__c", lower=False, max_len=40),
    "hubspot": CrmConvention("segscope_account_id", "segscope_", "", lower=True, max_len=100),
    "dynamics": CrmConvention("accountnumber", "new_", "", lower=True, max_len=50),
}

# The fields every export carries, in this order, after the id and before the levels.
FIELDS = ("segment", "target_status", "priority", "priority_rank", "potential", "clv")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-crm",
        help="write segments, target status, priority, potential and CLV for a CRM import "
        "(also: 'segscope export crm ...')",
        description=(
            "One row per account: the account id in the CRM's matching column, segment,\n"
            "each dimension's level, target status, priority, potential and CLV, named as\n"
            "the chosen CRM's import tool expects. README: 'Results back into the CRM'."
        ),
        epilog=(
            "examples:\n"
            "  segscope export crm ws.segscope --for salesforce --model RFM --out sf.csv\n"
            "  segscope export crm ws.segscope --for hubspot --model RFM --out hs.csv\n"
            "  segscope export crm ws.segscope --for salesforce --id-column Id --model RFM "
            "--out sf.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workspace", metavar="WORKSPACE", help="the workspace file")
    parser.add_argument("--for", dest="crm", required=True, choices=sorted(CRMS),
                        help="the CRM whose import conventions to follow")
    parser.add_argument("--model", required=True, metavar="NAME", help="the model to apply")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .csv or .xlsx")
    parser.add_argument("--id-column", metavar="NAME",
                        help="the CRM column holding segscope's account ids (default: "
                        + ", ".join(f"{k} {v.id_column}" for k, v in sorted(CRMS.items())) + ")")
    parser.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD")
    add_force(parser)
    parser.set_defaults(handler=run)


def crm_table(
    assignments: pl.DataFrame,
    dimensions: list[str],
    status: pl.DataFrame,
    priority: pl.DataFrame,
    potential: pl.DataFrame,
    clv: pl.DataFrame,
    convention: CrmConvention,
    id_column: str | None = None,
) -> pl.DataFrame:
    """The CRM file: one row per row of ``assignments`` (account_id, the
    ``dimensions`` and segment), joined with ``status`` (segment,
    target_status), ``priority`` (account_id, priority, priority_rank),
    ``potential`` (account_id, potential) and ``clv`` (account_id, clv); names
    after ``convention``. Levels follow the fixed fields, one column each."""
    base = assignments.select(
        pl.col("account_id").cast(pl.Utf8),
        pl.col("segment").cast(pl.Utf8),
        *(pl.col(d).cast(pl.Utf8).alias(f"level {d}") for d in dimensions),
    )
    table = (
        base.join(status, on="segment", how="left", maintain_order="left")
        .join(priority, on="account_id", how="left", maintain_order="left")
        .join(potential, on="account_id", how="left", maintain_order="left")
        .join(clv, on="account_id", how="left", maintain_order="left")
    )
    names = {"account_id": id_column or convention.id_column}
    names.update({f: convention.field(f) for f in FIELDS})
    names.update({f"level {d}": convention.field(f"level {d}") for d in dimensions})
    taken: dict[str, str] = {}
    for source, target in names.items():
        if target in taken:
            raise UsageError(
                f"{source!r} and {taken[target]!r} both become CRM column {target!r}; "
                "rename a dimension of the model"
            )
        taken[target] = source
    order = ["account_id", *FIELDS, *(f"level {d}" for d in dimensions)]
    # currency and number fields take two decimals
    money = {"priority", "potential", "clv"}
    return table.select(
        (pl.col(c).cast(pl.Float64).round(2) if c in money else pl.col(c)).alias(names[c])
        for c in order
    )


def run(args: argparse.Namespace) -> int:
    from core.clv import customer_lifetime_value
    from core.targeting import DEFAULT_WEIGHTS, account_priority
    from storage.export import write_frame
    from tui.commands.segment import compute_profiles, open_workspace, parse_date
    from tui.commands.targets import analyst_scores, rank_segments, weights_key

    if not str(args.out).lower().endswith((".csv", ".xlsx")):
        raise UsageError(f"--out {args.out}: a CRM import reads .csv or .xlsx")
    check_out(args, args.out)
    convention = CRMS[args.crm]
    with open_workspace(args.workspace) as ws:
        weights = dict(DEFAULT_WEIGHTS, **(ws.get_setting(weights_key(args.model)) or {}))
        result = compute_profiles(ws, args.model, parse_date(args.as_of))
        scores, stored_status = analyst_scores(ws, args.model)
        transactions = ws.load_transactions()
    assignments = result["assignments"]
    # Target status and priority as 'segscope targets' computes them: the
    # stored status, else the suggestion from attractiveness x position.
    ranking, _profiles, segments, pot = rank_segments(result, weights, scores)
    status = ranking.select(
        "segment",
        pl.coalesce(
            pl.col("segment").replace_strict(stored_status, default=None, return_dtype=pl.Utf8),
            "suggested_status",
        ).alias("target_status"),
        "attractiveness",
    )
    fit = segments.select("account_id", "segment").join(status, on="segment", how="left")
    fit = fit.join(pot.frame.select("account_id", "headroom"), on="account_id", how="left")
    priority = account_priority(fit.rename({"attractiveness": "fit"})).select(
        "account_id", "priority", "priority_rank")
    if transactions.is_empty():
        clv = pl.DataFrame(schema={"account_id": pl.Utf8, "clv": pl.Float64})
    else:
        clv = customer_lifetime_value(transactions).frame.select(
            pl.col("account_id").cast(pl.Utf8), pl.col("clv").cast(pl.Float64))
    dims = [c for c in assignments.columns if c not in ("account_id", "segment")]
    table = crm_table(
        assignments, dims, status.select("segment", "target_status"), priority,
        pot.frame.select(pl.col("account_id").cast(pl.Utf8), "potential"), clv,
        convention, args.id_column,
    )
    path = write_frame(table, args.out, **out_options(args))
    print(f"{table.height:,} accounts written to {path} for a {args.crm} import "
          f"(matched on {table.columns[0]})", file=sys.stderr)
    return 0
