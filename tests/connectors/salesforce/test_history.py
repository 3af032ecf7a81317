"""History in the canonical shape, stage_entered_at, and the rules that need them working on
the emulated org through revgov.pull and revgov.audit (expected values from the org's frames)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from tests.connectors.salesforce.conftest import PIPELINE, config, connector, frame
from tests.emulator.salesforce import SalesforceEmulator

from revgov.config import SourceConfig
from revgov.pull import pull
from revgov.rules import audit
from revgov.store import SnapshotStore

pytestmark = pytest.mark.usefixtures("sf_env")

STAGE_ORDER = {s["name"]: s["order"] for s in PIPELINE["stages"]}
OPEN = {s["name"] for s in PIPELINE["stages"] if not s.get("is_closed")}


def _events(
    make_source: Callable[..., SourceConfig], cursor: str | None = None
) -> tuple[pl.DataFrame, list[str], str]:
    pages = list(connector(make_source()).fetch("stage_events", cursor))
    return frame(pages), [d for p in pages for d in p.deletions], str(pages[-1].cursor)


def _at(col: str) -> pl.Expr:
    return (
        pl.col(col)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
        .dt.cast_time_unit("ms")
    )


def _transitions(org: SalesforceEmulator) -> pl.DataFrame:
    """OpportunityHistory rows per stage entered, repeats dropped, from_value derived."""
    oh = (
        org.org.frame("OpportunityHistory")
        .filter(~pl.col("IsDeleted"))
        .sort("OpportunityId", "CreatedDate")
    )
    prev = pl.col("StageName").shift(1).over("OpportunityId")
    moves = oh.filter(prev.is_null() | (prev != pl.col("StageName")))
    return moves.select(
        pl.col("OpportunityId").alias("record_id"),
        pl.col("StageName").shift(1).over("OpportunityId").alias("from_value"),
        pl.col("StageName").alias("to_value"),
        pl.col("CreatedDate").alias("changed_at"),
    )


def _entered(org: SalesforceEmulator) -> pl.DataFrame:
    """When each opportunity last entered its current stage (from its transitions)."""
    current = org.org.frame("Opportunity").select(
        pl.col("Id").alias("record_id"), pl.col("StageName").alias("to_value")
    )
    return (
        _transitions(org)
        .join(current, on=["record_id", "to_value"])
        .group_by("record_id")
        .agg(pl.col("changed_at").max().alias("derived"))
        .rename({"record_id": "Id"})
    )


def test_opportunity_history_becomes_transitions_once(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    events, deletions, _ = _events(make_source)
    stage = events.filter(
        (pl.col("record_entity") == "opportunities") & (pl.col("field") == "stage")
    )
    # OpportunityFieldHistory repeats OpportunityHistory's stage changes: its StageName rows
    # are left out, so each event arrives once (a read holding a key twice would quarantine
    # it as a duplicate).
    assert stage.height == stage["event_id"].n_unique()
    got = stage.select("record_id", "from_value", "to_value", _at("changed_at").alias("changed_at"))
    want = _transitions(org)
    key = ["record_id", "changed_at"]
    assert got.sort(key).equals(want.sort(key))
    # History of deleted deals arrives as deletions.
    deleted = org.org.frame("OpportunityHistory").filter(pl.col("IsDeleted"))
    assert deleted.height and len(deletions) >= deleted.height
    assert not set(deletions) & set(events["event_id"])


def test_without_opportunity_history_stage_changes_come_from_field_history(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    org.org.missing_objects.add("OpportunityHistory")
    events, _, _ = _events(make_source)
    stage = events.filter(
        (pl.col("record_entity") == "opportunities") & (pl.col("field") == "stage")
    )
    truth = org.org.frame("OpportunityFieldHistory").filter(
        (pl.col("Field") == "StageName") & ~pl.col("IsDeleted")
    )
    assert stage.height == stage["event_id"].n_unique() == truth.height > 0
    got = stage.select("record_id", "from_value", "to_value")
    want = truth.select(
        pl.col("OpportunityId").alias("record_id"),
        pl.col("OldValue").alias("from_value"),
        pl.col("NewValue").alias("to_value"),
    )
    assert got.sort(pl.all()).equals(want.sort(pl.all()))


def test_owner_changes_are_one_event_with_ids(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    events, _, _ = _events(make_source)
    owners = events.filter(
        (pl.col("record_entity") == "opportunities") & (pl.col("field") == "owner")
    )
    truth = org.org.frame("OpportunityFieldHistory").filter(
        (pl.col("Field") == "Owner") & (pl.col("DataType") == "EntityId") & ~pl.col("IsDeleted")
    )
    assert owners.height == truth.height > 0
    assert owners["to_value"].str.starts_with("005").all()
    leads = events.filter(pl.col("record_entity") == "people")
    status = leads.filter(pl.col("field") == "status")
    lh = org.org.frame("LeadHistory")
    assert status.height == lh.filter(pl.col("Field") == "Status").height
    assert set(status["from_value"]) | set(status["to_value"]) <= set(
        lh["OldValue"].to_list() + lh["NewValue"].to_list()
    )


def test_a_new_stage_row_gets_its_from_value_from_earlier_pulls(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    _, _, cursor = _events(make_source)
    opp = (
        org.org.frame("Opportunity")
        .filter(~pl.col("IsDeleted") & (pl.col("StageName") == "Qualification"))
        .row(0, named=True)
    )
    at = datetime.now(UTC) - timedelta(seconds=30)
    org.org.insert(
        "OpportunityHistory",
        [
            {
                "OpportunityId": opp["Id"],
                "StageName": "Needs Analysis",
                "CreatedDate": at,
                "SystemModstamp": at,
            }
        ],
    )
    events, _, _ = _events(make_source, cursor)
    new = events.filter(
        (pl.col("record_id") == opp["Id"]) & (pl.col("to_value") == "Needs Analysis")
    )
    assert new["from_value"].to_list()[-1] == "Qualification"


@pytest.mark.parametrize("has_field", [True, False])
def test_stage_entered_at_from_the_field_or_from_history(
    has_field: bool, org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    if not has_field:
        org.org.absent.add(("Opportunity", "LastStageChangeDate"))
    opps = frame(list(connector(make_source()).fetch("opportunities")))
    got = opps.select("opportunity_id", _at("stage_entered_at").alias("entered")).sort(
        "opportunity_id"
    )
    live = org.org.frame("Opportunity").filter(~pl.col("IsDeleted"))
    truth = live.join(_entered(org), on="Id", how="left")
    entered = pl.col("derived") if not has_field else pl.coalesce("LastStageChangeDate", "derived")
    want = truth.select(pl.col("Id").alias("opportunity_id"), entered.alias("entered")).sort(
        "opportunity_id"
    )
    assert got.equals(want)
    assert got["entered"].null_count() == 0


@pytest.mark.parametrize("has_field", [True, False])
def test_stale_deals_and_regressions_found_by_the_audit(
    has_field: bool, org: SalesforceEmulator, tmp_path: Path
) -> None:
    if not has_field:
        org.org.absent.add(("Opportunity", "LastStageChangeDate"))
    cfg = config()
    pull(cfg, tmp_path / "snap", progress=False)
    frames = SnapshotStore(tmp_path / "snap").frames()
    as_of = datetime.now(UTC)
    report = audit(frames, config=cfg, as_of=as_of)
    findings = (
        report.findings.collect() if isinstance(report.findings, pl.LazyFrame) else report.findings
    )

    def flagged(rule: str) -> set[str]:
        return set(findings.filter(pl.col("rule_id") == rule)["record_id"])

    live = org.org.frame("Opportunity").filter(~pl.col("IsDeleted"))
    stale_before = as_of - timedelta(days=cfg.sla.stale_days_default)
    stale = live.join(_entered(org), on="Id").filter(
        ~pl.col("IsClosed") & (pl.col("derived") < stale_before)
    )
    assert flagged("opportunities.stale_in_stage") == set(stale["Id"]) != set()

    moves = _transitions(org).filter(pl.col("from_value").is_not_null())
    back = moves.filter(
        pl.col("to_value").is_in(list(OPEN))
        & (
            pl.col("to_value").replace_strict(STAGE_ORDER)
            < pl.col("from_value").replace_strict(STAGE_ORDER)
        )
    )
    assert flagged("opportunities.stage_regression") == set(back["record_id"]) != set()
