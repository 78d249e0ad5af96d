"""``segscope export crm WS --for salesforce|hubspot|dynamics`` (tui/commands/export_crm.py)."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from sample_data.generate import GeneratorConfig, generate
from storage.importer import commit_import, prepare_import
from storage.workspace import Workspace
from tui.cli import main
from tui.commands.export_crm import CRMS, FIELDS, CrmConvention, crm_table

SALESFORCE_NAME = re.compile(r"^[A-Za-z](?!.*__.*__)[A-Za-z0-9_]*__c$")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("data")
    generate(GeneratorConfig(accounts=200, seed=5, transactions_per_customer=8), data)
    path = data / "base.segscope"
    with Workspace.create(path) as ws:
        for kind in ("accounts", "transactions"):
            commit_import(ws, prepare_import(data / f"{kind}.csv", kind))
    return path


@pytest.fixture()
def ws_path(base, tmp_path: Path) -> Path:
    path = tmp_path / "ws.segscope"
    shutil.copy(base, path)
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("crm", sorted(CRMS))
def test_every_account_with_the_crm_names(crm, ws_path, tmp_path, capsys) -> None:
    out = tmp_path / f"{crm}.csv"
    code = main(["export", "crm", str(ws_path), "--for", crm, "--model", "Value x Potential",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    rows = _rows(out)
    with Workspace.open(ws_path) as ws:
        ids = ws.load_accounts()["account_id"].to_list()
    conv = CRMS[crm]
    header = list(rows[0])
    assert header[0] == conv.id_column
    assert sorted(r[conv.id_column] for r in rows) == sorted(ids)
    assert header[1: 1 + len(FIELDS)] == [conv.field(f) for f in FIELDS]
    assert len(header) > 1 + len(FIELDS)  # the model's levels follow
    status = {r[conv.field("target_status")] for r in rows}
    assert status <= {"target", "maintain", "lean"} and status
    ranks = sorted(int(r[conv.field("priority_rank")]) for r in rows)
    assert ranks == list(range(1, len(rows) + 1))
    assert any(r[conv.field("clv")] for r in rows)
    assert any(r[conv.field("potential")] for r in rows)
    if crm == "salesforce":
        assert all(SALESFORCE_NAME.match(h) and len(h) <= 40 for h in header)
    else:
        assert all(h == h.lower() and " " not in h for h in header)
    assert f"for a {crm} import" in err


def test_the_id_column_can_be_the_crm_record_id(ws_path, tmp_path, capsys) -> None:
    out = tmp_path / "sf.csv"
    assert main(["export", "crm", str(ws_path), "--for", "salesforce", "--id-column", "Id",
                 "--model", "RFM", "--out", str(out)]) == 0
    assert list(_rows(out)[0])[0] == "Id"


def test_bad_requests_are_one_line(ws_path, tmp_path, capsys) -> None:
    assert main(["export", "crm", str(ws_path), "--for", "salesforce", "--model", "RFM",
                 "--out", str(tmp_path / "x.parquet")]) == 2
    assert "a CRM import reads .csv or .xlsx" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "crm", str(ws_path), "--for", "pipedrive", "--model", "RFM",
              "--out", str(tmp_path / "x.csv")])


def test_field_names_follow_each_convention() -> None:
    sf, hs, dy = CRMS["salesforce"], CRMS["hubspot"], CRMS["dynamics"]
    assert sf.field("level Industry x Size") == "Level_Industry_X_Size__c"
    assert hs.field("level Industry x Size") == "segscope_level_industry_x_size"
    assert dy.field("target_status") == "new_target_status"
    assert len(sf.field("level " + "very long dimension name " * 3)) <= 40
    assert CrmConvention("k", "", "__c", False, 40).field("3 months") == "X_3_Months__c"


def test_crm_table_joins_and_names() -> None:
    assignments = pl.DataFrame({"account_id": ["A", "B"], "ABC": ["A", "C"],
                                "segment": ["A", "C"]})
    table = crm_table(
        assignments, ["ABC"],
        pl.DataFrame({"segment": ["A", "C"], "target_status": ["target", "lean"]}),
        pl.DataFrame({"account_id": ["B", "A"], "priority": [0.0, 5.0],
                      "priority_rank": [2, 1]}),
        pl.DataFrame({"account_id": ["A"], "potential": [10.0]}),
        pl.DataFrame({"account_id": ["A"], "clv": [3.5]}),
        CRMS["dynamics"],
    )
    assert table.columns == ["accountnumber", "new_segment", "new_target_status",
                             "new_priority", "new_priority_rank", "new_potential", "new_clv",
                             "new_level_abc"]
    assert table.row(0) == ("A", "A", "target", 5.0, 1, 10.0, 3.5, "A")
    assert table.row(1) == ("B", "C", "lean", 0.0, 2, None, None, "C")


def test_an_existing_file_needs_force_and_the_workspace_is_never_replaced(
    ws_path: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "accounts-sf.csv"
    out.write_text("keep me\n")
    args = ["export", "crm", str(ws_path), "--for", "salesforce", "--model", "RFM",
            "--out", str(out)]
    assert main(args) == 1
    assert "--force" in capsys.readouterr().err and out.read_text() == "keep me\n"
    assert main([*args, "--force"]) == 0
    assert out.read_text() != "keep me\n"
    before = ws_path.read_bytes()[:100]
    alias = tmp_path / "ws.csv"
    alias.symlink_to(ws_path)
    assert main([*args[:-1], str(alias), "--force"]) == 1
    assert ws_path.read_bytes()[:100] == before
