"""Deletions in the org reach the snapshot through ``revgov.pull``: a record deleted in
Salesforce (``IsDeleted``, read with queryAll) leaves the latest version of the snapshot, while
the Delta version before the deletion still has it (time travel). Expected rows come from the
emulated org's own frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from tests.connectors.salesforce.conftest import config
from tests.emulator.salesforce import SalesforceEmulator

from revgov.pull import pull
from revgov.store import SnapshotStore

pytestmark = pytest.mark.usefixtures("sf_env")


def _live_ids(org: SalesforceEmulator, sobject: str) -> set[str]:
    return set(org.org.frame(sobject).filter(~pl.col("IsDeleted"))["Id"])


def _ids(store: SnapshotStore, entity: str, key: str) -> set[str]:
    return set(store.scan(entity).select(key).collect()[key])


def test_deleted_records_leave_the_latest_version_and_stay_in_the_earlier_one(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    cfg = config()
    snap = tmp_path / "snap"
    wanted = ["people", "opportunities"]
    pull(cfg, snap, entities=wanted, progress=False)
    before = SnapshotStore(snap)
    version = before.version
    people = before.scan("people").collect()
    assert set(people["person_id"]) == _live_ids(org, "Lead") | _live_ids(org, "Contact")
    assert _ids(before, "opportunities", "opportunity_id") == _live_ids(org, "Opportunity")

    leads = sorted(_live_ids(org, "Lead"))[:3]
    contact = sorted(_live_ids(org, "Contact"))[0]
    deal = sorted(_live_ids(org, "Opportunity"))[0]
    stamp = datetime.now(UTC) - timedelta(seconds=5)  # inside the next pull's window
    org.org.delete("Lead", leads, stamp=stamp)
    org.org.delete("Contact", [contact], stamp=stamp)
    org.org.delete("Opportunity", [deal], stamp=stamp)
    result = pull(cfg, snap, entities=wanted, progress=False)

    removed = {e.entity: e.rows_deleted for e in result.entities}
    assert removed == {"people": 4, "opportunities": 1}
    latest = SnapshotStore(snap)
    assert latest.version > version
    assert _ids(latest, "people", "person_id") == set(people["person_id"]) - {*leads, contact}
    assert _ids(latest, "opportunities", "opportunity_id") == _live_ids(org, "Opportunity")
    assert deal not in _live_ids(org, "Opportunity")
    # The version before the deletions still has every row, unchanged.
    earlier = SnapshotStore(snap, version=version)
    assert {*leads, contact} <= _ids(earlier, "people", "person_id")
    assert earlier.scan("people").collect().sort("person_id").equals(people.sort("person_id"))
    assert deal in _ids(earlier, "opportunities", "opportunity_id")
    # The deletions are in the snapshot's history, one version per entity read.
    deleted = {v.entity: v.rows_deleted for v in latest.history()[version:]}
    assert deleted == {"people": 4, "opportunities": 1}
