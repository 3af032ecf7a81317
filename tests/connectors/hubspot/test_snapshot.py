"""Archived records reach the snapshot through ``revgov.pull``: a contact or company archived in
HubSpot leaves the latest version of the snapshot, while the Delta version before still has it
(time travel). Expected rows come from the emulated portal's own tables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.connectors.hubspot._support import Clock, source_config
from tests.emulator.hubspot import HubSpotEmulator

from revgov.pull import pull
from revgov.store import SnapshotStore

ENTITIES = {"people": ("contacts", "person_id"), "accounts": ("companies", "account_id")}


def _live(portal: HubSpotEmulator, object_type: str) -> set[str]:
    return {str(r.id) for r in portal.portal.tables[object_type].live()}


def _ids(store: SnapshotStore, entity: str) -> set[str]:
    key = ENTITIES[entity][1]
    return set(store.scan(entity).select(key).collect()[key])


def test_archived_records_leave_the_latest_version_and_stay_in_the_earlier_one(
    portal: HubSpotEmulator, clock: Clock, tmp_path: Path
) -> None:
    # pull() runs the connector on the real clock: the portal's moments are real ones too, so
    # that the archiving falls inside the next pull's window.
    clock.now = datetime.now(UTC)
    config = source_config(portal, entities=list(ENTITIES))
    snap = tmp_path / "snap"
    pull(config, snap, progress=False)
    before = SnapshotStore(snap)
    version = before.version
    first = {e: before.scan(e).collect() for e in ENTITIES}
    for entity, (object_type, _) in ENTITIES.items():
        assert _ids(before, entity) == _live(portal, object_type)

    contacts = sorted(_live(portal, "contacts"), key=int)[:2]
    company = sorted(_live(portal, "companies"), key=int)[0]
    clock.now = datetime.now(UTC)
    for rid in contacts:
        portal.portal.archive("contacts", int(rid), at=clock.now)
    portal.portal.archive("companies", int(company), at=clock.now)
    result = pull(config, snap, progress=False)

    assert {e.entity: e.rows_deleted for e in result.entities} == {"people": 2, "accounts": 1}
    latest = SnapshotStore(snap)
    assert _ids(latest, "people") == set(first["people"]["person_id"]) - set(contacts)
    assert _ids(latest, "accounts") == _live(portal, "companies") != set()
    assert company not in _ids(latest, "accounts")
    # The version before the archiving still has every row, unchanged.
    earlier = SnapshotStore(snap, version=version)
    for entity, (_, key) in ENTITIES.items():
        assert earlier.scan(entity).collect().sort(key).equals(first[entity].sort(key))
    assert set(contacts) <= _ids(earlier, "people") and company in _ids(earlier, "accounts")
    deleted = {v.entity: v.rows_deleted for v in latest.history()[version:]}
    assert deleted == {"people": 2, "accounts": 1}
