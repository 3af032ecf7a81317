"""Rate limits: the limiter learns HubSpot's window from its headers, 429 bodies are parsed
and shown, Retry-After is honoured, and the daily allowance stops a pull cleanly."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.connectors.hubspot._support import (
    TOKEN,
    connector,
    frame,
    pages,
    source_config,
    staged_rows,
)
from tests.emulator.hubspot import HubSpotEmulator
from tests.emulator.server import Fault

from revgov.errors import ApiBudgetError
from revgov.pull import pull
from revgov.store import SnapshotStore


def _limited(policy: str) -> dict[str, str]:
    return {
        "status": "error",
        "message": "You have reached your limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "groupName": "publicapi:private-app-api:12345",
    }


def test_the_limiter_takes_the_window_from_the_headers_and_stays_under_it(
    portal_factory: Callable[..., HubSpotEmulator],
) -> None:
    portal = portal_factory(burst=30, interval_ms=1000, daily=100_000)
    # Configured for HubSpot's default (100 per 10 s) until the first response says 30 per 1 s.
    # A fifth kept free: the server counts arrivals, which a loaded machine can bunch up.
    conn = connector(portal, rate_limit=100, rate_interval=10.0, rate_headroom=0.2, concurrency=4)
    found = pages(conn, "people")
    assert frame(found).height == 300
    limiter = conn.api.limits.limiter
    assert (limiter.limit, limiter.interval) == (24, 1.0)  # 30 less the headroom
    assert portal.gate.rejections == {}
    assert portal.gate.busiest(1.0) <= 30
    status = found[-1].status
    assert status["burst left"].endswith("/30 per 1s")
    assert status["daily left"].endswith("/100,000")


def test_a_429_waits_its_retry_after_and_is_shown_by_policy(portal: HubSpotEmulator) -> None:
    conn = connector(portal)
    slept: list[float] = []
    conn.sleep = slept.append
    portal.emulator.inject(
        Fault(
            status=429,
            body=_limited("TEN_SECONDLY_ROLLING"),
            headers={"Retry-After": "3"},
            path=r"^/crm/v3/objects/companies$",
        ),
        Fault(status=429, body=_limited("SECONDLY"), path=r"/search$"),
    )
    found = pages(conn, "accounts")
    assert slept == [3.0]
    assert found[-1].status["429s"] == "TEN_SECONDLY_ROLLING x1"
    assert frame(found).height == 60
    # The search API's own limit: no Retry-After, a one-second window.
    later = pages(conn, "accounts", found[-1].cursor)
    assert slept == [3.0, 1.0]
    assert later[-1].status["429s"] == "SECONDLY x1, TEN_SECONDLY_ROLLING x1"


def test_the_pull_stops_before_passing_its_share_of_the_daily_allowance(
    portal_factory: Callable[..., HubSpotEmulator], tmp_path: Path
) -> None:
    portal = portal_factory(contacts=1000, burst=500, interval_ms=1000, daily=40)
    config = source_config(portal, entities=["people"], api_budget_share=0.5)
    with pytest.raises(ApiBudgetError, match=r"stopped before passing 50% of HubSpot's daily"):
        pull(config, tmp_path / "snap", progress=False)
    assert portal.gate.used_today <= 20
    assert portal.gate.rejections == {}  # stopped by the budget, not by HubSpot
    saved = SnapshotStore(tmp_path / "snap")
    assert saved.cursor("hs", "people") is not None  # what was pulled is kept
    assert saved.row_count("people") == 0  # a read is published only whole
    assert 0 < staged_rows(tmp_path / "snap", "people") < 1000
    # A new day: the pull resumes where it stopped and ends with every contact.
    portal.gate.used_today = 0
    portal.gate.daily = 1000
    pull(config, tmp_path / "snap", progress=False)
    assert SnapshotStore(tmp_path / "snap").row_count("people") == 1000


def test_a_daily_429_stops_cleanly_with_the_reason(portal: HubSpotEmulator, tmp_path: Path) -> None:
    """Other apps of the account spent the daily limit: HubSpot says so with a 429 DAILY."""
    config = source_config(portal, entities=["people"])
    portal.emulator.inject(
        Fault(status=429, body=_limited("DAILY"), path=r"^/crm/v3/objects/contacts$", after=2)
    )
    with pytest.raises(ApiBudgetError) as err:
        pull(config, tmp_path / "snap", progress=False)
    assert "HTTP 429 RATE_LIMIT DAILY" in err.value.message
    assert "midnight" in (err.value.hint or "")
    assert "You have reached" not in str(err.value)  # never the message text
    assert portal.emulator.faults_fired() == 1  # not retried
    assert staged_rows(tmp_path / "snap", "people") == 200  # two pages kept


def test_posts_are_retried_by_revgov_with_urllib3s_retries_off(portal: HubSpotEmulator) -> None:
    conn = connector(portal)
    assert conn.api._client.config["retry"].total is False
    portal.emulator.inject(
        Fault(kind="drop", method="POST", path=r"/associations/companies/contacts/"),
        Fault(kind="drop", method="POST", path=r"/associations/contacts/companies/batch/read$"),
        Fault(kind="truncate", method="POST", path=r"/crm/v4/associations/"),
        Fault(status=502, method="POST", path=r"/crm/v4/associations/", body="<html>502</html>"),
    )
    people = frame(pages(conn, "people"))
    assert people.height == 300 and people["account_id"].null_count() == 0
    retried = conn.api.resilience.retries
    assert sum(retried.values()) == 3 and portal.emulator.faults_fired() == 3
    assert TOKEN not in repr(conn.api)
