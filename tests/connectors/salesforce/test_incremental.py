"""Incremental pulls lose nothing: ``>=`` on the cursor with a look-back and de-duplication by
Id; records sharing the boundary timestamp or committed late are read; records outside the
window never move the cursor; a pull stopped anywhere resumes inside its window; deletions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from tests.connectors.salesforce.conftest import connector, frame
from tests.emulator.salesforce import SalesforceEmulator

from revgov.config import SourceConfig
from revgov.connectors.base import Page
from revgov.connectors.salesforce._cursor import EntityCursor, parse_time

pytestmark = pytest.mark.usefixtures("sf_env")

LEADS_ONLY = {"people": {"objects": {"Contact": {"enabled": False}}}}


def _pull(source: SourceConfig, cursor: str | None = None) -> list[Page]:
    return list(connector(source).fetch("people", cursor))


def _ids(pages: list[Page]) -> set[str]:
    people = frame(pages)
    return set(people["person_id"]) if people.height else set()


def _mark(pages: list[Page], sobject: str = "Lead") -> datetime:
    moment = parse_time(EntityCursor.parse(pages[-1].cursor).get(sobject).mark)
    assert moment is not None
    return moment


def _live_leads(org: SalesforceEmulator) -> pl.DataFrame:
    return org.org.frame("Lead").filter(~pl.col("IsDeleted"))


def _lead(stamp: datetime, name: str) -> dict[str, object]:
    return {
        "LastName": name,
        "Company": "Late Inc",
        "Status": "Open - Not Contacted",
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }


def test_a_second_pull_rereads_only_the_lookback_window(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({"lookback_seconds": 86_400}, LEADS_ONLY)
    first = _pull(source)
    mark = _mark(first)
    assert mark == _live_leads(org)["SystemModstamp"].max() or mark <= datetime.now(UTC)
    second = _pull(source, first[-1].cursor)
    since = (mark - timedelta(days=1)).replace(microsecond=0)
    leads = org.org.frame("Lead")
    expected = set(leads.filter(~pl.col("IsDeleted") & (pl.col("SystemModstamp") >= since))["Id"])
    assert _ids(second) == expected and 0 < len(expected) < leads.height
    assert _mark(second) == mark  # nothing newer: the mark stays


def test_records_sharing_the_cursor_timestamp_are_not_skipped(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({"lookback_seconds": 0}, LEADS_ONLY)
    first = _pull(source)
    mark = _mark(first)
    # Committed after the first pull read, with exactly the mark's timestamp.
    late = org.org.insert("Lead", [_lead(mark, "Same-stamp A"), _lead(mark, "Same-stamp B")])
    second = _pull(source, first[-1].cursor)
    assert set(late) <= _ids(second)


def test_late_commits_inside_the_lookback_are_read(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    first = _pull(make_source({"lookback_seconds": 600}, LEADS_ONLY))
    mark = _mark(first)
    late = org.org.insert("Lead", [_lead(mark - timedelta(seconds=300), "Late")])
    assert set(late) <= _ids(
        _pull(make_source({"lookback_seconds": 600}, LEADS_ONLY), first[-1].cursor)
    )
    # Without a look-back the same late record is missed: that is what the window is for.
    assert not set(late) & _ids(
        _pull(make_source({"lookback_seconds": 0}, LEADS_ONLY), first[-1].cursor)
    )


def test_a_record_changed_during_the_pull_does_not_move_the_cursor(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({"page_size": 200, "bulk": False}, LEADS_ONLY)
    pages = connector(source).fetch("people")
    first_page = next(pages)
    window = EntityCursor.parse(first_page.cursor).get("Lead")
    until = parse_time(window.until)
    assert until is not None
    # A lead not read yet is edited now: later pages show it with a timestamp past `until`.
    unread = _live_leads(org).sort("Id")["Id"][-1]
    future = datetime.now(UTC) + timedelta(days=1)
    org.org.update("Lead", [unread], {"Title": "Edited mid-pull"}, stamp=future)
    rest = [first_page, *pages]
    people = frame(rest)
    assert people.filter(pl.col("person_id") == unread)["title"].item() == "Edited mid-pull"
    mark = _mark(rest)
    assert mark < until < future
    truth = _live_leads(org).filter(pl.col("SystemModstamp") < until)["SystemModstamp"].max()
    assert mark == truth


def test_a_pull_stopped_inside_a_shared_timestamp_block_resumes_exactly(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    # REST pages of 250 by Id: the block of leads sharing one timestamp (ids 200-349) is cut.
    source = make_source({"page_size": 250, "rest_batch_size": 250, "bulk": False}, LEADS_ONLY)
    leads = _live_leads(org)
    shared = leads.group_by("SystemModstamp").len().sort("len").row(-1)
    block = set(leads.filter(pl.col("SystemModstamp") == shared[0])["Id"])
    assert shared[1] >= 100
    read: list[Page] = []
    for page in connector(source).fetch("people"):
        read.append(page)
        if _ids(read) & block and not block <= _ids(read):
            break  # stopped (killed) with the block half read
    else:
        pytest.fail("no page ended inside the block")
    resumed = _pull(source, read[-1].cursor)
    assert not _ids(read) & _ids(resumed)  # resumed after the last Id committed
    assert _ids(read) | _ids(resumed) == set(_live_leads(org)["Id"])


def test_a_bulk_pull_resumes_from_its_job_and_locator(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({"bulk_threshold": 10, "page_size": 120}, LEADS_ONLY)
    stream = connector(source).fetch("people")
    head = [next(stream), next(stream)]
    stream.close()
    state = EntityCursor.parse(head[-1].cursor).get("Lead")
    assert state.job and state.locator
    rest = _pull(source, head[-1].cursor)
    assert len(org.bulk_jobs) == 1  # the same job, from the saved locator
    assert not _ids(head) & _ids(rest)
    assert _ids(head) | _ids(rest) == set(_live_leads(org)["Id"])


def test_a_bulk_job_gone_on_resume_is_started_again(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({"bulk_threshold": 10, "page_size": 120}, LEADS_ONLY)
    stream = connector(source).fetch("people")
    head = [next(stream)]
    stream.close()
    org._jobs.clear()  # Salesforce deleted the job (results are kept for days, not forever)
    rest = _pull(source, head[-1].cursor)
    assert len(org.bulk_jobs) == 2
    assert _ids(head) | _ids(rest) == set(_live_leads(org)["Id"])


def test_deletions_arrive_as_deletions(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({}, LEADS_ONLY)
    first = _pull(source)
    already = set(org.org.frame("Lead").filter(pl.col("IsDeleted"))["Id"])
    assert {d for p in first for d in p.deletions} == already
    assert not _ids(first) & already
    gone = sorted(_live_leads(org)["Id"])[:3]
    org.org.delete("Lead", gone, stamp=datetime.now(UTC) - timedelta(seconds=5))
    second = _pull(source, first[-1].cursor)
    assert set(gone) <= {d for p in second for d in p.deletions}
    assert not set(gone) & _ids(second)


def test_start_limits_a_first_pull(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    start = datetime.now(UTC) - timedelta(days=30)
    pages = _pull(make_source({"start": start.isoformat()}, LEADS_ONLY))
    floor = start.replace(microsecond=0)
    expected = _live_leads(org).filter(pl.col("SystemModstamp") >= floor)["Id"]
    assert _ids(pages) == set(expected)
