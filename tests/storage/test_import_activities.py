"""Activities, the fourth import kind: CRM column names, reasons, unknown accounts, --replace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storage.activities import load_activities
from storage.importer import commit_import, prepare_import
from storage.mapping import guess_mapping
from storage.workspace import Workspace

ACCOUNTS = "account_id,name\nA1,Alpha\nA2,Beta\n"


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "w.segscope", cache=False) as workspace:
        path = tmp_path / "accounts.csv"
        path.write_text(ACCOUNTS)
        commit_import(workspace, prepare_import(path, "accounts"))
        yield workspace


def test_salesforce_task_and_event_columns_are_recognised() -> None:
    task = ["Id", "WhatId", "AccountId", "ActivityDate", "Subject", "TaskSubtype", "Type",
            "OwnerId", "Status"]
    mapping = guess_mapping(task, "activities")
    # AccountId wins over WhatId, which may name an opportunity; Type (the canonical
    # name) wins over TaskSubtype, which is used when there is no Type
    assert mapping == {"Id": "activity_id", "AccountId": "account_id", "ActivityDate": "date",
                       "Subject": "subject", "Type": "type", "OwnerId": "owner"}
    no_type = [c for c in task if c != "Type"]
    assert guess_mapping(no_type, "activities")["TaskSubtype"] == "type"
    event = ["Id", "WhatId", "ActivityDateTime", "DurationInMinutes", "Type", "OwnerId"]
    assert guess_mapping(event, "activities") == {
        "Id": "activity_id", "WhatId": "account_id", "ActivityDateTime": "date",
        "DurationInMinutes": "duration_minutes", "Type": "type", "OwnerId": "owner"}


def test_hubspot_engagement_columns_are_recognised() -> None:
    cols = ["Engagement ID", "Associated Company ID", "hs_timestamp", "Engagement Type",
            "hubspot_owner_id", "Duration"]
    assert guess_mapping(cols, "activities") == {
        "Engagement ID": "activity_id", "Associated Company ID": "account_id",
        "hs_timestamp": "date", "Engagement Type": "type", "hubspot_owner_id": "owner",
        "Duration": "duration_minutes"}


def test_import_with_reasons_unknown_accounts_and_replace(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text(
        "AccountId,ActivityDate,Type,OwnerId,DurationInMinutes\n"
        "A1,2025-03-04,Call,005A,\n"          # kept, default effort later
        "A1,2025-03-05,Meeting,005A,45\n"     # kept, 45 minutes
        "A2,2025-03-06T10:00:00Z,Email,005B,\n"  # kept, timestamp read as its date
        "A2,,Call,005B,\n"                    # date missing
        "A2,2025-03-07,Call,005B,-5\n"        # negative duration
        "A2,2025-03-07,,005B,\n"              # no type, no duration
        "A2,2025-03-08,,005B,30\n"            # no type but a duration: kept
        "X9,2025-03-09,Call,005B,\n"          # unknown account: rejected at commit
        "A1,2025-03-10,Visit,005A,abc\n"      # duration not a number
    )
    prepared = prepare_import(path, "activities")
    assert prepared.rows_read == 9
    assert prepared.report()["rejected_by_reason"] == {
        "date is missing": 1,
        "duration_minutes is negative": 1,
        "activity has no type and no duration": 1,
        "duration_minutes is not a number": 1,
    }
    report = commit_import(ws, prepared)
    assert (report.rows_accepted, report.rows_rejected) == (4, 5)
    assert report.rejected_by_reason["account_id is not in the workspace"] == 1
    acts = load_activities(ws)
    assert acts.height == 4
    assert acts["date"].to_list() == [dt.date(2025, 3, 4), dt.date(2025, 3, 5),
                                      dt.date(2025, 3, 6), dt.date(2025, 3, 8)]
    assert acts["duration_minutes"].to_list() == [None, 45.0, None, 30.0]
    assert acts["owner"].to_list() == ["005A", "005A", "005B", "005B"]
    stored = ws.conn.execute("SELECT count(*) FROM rejected_rows").fetchone()[0]
    assert stored == 5

    again = commit_import(ws, prepare_import(path, "activities"))
    assert again.no_op and load_activities(ws).height == 4
    replaced = commit_import(ws, prepare_import(path, "activities"), replace=True)
    assert not replaced.no_op and replaced.replaced_imports == [report.import_id]
    assert load_activities(ws).height == 4  # not doubled


def test_activities_without_a_date_column_are_refused(tmp_path: Path) -> None:
    from storage.readers import ImportFileError

    path = tmp_path / "a.csv"
    path.write_text("AccountId,Type\nA1,Call\n")
    with pytest.raises(ImportFileError, match="no column for the activity date"):
        prepare_import(path, "activities")
