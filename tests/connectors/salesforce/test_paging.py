"""Paging: REST by nextRecordsUrl, Bulk 2.0 by Sforce-Locator above the COUNT() threshold,
REST fallback, long field lists split and stitched by Id, literals kept as text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from tests.connectors.salesforce.conftest import connector, frame
from tests.emulator.salesforce import SalesforceEmulator

from revgov.config import SourceConfig
from revgov.connectors.base import Page

pytestmark = pytest.mark.usefixtures("sf_env")

LEADS_ONLY = {"people": {"objects": {"Contact": {"enabled": False}}}}


def _leads(org: SalesforceEmulator) -> pl.DataFrame:
    return org.org.frame("Lead").filter(~pl.col("IsDeleted"))


def _pull(source: SourceConfig) -> tuple[list[Page], pl.DataFrame]:
    pages = list(connector(source).fetch("people"))
    return pages, frame(pages).sort("person_id")


def _hits(org: SalesforceEmulator, fragment: str) -> int:
    return sum(n for route, n in org.emulator.hits.items() if fragment in route)


def test_rest_follows_next_records_url(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    pages, people = _pull(make_source({"page_size": 250}, LEADS_ONLY))
    assert people["person_id"].to_list() == sorted(_leads(org)["Id"])
    assert people["person_id"].is_unique().all()
    # 600 leads (deleted ones included: queryAll) in REST pages of 200.
    assert _hits(org, "(?P<locator>") >= 2
    assert {p.status["via"] for p in pages} == {"rest"}
    assert not org.bulk_jobs


def test_bulk_streams_by_locator_above_the_threshold(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    _, by_rest = _pull(make_source({"bulk": False}, LEADS_ONLY))
    pages, by_bulk = _pull(make_source({"bulk_threshold": 100, "page_size": 150}, LEADS_ONLY))
    assert {p.status["via"] for p in pages} == {"bulk"}
    assert len(pages) >= 4  # 600 rows in result pages of 150
    assert by_bulk.equals(by_rest)  # Z datetimes and +0000 datetimes read alike
    # One job, read and then deleted; the deleted rows came through queryAll.
    assert len(org.bulk_jobs) == 1 and org.deleted_jobs == org.bulk_jobs
    deletions = {d for p in pages for d in p.deletions}
    assert deletions == set(org.org.frame("Lead").filter(pl.col("IsDeleted"))["Id"])


def test_small_objects_stay_on_rest(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    source = make_source({"bulk_threshold": 300})
    pages = list(connector(source).fetch("people"))
    via = {p.status["object"]: p.status["via"] for p in pages}
    assert via == {"Lead": "bulk", "Contact": "rest"}  # 600 leads, 200 contacts


def test_a_failed_bulk_job_falls_back_to_rest(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    org.fail_bulk_jobs(1)
    pages, people = _pull(make_source({"bulk_threshold": 100}, LEADS_ONLY))
    assert people["person_id"].to_list() == sorted(_leads(org)["Id"])
    note = next(n for p in pages for n in p.notes if n.kind == "bulk_fallback")
    assert "Failed" in note.message and note.field == "Lead"
    assert {p.status["via"] for p in pages} == {"rest"}


def test_an_object_bulk_does_not_support_falls_back_to_rest(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    org.org.no_bulk.add("Lead")
    pages, people = _pull(make_source({"bulk_threshold": 100}, LEADS_ONLY))
    assert people.height == _leads(org).height
    note = next(n for p in pages for n in p.notes if n.kind == "bulk_fallback")
    assert "INVALIDENTITY" in note.message


def test_long_field_lists_are_split_and_stitched_by_id(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    extra = {"Region__c": "string", "Employee_Band__c": "string", "Fit_Grade__c": "string"}
    entities = {
        "people": {"objects": {"Contact": {"enabled": False}, "Lead": {"custom_fields": extra}}}
    }
    # The last two months only: every stitched query carries a few ids at this URL length.
    recent = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    _, whole = _pull(make_source({"bulk": False, "start": recent}, entities))
    before = len(org.queries)
    _, split = _pull(make_source({"bulk": False, "start": recent, "max_url_length": 500}, entities))
    assert 10 < split.height < _leads(org).height
    assert split.equals(whole)
    stitched = [q for q in org.queries[before:] if "WHERE Id IN (" in q]
    assert stitched, "the field list was not split"
    selects = [q for q in org.queries[before:] if q.startswith("SELECT Id") and "COUNT()" not in q]
    assert all(len(q) < 500 for q in selects)


def test_literals_survive_as_text_on_both_paths(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    entities = {
        "people": {
            "objects": {
                "Contact": {"enabled": False},
                "Lead": {"custom_fields": {"Region__c": "string", "State": "string"}},
            }
        }
    }
    for options in ({"bulk": False}, {"bulk_threshold": 10}):
        _, people = _pull(make_source(options, entities))
        truth = _leads(org).sort("Id")
        assert people["Region__c"].to_list() == truth["Region__c"].to_list()
        assert (people["State"] == "NA").sum() == (truth["State"] == "NA").sum() > 0
        assert (people["Region__c"] == "N/A").sum() > 0
