"""Stage and lifecycle history: propertiesWithHistory reconciled with the date-entered
properties, as stage_events; stage_entered_at and mql_at derived from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from tests.connectors.hubspot._support import connector, frame, pages
from tests.emulator._hubspot_portal import FIRST_ID, PIPELINES, stamp
from tests.emulator.hubspot import HubSpotEmulator

from revgov.connectors.hubspot._history import stage_history
from revgov.connectors.hubspot._objects import HISTORY

STAGE_LABELS = {sid: label for _, _, stages in PIPELINES for sid, label, _, _ in stages}


def _paths(events: pl.DataFrame, entity: str) -> dict[str, list[str]]:
    rows = events.filter(pl.col("record_entity") == entity).sort("record_id", "changed_at")
    return {
        rid: list(group["to_value"])
        for (rid,), group in rows.group_by("record_id", maintain_order=True)
    }


def test_every_deal_and_contact_path_is_whole_even_where_history_was_truncated(
    portal: HubSpotEmulator,
) -> None:
    events = frame(pages(connector(portal), "stage_events"))
    deals = _paths(events, "opportunities")
    contacts = _paths(events, "people")
    truncated_deals = 0
    for rec in portal.portal.tables["deals"].live():
        truth = [STAGE_LABELS[stage] for stage, _ in rec.truth]
        assert deals[str(rec.id)] == truth, rec.id
        truncated_deals += len(rec.history["dealstage"]) < len(rec.truth)
    for rec in portal.portal.tables["contacts"].live():
        assert contacts[str(rec.id)] == [stage for stage, _ in rec.truth], rec.id
    assert truncated_deals > 5  # the gaps were real, and filled from hs_date_entered_*
    # Transitions: each event's from_value is the previous event's to_value.
    one = events.filter(pl.col("record_id") == str(FIRST_ID["deals"] + 3)).sort("changed_at")
    assert list(one["from_value"])[1:] == list(one["to_value"])[:-1]
    assert one["from_value"][0] is None


def test_history_names_the_owner_who_changed_the_stage(portal: HubSpotEmulator) -> None:
    events = frame(pages(connector(portal), "stage_events"))
    by_user = {o["userIdIncludingInactive"]: o["id"] for o in portal.portal.owners}
    expected: dict[tuple[str, str], str | None] = {}
    for rec in portal.portal.tables["deals"].live():
        for entry in rec.history["dealstage"]:
            user = entry.get("updatedByUserId")
            moment = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
            key = (
                str(rec.id),
                moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            )
            expected[key] = by_user[user] if user is not None else None
    got = {
        (r["record_id"], r["changed_at"]): r["changed_by"]
        for r in events.filter(pl.col("record_entity") == "opportunities").iter_rows(named=True)
        if (r["record_id"], r["changed_at"]) in expected
    }
    assert got == {k: v for k, v in expected.items() if k in got}
    assert len(got) > 100 and any(v is not None for v in got.values())


def test_stage_entered_at_and_mql_at_come_from_the_history(portal: HubSpotEmulator) -> None:
    conn = connector(portal)
    deals = frame(pages(conn, "opportunities"))
    for row in deals.iter_rows(named=True):
        rec = portal.portal.tables["deals"].get(int(row["opportunity_id"]))
        assert rec is not None
        current = rec.properties["dealstage"]
        entered = max(at for stage, at in rec.truth if stage == current)
        assert datetime.fromisoformat(row["stage_entered_at"].replace("Z", "+00:00")) == entered
    people = frame(pages(conn, "people"))
    mql = 0
    for row in people.iter_rows(named=True):
        rec = portal.portal.tables["contacts"].get(int(row["person_id"]))
        assert rec is not None
        firsts = [at for stage, at in rec.truth if stage == "marketingqualifiedlead"]
        if firsts:
            mql += 1
            assert datetime.fromisoformat(row["mql_at"].replace("Z", "+00:00")) == min(firsts)
        else:
            assert row["mql_at"] is None
    assert mql > 50


def _record(rid: str, history: list[tuple[str, str, int | None]], **props: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "properties": props,
        "propertiesWithHistory": {
            "dealstage": [
                {
                    "value": v,
                    "timestamp": t,
                    "sourceType": "CRM_UI",
                    **({"updatedByUserId": u} if u else {}),
                }
                for v, t, u in history
            ]
        },
    }


def test_reconciliation_keeps_one_event_per_entry_and_fills_gaps() -> None:
    records = [
        _record(
            "1",
            # Newest first, as HubSpot sends it; one timestamp without milliseconds.
            [("b", "2024-01-03T00:00:00.500Z", 9001), ("a", "2024-01-01T00:00:00Z", None)],
            # The same entries in the date properties (one 30 s off), plus one the history lost.
            hs_v2_date_entered_a="2024-01-01T00:00:30.000Z",
            hs_v2_date_entered_b="2024-01-03T00:00:00.500Z",
            hs_date_entered_z="2023-12-25T08:00:00.000Z",
            hs_v2_date_exited_b="2024-02-01T00:00:00.000Z",
        )
    ]
    found = stage_history(
        records, HISTORY["deals"], values=["z", "a", "b"], labels={"a": "A"}, users={9001: "101"}
    )
    rows = (
        found.events.collect()
        .sort("changed_at")
        .select("from_value", "to_value", "changed_at", "changed_by")
    )
    assert rows.rows() == [
        (None, "z", "2023-12-25T08:00:00.000Z", None),
        ("z", "A", "2024-01-01T00:00:00.000Z", None),
        ("A", "b", "2024-01-03T00:00:00.500Z", "101"),
    ]
    # It left b a month after its last known change: the history is incomplete.
    assert found.incomplete == 1
    # Re-reading the same history gives the same event ids (upserts, not duplicates).
    again = stage_history(
        records, HISTORY["deals"], values=["z", "a", "b"], labels={"a": "A"}, users={9001: "101"}
    )
    ids = found.events.collect()["event_id"]
    assert sorted(again.events.collect()["event_id"]) == sorted(ids)


def test_a_stage_change_after_the_full_pull_arrives_as_a_new_event(
    portal: HubSpotEmulator, clock: Any
) -> None:
    conn = connector(portal, clock=clock)
    first = pages(conn, "stage_events")
    rid = FIRST_ID["deals"] + 1
    at = datetime(2024, 6, 3, 13, 0, tzinfo=UTC)
    portal.portal.touch("deals", rid, at=at, dealstage="closedwon")
    clock.now = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
    later = frame(pages(conn, "stage_events", first[-1].cursor))
    mine = later.filter(pl.col("record_id") == str(rid)).sort("changed_at")
    assert mine["to_value"][-1] == "Closed Won"
    assert mine["changed_at"][-1] == stamp(at).replace("Z", ".000Z")
    assert (
        mine["from_value"][-1] == STAGE_LABELS[portal.portal.tables["deals"].get(rid).truth[-2][0]]
    )
