"""The connector against a real org (``pytest --live`` or ``-m live``), read-only.

Set the variables of one login flow (see docs/salesforce.md), e.g. ``SALESFORCE_USERNAME``,
``SALESFORCE_PASSWORD``, ``SALESFORCE_SECURITY_TOKEN`` and ``SALESFORCE_LOGIN_URL`` for a
sandbox. Each test reads a page or two and stops: a run costs a few dozen API calls.
"""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from tests.connectors.salesforce.conftest import config, connector, frame

from revgov.connectors.salesforce import SalesforceCredentials
from revgov.connectors.salesforce.credentials import choose_flow
from revgov.errors import AuthenticationError

pytestmark = pytest.mark.live


@pytest.fixture(autouse=True)
def real_org() -> None:
    try:
        choose_flow(SalesforceCredentials(), "auto", "SALESFORCE_")
    except AuthenticationError as exc:
        pytest.skip(f"no Salesforce org in the environment: {exc.message}")


def _source(**options: object) -> object:
    return config({"page_size": 200, "rest_batch_size": 200, **options}, fast=False).sources[0]


def test_the_org_logs_in_and_reports_its_api_usage() -> None:
    conn = connector(_source())  # type: ignore[arg-type]
    stages = list(conn.fetch("pipeline_stages"))
    assert frame(stages).height > 0
    status = stages[-1].status
    assert "org usage" in status and int(status["api calls"]) > 0


@pytest.mark.parametrize("entity", ["users", "accounts", "people", "opportunities", "activities"])
def test_first_pages_of_each_entity_map(entity: str) -> None:
    conn = connector(_source(bulk=False))  # type: ignore[arg-type]
    pages = list(itertools.islice(conn.fetch(entity), 2))
    records = frame(pages)
    key = {"users": "user_id", "accounts": "account_id", "people": "person_id",
           "opportunities": "opportunity_id", "activities": "activity_id"}[entity]  # fmt: skip
    if records.height:
        assert records[key].null_count() == 0 and records[key].is_unique().all()
    hidden = [n for p in pages for n in p.notes if n.kind == "hidden_field"]
    for note in hidden:  # reported, not failing: field-level security differs per org
        assert note.field and "." in note.field


def test_stage_history_is_canonical() -> None:
    conn = connector(_source(bulk=False))  # type: ignore[arg-type]
    events = frame(list(itertools.islice(conn.fetch("stage_events"), 1)))
    if events.height:
        assert set(events["record_entity"]) <= {"opportunities", "people"}
        assert events.filter(pl.col("field") == "stage")["to_value"].null_count() == 0
