"""``segscope persona draft|list|show|set|delete``: personas per segment.

``draft`` fills a persona from the data (core.persona.draft_persona); on a
segment that already has one, it refreshes only the fields still as drafted
(an analyst's edits are kept) and says when the data has moved away from the
persona's draft. ``set`` is the analyst's edit: the field stops being drafted.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.errors import UsageError
from tui.commands._safety import ID_MAX, int_in
from tui.commands.segment import open_workspace, parse_date

EPILOG = """examples:
  segscope persona draft ws.segscope --model "Sales logic" --segment Complex
  segscope persona draft ws.segscope --model "Sales logic" --all
  segscope persona list ws.segscope
  segscope persona show ws.segscope 1 --drift
  segscope persona set ws.segscope 1 people.quote "We buy partners, not parts."
  segscope persona set ws.segscope 1 people.goals "uptime; fewer suppliers"
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "persona",
        help="personas per segment: draft from data, list, show, edit",
        description=(
            "Personas describe a segment's business and the people in its buying centre.\n"
            "'draft' fills one from the data; fields stay marked as drafted until edited\n"
            "with 'set', and a later 'draft' never overwrites an edited field. Fields:\n"
            "name, business.<field>, people.<field> ('show' lists them)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="persona_command", metavar="ACTION", required=True)

    p = sub.add_parser("draft", help="draft (or refresh) a segment's persona from the data")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument("--model", required=True, metavar="NAME")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--segment", help="the segment")
    target.add_argument("--all", action="store_true", help="every segment of the model")
    p.add_argument(
        "--new",
        action="store_true",
        help="add another persona instead of refreshing the segment's first one",
    )
    p.add_argument("--as-of", metavar="DATE", help="analysis date YYYY-MM-DD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_draft)

    p = sub.add_parser("list", help="list personas")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument("--model", metavar="NAME", help="only this model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_list)

    p = sub.add_parser("show", help="show one persona (drafted fields are marked)")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument("id", type=int_in(1, ID_MAX))
    p.add_argument(
        "--drift",
        action="store_true",
        help="recompute the draft and say whether the data has moved away from it",
    )
    p.add_argument("--as-of", metavar="DATE", help="analysis date for --drift")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_show)

    p = sub.add_parser("set", help="edit one field (list fields: values separated by ';')")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument("id", type=int_in(1, ID_MAX))
    p.add_argument("field", help="name, business.<field> or people.<field>")
    p.add_argument("value")
    p.set_defaults(handler=run_set)

    p = sub.add_parser("delete", help="delete a persona")
    p.add_argument("workspace", metavar="WORKSPACE")
    p.add_argument("id", type=int_in(1, ID_MAX))
    p.set_defaults(handler=run_delete)


def _draft(ctx: Any, segment: str, contacts: Any) -> Any:
    from core.persona import draft_persona

    own = {c for d in ctx.model.dimensions for c in d.columns()}
    return draft_persona(ctx.frame, ctx.assignments, segment, contacts, exclude=own)


def run_draft(args: argparse.Namespace) -> int:
    from core.persona import draft_drift, merge_draft
    from storage.plans import list_personas, save_persona
    from tui.commands.plan import check_segment, segment_context

    results = []
    with open_workspace(args.workspace) as ws:
        ctx = segment_context(ws, args.model, parse_date(args.as_of))
        segments = ctx.segments if args.all else [check_segment(ctx, args.segment)]
        contacts = ws.load_contacts()
        for segment in segments:
            draft = _draft(ctx, segment, contacts)
            existing = [] if args.new else list_personas(ws, ctx.model.name, segment)
            if existing:
                old = existing[0]
                drift = draft_drift(old.persona, draft)
                merged = merge_draft(old.persona, draft)
                pid = save_persona(ws, ctx.model.name, merged, old.id)
                kept = sorted(_edited(old.persona))
                results.append(
                    {
                        "id": pid,
                        "segment": segment,
                        "action": "refreshed",
                        "name": merged.name,
                        "kept_edits": kept,
                        "drift": drift,
                    }
                )
            else:
                pid = save_persona(ws, ctx.model.name, draft)
                results.append(
                    {
                        "id": pid,
                        "segment": segment,
                        "action": "drafted",
                        "name": draft.name,
                        "kept_edits": [],
                        "drift": [],
                    }
                )
    if args.json:
        print(
            json.dumps({"model": ctx.model.name, "personas": results}, indent=2, ensure_ascii=False)
        )
        return 0
    for r in results:
        line = f"persona {r['id']} {r['action']}: {r['name']} (segment {r['segment']})"
        if r["kept_edits"]:
            line += f"; kept your edits of {', '.join(r['kept_edits'])}"
        print(line)
        for note in r["drift"]:
            print(f"  data moved since the last draft: {note}")
    return 0


def _edited(persona: Any) -> set[str]:
    from core.persona import PERSONA_FIELDS

    present = (
        {"name"}
        | {f"business.{k}" for k in persona.business}
        | {f"people.{k}" for k in persona.people}
    )
    return {p for p in present if p not in persona.drafted and (p in PERSONA_FIELDS)}


def run_list(args: argparse.Namespace) -> int:
    from storage.plans import list_personas

    with open_workspace(args.workspace) as ws:
        personas = list_personas(ws, args.model)
    rows = [
        {
            "id": s.id,
            "model": s.model_name,
            "segment": s.persona.segment,
            "name": s.persona.name,
            "drafted_fields": len(s.persona.drafted),
            "updated_at": s.updated_at,
        }
        for s in personas
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no personas yet ('segscope persona draft' drafts one from the data)")
        return 0
    from tui.commands.segment import render_table

    table = [
        [str(r["id"]), r["model"], r["segment"], r["name"], str(r["drafted_fields"])] for r in rows
    ]
    print(render_table(["Id", "Model", "Segment", "Name", "Drafted"], table, right={0, 4}))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from core.persona import draft_drift, persona_to_dict
    from storage.plans import get_persona

    drift: list[str] | None = None
    with open_workspace(args.workspace) as ws:
        stored = get_persona(ws, args.id)
        if args.drift:
            from tui.commands.plan import segment_context

            ctx = segment_context(ws, stored.model_name, parse_date(args.as_of))
            if stored.persona.segment not in ctx.segments:
                drift = [f"segment {stored.persona.segment!r} is no longer in the model"]
            else:
                draft = _draft(ctx, stored.persona.segment, ws.load_contacts())
                drift = draft_drift(stored.persona, draft)
    p = stored.persona
    if args.json:
        payload = {"id": stored.id, "model": stored.model_name, **persona_to_dict(p)}
        if drift is not None:
            payload["drift"] = drift
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    print(f"persona {stored.id}: {p.name}{'  (drafted)' if p.is_drafted('name') else ''}")
    print(f"model {stored.model_name!r}, segment {p.segment!r}, updated {stored.updated_at}")
    for section in ("business", "people"):
        print(f"\n{section}:")
        for key, value in getattr(p, section).items():
            text = "; ".join(map(str, value)) if isinstance(value, list) else value
            mark = "  (drafted)" if p.is_drafted(f"{section}.{key}") else ""
            print(f"  {section}.{key}: {'' if text is None else text}{mark}")
    if drift is not None:
        print()
        if drift:
            print("the data has moved away from this persona's draft:")
            for note in drift:
                print(f"  - {note}")
        else:
            print("the data still matches this persona's draft")
    return 0


def run_set(args: argparse.Namespace) -> int:
    from core.persona import edit_persona
    from storage.plans import get_persona, save_persona

    with open_workspace(args.workspace) as ws:
        stored = get_persona(ws, args.id)
        current = stored.persona.get(args.field) if args.field != "name" else stored.persona.name
        value: Any = args.value
        if isinstance(current, list):
            value = [v.strip() for v in args.value.split(";") if v.strip()]
        try:
            edited = edit_persona(stored.persona, args.field, value)
        except UsageError as exc:
            raise UsageError(f"persona {args.id}: {exc}") from None
        save_persona(ws, stored.model_name, edited, stored.id)
    print(f"persona {args.id}: {args.field} set (kept on later drafts; segscope undo reverts)")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from storage.plans import delete_persona

    with open_workspace(args.workspace) as ws:
        delete_persona(ws, args.id)
    print(f"persona {args.id} deleted (segscope undo brings it back)")
    return 0
