"""End to end through the CLI on a small generated workspace: personas, plans,
KPIs with live actuals, undo/redo, exports and the playbook, with the numbers
checked against a plain-Python computation from the generated CSV files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from sample_data.generate import GeneratorConfig, generate
from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace
from tui.cli import main

MODEL = "Sales logic"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path]:
    data = tmp_path_factory.mktemp("data")
    generate(GeneratorConfig(accounts=240, seed=11, transactions_per_customer=8), data)
    path = data / "base.segscope"
    with Workspace.create(path) as ws:
        for kind in ("accounts", "transactions", "contacts"):
            commit_import(ws, prepare_import(data / f"{kind}.csv", kind))
    return path, data


@pytest.fixture()
def ws_path(base, tmp_path: Path) -> Path:
    path = tmp_path / "ws.segscope"
    shutil.copy(base[0], path)
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def reference(data: Path) -> dict[str, Any]:
    """Accounts and window revenue per sales-logic segment, in plain Python:
    complex = customised offer, 5+ buying-centre members or high collaboration."""
    segment = {}
    with (data / "accounts.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            complex_ = (
                r["offer_type"].lower().startswith("custom")
                or int(r["buying_center_size"]) >= 5
                or r["collaboration"].lower().startswith("high")
            )
            segment[r["account_id"]] = "Complex" if complex_ else "Traditional"
    with (data / "transactions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    as_of = max(dt.date.fromisoformat(r["date"]) for r in rows) + dt.timedelta(days=1)
    start = as_of.replace(year=as_of.year - 1)
    out = {s: {"accounts": 0, "revenue": Decimal(0)} for s in ("Complex", "Traditional")}
    for s in segment.values():
        out[s]["accounts"] += 1
    per_account: dict[str, Decimal] = {}
    for r in rows:
        if start <= dt.date.fromisoformat(r["date"]) < as_of:
            cents = Decimal(r["amount"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            out[segment[r["account_id"]]]["revenue"] += cents
            per_account[r["account_id"]] = per_account.get(r["account_id"], Decimal(0)) + cents
    # Pareto: share of revenue of the top 20 % of the customers with revenue
    ranked = sorted((v for v in per_account.values() if v > 0), reverse=True)
    top = -(-len(ranked) * 20 // 100)  # ceil(20 % of them)
    out["pareto20"] = float(sum(ranked[:top]) / sum(ranked))
    return out


def md_tables(markdown: str) -> list[list[list[str]]]:
    found, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif current:
            found.append(current)
            current = []
    return found + ([current] if current else [])


def test_personas_draft_edit_redraft_and_drift(ws_path: Path, capsys) -> None:
    code, out, _ = cli(capsys, "persona", "draft", ws_path, "--model", MODEL, "--all", "--json")
    assert code == 0
    drafted = {p["segment"]: p for p in json.loads(out)["personas"]}
    assert set(drafted) == {"Complex", "Traditional"}
    pid = drafted["Complex"]["id"]
    code, out, _ = cli(
        capsys, "persona", "set", ws_path, pid, "people.quote", "Partners, not parts."
    )
    assert code == 0
    code, _, _ = cli(
        capsys, "persona", "set", ws_path, pid, "people.goals", "uptime; fewer suppliers"
    )
    assert code == 0
    code, out, _ = cli(
        capsys, "persona", "draft", ws_path, "--model", MODEL, "--segment", "Complex"
    )
    assert code == 0 and "kept your edits of people.goals, people.quote" in out
    code, out, _ = cli(capsys, "persona", "show", ws_path, pid, "--json", "--drift")
    shown = json.loads(out)
    assert shown["people"]["quote"] == "Partners, not parts."
    assert shown["people"]["goals"] == ["uptime", "fewer suppliers"]
    assert "people.quote" not in shown["drafted"] and "business.industry" in shown["drafted"]
    assert shown["business"]["sales_logic"].startswith("complex")
    assert shown["drift"] == []
    code, out, _ = cli(capsys, "persona", "list", ws_path)
    assert code == 0 and "Complex" in out and "Traditional" in out
    code, _, err = cli(capsys, "persona", "set", ws_path, pid, "colour", "red")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = cli(capsys, "persona", "draft", ws_path, "--model", MODEL, "--segment", "Nope")
    assert code == 2 and "segments: Complex, Traditional" in err


def test_plan_kpis_actuals_undo_redo_and_playbook(ws_path: Path, base, capsys, tmp_path) -> None:
    ref = reference(base[1])
    code, out, _ = cli(
        capsys,
        "plan",
        "set",
        ws_path,
        "--model",
        MODEL,
        "--segment",
        "Complex",
        "--objective",
        "grow",
        "--coverage-model",
        "key account manager",
        "--owner",
        '=HYPERLINK("x")',
        "--key-messages",
        "uptime | partnership",
    )
    assert code == 0
    code, _, err = cli(
        capsys,
        "plan",
        "set",
        ws_path,
        "--model",
        MODEL,
        "--segment",
        "Complex",
        "--objective",
        "conquer",
    )
    assert code == 1 and "objective 'conquer' is not one of" in err and "Traceback" not in err
    code, out, _ = cli(
        capsys,
        "plan",
        "kpi-add",
        ws_path,
        "--model",
        MODEL,
        "--segment",
        "Complex",
        "--metric",
        "revenue",
        "--target",
        "1e9",
        "--deadline",
        "2027-06-30",
        "--json",
    )
    assert code == 0
    added = json.loads(out)
    expected_revenue = float(ref["Complex"]["revenue"])
    assert added["baseline"] == pytest.approx(expected_revenue, abs=0.005)
    code, _, err = cli(
        capsys,
        "plan",
        "kpi-add",
        ws_path,
        "--model",
        MODEL,
        "--segment",
        "Complex",
        "--metric",
        "profit",
        "--target",
        "1",
    )
    assert code == 2 and "unknown KPI metric 'profit'" in err
    cli(
        capsys,
        "plan",
        "kpi-add",
        ws_path,
        "--model",
        MODEL,
        "--segment",
        "Complex",
        "--metric",
        "accounts",
        "--target",
        "1",
        "--direction",
        "at_most",
    )

    code, out, _ = cli(
        capsys,
        "plan",
        "kpis",
        ws_path,
        "--model",
        MODEL,
        "--today",
        "2026-11-22",
        "--json",
        "--trend",
    )
    kpis = {k["metric"]: k for k in json.loads(out)["kpis"]}
    assert kpis["revenue"]["actual"] == pytest.approx(expected_revenue, abs=0.005)
    assert kpis["accounts"]["actual"] == ref["Complex"]["accounts"]
    assert kpis["accounts"]["status"] == "off track"
    assert json.loads(out)["trend"] == []  # no frozen run yet
    code, _, _ = cli(capsys, "run", "save", ws_path, "--model", MODEL, "--label", "Q4")
    assert code == 0
    code, out, _ = cli(capsys, "plan", "kpis", ws_path, "--model", MODEL, "--json", "--trend")
    trend = [t for t in json.loads(out)["trend"] if t["metric"] == "revenue"]
    assert len(trend) == 1 and trend[0]["point"].startswith("run 1 (Q4)")
    assert trend[0]["actual"] == pytest.approx(expected_revenue, abs=0.005)

    # mark the target, then undo and redo that edit
    with Workspace.open(ws_path) as ws:
        ws.set_segment_annotation(MODEL, "Complex", status="target")
    code, out, _ = cli(capsys, "undo", ws_path)
    assert code == 0 and out.startswith("undid: segment")
    with Workspace.open(ws_path) as ws:
        assert ws.get_segment_annotations(MODEL).is_empty()  # the row did not exist before
    code, out, _ = cli(capsys, "redo", ws_path, "--json")
    assert json.loads(out)["done"] is True
    code, out, _ = cli(capsys, "redo", ws_path)
    assert out.strip() == "nothing to redo"

    md_path = tmp_path / "playbook.md"
    code, out, _ = cli(
        capsys,
        "playbook",
        ws_path,
        "--model",
        MODEL,
        "--out",
        md_path,
        "--targets-only",
        "--today",
        "2026-11-22",
    )
    assert code == 0, out
    md = md_path.read_text(encoding="utf-8")
    assert "## Segment: Complex" in md and "## Segment: Traditional" not in md
    assert "## All segments" not in md and "### Personas" in md
    tables = md_tables(md)
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table)
    overview = dict(tuple(r) for r in tables[0][2:])
    total = float(ref["Complex"]["revenue"] + ref["Traditional"]["revenue"])
    assert overview["Revenue (12 months)"] == f"{total:,.0f}"
    accounts = ref["Complex"]["accounts"] + ref["Traditional"]["accounts"]
    assert overview["Accounts"] == f"{accounts:,}"
    pareto = next(dict(tuple(r) for r in t[2:]) for t in tables if t[0][0] == "Customers")
    assert pareto["top 20.0 %"] == f"{ref['pareto20'] * 100:.1f} %"
    profile = next(dict(tuple(r) for r in t[2:]) for t in tables if t[0] == ["Metric", "Value"])
    assert profile["Revenue"] == f"{expected_revenue:,.0f}"
    assert profile["Accounts"] == f"{ref['Complex']['accounts']:,}"
    assert r"uptime \| partnership" in md
    kpi_table = next(t for t in tables if t[0][0] == "KPI")
    assert kpi_table[2][:3] == ["Revenue", "≥ 1,000,000,000", f"{expected_revenue:,.0f}"]

    html_path = tmp_path / "playbook.html"
    code, _, _ = cli(
        capsys,
        "playbook",
        ws_path,
        "--model",
        MODEL,
        "--out",
        html_path,
        "--targets-only",
        "--today",
        "2026-11-22",
    )
    page = html_path.read_text(encoding="utf-8")
    assert page.count("<table>") == len(tables)
    assert f'<td style="text-align:right">{expected_revenue:,.0f}</td>' in page

    code, out, _ = cli(capsys, "plan", "export", ws_path, "--out", tmp_path / "ex.csv")
    assert code == 0
    plans_csv = (tmp_path / "ex-plans.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in plans_csv  # formula injection neutralised
    assert (tmp_path / "ex-kpis.csv").exists() and (tmp_path / "ex-personas.csv").exists()


def test_playbook_without_targets_says_so_and_flags_orphans(ws_path: Path, capsys, tmp_path):
    code, _, err = cli(capsys, "plan", "set", ws_path, "--model", MODEL, "--segment", "Vanished")
    assert code == 2 and "has no segment 'Vanished'" in err
    # a plan whose segment the model no longer has (as after a model change)
    from storage.plans import set_plan

    with Workspace.open(ws_path) as ws:
        set_plan(ws, MODEL, "Vanished", objective="retain")
    out_md = tmp_path / "p.md"
    code, _, _ = cli(
        capsys, "playbook", ws_path, "--model", MODEL, "--out", out_md, "--today", "2026-11-22"
    )
    md = out_md.read_text(encoding="utf-8")
    assert code == 0
    assert "No segment of this model is marked as target, so every segment is shown" in md
    assert "## Segment: Complex" in md and "## Segment: Traditional" in md
    assert "## Plans of segments no longer in the model" in md and "| Vanished |" in md
    code, out, _ = cli(capsys, "plan", "show", ws_path, "--model", MODEL, "--json")
    plans = {p["segment"]: p for p in json.loads(out)["plans"]}
    assert plans["Vanished"]["orphaned"] is True
    code, _, err = cli(
        capsys, "playbook", ws_path, "--model", MODEL, "--out", out_md, "--targets-only",
        "--force",
    )
    assert code == 2 and "no segment of model 'Sales logic' is marked as target" in err
    code, _, err = cli(capsys, "playbook", ws_path, "--model", MODEL, "--out", tmp_path / "x.pdf")
    assert code == 2 and ".md or .html" in err
