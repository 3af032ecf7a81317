"""Incremental pulls through search: time windows read in id slices under the 10,000 cap,
look-back and hold-back for the search index's lag, archived records and merges as deletions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
from tests.connectors.hubspot._support import Clock, connector, frame, pages
from tests.emulator._hubspot_portal import FIRST_ID
from tests.emulator.hubspot import HubSpotEmulator

T0 = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def _full_then(portal: HubSpotEmulator, clock: Clock, entity: str = "accounts", **options: object):
    conn = connector(portal, clock=clock, **options)
    first = pages(conn, entity)
    assert json.loads(first[-1].cursor)["streams"]  # idle, since the listing began
    return conn, first[-1].cursor


def test_an_incremental_pull_reads_exactly_what_changed_and_the_archived_as_deletions(
    portal: HubSpotEmulator, clock: Clock
) -> None:
    conn, cursor = _full_then(portal, clock)
    companies = FIRST_ID["companies"]
    portal.portal.touch("companies", companies + 3, at=T0 + timedelta(minutes=5), name="Renamed Co")
    portal.portal.archive("companies", companies + 4, at=T0 + timedelta(minutes=6))
    new = portal.portal.create("companies", at=T0 + timedelta(minutes=7), name="New Co")
    clock.now = T0 + timedelta(hours=1)
    found = pages(conn, "accounts", cursor)
    got = frame(found)
    assert sorted(got["account_id"]) == sorted([str(companies + 3), str(new.id)])
    assert got.filter(pl.col("account_id") == str(companies + 3))["name"][0] == "Renamed Co"
    assert [d for p in found for d in p.deletions] == [str(companies + 4)]
    # Only search and the archived listing were used: no full listing again.
    assert portal.emulator.hits[r"/crm/v3/objects/(?P<type>[\w-]+)/search"] >= 1
    # The next pull re-reads the look-back (an hour before the last horizon): the same rows
    # and deletions again, which the store applies idempotently...
    clock.now = T0 + timedelta(days=2)
    again = pages(conn, "accounts", found[-1].cursor)
    assert frame(again).sort("account_id").equals(got.sort("account_id"))
    assert [d for p in again for d in p.deletions] == [str(companies + 4)]
    # ...and once the horizon has moved past them, nothing.
    clock.now = T0 + timedelta(days=3)
    quiet = pages(conn, "accounts", again[-1].cursor)
    assert frame(quiet).height == 0
    assert [d for p in quiet for d in p.deletions] == []


def test_changes_within_the_hold_back_wait_for_the_next_pull(
    portal_factory: Callable[..., HubSpotEmulator], clock: Clock
) -> None:
    portal = portal_factory(search_lag=120)  # the index lags writes by two minutes
    conn, cursor = _full_then(portal, clock, holdback_seconds=300, lookback_seconds=900)
    rid = FIRST_ID["companies"] + 1
    clock.now = T0 + timedelta(hours=2)
    portal.portal.touch("companies", rid, at=clock.now - timedelta(seconds=30), name="Late Co")
    found = pages(conn, "accounts", cursor)
    assert frame(found).height == 0  # too recent: neither searched nor missed
    clock.now += timedelta(minutes=10)
    later = frame(pages(conn, "accounts", found[-1].cursor))
    assert list(later["name"]) == ["Late Co"]


def test_without_a_hold_back_the_search_lag_loses_changes(
    portal_factory: Callable[..., HubSpotEmulator], clock: Clock
) -> None:
    """Why the hold-back exists: a change the index has not seen yet is behind the cursor
    after the pull, and only the look-back can bring it back."""
    portal = portal_factory(search_lag=120)
    conn, cursor = _full_then(portal, clock, holdback_seconds=0, lookback_seconds=0)
    rid = FIRST_ID["companies"] + 1
    clock.now = T0 + timedelta(hours=2)
    portal.portal.touch("companies", rid, at=clock.now - timedelta(seconds=30), name="Lost Co")
    found = pages(conn, "accounts", cursor)
    clock.now += timedelta(minutes=10)
    later = frame(pages(conn, "accounts", found[-1].cursor))
    names = list(later["name"]) if later.height else []
    assert "Lost Co" not in names


def test_a_window_with_more_than_10000_changes_is_pulled_whole(
    portal_factory: Callable[..., HubSpotEmulator], clock: Clock
) -> None:
    portal = portal_factory(companies=10_600, contacts=5, deals=3, engagements=1, partners=0)
    conn, cursor = _full_then(portal, clock)
    base = FIRST_ID["companies"]
    for k in range(10_500):
        # Spread over one hour: more than 10,000 in one search window.
        portal.portal.touch("companies", base + k, at=T0 + timedelta(seconds=1 + k * 0.3))
    clock.now = T0 + timedelta(hours=3)
    got = frame(pages(conn, "accounts", cursor))
    assert got["account_id"].n_unique() == 10_500
    assert portal.gate.rejections == {}


def test_more_than_10000_records_sharing_one_timestamp_are_pulled_whole(
    portal_factory: Callable[..., HubSpotEmulator], clock: Clock
) -> None:
    portal = portal_factory(companies=10_600, contacts=5, deals=3, engagements=1, partners=0)
    conn, cursor = _full_then(portal, clock)
    base = FIRST_ID["companies"]
    same = T0 + timedelta(minutes=10)
    for k in range(10_300):
        portal.portal.touch("companies", base + k, at=same)  # one bulk update, one timestamp
    clock.now = T0 + timedelta(hours=3)
    found = pages(conn, "accounts", cursor)
    got = frame(found)
    assert got["account_id"].n_unique() == 10_300
    assert set(got["account_id"]) == {str(base + k) for k in range(10_300)}
    # A killed pull resumes from any committed page: the cursor names the last id read.
    middle = json.loads(found[len(found) // 2].cursor)["streams"]["companies"]
    assert middle["phase"] == "search" and middle["last_id"] > base


def test_windows_are_sliced_and_contiguous(portal: HubSpotEmulator, clock: Clock) -> None:
    conn, cursor = _full_then(portal, clock, window_days=1)
    base = FIRST_ID["companies"]
    for day in range(5):
        portal.portal.touch("companies", base + day, at=T0 + timedelta(days=day, hours=1))
    clock.now = T0 + timedelta(days=6)
    searches = portal.searches
    got = frame(pages(conn, "accounts", cursor))
    assert sorted(got["account_id"]) == [str(base + d) for d in range(5)]
    assert portal.searches - searches >= 6  # one window per day at least


def test_merged_records_are_deletions(portal: HubSpotEmulator, clock: Clock) -> None:
    conn, cursor = _full_then(portal, clock, entity="people")
    winner, loser = FIRST_ID["contacts"] + 1, FIRST_ID["contacts"] + 2
    portal.portal.archive("contacts", loser, at=T0 - timedelta(days=400))  # gone long ago
    portal.portal.touch(
        "contacts", winner, at=T0 + timedelta(minutes=1), hs_merged_object_ids=str(loser)
    )
    clock.now = T0 + timedelta(hours=1)
    found = pages(conn, "people", cursor)
    assert str(loser) in [d for p in found for d in p.deletions]
    assert str(winner) in list(frame(found)["person_id"])
