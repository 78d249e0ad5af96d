"""`segscope clv --count-zero-orders --holdout-end` on the CDNOW 1/10 sample
(tests/data/cdnow/PROVENANCE.md) imported through the real commands (issue 13):
the published BG/NBD (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426) and
Gamma-Gamma (p = 6.25, q = 3.74, gamma = 15.44) estimates to the published
decimals, and the papers' holdout validation (weeks 40-78)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cdnow")
    csv = root / "cdnow.csv"
    lines = ["account_id,date,amount"]
    for line in DATA.read_text().splitlines():
        if line.strip():
            _, sample_id, day, _, dollars = line.split()
            lines.append(f"{sample_id},{day[:4]}-{day[4:6]}-{day[6:]},{dollars}")
    csv.write_text("\n".join(lines) + "\n")
    ws = root / "cdnow.segscope"
    assert main(["init", str(ws)]) == 0
    assert main(["import", str(ws), str(csv), "--kind", "transactions", "--quiet"]) == 0
    return ws


def test_count_zero_orders_reproduces_the_published_estimates(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["clv", str(workspace), "--calibration-end", "1997-09-30",
                 "--count-zero-orders", "--holdout-end", "1998-06-30", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    bg = {k: round(v, 3) for k, v in d["bgnbd"]["params"].items()}
    gg = {k: round(v, 2) for k, v in d["gamma_gamma"]["params"].items()}
    assert bg == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert gg == {"p": 6.25, "q": 3.74, "gamma": 15.44}
    assert d["accounts"] == 2357 and d["count_zero_orders"] is True
    h = d["holdout"]
    assert (h["customers"], round(h["holdout_length"], 3)) == (2357, 39.0)
    rows = {r["repeats"]: r for r in h["by_calibration_repeats"]}
    assert list(rows) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(r["customers"] for r in rows.values()) == 2357
    assert rows["0"]["customers"] == 1411
    # the papers' conditional expectations (FHL 2005, figure 4): x = 0 -> 0.23
    # expected vs 0.24 actual; x = 7+ -> 6.16 vs 6.36
    assert (round(rows["0"]["expected"], 2), round(rows["0"]["actual"], 2)) == (0.23, 0.24)
    assert (round(rows["7+"]["expected"], 2), round(rows["7+"]["actual"], 2)) == (6.16, 6.36)
    assert h["actual_total"] == sum(round(r["actual"] * r["customers"]) for r in rows.values())
    assert h["expected_total"] == pytest.approx(
        sum(r["expected"] * r["customers"] for r in rows.values()))


def test_default_drops_the_zero_dollar_customers(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["clv", str(workspace), "--calibration-end", "1997-09-30", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["accounts"] == 2357 - 8 and round(d["bgnbd"]["params"]["r"], 3) == 0.244


def test_holdout_text(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["clv", str(workspace), "--calibration-end", "1997-09-30",
                 "--count-zero-orders", "--holdout-end", "1998-06-30"]) == 0
    text = capsys.readouterr().out
    assert "holdout 1997-09-30 .. 1998-06-30 (39.0 weeks)" in text
    assert "calibration repeats" in text and "7+" in text


def test_holdout_before_calibration_end_is_a_usage_error(workspace, capsys) -> None:
    capsys.readouterr()
    assert main(["clv", str(workspace), "--calibration-end", "1997-09-30",
                 "--holdout-end", "1997-09-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--holdout-end" in err
