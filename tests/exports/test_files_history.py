"""History in every shape a CRM export keeps it, pulled by the files connector as stage_events.

Each test writes an export in one vendor's layout (field names, row order, repeated rows as the
vendor writes them), pulls it, and checks the events and the timestamps derived from them
against transitions written out by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from revgov.config import config_from_dict
from revgov.connectors.base import ConnectorContext
from revgov.connectors.files import FilesConnector
from revgov.errors import ConfigValidationError, ConnectorError, MappingError
from revgov.pull import pull
from revgov.store import SnapshotStore

PIPELINE: dict[str, Any] = {
    "name": "sales",
    "stages": [
        {"name": "Prospecting", "order": 1, "probability": 0.1},
        {"name": "Qualification", "order": 2, "probability": 0.3},
        {"name": "Proposal", "order": 3, "probability": 0.6},
        {"name": "Closed Won", "order": 4, "probability": 1.0, "is_closed": True, "is_won": True},
        {"name": "Closed Lost", "order": 5, "probability": 0.0, "is_closed": True},
    ],
}

OPPORTUNITY_CSV = """\
Id,StageName,Amount,CreatedDate,CloseDate
006A,Proposal,1000,2024-01-02T09:00:00.000Z,2024-06-30
006B,Qualification,500,2024-01-05T09:00:00.000Z,2024-06-30
006C,Prospecting,700,2024-02-01T09:00:00.000Z,2024-06-30
"""

# Salesforce OpportunityHistory: a row per stage entered and another whenever the amount or
# close date changes (same stage again); no "from" value. Rows are not in time order.
OPPORTUNITY_HISTORY_CSV = """\
Id,OpportunityId,StageName,Amount,CreatedDate,CreatedById
008A3,006A,Proposal,1000,2024-03-01T10:00:00.000Z,005X
008A1,006A,Prospecting,900,2024-01-02T09:00:00.000Z,005X
008A2,006A,Qualification,900,2024-02-01T10:00:00.000Z,005X
008A4,006A,Proposal,1200,2024-03-15T10:00:00.000Z,005Y
008B1,006B,Prospecting,500,2024-01-05T09:00:00.000Z,005X
008B2,006B,Proposal,500,2024-02-10T09:00:00.000Z,005X
008B3,006B,Qualification,500,2024-02-20T09:00:00.000Z,005X
"""


def _source(tmp_path: Path, entities: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {
        "pipelines": [PIPELINE],
        "sources": [{"name": "export", "connector": "files", "entities": entities}],
        **config,
    }


def _write(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")


def _pull(tmp_path: Path, raw: dict[str, Any], snap: str = "snap") -> dict[str, pl.DataFrame]:
    config = config_from_dict(raw, path=tmp_path / "revgov.toml")
    pull(config, tmp_path / snap, progress=False)
    frames = SnapshotStore(tmp_path / snap).frames()
    return {name: lf.collect() for name, lf in frames.items()}


def _transitions(events: pl.DataFrame) -> list[tuple[str, str | None, str]]:
    return [
        (r["record_id"], r["from_value"], r["to_value"])
        for r in events.sort("record_id", "changed_at").iter_rows(named=True)
    ]


SALESFORCE_OPPORTUNITIES: dict[str, Any] = {
    "path": "Opportunity.csv",
    "columns": {
        "opportunity_id": "Id",
        "stage": "StageName",
        "amount": "Amount",
        "created_at": "CreatedDate",
        "close_date": "CloseDate",
    },
    "history": {
        "shape": "stage_entered",
        "path": "OpportunityHistory.csv",
        "columns": {
            "record_id": "OpportunityId",
            "to_value": "StageName",
            "changed_at": "CreatedDate",
            "changed_by": "CreatedById",
        },
    },
}


def test_stage_entered_rows_become_transitions_with_derived_from_values(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"Opportunity.csv": OPPORTUNITY_CSV, "OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV},
    )
    frames = _pull(tmp_path, _source(tmp_path, {"opportunities": SALESFORCE_OPPORTUNITIES}))
    events = frames["stage_events"]
    # The amount-only row (008A4) repeats Proposal: not a transition.
    assert _transitions(events) == [
        ("006A", None, "Prospecting"),
        ("006A", "Prospecting", "Qualification"),
        ("006A", "Qualification", "Proposal"),
        ("006B", None, "Prospecting"),
        ("006B", "Prospecting", "Proposal"),
        ("006B", "Proposal", "Qualification"),
    ]
    assert set(events["record_entity"]) == {"opportunities"}
    assert set(events["field"]) == {"stage"}
    assert events.filter(pl.col("to_value") == "Qualification", pl.col("record_id") == "006A")[
        "changed_by"
    ].to_list() == ["005X"]
    entered = dict(
        frames["opportunities"]
        .select("opportunity_id", pl.col("stage_entered_at").dt.date())
        .iter_rows()
    )
    # 006A entered Proposal on 1 March (the 15 March row is an amount change); 006B re-entered
    # Qualification on 20 February; 006C has no history and keeps a null.
    assert str(entered["006A"]) == "2024-03-01"
    assert str(entered["006B"]) == "2024-02-20"
    assert entered["006C"] is None


def test_a_stale_deal_is_found_from_history_alone(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"Opportunity.csv": OPPORTUNITY_CSV, "OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV},
    )
    raw = _source(tmp_path, {"opportunities": SALESFORCE_OPPORTUNITIES})
    raw["pipelines"][0] = {**PIPELINE, "stale_days": {"Proposal": 30, "Qualification": 30}}
    config = config_from_dict(raw, path=tmp_path / "revgov.toml")
    pull(config, tmp_path / "snap", progress=False)
    from revgov.rules import audit

    store = SnapshotStore(tmp_path / "snap")
    report = audit(store.frames(), config=config, as_of=datetime(2024, 4, 5, tzinfo=UTC))
    findings = report.findings.collect()
    stale = findings.filter(pl.col("rule_id") == "opportunities.stale_in_stage")
    # 006A: Proposal since 1 March (35 days); 006B: Qualification since 20 February.
    assert sorted(stale["record_id"]) == ["006A", "006B"]
    regressions = findings.filter(pl.col("rule_id") == "opportunities.stage_regression")
    assert regressions["record_id"].to_list() == ["006B"]


LEAD_CSV = """\
Id,Email,Status,CreatedDate
00QA,a@x.com,Qualified,2024-01-01T09:00:00Z
00QB,b@x.com,Working,2024-01-02T09:00:00Z
"""

# Salesforce LeadHistory: Field / OldValue / NewValue, other fields' changes mixed in.
LEAD_HISTORY_CSV = """\
Id,LeadId,Field,OldValue,NewValue,CreatedDate,CreatedById
017A1,00QA,Status,Open,Working,2024-01-03T09:00:00Z,005X
017A2,00QA,Rating,,Hot,2024-01-04T09:00:00Z,005X
017A3,00QA,Status,Working,Marketing Qualified,2024-01-05T09:00:00Z,005X
017A4,00QA,Status,Marketing Qualified,Qualified,2024-01-09T09:00:00Z,005Y
017B1,00QB,Status,Open,Working,2024-01-03T12:00:00Z,005X
"""


def test_field_changes_keep_old_and_new_and_give_lifecycle_timestamps(tmp_path: Path) -> None:
    _write(tmp_path, {"Lead.csv": LEAD_CSV, "LeadHistory.csv": LEAD_HISTORY_CSV})
    people = {
        "path": "Lead.csv",
        "columns": {
            "person_id": "Id",
            "email": "Email",
            "lifecycle_stage": "Status",
            "created_at": "CreatedDate",
        },
        "constants": {"kind": "lead"},
        "history": {
            "shape": "field_changes",
            "path": "LeadHistory.csv",
            "fields": {"Status": "lifecycle_stage"},
            "columns": {
                "record_id": "LeadId",
                "field": "Field",
                "from_value": "OldValue",
                "to_value": "NewValue",
                "changed_at": "CreatedDate",
                "event_id": "Id",
            },
            "timestamps": {"mql_at": "Marketing Qualified"},
        },
    }
    lifecycle = {
        "map": {
            "Open": "lead",
            "Working": "lead",
            "Marketing Qualified": "mql",
            "Qualified": "sql",
        }
    }
    frames = _pull(tmp_path, _source(tmp_path, {"people": people}, lifecycle=lifecycle))
    events = frames["stage_events"].sort("event_id")
    assert events["event_id"].to_list() == ["017A1", "017A3", "017A4", "017B1"]
    # Values become the canonical lifecycle stages, like the people's own.
    assert _transitions(events) == [
        ("00QA", "lead", "lead"),
        ("00QA", "lead", "mql"),
        ("00QA", "mql", "sql"),
        ("00QB", "lead", "lead"),
    ]
    mql = dict(frames["people"].select("person_id", pl.col("mql_at").dt.day()).iter_rows())
    assert mql == {"00QA": 5, "00QB": None}


DEALS_CSV = """\
Record ID,Deal Stage,Amount,Create Date,Date entered Qualification,Date entered Proposal
101,Proposal,10,2024-01-01 10:00,2024-01-10 10:00,2024-02-01 10:00
102,Qualification,20,2024-01-01 10:00,2024-01-12 10:00,
"""


def test_date_columns_and_hubspot_history_newest_first(tmp_path: Path) -> None:
    # HubSpot's property history of dealstage, newest first, internal stage ids.
    history = (
        "Object ID,Property,Value,Timestamp\n"
        "101,dealstage,proposal,2024-02-01T10:00:00Z\n"
        "101,dealstage,qualification,2024-01-10T10:00:00Z\n"
        "101,dealstage,prospecting,2024-01-01T10:00:00Z\n"
    )
    _write(tmp_path, {"deals.csv": DEALS_CSV, "history.csv": history})
    values = {
        "stage": {
            "proposal": "Proposal",
            "qualification": "Qualification",
            "prospecting": "Prospecting",
        }
    }
    deals = {
        "path": "deals.csv",
        "columns": {"opportunity_id": "Record ID", "stage": "Deal Stage", "amount": "Amount"},
        "values": values,
        "history": {
            "shape": "date_columns",
            "dates": {
                "Date entered Qualification": "Qualification",
                "Date entered Proposal": "Proposal",
            },
        },
    }
    frames = _pull(tmp_path, _source(tmp_path, {"opportunities": deals}))
    assert _transitions(frames["stage_events"]) == [
        ("101", None, "Qualification"),
        ("101", "Qualification", "Proposal"),
        ("102", None, "Qualification"),
    ]
    entered = dict(
        frames["opportunities"]
        .select("opportunity_id", pl.col("stage_entered_at").dt.day())
        .iter_rows()
    )
    assert entered == {"101": 1, "102": 12}

    deals["history"] = {
        "shape": "stage_entered",
        "path": "history.csv",
        "columns": {"record_id": "Object ID", "to_value": "Value", "changed_at": "Timestamp"},
    }
    frames = _pull(tmp_path, _source(tmp_path, {"opportunities": deals}), "snap2")
    events = frames["stage_events"].filter(pl.col("record_id") == "101")
    assert ("101", "Qualification", "Proposal") in _transitions(events)
    assert ("101", "Prospecting", "Qualification") in _transitions(events)


def test_snapshots_collapse_to_changes(tmp_path: Path) -> None:
    snapshots = (
        "snapshot_date,deal,stage\n"
        "2024-01-07,d1,Prospecting\n2024-01-14,d1,Prospecting\n2024-01-21,d1,Proposal\n"
        "2024-01-28,d1,Proposal\n2024-02-04,d1,Qualification\n"
    )
    deals_csv = "id,stage\nd1,Qualification\n"
    _write(tmp_path, {"snap.csv": snapshots, "deals.csv": deals_csv})
    deals = {
        "path": "deals.csv",
        "columns": {"opportunity_id": "id", "stage": "stage"},
        "history": {
            "shape": "snapshots",
            "path": "snap.csv",
            "columns": {"record_id": "deal", "to_value": "stage", "changed_at": "snapshot_date"},
        },
    }
    frames = _pull(tmp_path, _source(tmp_path, {"opportunities": deals}))
    assert _transitions(frames["stage_events"]) == [
        ("d1", None, "Prospecting"),
        ("d1", "Prospecting", "Proposal"),
        ("d1", "Proposal", "Qualification"),
    ]
    assert frames["opportunities"]["stage_entered_at"].dt.day().to_list() == [4]


def test_history_settings_say_what_a_shape_needs(tmp_path: Path) -> None:
    deals = {"path": "deals.csv", "history": {"shape": "stage_entered", "path": "h.csv"}}
    with pytest.raises(ConfigValidationError, match=r"needs history\.columns for record_id"):
        config_from_dict(_source(tmp_path, {"opportunities": deals}), path=tmp_path / "r.toml")
    deals["history"] = {"shape": "field_changes", "path": "h.csv", "columns": {"record_id": "x"}}
    with pytest.raises(ConfigValidationError, match="needs fields"):
        config_from_dict(_source(tmp_path, {"opportunities": deals}), path=tmp_path / "r.toml")


def test_a_history_and_a_stage_events_file_in_one_source_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"Opportunity.csv": OPPORTUNITY_CSV, "OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV},
    )
    raw = _source(
        tmp_path,
        {
            "opportunities": SALESFORCE_OPPORTUNITIES,
            "stage_events": {"path": "OpportunityHistory.csv"},
        },
    )
    config = config_from_dict(raw, path=tmp_path / "revgov.toml")
    connector = FilesConnector(config.sources[0], ConnectorContext(tmp_path))
    with pytest.raises(ConnectorError, match="two places"):
        connector.entities()


def test_an_unchanged_history_is_not_read_again_and_a_changed_one_is(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"Opportunity.csv": OPPORTUNITY_CSV, "OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV},
    )
    config = config_from_dict(
        _source(tmp_path, {"opportunities": SALESFORCE_OPPORTUNITIES}),
        path=tmp_path / "revgov.toml",
    )
    pull(config, tmp_path / "snap", progress=False)
    again = pull(config, tmp_path / "snap", progress=False)
    assert {(e.entity, e.rows_typed) for e in again.entities} >= {("stage_events", 0)}
    extra = "008C1,006C,Qualification,700,2024-03-01T09:00:00.000Z,005X\n"
    _write(tmp_path, {"OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV + extra})
    pull(config, tmp_path / "snap", progress=False)
    frames = SnapshotStore(tmp_path / "snap").frames()
    events = frames["stage_events"].collect()
    assert events.height == 7
    deals = frames["opportunities"].collect()
    assert deals.filter(pl.col("opportunity_id") == "006C")["stage_entered_at"].is_null().all()


def test_a_history_column_that_is_not_in_the_file_is_named_with_the_columns_there(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {"Opportunity.csv": OPPORTUNITY_CSV, "OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV},
    )
    deals = {**SALESFORCE_OPPORTUNITIES}
    deals["history"] = {
        **deals["history"],
        "columns": {"record_id": "OppId", "to_value": "StageName", "changed_at": "CreatedDate"},
    }
    config = config_from_dict(_source(tmp_path, {"opportunities": deals}), path=tmp_path / "r.toml")
    connector = FilesConnector(config.sources[0], ConnectorContext(tmp_path))
    (problem,) = connector.check()
    assert "'OppId'" in problem and "OpportunityId" in problem
    assert "history.columns of opportunities" in problem
    with pytest.raises(MappingError, match="OppId"):
        pull(config, tmp_path / "snap", progress=False)


def test_a_missing_history_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path, {"Opportunity.csv": OPPORTUNITY_CSV})
    config = config_from_dict(
        _source(tmp_path, {"opportunities": SALESFORCE_OPPORTUNITIES}), path=tmp_path / "r.toml"
    )
    connector = FilesConnector(config.sources[0], ConnectorContext(tmp_path))
    (problem,) = connector.check()
    assert "opportunities history" in problem and "OpportunityHistory.csv" in problem


def test_a_history_pull_resumes_after_its_last_committed_page(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"Opportunity.csv": OPPORTUNITY_CSV, "OpportunityHistory.csv": OPPORTUNITY_HISTORY_CSV},
    )
    raw = _source(tmp_path, {"opportunities": SALESFORCE_OPPORTUNITIES})
    raw["sources"][0]["options"] = {"page_size": 2}
    config = config_from_dict(raw, path=tmp_path / "r.toml")
    connector = FilesConnector(config.sources[0], ConnectorContext(tmp_path))
    pages = list(connector.fetch("stage_events"))
    assert [p.records.height for p in pages] == [2, 2, 2]  # type: ignore[union-attr]
    assert [p.replace for p in pages] == [True, False, False]
    # A pull that died after the first page goes on from there, with the same events.
    rest = list(connector.fetch("stage_events", pages[0].cursor))
    assert not rest[0].replace
    resumed = pl.concat([pages[0].records, *[p.records for p in rest]])  # type: ignore[list-item]
    assert resumed.equals(pl.concat([p.records for p in pages]))  # type: ignore[misc]
    assert list(connector.fetch("stage_events", pages[-1].cursor)) == []
